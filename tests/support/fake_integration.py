"""The integration for ``tests.support.fakellm``: shows how thin an integration is on top of the recorder."""

from __future__ import annotations

from typing import Any

from llmobs import _recorder
from llmobs._model import LLMCall, Usage
from llmobs._streams import StreamAccumulator, wrap_stream
from llmobs.instrumentation import Integration


def _usage(raw: dict[str, int]) -> Usage:
    return Usage(input_tokens=raw["in"], output_tokens=raw["out"], cache_read_input_tokens=raw["cached"])


def _call(instance: Any, kwargs: dict[str, Any], args: tuple[Any, ...], stream: bool) -> LLMCall:
    params = {}
    if kwargs.get("temperature") is not None:
        params["gen_ai.request.temperature"] = kwargs["temperature"]
    call = LLMCall("chat", "fakeai", kwargs.get("model", "fake-1"), server_address="fake.local",
                   server_port=8080, stream=stream, params=params, integration="fakellm")
    prompt = args[0] if args else kwargs.get("prompt")
    call.input_messages = [{"role": "user", "parts": [{"type": "text", "content": prompt}]}]
    return call


def _on_completion(call: LLMCall, result: Any) -> Any:
    call.response_id = result.id
    call.response_model = result.model
    call.finish_reasons = [result.finish_reason]
    call.usage = _usage(result.usage)
    call.output_messages = [{"role": "assistant", "parts": [{"type": "text", "content": result.text}]}]
    return result


class Accumulator(StreamAccumulator):
    __slots__ = ("model", "parts", "reason", "usage")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.reason: str | None = None
        self.usage: dict[str, int] | None = None
        self.model: str | None = None

    def add(self, chunk: Any) -> bool:
        if chunk.finish_reason:
            self.reason = chunk.finish_reason
        if chunk.usage:
            self.usage = chunk.usage
        self.model = chunk.model
        if chunk.text:
            self.parts.append(chunk.text)
            return True
        return False

    def finish(self, call: LLMCall) -> None:
        call.response_model = self.model
        if self.reason:
            call.finish_reasons = [self.reason]
        if self.usage:
            call.usage = _usage(self.usage)
        call.output_messages = [{"role": "assistant", "parts": [{"type": "text", "content": "".join(self.parts)}]}]


def _on_stream(call: LLMCall, result: Any) -> Any:
    return wrap_stream(result, call, Accumulator())


class FakeIntegration(Integration):
    name = "fakellm"
    library = "tests.support.fakellm"

    def patch(self, module: Any) -> None:
        def complete(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            return _recorder.invoke(_call(instance, kwargs, args, False), wrapped, args, kwargs, _on_completion)

        def stream(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            return _recorder.invoke(_call(instance, kwargs, args, True), wrapped, args, kwargs, _on_stream)

        async def acomplete(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            return await _recorder.ainvoke(_call(instance, kwargs, args, False), wrapped, args, kwargs,
                                           _on_completion)

        async def astream(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            return await _recorder.ainvoke(_call(instance, kwargs, args, True), wrapped, args, kwargs, _on_stream)

        self.patcher.wrap(module, "Client.complete", complete)
        self.patcher.wrap(module, "Client.stream", stream)
        self.patcher.wrap(module, "Client.acomplete", acomplete)
        self.patcher.wrap(module, "Client.astream", astream)
