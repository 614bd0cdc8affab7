from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PushHeader(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class PushFrame(_message.Message):
    __slots__ = ("seq_id", "log_id", "service", "method", "headers", "payload_encoding", "payload_type", "payload")
    SEQ_ID_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_ENCODING_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    seq_id: int
    log_id: int
    service: int
    method: int
    headers: _containers.RepeatedCompositeFieldContainer[PushHeader]
    payload_encoding: str
    payload_type: str
    payload: bytes
    def __init__(self, seq_id: _Optional[int] = ..., log_id: _Optional[int] = ..., service: _Optional[int] = ..., method: _Optional[int] = ..., headers: _Optional[_Iterable[_Union[PushHeader, _Mapping]]] = ..., payload_encoding: _Optional[str] = ..., payload_type: _Optional[str] = ..., payload: _Optional[bytes] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("messages", "cursor", "fetch_interval", "now", "internal_ext", "fetch_type", "route_params", "heartbeat_duration", "need_ack", "push_server", "is_first", "history_comment_cursor", "history_no_more")
    class RouteParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    FETCH_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_EXT_FIELD_NUMBER: _ClassVar[int]
    FETCH_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_PARAMS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_DURATION_FIELD_NUMBER: _ClassVar[int]
    NEED_ACK_FIELD_NUMBER: _ClassVar[int]
    PUSH_SERVER_FIELD_NUMBER: _ClassVar[int]
    IS_FIRST_FIELD_NUMBER: _ClassVar[int]
    HISTORY_COMMENT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    HISTORY_NO_MORE_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    cursor: str
    fetch_interval: int
    now: int
    internal_ext: str
    fetch_type: int
    route_params: _containers.ScalarMap[str, str]
    heartbeat_duration: int
    need_ack: bool
    push_server: str
    is_first: bool
    history_comment_cursor: str
    history_no_more: bool
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., cursor: _Optional[str] = ..., fetch_interval: _Optional[int] = ..., now: _Optional[int] = ..., internal_ext: _Optional[str] = ..., fetch_type: _Optional[int] = ..., route_params: _Optional[_Mapping[str, str]] = ..., heartbeat_duration: _Optional[int] = ..., need_ack: _Optional[bool] = ..., push_server: _Optional[str] = ..., is_first: _Optional[bool] = ..., history_comment_cursor: _Optional[str] = ..., history_no_more: _Optional[bool] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("method", "payload", "msg_id", "msg_type", "offset", "is_history")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    MSG_ID_FIELD_NUMBER: _ClassVar[int]
    MSG_TYPE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    IS_HISTORY_FIELD_NUMBER: _ClassVar[int]
    method: str
    payload: bytes
    msg_id: int
    msg_type: int
    offset: int
    is_history: bool
    def __init__(self, method: _Optional[str] = ..., payload: _Optional[bytes] = ..., msg_id: _Optional[int] = ..., msg_type: _Optional[int] = ..., offset: _Optional[int] = ..., is_history: _Optional[bool] = ...) -> None: ...

class ImEnterRoomMessage(_message.Message):
    __slots__ = ("room_id", "room_tag", "live_region", "live_id", "identity", "cursor", "account_type", "enter_unique_id", "filter_welcome_msg", "is_anchor_continue_keep_msg")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_TAG_FIELD_NUMBER: _ClassVar[int]
    LIVE_REGION_FIELD_NUMBER: _ClassVar[int]
    LIVE_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENTER_UNIQUE_ID_FIELD_NUMBER: _ClassVar[int]
    FILTER_WELCOME_MSG_FIELD_NUMBER: _ClassVar[int]
    IS_ANCHOR_CONTINUE_KEEP_MSG_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    room_tag: str
    live_region: str
    live_id: int
    identity: str
    cursor: str
    account_type: int
    enter_unique_id: int
    filter_welcome_msg: str
    is_anchor_continue_keep_msg: bool
    def __init__(self, room_id: _Optional[int] = ..., room_tag: _Optional[str] = ..., live_region: _Optional[str] = ..., live_id: _Optional[int] = ..., identity: _Optional[str] = ..., cursor: _Optional[str] = ..., account_type: _Optional[int] = ..., enter_unique_id: _Optional[int] = ..., filter_welcome_msg: _Optional[str] = ..., is_anchor_continue_keep_msg: _Optional[bool] = ...) -> None: ...

class HeartBeatMessage(_message.Message):
    __slots__ = ("room_id", "send_packet_seq_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_PACKET_SEQ_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    send_packet_seq_id: int
    def __init__(self, room_id: _Optional[int] = ..., send_packet_seq_id: _Optional[int] = ...) -> None: ...

class Text(_message.Message):
    __slots__ = ("key", "default_pattern")
    KEY_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_PATTERN_FIELD_NUMBER: _ClassVar[int]
    key: str
    default_pattern: str
    def __init__(self, key: _Optional[str] = ..., default_pattern: _Optional[str] = ...) -> None: ...

class Common(_message.Message):
    __slots__ = ("method", "msg_id", "room_id", "create_time", "display_text", "client_send_time")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    MSG_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_TEXT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    method: str
    msg_id: int
    room_id: int
    create_time: int
    display_text: Text
    client_send_time: int
    def __init__(self, method: _Optional[str] = ..., msg_id: _Optional[int] = ..., room_id: _Optional[int] = ..., create_time: _Optional[int] = ..., display_text: _Optional[_Union[Text, _Mapping]] = ..., client_send_time: _Optional[int] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id", "nickname", "display_id", "sec_uid", "id_str")
    ID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_ID_FIELD_NUMBER: _ClassVar[int]
    SEC_UID_FIELD_NUMBER: _ClassVar[int]
    ID_STR_FIELD_NUMBER: _ClassVar[int]
    id: int
    nickname: str
    display_id: str
    sec_uid: str
    id_str: str
    def __init__(self, id: _Optional[int] = ..., nickname: _Optional[str] = ..., display_id: _Optional[str] = ..., sec_uid: _Optional[str] = ..., id_str: _Optional[str] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("common", "user", "content", "content_language")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    user: User
    content: str
    content_language: str
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., content: _Optional[str] = ..., content_language: _Optional[str] = ...) -> None: ...

class GiftStruct(_message.Message):
    __slots__ = ("describe", "id", "combo", "type", "diamond_count", "name")
    DESCRIBE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    COMBO_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DIAMOND_COUNT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    describe: str
    id: int
    combo: bool
    type: int
    diamond_count: int
    name: str
    def __init__(self, describe: _Optional[str] = ..., id: _Optional[int] = ..., combo: _Optional[bool] = ..., type: _Optional[int] = ..., diamond_count: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class GiftMessage(_message.Message):
    __slots__ = ("common", "gift_id", "fan_ticket_count", "group_count", "repeat_count", "combo_count", "user", "to_user", "repeat_end", "group_id", "gift", "to_member_nickname")
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
    GIFT_FIELD_NUMBER: _ClassVar[int]
    TO_MEMBER_NICKNAME_FIELD_NUMBER: _ClassVar[int]
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
    gift: GiftStruct
    to_member_nickname: str
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., gift_id: _Optional[int] = ..., fan_ticket_count: _Optional[int] = ..., group_count: _Optional[int] = ..., repeat_count: _Optional[int] = ..., combo_count: _Optional[int] = ..., user: _Optional[_Union[User, _Mapping]] = ..., to_user: _Optional[_Union[User, _Mapping]] = ..., repeat_end: _Optional[int] = ..., group_id: _Optional[int] = ..., gift: _Optional[_Union[GiftStruct, _Mapping]] = ..., to_member_nickname: _Optional[str] = ...) -> None: ...

class LikeMessage(_message.Message):
    __slots__ = ("common", "count", "total", "user")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    common: Common
    count: int
    total: int
    user: User
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., count: _Optional[int] = ..., total: _Optional[int] = ..., user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class MemberMessage(_message.Message):
    __slots__ = ("common", "user", "member_count", "enter_type", "action")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    ENTER_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    common: Common
    user: User
    member_count: int
    enter_type: int
    action: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., member_count: _Optional[int] = ..., enter_type: _Optional[int] = ..., action: _Optional[int] = ...) -> None: ...

class SubNotifyMessage(_message.Message):
    __slots__ = ("common", "user", "sub_month", "subscribe_type", "message_type")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SUB_MONTH_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    user: User
    sub_month: int
    subscribe_type: int
    message_type: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., sub_month: _Optional[int] = ..., subscribe_type: _Optional[int] = ..., message_type: _Optional[int] = ...) -> None: ...

class SocialMessage(_message.Message):
    __slots__ = ("common", "user", "share_type", "action", "share_target", "follow_count", "share_count")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SHARE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SHARE_TARGET_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_COUNT_FIELD_NUMBER: _ClassVar[int]
    SHARE_COUNT_FIELD_NUMBER: _ClassVar[int]
    common: Common
    user: User
    share_type: int
    action: int
    share_target: str
    follow_count: int
    share_count: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., share_type: _Optional[int] = ..., action: _Optional[int] = ..., share_target: _Optional[str] = ..., follow_count: _Optional[int] = ..., share_count: _Optional[int] = ...) -> None: ...

class Contributor(_message.Message):
    __slots__ = ("score", "user", "rank", "delta")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    score: int
    user: User
    rank: int
    delta: int
    def __init__(self, score: _Optional[int] = ..., user: _Optional[_Union[User, _Mapping]] = ..., rank: _Optional[int] = ..., delta: _Optional[int] = ...) -> None: ...

class RoomUserSeqMessage(_message.Message):
    __slots__ = ("common", "ranks", "total", "popularity", "total_user", "anonymous")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    RANKS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    POPULARITY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_USER_FIELD_NUMBER: _ClassVar[int]
    ANONYMOUS_FIELD_NUMBER: _ClassVar[int]
    common: Common
    ranks: _containers.RepeatedCompositeFieldContainer[Contributor]
    total: int
    popularity: int
    total_user: int
    anonymous: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., ranks: _Optional[_Iterable[_Union[Contributor, _Mapping]]] = ..., total: _Optional[int] = ..., popularity: _Optional[int] = ..., total_user: _Optional[int] = ..., anonymous: _Optional[int] = ...) -> None: ...

