from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HeadersList(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class PushFrame(_message.Message):
    __slots__ = ("seq_id", "log_id", "service", "method", "headers_list", "payload_encoding", "payload_type", "payload", "log_id_new")
    SEQ_ID_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    HEADERS_LIST_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_ENCODING_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_NEW_FIELD_NUMBER: _ClassVar[int]
    seq_id: int
    log_id: int
    service: int
    method: int
    headers_list: _containers.RepeatedCompositeFieldContainer[HeadersList]
    payload_encoding: str
    payload_type: str
    payload: bytes
    log_id_new: str
    def __init__(self, seq_id: _Optional[int] = ..., log_id: _Optional[int] = ..., service: _Optional[int] = ..., method: _Optional[int] = ..., headers_list: _Optional[_Iterable[_Union[HeadersList, _Mapping]]] = ..., payload_encoding: _Optional[str] = ..., payload_type: _Optional[str] = ..., payload: _Optional[bytes] = ..., log_id_new: _Optional[str] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("messages_list", "cursor", "fetch_interval", "now", "internal_ext", "fetch_type", "route_params", "heartbeat_duration", "need_ack", "push_server", "live_cursor", "history_no_more", "proxy_server", "push_server_v2")
    class RouteParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MESSAGES_LIST_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    FETCH_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_EXT_FIELD_NUMBER: _ClassVar[int]
    FETCH_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_PARAMS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_DURATION_FIELD_NUMBER: _ClassVar[int]
    NEED_ACK_FIELD_NUMBER: _ClassVar[int]
    PUSH_SERVER_FIELD_NUMBER: _ClassVar[int]
    LIVE_CURSOR_FIELD_NUMBER: _ClassVar[int]
    HISTORY_NO_MORE_FIELD_NUMBER: _ClassVar[int]
    PROXY_SERVER_FIELD_NUMBER: _ClassVar[int]
    PUSH_SERVER_V2_FIELD_NUMBER: _ClassVar[int]
    messages_list: _containers.RepeatedCompositeFieldContainer[Message]
    cursor: str
    fetch_interval: int
    now: int
    internal_ext: str
    fetch_type: int
    route_params: _containers.ScalarMap[str, str]
    heartbeat_duration: int
    need_ack: bool
    push_server: str
    live_cursor: str
    history_no_more: bool
    proxy_server: str
    push_server_v2: str
    def __init__(self, messages_list: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., cursor: _Optional[str] = ..., fetch_interval: _Optional[int] = ..., now: _Optional[int] = ..., internal_ext: _Optional[str] = ..., fetch_type: _Optional[int] = ..., route_params: _Optional[_Mapping[str, str]] = ..., heartbeat_duration: _Optional[int] = ..., need_ack: _Optional[bool] = ..., push_server: _Optional[str] = ..., live_cursor: _Optional[str] = ..., history_no_more: _Optional[bool] = ..., proxy_server: _Optional[str] = ..., push_server_v2: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("method", "payload", "msg_id", "msg_type", "offset", "need_wrds_store", "wrds_version", "wrds_sub_key", "message_extra", "tenant_id")
    class MessageExtraEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    MSG_ID_FIELD_NUMBER: _ClassVar[int]
    MSG_TYPE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    NEED_WRDS_STORE_FIELD_NUMBER: _ClassVar[int]
    WRDS_VERSION_FIELD_NUMBER: _ClassVar[int]
    WRDS_SUB_KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_EXTRA_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    method: str
    payload: bytes
    msg_id: int
    msg_type: int
    offset: int
    need_wrds_store: bool
    wrds_version: int
    wrds_sub_key: str
    message_extra: _containers.ScalarMap[str, str]
    tenant_id: str
    def __init__(self, method: _Optional[str] = ..., payload: _Optional[bytes] = ..., msg_id: _Optional[int] = ..., msg_type: _Optional[int] = ..., offset: _Optional[int] = ..., need_wrds_store: _Optional[bool] = ..., wrds_version: _Optional[int] = ..., wrds_sub_key: _Optional[str] = ..., message_extra: _Optional[_Mapping[str, str]] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class Common(_message.Message):
    __slots__ = ("method", "msg_id", "room_id", "create_time", "monitor", "is_show_msg", "describe", "display_text", "fold_type", "anchor_fold_type", "priority_score", "log_id", "msg_process_filter_k", "msg_process_filter_v", "user", "anchor_fold_type_v2", "process_at_sei_time_ms", "random_dispatch_ms", "is_dispatch", "channel_id", "diff_sei2abs_second", "anchor_fold_duration", "app_id")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    MSG_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    MONITOR_FIELD_NUMBER: _ClassVar[int]
    IS_SHOW_MSG_FIELD_NUMBER: _ClassVar[int]
    DESCRIBE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_TEXT_FIELD_NUMBER: _ClassVar[int]
    FOLD_TYPE_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_FOLD_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_SCORE_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    MSG_PROCESS_FILTER_K_FIELD_NUMBER: _ClassVar[int]
    MSG_PROCESS_FILTER_V_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_FOLD_TYPE_V2_FIELD_NUMBER: _ClassVar[int]
    PROCESS_AT_SEI_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    RANDOM_DISPATCH_MS_FIELD_NUMBER: _ClassVar[int]
    IS_DISPATCH_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    DIFF_SEI2ABS_SECOND_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_FOLD_DURATION_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    method: str
    msg_id: int
    room_id: int
    create_time: int
    monitor: int
    is_show_msg: bool
    describe: str
    display_text: Text
    fold_type: int
    anchor_fold_type: int
    priority_score: int
    log_id: str
    msg_process_filter_k: str
    msg_process_filter_v: str
    user: User
    anchor_fold_type_v2: int
    process_at_sei_time_ms: int
    random_dispatch_ms: int
    is_dispatch: bool
    channel_id: int
    diff_sei2abs_second: int
    anchor_fold_duration: int
    app_id: int
    def __init__(self, method: _Optional[str] = ..., msg_id: _Optional[int] = ..., room_id: _Optional[int] = ..., create_time: _Optional[int] = ..., monitor: _Optional[int] = ..., is_show_msg: _Optional[bool] = ..., describe: _Optional[str] = ..., display_text: _Optional[_Union[Text, _Mapping]] = ..., fold_type: _Optional[int] = ..., anchor_fold_type: _Optional[int] = ..., priority_score: _Optional[int] = ..., log_id: _Optional[str] = ..., msg_process_filter_k: _Optional[str] = ..., msg_process_filter_v: _Optional[str] = ..., user: _Optional[_Union[User, _Mapping]] = ..., anchor_fold_type_v2: _Optional[int] = ..., process_at_sei_time_ms: _Optional[int] = ..., random_dispatch_ms: _Optional[int] = ..., is_dispatch: _Optional[bool] = ..., channel_id: _Optional[int] = ..., diff_sei2abs_second: _Optional[int] = ..., anchor_fold_duration: _Optional[int] = ..., app_id: _Optional[int] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("url_list", "uri", "height", "width", "avg_color", "image_type", "open_web_url", "content", "is_animated")
    URL_LIST_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    AVG_COLOR_FIELD_NUMBER: _ClassVar[int]
    IMAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    OPEN_WEB_URL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    IS_ANIMATED_FIELD_NUMBER: _ClassVar[int]
    url_list: _containers.RepeatedScalarFieldContainer[str]
    uri: str
    height: int
    width: int
    avg_color: str
    image_type: int
    open_web_url: str
    content: ImageContent
    is_animated: bool
    def __init__(self, url_list: _Optional[_Iterable[str]] = ..., uri: _Optional[str] = ..., height: _Optional[int] = ..., width: _Optional[int] = ..., avg_color: _Optional[str] = ..., image_type: _Optional[int] = ..., open_web_url: _Optional[str] = ..., content: _Optional[_Union[ImageContent, _Mapping]] = ..., is_animated: _Optional[bool] = ...) -> None: ...

class ImageContent(_message.Message):
    __slots__ = ("name", "font_color", "level", "alternative_text")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FONT_COLOR_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVE_TEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    font_color: str
    level: int
    alternative_text: str
    def __init__(self, name: _Optional[str] = ..., font_color: _Optional[str] = ..., level: _Optional[int] = ..., alternative_text: _Optional[str] = ...) -> None: ...

class TextFormat(_message.Message):
    __slots__ = ("color", "bold", "italic", "weight", "italic_angle", "font_size", "use_heighlight_color", "use_remote_color")
    COLOR_FIELD_NUMBER: _ClassVar[int]
    BOLD_FIELD_NUMBER: _ClassVar[int]
    ITALIC_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    ITALIC_ANGLE_FIELD_NUMBER: _ClassVar[int]
    FONT_SIZE_FIELD_NUMBER: _ClassVar[int]
    USE_HEIGHLIGHT_COLOR_FIELD_NUMBER: _ClassVar[int]
    USE_REMOTE_COLOR_FIELD_NUMBER: _ClassVar[int]
    color: str
    bold: bool
    italic: bool
    weight: int
    italic_angle: int
    font_size: int
    use_heighlight_color: bool
    use_remote_color: bool
    def __init__(self, color: _Optional[str] = ..., bold: _Optional[bool] = ..., italic: _Optional[bool] = ..., weight: _Optional[int] = ..., italic_angle: _Optional[int] = ..., font_size: _Optional[int] = ..., use_heighlight_color: _Optional[bool] = ..., use_remote_color: _Optional[bool] = ...) -> None: ...

class TextPieceUser(_message.Message):
    __slots__ = ("user", "with_colon")
    USER_FIELD_NUMBER: _ClassVar[int]
    WITH_COLON_FIELD_NUMBER: _ClassVar[int]
    user: User
    with_colon: bool
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., with_colon: _Optional[bool] = ...) -> None: ...

class TextPieceGift(_message.Message):
    __slots__ = ("gift_id", "name_ref")
    GIFT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_REF_FIELD_NUMBER: _ClassVar[int]
    gift_id: int
    name_ref: str
    def __init__(self, gift_id: _Optional[int] = ..., name_ref: _Optional[str] = ...) -> None: ...

class TextPieceImage(_message.Message):
    __slots__ = ("image", "scaling_rate")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    SCALING_RATE_FIELD_NUMBER: _ClassVar[int]
    image: Image
    scaling_rate: float
    def __init__(self, image: _Optional[_Union[Image, _Mapping]] = ..., scaling_rate: _Optional[float] = ...) -> None: ...

class TextPiece(_message.Message):
    __slots__ = ("type", "format", "value_ref", "string_value", "user_value", "gift_value", "image_value", "schema_key")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    VALUE_REF_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    USER_VALUE_FIELD_NUMBER: _ClassVar[int]
    GIFT_VALUE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_VALUE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_KEY_FIELD_NUMBER: _ClassVar[int]
    type: int
    format: TextFormat
    value_ref: str
    string_value: str
    user_value: TextPieceUser
    gift_value: TextPieceGift
    image_value: TextPieceImage
    schema_key: str
    def __init__(self, type: _Optional[int] = ..., format: _Optional[_Union[TextFormat, _Mapping]] = ..., value_ref: _Optional[str] = ..., string_value: _Optional[str] = ..., user_value: _Optional[_Union[TextPieceUser, _Mapping]] = ..., gift_value: _Optional[_Union[TextPieceGift, _Mapping]] = ..., image_value: _Optional[_Union[TextPieceImage, _Mapping]] = ..., schema_key: _Optional[str] = ...) -> None: ...

class Text(_message.Message):
    __slots__ = ("key", "default_pattern", "default_format", "pieces")
    KEY_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_PATTERN_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    PIECES_FIELD_NUMBER: _ClassVar[int]
    key: str
    default_pattern: str
    default_format: TextFormat
    pieces: _containers.RepeatedCompositeFieldContainer[TextPiece]
    def __init__(self, key: _Optional[str] = ..., default_pattern: _Optional[str] = ..., default_format: _Optional[_Union[TextFormat, _Mapping]] = ..., pieces: _Optional[_Iterable[_Union[TextPiece, _Mapping]]] = ...) -> None: ...

class FollowInfo(_message.Message):
    __slots__ = ("following_count", "follower_count", "follow_status", "push_status", "remark_name", "follower_count_str", "following_count_str")
    FOLLOWING_COUNT_FIELD_NUMBER: _ClassVar[int]
    FOLLOWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_STATUS_FIELD_NUMBER: _ClassVar[int]
    PUSH_STATUS_FIELD_NUMBER: _ClassVar[int]
    REMARK_NAME_FIELD_NUMBER: _ClassVar[int]
    FOLLOWER_COUNT_STR_FIELD_NUMBER: _ClassVar[int]
    FOLLOWING_COUNT_STR_FIELD_NUMBER: _ClassVar[int]
    following_count: int
    follower_count: int
    follow_status: int
    push_status: int
    remark_name: str
    follower_count_str: str
    following_count_str: str
    def __init__(self, following_count: _Optional[int] = ..., follower_count: _Optional[int] = ..., follow_status: _Optional[int] = ..., push_status: _Optional[int] = ..., remark_name: _Optional[str] = ..., follower_count_str: _Optional[str] = ..., following_count_str: _Optional[str] = ...) -> None: ...

class PayGrade(_message.Message):
    __slots__ = ("total_diamond_count", "diamond_icon", "name", "icon", "next_name", "level", "next_icon", "next_diamond", "now_diamond", "grade_describe", "score")
    TOTAL_DIAMOND_COUNT_FIELD_NUMBER: _ClassVar[int]
    DIAMOND_ICON_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ICON_FIELD_NUMBER: _ClassVar[int]
    NEXT_NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    NEXT_ICON_FIELD_NUMBER: _ClassVar[int]
    NEXT_DIAMOND_FIELD_NUMBER: _ClassVar[int]
    NOW_DIAMOND_FIELD_NUMBER: _ClassVar[int]
    GRADE_DESCRIBE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    total_diamond_count: int
    diamond_icon: Image
    name: str
    icon: Image
    next_name: str
    level: int
    next_icon: Image
    next_diamond: int
    now_diamond: int
    grade_describe: str
    score: int
    def __init__(self, total_diamond_count: _Optional[int] = ..., diamond_icon: _Optional[_Union[Image, _Mapping]] = ..., name: _Optional[str] = ..., icon: _Optional[_Union[Image, _Mapping]] = ..., next_name: _Optional[str] = ..., level: _Optional[int] = ..., next_icon: _Optional[_Union[Image, _Mapping]] = ..., next_diamond: _Optional[int] = ..., now_diamond: _Optional[int] = ..., grade_describe: _Optional[str] = ..., score: _Optional[int] = ...) -> None: ...

class FansClubData(_message.Message):
    __slots__ = ("club_name", "level", "user_fans_club_status", "anchor_id", "badge_type")
    CLUB_NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    USER_FANS_CLUB_STATUS_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_ID_FIELD_NUMBER: _ClassVar[int]
    BADGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    club_name: str
    level: int
    user_fans_club_status: int
    anchor_id: int
    badge_type: int
    def __init__(self, club_name: _Optional[str] = ..., level: _Optional[int] = ..., user_fans_club_status: _Optional[int] = ..., anchor_id: _Optional[int] = ..., badge_type: _Optional[int] = ...) -> None: ...

class FansClub(_message.Message):
    __slots__ = ("data", "prefer_data")
    class PreferDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: FansClubData
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[FansClubData, _Mapping]] = ...) -> None: ...
    DATA_FIELD_NUMBER: _ClassVar[int]
    PREFER_DATA_FIELD_NUMBER: _ClassVar[int]
    data: FansClubData
    prefer_data: _containers.MessageMap[int, FansClubData]
    def __init__(self, data: _Optional[_Union[FansClubData, _Mapping]] = ..., prefer_data: _Optional[_Mapping[int, FansClubData]] = ...) -> None: ...

class UserAttr(_message.Message):
    __slots__ = ("is_muted", "is_admin", "is_super_admin")
    IS_MUTED_FIELD_NUMBER: _ClassVar[int]
    IS_ADMIN_FIELD_NUMBER: _ClassVar[int]
    IS_SUPER_ADMIN_FIELD_NUMBER: _ClassVar[int]
    is_muted: bool
    is_admin: bool
    is_super_admin: bool
    def __init__(self, is_muted: _Optional[bool] = ..., is_admin: _Optional[bool] = ..., is_super_admin: _Optional[bool] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id", "short_id", "nickname", "gender", "signature", "level", "birthday", "telephone", "avatar_thumb", "avatar_medium", "avatar_large", "verified", "experience", "city", "status", "create_time", "modify_time", "secret", "badge_image_list", "follow_info", "pay_grade", "fans_club", "special_id", "avatar_border", "medal", "real_time_icons", "user_attr", "display_id", "sec_uid", "authorization_info", "badge_image_list_v2", "mystery_man", "web_rid", "desensitized_nickname", "webcast_uid", "fan_ticket_count", "id_str", "age_range", "user_open_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    SHORT_ID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    TELEPHONE_FIELD_NUMBER: _ClassVar[int]
    AVATAR_THUMB_FIELD_NUMBER: _ClassVar[int]
    AVATAR_MEDIUM_FIELD_NUMBER: _ClassVar[int]
    AVATAR_LARGE_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    EXPERIENCE_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    MODIFY_TIME_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    BADGE_IMAGE_LIST_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_INFO_FIELD_NUMBER: _ClassVar[int]
    PAY_GRADE_FIELD_NUMBER: _ClassVar[int]
    FANS_CLUB_FIELD_NUMBER: _ClassVar[int]
    SPECIAL_ID_FIELD_NUMBER: _ClassVar[int]
    AVATAR_BORDER_FIELD_NUMBER: _ClassVar[int]
    MEDAL_FIELD_NUMBER: _ClassVar[int]
    REAL_TIME_ICONS_FIELD_NUMBER: _ClassVar[int]
    USER_ATTR_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_ID_FIELD_NUMBER: _ClassVar[int]
    SEC_UID_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_INFO_FIELD_NUMBER: _ClassVar[int]
    BADGE_IMAGE_LIST_V2_FIELD_NUMBER: _ClassVar[int]
    MYSTERY_MAN_FIELD_NUMBER: _ClassVar[int]
    WEB_RID_FIELD_NUMBER: _ClassVar[int]
    DESENSITIZED_NICKNAME_FIELD_NUMBER: _ClassVar[int]
    WEBCAST_UID_FIELD_NUMBER: _ClassVar[int]
    FAN_TICKET_COUNT_FIELD_NUMBER: _ClassVar[int]
    ID_STR_FIELD_NUMBER: _ClassVar[int]
    AGE_RANGE_FIELD_NUMBER: _ClassVar[int]
    USER_OPEN_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    short_id: int
    nickname: str
    gender: int
    signature: str
    level: int
    birthday: int
    telephone: str
    avatar_thumb: Image
    avatar_medium: Image
    avatar_large: Image
    verified: bool
    experience: int
    city: str
    status: int
    create_time: int
    modify_time: int
    secret: int
    badge_image_list: _containers.RepeatedCompositeFieldContainer[Image]
    follow_info: FollowInfo
    pay_grade: PayGrade
    fans_club: FansClub
    special_id: str
    avatar_border: Image
    medal: Image
    real_time_icons: _containers.RepeatedCompositeFieldContainer[Image]
    user_attr: UserAttr
    display_id: str
    sec_uid: str
    authorization_info: int
    badge_image_list_v2: _containers.RepeatedCompositeFieldContainer[Image]
    mystery_man: int
    web_rid: str
    desensitized_nickname: str
    webcast_uid: str
    fan_ticket_count: int
    id_str: str
    age_range: int
    user_open_id: str
    def __init__(self, id: _Optional[int] = ..., short_id: _Optional[int] = ..., nickname: _Optional[str] = ..., gender: _Optional[int] = ..., signature: _Optional[str] = ..., level: _Optional[int] = ..., birthday: _Optional[int] = ..., telephone: _Optional[str] = ..., avatar_thumb: _Optional[_Union[Image, _Mapping]] = ..., avatar_medium: _Optional[_Union[Image, _Mapping]] = ..., avatar_large: _Optional[_Union[Image, _Mapping]] = ..., verified: _Optional[bool] = ..., experience: _Optional[int] = ..., city: _Optional[str] = ..., status: _Optional[int] = ..., create_time: _Optional[int] = ..., modify_time: _Optional[int] = ..., secret: _Optional[int] = ..., badge_image_list: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., follow_info: _Optional[_Union[FollowInfo, _Mapping]] = ..., pay_grade: _Optional[_Union[PayGrade, _Mapping]] = ..., fans_club: _Optional[_Union[FansClub, _Mapping]] = ..., special_id: _Optional[str] = ..., avatar_border: _Optional[_Union[Image, _Mapping]] = ..., medal: _Optional[_Union[Image, _Mapping]] = ..., real_time_icons: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., user_attr: _Optional[_Union[UserAttr, _Mapping]] = ..., display_id: _Optional[str] = ..., sec_uid: _Optional[str] = ..., authorization_info: _Optional[int] = ..., badge_image_list_v2: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., mystery_man: _Optional[int] = ..., web_rid: _Optional[str] = ..., desensitized_nickname: _Optional[str] = ..., webcast_uid: _Optional[str] = ..., fan_ticket_count: _Optional[int] = ..., id_str: _Optional[str] = ..., age_range: _Optional[int] = ..., user_open_id: _Optional[str] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("common", "user", "content", "visible_to_sender", "background_image", "full_screen_text_color", "background_image_v2", "gift_image", "agree_msg_id", "priority_level", "event_time", "send_review", "from_intercom", "intercom_hide_user_card", "chat_by", "individual_chat_priority", "rtf_content", "rtf_content_v2")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    VISIBLE_TO_SENDER_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_IMAGE_FIELD_NUMBER: _ClassVar[int]
    FULL_SCREEN_TEXT_COLOR_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_IMAGE_V2_FIELD_NUMBER: _ClassVar[int]
    GIFT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    AGREE_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    SEND_REVIEW_FIELD_NUMBER: _ClassVar[int]
    FROM_INTERCOM_FIELD_NUMBER: _ClassVar[int]
    INTERCOM_HIDE_USER_CARD_FIELD_NUMBER: _ClassVar[int]
    CHAT_BY_FIELD_NUMBER: _ClassVar[int]
    INDIVIDUAL_CHAT_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RTF_CONTENT_FIELD_NUMBER: _ClassVar[int]
    RTF_CONTENT_V2_FIELD_NUMBER: _ClassVar[int]
    common: Common
    user: User
    content: str
    visible_to_sender: bool
    background_image: Image
    full_screen_text_color: str
    background_image_v2: Image
    gift_image: Image
    agree_msg_id: int
    priority_level: int
    event_time: int
    send_review: bool
    from_intercom: bool
    intercom_hide_user_card: bool
    chat_by: str
    individual_chat_priority: int
    rtf_content: Text
    rtf_content_v2: Text
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., content: _Optional[str] = ..., visible_to_sender: _Optional[bool] = ..., background_image: _Optional[_Union[Image, _Mapping]] = ..., full_screen_text_color: _Optional[str] = ..., background_image_v2: _Optional[_Union[Image, _Mapping]] = ..., gift_image: _Optional[_Union[Image, _Mapping]] = ..., agree_msg_id: _Optional[int] = ..., priority_level: _Optional[int] = ..., event_time: _Optional[int] = ..., send_review: _Optional[bool] = ..., from_intercom: _Optional[bool] = ..., intercom_hide_user_card: _Optional[bool] = ..., chat_by: _Optional[str] = ..., individual_chat_priority: _Optional[int] = ..., rtf_content: _Optional[_Union[Text, _Mapping]] = ..., rtf_content_v2: _Optional[_Union[Text, _Mapping]] = ...) -> None: ...

class GiftStruct(_message.Message):
    __slots__ = ("image", "describe", "notify", "duration", "id", "for_linkmic", "doodle", "for_fansclub", "combo", "type", "diamond_count", "is_displayed_on_panel", "primary_effect_id", "gift_label_icon", "name", "region", "manual", "for_custom", "icon", "action_type")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    DESCRIBE_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    FOR_LINKMIC_FIELD_NUMBER: _ClassVar[int]
    DOODLE_FIELD_NUMBER: _ClassVar[int]
    FOR_FANSCLUB_FIELD_NUMBER: _ClassVar[int]
    COMBO_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DIAMOND_COUNT_FIELD_NUMBER: _ClassVar[int]
    IS_DISPLAYED_ON_PANEL_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_EFFECT_ID_FIELD_NUMBER: _ClassVar[int]
    GIFT_LABEL_ICON_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    MANUAL_FIELD_NUMBER: _ClassVar[int]
    FOR_CUSTOM_FIELD_NUMBER: _ClassVar[int]
    ICON_FIELD_NUMBER: _ClassVar[int]
    ACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    image: Image
    describe: str
    notify: bool
    duration: int
    id: int
    for_linkmic: bool
    doodle: bool
    for_fansclub: bool
    combo: bool
    type: int
    diamond_count: int
    is_displayed_on_panel: bool
    primary_effect_id: int
    gift_label_icon: Image
    name: str
    region: str
    manual: str
    for_custom: bool
    icon: Image
    action_type: int
    def __init__(self, image: _Optional[_Union[Image, _Mapping]] = ..., describe: _Optional[str] = ..., notify: _Optional[bool] = ..., duration: _Optional[int] = ..., id: _Optional[int] = ..., for_linkmic: _Optional[bool] = ..., doodle: _Optional[bool] = ..., for_fansclub: _Optional[bool] = ..., combo: _Optional[bool] = ..., type: _Optional[int] = ..., diamond_count: _Optional[int] = ..., is_displayed_on_panel: _Optional[bool] = ..., primary_effect_id: _Optional[int] = ..., gift_label_icon: _Optional[_Union[Image, _Mapping]] = ..., name: _Optional[str] = ..., region: _Optional[str] = ..., manual: _Optional[str] = ..., for_custom: _Optional[bool] = ..., icon: _Optional[_Union[Image, _Mapping]] = ..., action_type: _Optional[int] = ...) -> None: ...

class GiftMessage(_message.Message):
    __slots__ = ("common", "gift_id", "fan_ticket_count", "group_count", "repeat_count", "combo_count", "user", "to_user", "repeat_end", "group_id", "income_taskgifts", "room_fan_ticket_count", "gift", "log_id", "send_type", "tray_display_text", "display_for_self", "total_count", "client_gift_source", "to_user_ids", "send_time", "trace_id", "count")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    GIFT_ID_FIELD_NUMBER: _ClassVar[int]
    FAN_TICKET_COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUP_COUNT_FIELD_NUMBER: _ClassVar[int]
    REPEAT_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMBO_COUNT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    TO_USER_FIELD_NUMBER: _ClassVar[int]
    REPEAT_END_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    INCOME_TASKGIFTS_FIELD_NUMBER: _ClassVar[int]
    ROOM_FAN_TICKET_COUNT_FIELD_NUMBER: _ClassVar[int]
    GIFT_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_TYPE_FIELD_NUMBER: _ClassVar[int]
    TRAY_DISPLAY_TEXT_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_FOR_SELF_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_GIFT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    TO_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    common: Common
    gift_id: int
    fan_ticket_count: int
    group_count: int
    repeat_count: int
    combo_count: int
    user: User
    to_user: User
    repeat_end: int
    group_id: int
    income_taskgifts: int
    room_fan_ticket_count: int
    gift: GiftStruct
    log_id: str
    send_type: int
    tray_display_text: Text
    display_for_self: bool
    total_count: int
    client_gift_source: int
    to_user_ids: _containers.RepeatedScalarFieldContainer[int]
    send_time: int
    trace_id: str
    count: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., gift_id: _Optional[int] = ..., fan_ticket_count: _Optional[int] = ..., group_count: _Optional[int] = ..., repeat_count: _Optional[int] = ..., combo_count: _Optional[int] = ..., user: _Optional[_Union[User, _Mapping]] = ..., to_user: _Optional[_Union[User, _Mapping]] = ..., repeat_end: _Optional[int] = ..., group_id: _Optional[int] = ..., income_taskgifts: _Optional[int] = ..., room_fan_ticket_count: _Optional[int] = ..., gift: _Optional[_Union[GiftStruct, _Mapping]] = ..., log_id: _Optional[str] = ..., send_type: _Optional[int] = ..., tray_display_text: _Optional[_Union[Text, _Mapping]] = ..., display_for_self: _Optional[bool] = ..., total_count: _Optional[int] = ..., client_gift_source: _Optional[int] = ..., to_user_ids: _Optional[_Iterable[int]] = ..., send_time: _Optional[int] = ..., trace_id: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class DoubleLikeDetail(_message.Message):
    __slots__ = ("double_flag", "seq_id", "renewals_num", "triggers_num")
    DOUBLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    SEQ_ID_FIELD_NUMBER: _ClassVar[int]
    RENEWALS_NUM_FIELD_NUMBER: _ClassVar[int]
    TRIGGERS_NUM_FIELD_NUMBER: _ClassVar[int]
    double_flag: bool
    seq_id: int
    renewals_num: int
    triggers_num: int
    def __init__(self, double_flag: _Optional[bool] = ..., seq_id: _Optional[int] = ..., renewals_num: _Optional[int] = ..., triggers_num: _Optional[int] = ...) -> None: ...

class LikeMessage(_message.Message):
    __slots__ = ("common", "count", "total", "color", "user", "icon", "double_like_detail", "linkmic_guest_uid", "scene")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ICON_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_LIKE_DETAIL_FIELD_NUMBER: _ClassVar[int]
    LINKMIC_GUEST_UID_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    count: int
    total: int
    color: int
    user: User
    icon: str
    double_like_detail: DoubleLikeDetail
    linkmic_guest_uid: int
    scene: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., count: _Optional[int] = ..., total: _Optional[int] = ..., color: _Optional[int] = ..., user: _Optional[_Union[User, _Mapping]] = ..., icon: _Optional[str] = ..., double_like_detail: _Optional[_Union[DoubleLikeDetail, _Mapping]] = ..., linkmic_guest_uid: _Optional[int] = ..., scene: _Optional[int] = ...) -> None: ...

class MemberMessage(_message.Message):
    __slots__ = ("common", "user", "member_count", "operator", "is_set_to_admin", "is_top_user", "rank_score", "top_user_no", "enter_type", "action", "action_description", "user_id", "pop_str", "anchor_display_text", "user_enter_tip_type", "anchor_enter_tip_type")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    IS_SET_TO_ADMIN_FIELD_NUMBER: _ClassVar[int]
    IS_TOP_USER_FIELD_NUMBER: _ClassVar[int]
    RANK_SCORE_FIELD_NUMBER: _ClassVar[int]
    TOP_USER_NO_FIELD_NUMBER: _ClassVar[int]
    ENTER_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTION_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    POP_STR_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_DISPLAY_TEXT_FIELD_NUMBER: _ClassVar[int]
    USER_ENTER_TIP_TYPE_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_ENTER_TIP_TYPE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    user: User
    member_count: int
    operator: User
    is_set_to_admin: bool
    is_top_user: bool
    rank_score: int
    top_user_no: int
    enter_type: int
    action: int
    action_description: str
    user_id: int
    pop_str: str
    anchor_display_text: Text
    user_enter_tip_type: int
    anchor_enter_tip_type: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., member_count: _Optional[int] = ..., operator: _Optional[_Union[User, _Mapping]] = ..., is_set_to_admin: _Optional[bool] = ..., is_top_user: _Optional[bool] = ..., rank_score: _Optional[int] = ..., top_user_no: _Optional[int] = ..., enter_type: _Optional[int] = ..., action: _Optional[int] = ..., action_description: _Optional[str] = ..., user_id: _Optional[int] = ..., pop_str: _Optional[str] = ..., anchor_display_text: _Optional[_Union[Text, _Mapping]] = ..., user_enter_tip_type: _Optional[int] = ..., anchor_enter_tip_type: _Optional[int] = ...) -> None: ...

class SocialMessage(_message.Message):
    __slots__ = ("common", "user", "share_type", "action", "share_target", "follow_count", "share_total_count")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SHARE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SHARE_TARGET_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_COUNT_FIELD_NUMBER: _ClassVar[int]
    SHARE_TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    common: Common
    user: User
    share_type: int
    action: int
    share_target: str
    follow_count: int
    share_total_count: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., share_type: _Optional[int] = ..., action: _Optional[int] = ..., share_target: _Optional[str] = ..., follow_count: _Optional[int] = ..., share_total_count: _Optional[int] = ...) -> None: ...

