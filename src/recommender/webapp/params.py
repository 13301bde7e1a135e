"""Query parameters: declared once per route, parsed here, and described in the OpenAPI document.

Each view lists its parameters as :class:`Param` values and reads them with :func:`parse`;
:mod:`recommender.webapp.openapi` turns the same list into the document's ``parameters``, so
what is documented is what is parsed. A parameter a route does not declare is refused (400,
naming the closest declared one) rather than silently ignored, so a typo like ``servce=`` never
returns unfiltered results.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flask import current_app, request

from recommender.core.errors import InvalidInput
from recommender.core.names import closest
from recommender.core.numbers import MAX_OFFSET, written_integer, written_number

Kind = Literal["string", "integer", "number", "boolean", "list"]
TRUE = ("true", "1", "yes")
FALSE = ("false", "0", "no")


@dataclass(frozen=True)
class Param:
    """One query parameter: its type, bounds and description.

    ``maximum`` may name a config key (``"MAX_K"``) read from the app at parse time. ``choices``
    (for ``string`` and the items of ``list``) may be a function of the app's config returning
    the allowed values; they are documented as an ``enum`` and, with ``strict_choices``, checked
    here (otherwise the domain checks them and names the closest value).
    """

    name: str
    kind: Kind
    description: str
    default: Any = None
    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | str | None = None
    choices: Sequence[str] | Callable[[Mapping[str, Any]], Sequence[str]] | None = None
    strict_choices: bool = False
    required: bool = False

    def bound(self, config: Mapping[str, Any]) -> float | None:
        """Return the maximum, reading it from ``config`` when it names a key."""
        if isinstance(self.maximum, str):
            return float(config[self.maximum])
        return self.maximum

    def allowed(self, config: Mapping[str, Any]) -> list[str] | None:
        """Return the allowed values, if the parameter has a fixed set."""
        if self.choices is None:
            return None
        found = self.choices(config) if callable(self.choices) else self.choices
        return list(found)


def parse(params: Sequence[Param]) -> dict[str, Any]:
    """Return the request's query parameters typed and checked against ``params``.

    Raises :class:`InvalidInput` naming the parameter (``field``) for an undeclared, repeated,
    missing or malformed value.
    """
    declared = {p.name: p for p in params}
    out = {param.name: param.default for param in params}
    given: dict[str, str] = {}
    for name, values in request.args.lists():
        param = declared.get(name)
        if param is None:
            expected = ", ".join(declared) or "none"
            raise InvalidInput(
                f"unknown query parameter {name!r}; this route takes: {expected}",
                field=name,
                suggestions=closest(name, declared, limit=2),
            )
        if len(values) > 1:
            raise InvalidInput(f"query parameter {name!r} is given more than once", field=name)
        raw = values[0]
        if raw.strip() or param.kind == "string":
            given[name] = raw
    for param in params:
        if param.required and param.name not in given:
            raise InvalidInput(f"query parameter {param.name!r} is required", field=param.name)
    config = current_app.config
    for name, raw in given.items():
        out[name] = _convert(declared[name], raw, config)
    return out


def one(values: Any, name: str) -> str | None:
    """The one value of ``name`` in a request's query or form (``values``: a MultiDict), or
    None; given twice, refused naming it (which of the two was meant is not for us to pick)."""
    found = values.getlist(name)
    if len(found) > 1:
        raise InvalidInput(f"{name!r} is given more than once", field=name)
    return found[0] if found else None


def _convert(param: Param, raw: str, config: Mapping[str, Any]) -> Any:
    text = raw.strip()
    if param.kind == "string":
        if param.required and not text:
            raise InvalidInput(f"query parameter {param.name!r} is empty", field=param.name)
        return _choice(param, text, config) if text else param.default
    if param.kind == "boolean":
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise InvalidInput(f"{param.name}={raw!r}: expected true or false", field=param.name)
    if param.kind == "list":
        items = [item.strip() for item in text.split(",") if item.strip()]
        return tuple(dict.fromkeys(_choice(param, item, config) for item in items))  # once each
    number = _number(param, raw, text)
    lowest, highest = param.minimum, param.bound(config)
    below = lowest is not None and (
        number <= lowest if param.exclusive_minimum else number < lowest
    )
    if below or (highest is not None and number > highest):
        span = f"between {_show(lowest)} and {_show(highest)}"
        if param.exclusive_minimum and highest is not None:  # 0 is not "between 0 and 2000"
            span = f"over {_show(lowest)} and at most {_show(highest)}"
        elif highest is None:
            span = (
                f"over {_show(lowest)}" if param.exclusive_minimum else f"at least {_show(lowest)}"
            )
        elif lowest is None:
            span = f"at most {_show(highest)}"
        raise InvalidInput(f"{param.name}={raw!r}: expected a number {span}", field=param.name)
    return number


def _number(param: Param, raw: str, text: str) -> int | float:
    try:
        if param.kind == "integer":
            if not written_integer(text):  # as written: not "1_0", not a full-width "５"
                raise ValueError(text)
            return int(text)
        if not written_number(text):
            raise ValueError(text)
        value = float(text)
    except ValueError:
        what = "a whole number" if param.kind == "integer" else "a number"
        raise InvalidInput(f"{param.name}={raw!r}: expected {what}", field=param.name) from None
    if not math.isfinite(value):
        raise InvalidInput(f"{param.name}={raw!r}: expected a finite number", field=param.name)
    return value


def _choice(param: Param, value: str, config: Mapping[str, Any]) -> str:
    allowed = param.allowed(config) if param.strict_choices else None
    if allowed is None or value in allowed:
        return value
    folded = {str(a).lower(): str(a) for a in allowed}
    if value.strip().lower() in folded:  # "Council" is council, as "LEGAL" is legal
        return folded[value.strip().lower()]
    raise InvalidInput(
        f"{param.name}: unknown value {value!r}; expected one of {', '.join(allowed)}",
        field=param.name,
        suggestions=closest(value, allowed, limit=2),
    )


def _show(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


# Parameters shared by several routes ------------------------------------------------------------

LIMIT = Param("limit", "integer", "At most this many items.", default=50, minimum=1, maximum=500)
OFFSET = Param("offset", "integer", "Skip this many items first.", default=0, minimum=0,
               maximum=MAX_OFFSET)  # fmt: skip