class ControlMessage(_message.Message):
    __slots__ = ("common", "action")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    common: Common
    action: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., action: _Optional[int] = ...) -> None: ...

class BattleSetting(_message.Message):
    __slots__ = ("battle_id", "start_time_ms", "duration", "channel_id", "status", "battle_type", "end_time_ms")
    BATTLE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BATTLE_TYPE_FIELD_NUMBER: _ClassVar[int]
    END_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    battle_id: int
    start_time_ms: int
    duration: int
    channel_id: int
    status: int
    battle_type: int
    end_time_ms: int
    def __init__(self, battle_id: _Optional[int] = ..., start_time_ms: _Optional[int] = ..., duration: _Optional[int] = ..., channel_id: _Optional[int] = ..., status: _Optional[int] = ..., battle_type: _Optional[int] = ..., end_time_ms: _Optional[int] = ...) -> None: ...

class BattleResult(_message.Message):
    __slots__ = ("user_id", "result", "score", "diamond_score")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    DIAMOND_SCORE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    result: int
    score: int
    diamond_score: int
    def __init__(self, user_id: _Optional[int] = ..., result: _Optional[int] = ..., score: _Optional[int] = ..., diamond_score: _Optional[int] = ...) -> None: ...

class LinkMicBattle(_message.Message):
    __slots__ = ("common", "battle_id", "battle_settings", "action", "battle_result")
    class BattleResultEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: BattleResult
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[BattleResult, _Mapping]] = ...) -> None: ...
    COMMON_FIELD_NUMBER: _ClassVar[int]
    BATTLE_ID_FIELD_NUMBER: _ClassVar[int]
    BATTLE_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    BATTLE_RESULT_FIELD_NUMBER: _ClassVar[int]
    common: Common
    battle_id: int
    battle_settings: BattleSetting
    action: int
    battle_result: _containers.MessageMap[int, BattleResult]
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., battle_id: _Optional[int] = ..., battle_settings: _Optional[_Union[BattleSetting, _Mapping]] = ..., action: _Optional[int] = ..., battle_result: _Optional[_Mapping[int, BattleResult]] = ...) -> None: ...