class Contributor(_message.Message):
    __slots__ = ("score", "user", "rank", "delta", "is_hidden", "score_description", "exactly_score")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    IS_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    SCORE_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXACTLY_SCORE_FIELD_NUMBER: _ClassVar[int]
    score: int
    user: User
    rank: int
    delta: int
    is_hidden: bool
    score_description: str
    exactly_score: str
    def __init__(self, score: _Optional[int] = ..., user: _Optional[_Union[User, _Mapping]] = ..., rank: _Optional[int] = ..., delta: _Optional[int] = ..., is_hidden: _Optional[bool] = ..., score_description: _Optional[str] = ..., exactly_score: _Optional[str] = ...) -> None: ...

class RoomUserSeqMessage(_message.Message):
    __slots__ = ("common", "ranks", "total", "pop_str", "seats", "popularity", "total_user", "total_user_str", "total_str", "online_user_for_anchor", "total_pv_for_anchor", "up_right_stats_str", "up_right_stats_str_complete")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    RANKS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    POP_STR_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    POPULARITY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_USER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_USER_STR_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STR_FIELD_NUMBER: _ClassVar[int]
    ONLINE_USER_FOR_ANCHOR_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PV_FOR_ANCHOR_FIELD_NUMBER: _ClassVar[int]
    UP_RIGHT_STATS_STR_FIELD_NUMBER: _ClassVar[int]
    UP_RIGHT_STATS_STR_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    ranks: _containers.RepeatedCompositeFieldContainer[Contributor]
    total: int
    pop_str: str
    seats: _containers.RepeatedCompositeFieldContainer[Contributor]
    popularity: int
    total_user: int
    total_user_str: str
    total_str: str
    online_user_for_anchor: str
    total_pv_for_anchor: str
    up_right_stats_str: str
    up_right_stats_str_complete: str
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., ranks: _Optional[_Iterable[_Union[Contributor, _Mapping]]] = ..., total: _Optional[int] = ..., pop_str: _Optional[str] = ..., seats: _Optional[_Iterable[_Union[Contributor, _Mapping]]] = ..., popularity: _Optional[int] = ..., total_user: _Optional[int] = ..., total_user_str: _Optional[str] = ..., total_str: _Optional[str] = ..., online_user_for_anchor: _Optional[str] = ..., total_pv_for_anchor: _Optional[str] = ..., up_right_stats_str: _Optional[str] = ..., up_right_stats_str_complete: _Optional[str] = ...) -> None: ...

