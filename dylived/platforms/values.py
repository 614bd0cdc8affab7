"""Frozen value classes built once per message, with an ``__init__`` that costs less.

Owns :func:`quick_init`. A frozen ``@dataclass`` sets each field with ``object.__setattr__``
(a name lookup through the class for every field); for ``slots=True`` classes the slot's own
descriptor can set it directly, about twice as fast. The Douyin decode path builds two such
values per event (the event and its ``User``); with this, ``bench.decode``'s pipeline takes
~7% less CPU (bench/RESULTS.md). The class stays what ``@dataclass`` made it: frozen
(assignment raises), compared, hashed and shown the same way; only ``__init__`` is replaced,
with the same parameters and defaults.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar


__all__ = ["quick_init"]

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Give a frozen, slotted dataclass an ``__init__`` that sets its slots directly.

    Raises:
        TypeError: ``cls`` is not a frozen slotted dataclass, or it has what the replacement
            would not honour (``__post_init__``, ``default_factory``, init-only or keyword-only
            fields).
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: quick_init wants @dataclass(frozen=True, slots=True)")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or any(
        not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING for f in fields
    ):
        raise TypeError(f"{cls.__name__}: quick_init cannot honour its fields or __post_init__")
    names = [f.name for f in fields]
    setters: dict[str, Any] = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names) or "    pass\n"
    source = f"def __init__(self, {', '.join(names)}):\n{body}"
    exec(source, setters)  # the technique of dataclasses' own __init__; names are fields'
    init = setters["__init__"]
    init.__defaults__ = cls.__init__.__defaults__
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses a direct method assignment
    return cls
