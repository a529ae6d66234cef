"""The neutral model of one LLM operation, shared by every integration and the manual API.

Integrations only map their library's request and response shapes onto these objects; the recorder
(``llmobs._recorder``) turns them into spans, metrics and cost in one place.
"""

from __future__ import annotations

from typing import Any


class Usage:
    """Token usage as the GenAI conventions define it.

    ``input_tokens`` includes cached tokens (``cache_read`` and ``cache_write`` are subsets of it);
    ``output_tokens`` includes reasoning tokens (``reasoning_output_tokens`` is a subset). A field that the
    API did not report stays ``None``: it is never guessed or zero-filled.
    """

    __slots__ = (
        "cache_read_input_tokens",
        "cache_write_input_tokens",
        "input_tokens",
        "output_tokens",
        "reasoning_output_tokens",
    )

    def __init__(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cache_read_input_tokens: int | None = None,
        cache_write_input_tokens: int | None = None,
        reasoning_output_tokens: int | None = None,
    ) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_read_input_tokens = cache_read_input_tokens
        self.cache_write_input_tokens = cache_write_input_tokens
        self.reasoning_output_tokens = reasoning_output_tokens

    def is_empty(self) -> bool:
        return self.input_tokens is None and self.output_tokens is None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Usage):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)}" for n in self.__slots__ if getattr(self, n) is not None)
        return f"Usage({fields})"


class LLMCall:
    """Everything known about one LLM API call: request, response, usage, stream timing, error.

    Created by an integration (or ``llmobs.llm_call``) before the request is sent, filled in as the
    response arrives, and finished exactly once by the recorder.
    """

    __slots__ = (
        "_ctx_attrs",
        "_deferred",
        "_done",
        "_end_ns",
        "_late_attrs",
        "_span",
        "_start_ns",
        "_t0",
        "chunks",
        "conversation_id",
        "error",
        "extra_attributes",
        "finish_reasons",
        "first_chunk_t",
        "incomplete",
        "input_messages",
        "integration",
        "last_chunk_t",
        "model",
        "operation",
        "output_messages",
        "params",
        "provider",
        "reported_cost",
        "response_id",
        "response_model",
        "server_address",
        "server_port",
        "stream",
        "system_instructions",
        "tool_definitions",
        "usage",
    )

    def __init__(
        self,
        operation: str,
        provider: str,
        model: str | None = None,
        *,
        server_address: str | None = None,
        server_port: int | None = None,
        stream: bool = False,
        params: dict[str, Any] | None = None,
        integration: str | None = None,
    ) -> None:
        self.operation = operation
        self.provider = provider
        self.model = model
        self.server_address = server_address
        self.server_port = server_port
        self.stream = stream
        # Request parameters keyed by semconv attribute name (gen_ai.request.temperature, ...).
        self.params: dict[str, Any] = params if params is not None else {}
        self.integration = integration
        self.conversation_id: str | None = None
        # Content (only read when capture is on): semconv message shapes, as Python objects. Tool calls are
        # ``tool_call`` parts of the output messages (``_streams.ToolCallAssembler`` rebuilds streamed ones).
        self.input_messages: Any = None
        self.output_messages: Any = None
        self.system_instructions: Any = None
        self.tool_definitions: Any = None
        # Response.
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: list[str] | None = None
        self.usage: Usage | None = None
        # The cost the API itself reported, USD (total, input or None, output or None); wins over prices.
        self.reported_cost: tuple[float, float | None, float | None] | None = None
        self.error: BaseException | None = None
        self.extra_attributes: dict[str, Any] | None = None
        # Stream timing (perf_counter seconds).
        self.chunks = 0
        self.first_chunk_t: float | None = None
        self.last_chunk_t: float | None = None
        self.incomplete = False
        # Recorder state.
        self._span: Any = None
        self._t0 = 0.0
        self._start_ns = 0
        self._end_ns: int | None = None
        self._done = False
        # Set by an integration whose on_result returned an object that finishes the call later (a raw HTTP
        # response whose body the user reads afterwards), so the recorder does not finish it on return.
        self._deferred = False
        # The sampling-relevant attributes were not given to start_span (the sampler does not read them):
        # the recorder writes them at the end with the others.
        self._late_attrs = False
        self._ctx_attrs: dict[str, Any] | None = None