class UpgradePrivilege(_message.Message):
    __slots__ = ("content", "description", "button_type")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BUTTON_TYPE_FIELD_NUMBER: _ClassVar[int]
    content: str
    description: str
    button_type: int
    def __init__(self, content: _Optional[str] = ..., description: _Optional[str] = ..., button_type: _Optional[int] = ...) -> None: ...

class FansclubMessage(_message.Message):
    __slots__ = ("common", "type", "content", "user", "upgrade_privilege")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    UPGRADE_PRIVILEGE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    type: int
    content: str
    user: User
    upgrade_privilege: UpgradePrivilege
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., type: _Optional[int] = ..., content: _Optional[str] = ..., user: _Optional[_Union[User, _Mapping]] = ..., upgrade_privilege: _Optional[_Union[UpgradePrivilege, _Mapping]] = ...) -> None: ...

class EmojiChatMessage(_message.Message):
    __slots__ = ("common", "user", "emoji_id", "emoji_content", "default_content", "background_image", "from_intercom", "intercom_hide_user_card")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    EMOJI_ID_FIELD_NUMBER: _ClassVar[int]
    EMOJI_CONTENT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_CONTENT_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_IMAGE_FIELD_NUMBER: _ClassVar[int]
    FROM_INTERCOM_FIELD_NUMBER: _ClassVar[int]
    INTERCOM_HIDE_USER_CARD_FIELD_NUMBER: _ClassVar[int]
    common: Common
    user: User
    emoji_id: int
    emoji_content: Text
    default_content: str
    background_image: Image
    from_intercom: bool
    intercom_hide_user_card: bool
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., emoji_id: _Optional[int] = ..., emoji_content: _Optional[_Union[Text, _Mapping]] = ..., default_content: _Optional[str] = ..., background_image: _Optional[_Union[Image, _Mapping]] = ..., from_intercom: _Optional[bool] = ..., intercom_hide_user_card: _Optional[bool] = ...) -> None: ...

