"""A mock-transport response body shared by the wire-format test servers (openai, anthropic, google-genai).

``MockTransport`` hands the handler's ``Response`` to either client as is, and the sync client insists on a
``SyncByteStream`` while the async one needs an ``AsyncByteStream``; the handler cannot tell which client
called it, so the body implements both: ``time.sleep`` between pieces when read synchronously,
``asyncio.sleep`` when asynchronously. Pieces arrive after ``initial_delay`` then every ``delay`` seconds;
``fail_after=k`` drops the connection after ``k`` pieces with ``exc`` (default: the HTTP library's
``RemoteProtocolError``).

Each SDK is built on its own HTTP library (``httpx`` or ``httpx2``, and not always the one the SDK version
suggests), so :func:`paced_body` makes the class for the library given, once.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any


@functools.cache
def paced_body(http: Any) -> type:
    """The paced body class for the HTTP library module ``http``."""

    class PacedBody(http.SyncByteStream, http.AsyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, pieces: Sequence[bytes], *, delay: float = 0.0, initial_delay: float = 0.0,
                     fail_after: int | None = None, exc: Any = None, request: Any = None) -> None:
            self._pieces = list(pieces)
            self._delay = delay
            self._initial_delay = initial_delay
            self._fail_after = fail_after
            self._exc = exc
            self._request = request

        def _failure(self) -> BaseException:
            exc = self._exc
            if isinstance(exc, BaseException):
                return exc
            message = "peer closed connection without sending complete message body (incomplete chunked read)"
            if exc is None:
                exc = http.RemoteProtocolError
            if isinstance(exc, type) and issubclass(exc, http.RequestError):
                return exc(message, request=self._request)
            return exc(message)

        def _plan(self) -> Iterator[tuple[float, bytes | None]]:
            """(pause, piece) steps; piece None = raise the failure."""
            for i, piece in enumerate(self._pieces):
                if self._fail_after is not None and i >= self._fail_after:
                    yield 0.0, None
                    return
                yield (self._initial_delay if i == 0 else self._delay), piece
            if self._fail_after is not None and self._fail_after >= len(self._pieces):
                yield 0.0, None

        def __iter__(self) -> Iterator[bytes]:
            for pause, piece in self._plan():
                if piece is None:
                    raise self._failure()
                if pause:
                    time.sleep(pause)
                yield piece

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for pause, piece in self._plan():
                if piece is None:
                    raise self._failure()
                if pause:
                    await asyncio.sleep(pause)
                yield piece

    return PacedBody