class LinkMicBattlePunishFinish(_message.Message):
    __slots__ = ("common", "channel_id", "op_uid", "reason", "battle_id")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    OP_UID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BATTLE_ID_FIELD_NUMBER: _ClassVar[int]
    common: Common
    channel_id: int
    op_uid: int
    reason: int
    battle_id: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., channel_id: _Optional[int] = ..., op_uid: _Optional[int] = ..., reason: _Optional[int] = ..., battle_id: _Optional[int] = ...) -> None: ...

class BattleUserArmies(_message.Message):
    __slots__ = ("host_score",)
    HOST_SCORE_FIELD_NUMBER: _ClassVar[int]
    host_score: int
    def __init__(self, host_score: _Optional[int] = ...) -> None: ...

class LinkMicArmies(_message.Message):
    __slots__ = ("common", "battle_id", "armies", "channel_id", "trigger_reason", "gift_id", "gift_count", "total_diamond_count", "repeat_count")
    class ArmiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: BattleUserArmies
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[BattleUserArmies, _Mapping]] = ...) -> None: ...
    COMMON_FIELD_NUMBER: _ClassVar[int]
    BATTLE_ID_FIELD_NUMBER: _ClassVar[int]
    ARMIES_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_REASON_FIELD_NUMBER: _ClassVar[int]
    GIFT_ID_FIELD_NUMBER: _ClassVar[int]
    GIFT_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DIAMOND_COUNT_FIELD_NUMBER: _ClassVar[int]
    REPEAT_COUNT_FIELD_NUMBER: _ClassVar[int]
    common: Common
    battle_id: int
    armies: _containers.MessageMap[int, BattleUserArmies]
    channel_id: int
    trigger_reason: int
    gift_id: int
    gift_count: int
    total_diamond_count: int
    repeat_count: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., battle_id: _Optional[int] = ..., armies: _Optional[_Mapping[int, BattleUserArmies]] = ..., channel_id: _Optional[int] = ..., trigger_reason: _Optional[int] = ..., gift_id: _Optional[int] = ..., gift_count: _Optional[int] = ..., total_diamond_count: _Optional[int] = ..., repeat_count: _Optional[int] = ...) -> None: ...