class RoomStatsMessage(_message.Message):
    __slots__ = ("common", "display_short", "display_middle", "display_long", "display_value", "display_version", "incremental", "is_hidden", "total", "display_type")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_SHORT_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_MIDDLE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_LONG_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_VALUE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_VERSION_FIELD_NUMBER: _ClassVar[int]
    INCREMENTAL_FIELD_NUMBER: _ClassVar[int]
    IS_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_TYPE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    display_short: str
    display_middle: str
    display_long: str
    display_value: int
    display_version: int
    incremental: bool
    is_hidden: bool
    total: int
    display_type: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., display_short: _Optional[str] = ..., display_middle: _Optional[str] = ..., display_long: _Optional[str] = ..., display_value: _Optional[int] = ..., display_version: _Optional[int] = ..., incremental: _Optional[bool] = ..., is_hidden: _Optional[bool] = ..., total: _Optional[int] = ..., display_type: _Optional[int] = ...) -> None: ...

class RoomRank(_message.Message):
    __slots__ = ("user", "score_str", "profile_hidden")
    USER_FIELD_NUMBER: _ClassVar[int]
    SCORE_STR_FIELD_NUMBER: _ClassVar[int]
    PROFILE_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    user: User
    score_str: str
    profile_hidden: bool
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., score_str: _Optional[str] = ..., profile_hidden: _Optional[bool] = ...) -> None: ...

