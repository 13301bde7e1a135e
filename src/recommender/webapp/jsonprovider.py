"""The app's JSON: a :class:`flask.json.provider.DefaultJSONProvider` (``app.json``).

Compact, UTF-8 as is (not ``\\u`` escapes), keys in the order given; NaN and infinities become
``null`` (JSON has neither), numpy scalars plain numbers, dates ISO text. Plain Python values
(what the model's answers are) go through the C encoder alone; anything else is cleaned first.
:func:`dumps` is the same encoding as bytes, for the answers the API caches serialised.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider

SEPARATORS = (",", ":")


class JSONProvider(DefaultJSONProvider):
    """JSON as the API answers it (see the module docstring)."""

    ensure_ascii = False
    sort_keys = False
    compact = True

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        found = text(obj, **kwargs)
        try:
            found.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (e.g. echoed from a request): escaped
            return text(obj, **kwargs | {"ensure_ascii": True})
        return found


def text(payload: Any, **kwargs: Any) -> str:
    """``payload`` as JSON text (``kwargs`` as :func:`json.dumps` takes them)."""
    kwargs.setdefault("ensure_ascii", False)
    kwargs.setdefault("separators", SEPARATORS)
    kwargs["allow_nan"] = False
    kwargs.pop("default", None)  # numpy values, NaN, dates: cleaned below instead
    try:  # plain Python values: the C encoder alone
        return json.dumps(payload, **kwargs)
    except (TypeError, ValueError):
        return json.dumps(_clean(payload), **kwargs)


def dumps(payload: Any) -> bytes:
    """``payload`` as compact UTF-8 JSON bytes (what the API sends and caches)."""
    return text(payload).encode("utf-8")


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