class Question(_message.Message):
    __slots__ = ("question_id", "content", "answer_status", "create_time", "user")
    QUESTION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    question_id: int
    content: str
    answer_status: int
    create_time: int
    user: User
    def __init__(self, question_id: _Optional[int] = ..., content: _Optional[str] = ..., answer_status: _Optional[int] = ..., create_time: _Optional[int] = ..., user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class QuestionNewMessage(_message.Message):
    __slots__ = ("common", "details")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    common: Common
    details: Question
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., details: _Optional[_Union[Question, _Mapping]] = ...) -> None: ...

class EnvelopeInfo(_message.Message):
    __slots__ = ("envelope_id", "business_type", "send_user_name", "diamond_count", "people_count", "unpack_at")
    ENVELOPE_ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_TYPE_FIELD_NUMBER: _ClassVar[int]
    SEND_USER_NAME_FIELD_NUMBER: _ClassVar[int]
    DIAMOND_COUNT_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNPACK_AT_FIELD_NUMBER: _ClassVar[int]
    envelope_id: str
    business_type: int
    send_user_name: str
    diamond_count: int
    people_count: int
    unpack_at: int
    def __init__(self, envelope_id: _Optional[str] = ..., business_type: _Optional[int] = ..., send_user_name: _Optional[str] = ..., diamond_count: _Optional[int] = ..., people_count: _Optional[int] = ..., unpack_at: _Optional[int] = ...) -> None: ...

class EnvelopeMessage(_message.Message):
    __slots__ = ("common", "envelope_info", "display")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_INFO_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_FIELD_NUMBER: _ClassVar[int]
    common: Common
    envelope_info: EnvelopeInfo
    display: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., envelope_info: _Optional[_Union[EnvelopeInfo, _Mapping]] = ..., display: _Optional[int] = ...) -> None: ...

class RoomPinMessage(_message.Message):
    __slots__ = ("common", "chat_message", "social_message", "gift_message", "member_message", "like_message", "method", "pin_time", "action", "display_duration")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    CHAT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SOCIAL_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    GIFT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LIKE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PIN_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_DURATION_FIELD_NUMBER: _ClassVar[int]
    common: Common
    chat_message: ChatMessage
    social_message: SocialMessage
    gift_message: GiftMessage
    member_message: MemberMessage
    like_message: LikeMessage
    method: str
    pin_time: int
    action: int
    display_duration: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., chat_message: _Optional[_Union[ChatMessage, _Mapping]] = ..., social_message: _Optional[_Union[SocialMessage, _Mapping]] = ..., gift_message: _Optional[_Union[GiftMessage, _Mapping]] = ..., member_message: _Optional[_Union[MemberMessage, _Mapping]] = ..., like_message: _Optional[_Union[LikeMessage, _Mapping]] = ..., method: _Optional[str] = ..., pin_time: _Optional[int] = ..., action: _Optional[int] = ..., display_duration: _Optional[int] = ...) -> None: ...

