"""The app's JSON: a :class:`flask.json.provider.DefaultJSONProvider` (``app.json``) that
encodes as :mod:`recommender.core.jsontext` does, so a response made whole and one put together
from kept parts are the same bytes."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

from recommender.core.jsontext import text


class JSONProvider(DefaultJSONProvider):
    """JSON as the API answers it (see :mod:`recommender.core.jsontext`)."""

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