class RoomRankMessage(_message.Message):
    __slots__ = ("common", "ranks")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    RANKS_FIELD_NUMBER: _ClassVar[int]
    common: Common
    ranks: _containers.RepeatedCompositeFieldContainer[RoomRank]
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., ranks: _Optional[_Iterable[_Union[RoomRank, _Mapping]]] = ...) -> None: ...

class RoomMessage(_message.Message):
    __slots__ = ("common", "content", "supprot_landscape", "room_message_type", "system_top_msg", "forced_guarantee", "biz_scene", "buried_point")
    class BuriedPointEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMMON_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SUPPROT_LANDSCAPE_FIELD_NUMBER: _ClassVar[int]
    ROOM_MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_TOP_MSG_FIELD_NUMBER: _ClassVar[int]
    FORCED_GUARANTEE_FIELD_NUMBER: _ClassVar[int]
    BIZ_SCENE_FIELD_NUMBER: _ClassVar[int]
    BURIED_POINT_FIELD_NUMBER: _ClassVar[int]
    common: Common
    content: str
    supprot_landscape: bool
    room_message_type: int
    system_top_msg: bool
    forced_guarantee: bool
    biz_scene: str
    buried_point: _containers.ScalarMap[str, str]
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., content: _Optional[str] = ..., supprot_landscape: _Optional[bool] = ..., room_message_type: _Optional[int] = ..., system_top_msg: _Optional[bool] = ..., forced_guarantee: _Optional[bool] = ..., biz_scene: _Optional[str] = ..., buried_point: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ControlExtra(_message.Message):
    __slots__ = ("ban_info_url", "reason_no", "title", "violation_reason", "content", "got_it_button", "ban_detail_button", "source")
    BAN_INFO_URL_FIELD_NUMBER: _ClassVar[int]
    REASON_NO_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    VIOLATION_REASON_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    GOT_IT_BUTTON_FIELD_NUMBER: _ClassVar[int]
    BAN_DETAIL_BUTTON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ban_info_url: str
    reason_no: int
    title: Text
    violation_reason: Text
    content: Text
    got_it_button: Text
    ban_detail_button: Text
    source: str
    def __init__(self, ban_info_url: _Optional[str] = ..., reason_no: _Optional[int] = ..., title: _Optional[_Union[Text, _Mapping]] = ..., violation_reason: _Optional[_Union[Text, _Mapping]] = ..., content: _Optional[_Union[Text, _Mapping]] = ..., got_it_button: _Optional[_Union[Text, _Mapping]] = ..., ban_detail_button: _Optional[_Union[Text, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class ControlMessage(_message.Message):
    __slots__ = ("common", "action", "tips", "extra")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TIPS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    common: Common
    action: int
    tips: str
    extra: ControlExtra
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., action: _Optional[int] = ..., tips: _Optional[str] = ..., extra: _Optional[_Union[ControlExtra, _Mapping]] = ...) -> None: ...

class RoomStreamAdaptationMessage(_message.Message):
    __slots__ = ("common", "adaptation_type", "adaptation_height_ratio", "adaptation_body_center_ratio", "adaptation_content_top_ratio", "adaptation_content_bottom_ratio")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    ADAPTATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    ADAPTATION_HEIGHT_RATIO_FIELD_NUMBER: _ClassVar[int]
    ADAPTATION_BODY_CENTER_RATIO_FIELD_NUMBER: _ClassVar[int]
    ADAPTATION_CONTENT_TOP_RATIO_FIELD_NUMBER: _ClassVar[int]
    ADAPTATION_CONTENT_BOTTOM_RATIO_FIELD_NUMBER: _ClassVar[int]
    common: Common
    adaptation_type: int
    adaptation_height_ratio: float
    adaptation_body_center_ratio: float
    adaptation_content_top_ratio: float
    adaptation_content_bottom_ratio: float
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., adaptation_type: _Optional[int] = ..., adaptation_height_ratio: _Optional[float] = ..., adaptation_body_center_ratio: _Optional[float] = ..., adaptation_content_top_ratio: _Optional[float] = ..., adaptation_content_bottom_ratio: _Optional[float] = ...) -> None: ...