class LiveIntroMessage(_message.Message):
    __slots__ = ("common", "id", "audit_status", "content", "host", "content_language")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    AUDIT_STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    CONTENT_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    id: int
    audit_status: int
    content: str
    host: User
    content_language: str
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., id: _Optional[int] = ..., audit_status: _Optional[int] = ..., content: _Optional[str] = ..., host: _Optional[_Union[User, _Mapping]] = ..., content_language: _Optional[str] = ...) -> None: ...

class EmoteModel(_message.Message):
    __slots__ = ("emote_id", "emote_type")
    EMOTE_ID_FIELD_NUMBER: _ClassVar[int]
    EMOTE_TYPE_FIELD_NUMBER: _ClassVar[int]
    emote_id: str
    emote_type: int
    def __init__(self, emote_id: _Optional[str] = ..., emote_type: _Optional[int] = ...) -> None: ...

class EmoteChatMessage(_message.Message):
    __slots__ = ("common", "user", "emote_list")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    EMOTE_LIST_FIELD_NUMBER: _ClassVar[int]
    common: Common
    user: User
    emote_list: _containers.RepeatedCompositeFieldContainer[EmoteModel]
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., emote_list: _Optional[_Iterable[_Union[EmoteModel, _Mapping]]] = ...) -> None: ...

class SubGoal(_message.Message):
    __slots__ = ("type", "progress", "target")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    type: int
    progress: int
    target: int
    def __init__(self, type: _Optional[int] = ..., progress: _Optional[int] = ..., target: _Optional[int] = ...) -> None: ...

class LiveStreamGoal(_message.Message):
    __slots__ = ("id", "type", "status", "sub_goals", "description")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUB_GOALS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: int
    type: int
    status: int
    sub_goals: _containers.RepeatedCompositeFieldContainer[SubGoal]
    description: str
    def __init__(self, id: _Optional[int] = ..., type: _Optional[int] = ..., status: _Optional[int] = ..., sub_goals: _Optional[_Iterable[_Union[SubGoal, _Mapping]]] = ..., description: _Optional[str] = ...) -> None: ...

class GoalUpdateMessage(_message.Message):
    __slots__ = ("common", "goal", "contributor_id", "contributor_display_id", "contribute_count", "contribute_score")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTOR_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTOR_DISPLAY_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTE_SCORE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    goal: LiveStreamGoal
    contributor_id: int
    contributor_display_id: str
    contribute_count: int
    contribute_score: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., goal: _Optional[_Union[LiveStreamGoal, _Mapping]] = ..., contributor_id: _Optional[int] = ..., contributor_display_id: _Optional[str] = ..., contribute_count: _Optional[int] = ..., contribute_score: _Optional[int] = ...) -> None: ...

class PollOptionInfo(_message.Message):
    __slots__ = ("votes", "display_content", "option_idx")
    VOTES_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_CONTENT_FIELD_NUMBER: _ClassVar[int]
    OPTION_IDX_FIELD_NUMBER: _ClassVar[int]
    votes: int
    display_content: str
    option_idx: int
    def __init__(self, votes: _Optional[int] = ..., display_content: _Optional[str] = ..., option_idx: _Optional[int] = ...) -> None: ...

class PollStartContent(_message.Message):
    __slots__ = ("start_time", "end_time", "option_list", "title")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    OPTION_LIST_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    start_time: int
    end_time: int
    option_list: _containers.RepeatedCompositeFieldContainer[PollOptionInfo]
    title: str
    def __init__(self, start_time: _Optional[int] = ..., end_time: _Optional[int] = ..., option_list: _Optional[_Iterable[_Union[PollOptionInfo, _Mapping]]] = ..., title: _Optional[str] = ...) -> None: ...

