"""A tiny stand-in for a provider SDK, used to prove the integration mechanism and the stream proxies.

Its shapes mimic a real SDK: a client with sync and async methods, response objects with usage, and stream
objects that are iterators with ``close()``, context-manager support and a helper that drains them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


class FakeAPIError(Exception):
    pass


@dataclass
class Completion:
    id: str
    model: str
    text: str
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=lambda: {"in": 10, "out": 5, "cached": 2})


@dataclass
class Chunk:
    text: str
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    model: str = "fake-1-2026"


def _chunks(n: int, with_usage: bool) -> list[Chunk]:
    out = [Chunk(text="") ]  # a role/keep-alive chunk without content, like OpenAI's first delta
    out += [Chunk(text=f"t{i} ") for i in range(n)]
    out.append(Chunk(text="", finish_reason="stop"))
    if with_usage:
        out.append(Chunk(text="", usage={"in": 7, "out": n, "cached": 0}))
    return out


class ChunkStream:
    """Sync stream: an iterator over chunks."""

    def __init__(self, n: int, fail_at: int | None, with_usage: bool, delay: float = 0.0) -> None:
        self._chunks = _chunks(n, with_usage)
        self._i = 0
        self._fail_at = fail_at
        self.closed = False
        self.delay = delay

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Chunk:
        if self.closed or self._i >= len(self._chunks):
            raise StopIteration
        if self._fail_at is not None and self._i == self._fail_at:
            raise FakeAPIError("connection dropped mid-stream")
        if self.delay:
            import time

            time.sleep(self.delay)
        chunk = self._chunks[self._i]
        self._i += 1
        return chunk

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> ChunkStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get_final_text(self) -> str:
        return "".join(c.text for c in self)


class AsyncChunkStream:
    def __init__(self, n: int, fail_at: int | None, with_usage: bool) -> None:
        self._chunks = _chunks(n, with_usage)
        self._i = 0
        self._fail_at = fail_at
        self.closed = False

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Chunk:
        await asyncio.sleep(0)
        if self.closed or self._i >= len(self._chunks):
            raise StopAsyncIteration
        if self._fail_at is not None and self._i == self._fail_at:
            raise FakeAPIError("connection dropped mid-stream")
        chunk = self._chunks[self._i]
        self._i += 1
        return chunk

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> AsyncChunkStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class Client:
    base_url = "http://fake.local:8080/v1"

    def complete(self, prompt: str, model: str = "fake-1", temperature: float | None = None,
                 fail: bool = False) -> Completion:
        if fail:
            raise FakeAPIError("rate limited")
        return Completion(id="cmpl-1", model=model + "-2026", text=f"echo: {prompt}")

    def stream(self, prompt: str, model: str = "fake-1", n: int = 3, fail_at: int | None = None,
               with_usage: bool = True, delay: float = 0.0) -> ChunkStream:
        return ChunkStream(n, fail_at, with_usage, delay)

    async def acomplete(self, prompt: str, model: str = "fake-1", fail: bool = False) -> Completion:
        await asyncio.sleep(0)
        return self.complete(prompt, model, fail=fail)

    async def astream(self, prompt: str, model: str = "fake-1", n: int = 3, fail_at: int | None = None,
                      with_usage: bool = True) -> AsyncChunkStream:
        await asyncio.sleep(0)
        return AsyncChunkStream(n, fail_at, with_usage)
