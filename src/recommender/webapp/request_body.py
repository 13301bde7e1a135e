"""Request bodies sent in chunks read as strictly as bodies with a length.

A client may send a body with ``Transfer-Encoding: chunked`` and no ``Content-Length``:
gunicorn then decodes the chunks as the app reads them. Werkzeug reads such a body up to the
route's limit and stops there without a word, so a body over the limit arrived cut short (a
17 MB register upload imported as its first 16 MB, a padded feedback post stored); and the
errors gunicorn raises for a malformed chunk (a size that is not hexadecimal, a chunk without
its CRLF) are not the ``OSError`` Werkzeug expects of a stream, so they escaped as 500s.

Here a chunked body over the limit is a 413 as soon as its first byte past the limit arrives
(nothing more is read, nothing is half-used), and a malformed one a 400 saying what gunicorn
found. A body with a ``Content-Length`` is read as Werkzeug reads it (a length over the limit
is refused before anything is read).
"""

from __future__ import annotations

import io
from typing import IO, Any

from flask import Request as FlaskRequest
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import BadRequest, ClientDisconnected, RequestEntityTooLarge
from werkzeug.utils import cached_property


class ChunkedBody(io.RawIOBase):
    """The body gunicorn decodes from chunks, refused once it is over ``limit`` bytes."""

    def __init__(self, stream: Any, limit: int | None) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        if self._limit is not None:
            size = min(size, self._limit + 1 - self._read)  # one byte past the limit tells
        try:
            data = self._stream.read(size)
        except ParseException as err:
            raise BadRequest(f"the request body's chunked encoding is malformed: {err}") from None
        except (OSError, ValueError):  # the client went away before the last chunk
            raise ClientDisconnected() from None
        self._read += len(data)
        if self._limit is not None and self._read > self._limit:
            raise RequestEntityTooLarge()
        buffer[: len(data)] = data
        return len(data)


class Request(FlaskRequest):
    """Flask's request, its chunked bodies read through :class:`ChunkedBody`."""

    @cached_property
    def stream(self) -> IO[bytes]:
        chunked = self.content_length is None and "wsgi.input_terminated" in self.environ
        if not chunked or self.shallow:
            return super().stream
        body = ChunkedBody(self.environ["wsgi.input"], self.max_content_length)
        return io.BufferedReader(body)