class PollEndContent(_message.Message):
    __slots__ = ("end_type", "option_list")
    END_TYPE_FIELD_NUMBER: _ClassVar[int]
    OPTION_LIST_FIELD_NUMBER: _ClassVar[int]
    end_type: int
    option_list: _containers.RepeatedCompositeFieldContainer[PollOptionInfo]
    def __init__(self, end_type: _Optional[int] = ..., option_list: _Optional[_Iterable[_Union[PollOptionInfo, _Mapping]]] = ...) -> None: ...

class PollUpdateVotesContent(_message.Message):
    __slots__ = ("option_list",)
    OPTION_LIST_FIELD_NUMBER: _ClassVar[int]
    option_list: _containers.RepeatedCompositeFieldContainer[PollOptionInfo]
    def __init__(self, option_list: _Optional[_Iterable[_Union[PollOptionInfo, _Mapping]]] = ...) -> None: ...

class PollMessage(_message.Message):
    __slots__ = ("common", "message_type", "poll_id", "start_content", "end_content", "update_votes_content", "poll_kind")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    POLL_ID_FIELD_NUMBER: _ClassVar[int]
    START_CONTENT_FIELD_NUMBER: _ClassVar[int]
    END_CONTENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_VOTES_CONTENT_FIELD_NUMBER: _ClassVar[int]
    POLL_KIND_FIELD_NUMBER: _ClassVar[int]
    common: Common
    message_type: int
    poll_id: int
    start_content: PollStartContent
    end_content: PollEndContent
    update_votes_content: PollUpdateVotesContent
    poll_kind: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., message_type: _Optional[int] = ..., poll_id: _Optional[int] = ..., start_content: _Optional[_Union[PollStartContent, _Mapping]] = ..., end_content: _Optional[_Union[PollEndContent, _Mapping]] = ..., update_votes_content: _Optional[_Union[PollUpdateVotesContent, _Mapping]] = ..., poll_kind: _Optional[int] = ...) -> None: ...

class CaptionContent(_message.Message):
    __slots__ = ("lang", "content")
    LANG_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    lang: str
    content: str
    def __init__(self, lang: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class CaptionMessage(_message.Message):
    __slots__ = ("common", "timestamp_ms", "duration_ms", "content", "definite")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DEFINITE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    timestamp_ms: int
    duration_ms: int
    content: _containers.RepeatedCompositeFieldContainer[CaptionContent]
    definite: bool
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., timestamp_ms: _Optional[int] = ..., duration_ms: _Optional[int] = ..., content: _Optional[_Iterable[_Union[CaptionContent, _Mapping]]] = ..., definite: _Optional[bool] = ...) -> None: ...

class BarrageUserParam(_message.Message):
    __slots__ = ("level", "user")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    level: int
    user: User
    def __init__(self, level: _Optional[int] = ..., user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class BarrageMessage(_message.Message):
    __slots__ = ("common", "msg_type", "content", "duration", "user_grade_param", "fans_level_param")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    MSG_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    USER_GRADE_PARAM_FIELD_NUMBER: _ClassVar[int]
    FANS_LEVEL_PARAM_FIELD_NUMBER: _ClassVar[int]
    common: Common
    msg_type: int
    content: Text
    duration: int
    user_grade_param: BarrageUserParam
    fans_level_param: BarrageUserParam
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., msg_type: _Optional[int] = ..., content: _Optional[_Union[Text, _Mapping]] = ..., duration: _Optional[int] = ..., user_grade_param: _Optional[_Union[BarrageUserParam, _Mapping]] = ..., fans_level_param: _Optional[_Union[BarrageUserParam, _Mapping]] = ...) -> None: ...

class RankUpdate(_message.Message):
    __slots__ = ("rank_type", "owner_rank")
    RANK_TYPE_FIELD_NUMBER: _ClassVar[int]
    OWNER_RANK_FIELD_NUMBER: _ClassVar[int]
    rank_type: int
    owner_rank: int
    def __init__(self, rank_type: _Optional[int] = ..., owner_rank: _Optional[int] = ...) -> None: ...

class RankUpdateMessage(_message.Message):
    __slots__ = ("common", "updates", "group_type")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    GROUP_TYPE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    updates: _containers.RepeatedCompositeFieldContainer[RankUpdate]
    group_type: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., updates: _Optional[_Iterable[_Union[RankUpdate, _Mapping]]] = ..., group_type: _Optional[int] = ...) -> None: ...

