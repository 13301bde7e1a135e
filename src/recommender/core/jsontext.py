"""The one JSON encoding of what the recommender answers (the API, its cached parts, exports).

Compact, UTF-8 as is (not ``\\u`` escapes), keys in the order given; NaN and infinities become
``null`` (JSON has neither), numpy scalars plain numbers, dates ISO text. orjson encodes what it
can (plain values, numpy, dates: what the model's answers are), several times faster than the
standard library, whose encoder takes the rest (values cleaned first): integers past 64 bits,
other types, and text that is not UTF-8 (a lone surrogate echoed from a request), which
:func:`text` can escape (``ensure_ascii``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

SEPARATORS = (",", ":")
OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def text(payload: Any, **kwargs: Any) -> str:
    """``payload`` as JSON text (``kwargs`` as :func:`json.dumps` takes them)."""
    if not kwargs:
        try:
            return orjson.dumps(payload, option=OPTIONS).decode("utf-8")
        except TypeError:  # (orjson.JSONEncodeError is one)
            pass
    return _standard(payload, **kwargs)


def dumps(payload: Any) -> bytes:
    """``payload`` as compact UTF-8 JSON bytes (what the API sends and caches)."""
    try:
        return orjson.dumps(payload, option=OPTIONS)
    except TypeError:  # (orjson.JSONEncodeError is one)
        return _standard(payload).encode("utf-8")


def _standard(payload: Any, **kwargs: Any) -> str:
    """``payload`` as the standard library's encoder writes it, in the same style."""
    kwargs.setdefault("ensure_ascii", False)
    kwargs.setdefault("separators", SEPARATORS)
    kwargs["allow_nan"] = False
    kwargs.pop("default", None)  # numpy values, NaN, dates: cleaned below instead
    try:  # plain Python values: the C encoder alone
        return json.dumps(payload, **kwargs)
    except (TypeError, ValueError):
        return json.dumps(_clean(payload), **kwargs)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return _clean(value.item())
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