class ImDeleteMessage(_message.Message):
    __slots__ = ("common", "delete_msg_ids", "delete_user_ids")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    DELETE_MSG_IDS_FIELD_NUMBER: _ClassVar[int]
    DELETE_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    common: Common
    delete_msg_ids: _containers.RepeatedScalarFieldContainer[int]
    delete_user_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., delete_msg_ids: _Optional[_Iterable[int]] = ..., delete_user_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class UnauthorizedMemberMessage(_message.Message):
    __slots__ = ("common", "action", "nick_name_prefix", "nick_name", "enter_text")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    NICK_NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    NICK_NAME_FIELD_NUMBER: _ClassVar[int]
    ENTER_TEXT_FIELD_NUMBER: _ClassVar[int]
    common: Common
    action: int
    nick_name_prefix: Text
    nick_name: str
    enter_text: Text
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., action: _Optional[int] = ..., nick_name_prefix: _Optional[_Union[Text, _Mapping]] = ..., nick_name: _Optional[str] = ..., enter_text: _Optional[_Union[Text, _Mapping]] = ...) -> None: ...

class RoomMessage(_message.Message):
    __slots__ = ("common", "content")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    common: Common
    content: str
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., content: _Optional[str] = ...) -> None: ...

class RoomVerifyMessage(_message.Message):
    __slots__ = ("common", "action", "content", "notice_type", "close_room")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NOTICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_ROOM_FIELD_NUMBER: _ClassVar[int]
    common: Common
    action: int
    content: str
    notice_type: int
    close_room: bool
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., action: _Optional[int] = ..., content: _Optional[str] = ..., notice_type: _Optional[int] = ..., close_room: _Optional[bool] = ...) -> None: ...

class LinkMicMethod(_message.Message):
    __slots__ = ("common", "message_type", "user_id", "fan_ticket", "total_linkmic_fan_ticket", "channel_id")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FAN_TICKET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LINKMIC_FAN_TICKET_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    common: Common
    message_type: int
    user_id: int
    fan_ticket: int
    total_linkmic_fan_ticket: int
    channel_id: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., message_type: _Optional[int] = ..., user_id: _Optional[int] = ..., fan_ticket: _Optional[int] = ..., total_linkmic_fan_ticket: _Optional[int] = ..., channel_id: _Optional[int] = ...) -> None: ...

class FanTicket(_message.Message):
    __slots__ = ("user_id", "fan_ticket")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FAN_TICKET_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    fan_ticket: int
    def __init__(self, user_id: _Optional[int] = ..., fan_ticket: _Optional[int] = ...) -> None: ...

class FanTicketRoomNotice(_message.Message):
    __slots__ = ("user_fan_ticket_list", "total_linkmic_fan_ticket")
    USER_FAN_TICKET_LIST_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LINKMIC_FAN_TICKET_FIELD_NUMBER: _ClassVar[int]
    user_fan_ticket_list: _containers.RepeatedCompositeFieldContainer[FanTicket]
    total_linkmic_fan_ticket: int
    def __init__(self, user_fan_ticket_list: _Optional[_Iterable[_Union[FanTicket, _Mapping]]] = ..., total_linkmic_fan_ticket: _Optional[int] = ...) -> None: ...

class LinkMicFanTicketMethod(_message.Message):
    __slots__ = ("common", "fan_ticket_room_notice")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    FAN_TICKET_ROOM_NOTICE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    fan_ticket_room_notice: FanTicketRoomNotice
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., fan_ticket_room_notice: _Optional[_Union[FanTicketRoomNotice, _Mapping]] = ...) -> None: ...

class LinkLayerMessage(_message.Message):
    __slots__ = ("common", "message_type", "channel_id", "scene")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    message_type: int
    channel_id: int
    scene: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., message_type: _Optional[int] = ..., channel_id: _Optional[int] = ..., scene: _Optional[int] = ...) -> None: ...

class LinkMessage(_message.Message):
    __slots__ = ("common", "message_type", "linker_id", "scene")
    COMMON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    LINKER_ID_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    common: Common
    message_type: int
    linker_id: int
    scene: int
    def __init__(self, common: _Optional[_Union[Common, _Mapping]] = ..., message_type: _Optional[int] = ..., linker_id: _Optional[int] = ..., scene: _Optional[int] = ...) -> None: ...
