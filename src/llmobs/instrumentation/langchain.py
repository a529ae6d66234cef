"""LangChain and LangGraph: one global callback handler, registered through langchain-core's configure hooks.

``llmobs.instrument()`` adds the handler to every callback manager LangChain builds, so user code changes
nothing. What it records:

* chains and runnables: ``invoke_workflow`` for a root run, a ``task`` span for a nested one;
* LangGraph: a graph run is ``invoke_agent`` (a subgraph too, once its first node starts; so is the legacy
  ``AgentExecutor``); a node is a ``task`` span named after the node, with ``llmobs.langgraph.node`` and
  ``.step``;
* tools: ``execute_tool`` with the tool's name, description and call id;
* retrievers: ``retrieval`` with the retriever's name as ``gen_ai.data_source.id``;
* chat models and LLMs: one LLM span per model call. The provider integration's span when the model's SDK is
  instrumented (it carries usage, cost, TTFT as read off the wire); otherwise llmobs records the run itself
  from what LangChain reports (``ls_provider``/``ls_model_name``, invocation params, ``usage_metadata``),
  back-dated to the run's start. See ``llmobs._frameworks`` for how the two layers agree.

Runs LangChain marks ``langsmith:hidden`` (LangGraph's internal writers and branches) get no span; their
children attach to the nearest traced ancestor. Each traced run's span is current while the run's code runs,
so provider spans and raw SDK calls made inside a chain, tool or node nest under it.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from .. import _frameworks, _runtime
from .. import semconv as sc
from .._content import blob_descriptor, url_part
from .._manual import SpanHandle
from .._model import LLMCall, Usage
from .._safety import report
from . import Integration, _finish

_perf = time.perf_counter
_time_ns = time.time_ns
_set_span_in_context = trace.set_span_in_context
_HIDDEN = "langsmith:hidden"
_STEP_TAG = "graph:step:"
_INTEGRATION = "langchain"
# LangGraph's control-flow exceptions (interrupts, commands to a parent graph) end a run without failing it.
_CONTROL_FLOW = frozenset({"GraphBubbleUp", "GraphInterrupt", "NodeInterrupt", "ParentCommand"})

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool",
          "developer": "system", "AIMessageChunk": "assistant"}
_PARAMS = (
    ("top_p", sc.GEN_AI_REQUEST_TOP_P), ("top_k", sc.GEN_AI_REQUEST_TOP_K), ("seed", sc.GEN_AI_REQUEST_SEED),
    ("frequency_penalty", sc.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", sc.GEN_AI_REQUEST_PRESENCE_PENALTY), ("n", sc.GEN_AI_REQUEST_CHOICE_COUNT),
)


class _SpanRun:
    """A traced chain, tool or retriever run: its span, the context its children start in, the attach token."""

    __slots__ = ("ctx", "handle", "node", "token")

    def __init__(self, handle: SpanHandle, ctx: Any, token: Any, node: bool) -> None:
        self.handle = handle
        self.ctx = ctx
        self.token = token
        self.node = node


class _HiddenRun:
    """A run that gets no span: its children start in its nearest traced ancestor's context."""

    __slots__ = ("ctx",)

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx


class _ModelRun:
    """A chat model or LLM run in progress; a span is made for it at the end only if no LLM call claimed it."""

    __slots__ = ("chunks", "ctx", "first_chunk_t", "inputs", "metadata", "operation", "params", "scope",
                 "start_ns", "t0", "token")

    def __init__(self, operation: str, ctx: Any, metadata: Any, params: Any, inputs: Any, owner: Any) -> None:
        self.operation = operation
        self.ctx = ctx
        self.metadata = metadata or {}
        self.params = params or {}
        self.inputs = inputs
        self.chunks = 0
        self.first_chunk_t: float | None = None
        self.scope, self.token = _frameworks.enter_model(owner)
        self.start_ns = _time_ns()
        self.t0 = _perf()


def _close_evicted(run: Any) -> None:
    if isinstance(run, _SpanRun):
        run.handle.span.set_attribute(sc.LLMOBS_RUN_ABANDONED, True)
        run.handle.end()


def _run_name(serialized: Any, kwargs: Any, default: str) -> str:
    name = kwargs.get("name")
    if name:
        return str(name)
    if isinstance(serialized, dict):
        name = serialized.get("name")
        if name:
            return str(name)
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return default


def _is_control_flow(exc: BaseException) -> bool:
    return any(cls.__name__ in _CONTROL_FLOW for cls in type(exc).__mro__)


def _make_handler_class(base: type) -> type:
    class LLMObsCallbackHandler(base):
        """llmobs's LangChain callback handler (one per ``instrument()``; see the module docstring)."""

        run_inline = True  # called in the run's own context, also by async callback managers
        raise_error = False
        ignore_retry = True
        ignore_custom_event = True

        def __init__(self) -> None:
            super().__init__()
            self.runs = _frameworks.RunTable(_close_evicted)

        # --- shared ------------------------------------------------------------------------------------
        def _parent_ctx(self, parent_run_id: Any) -> Any:
            parent = self.runs.get(parent_run_id)
            return parent.ctx if parent is not None else None

        def _open(self, run_id: Any, parent_run_id: Any, name: str, kind: str, attrs: dict[str, Any],
                  node: bool = False) -> _SpanRun:
            parent_ctx = self._parent_ctx(parent_run_id)
            attrs[sc.LLMOBS_INTEGRATION] = _INTEGRATION
            handle = SpanHandle(name, kind, attrs, context=parent_ctx)
            ctx = _set_span_in_context(handle.span, parent_ctx)
            run = _SpanRun(handle, ctx, otel_context.attach(ctx), node)
            self.runs.put(run_id, run)
            return run

        def _close(self, run_id: Any, error: BaseException | None = None, output: Any = None,
                   has_output: bool = False) -> None:
            run = self.runs.pop(run_id)
            if not isinstance(run, _SpanRun):
                return
            _frameworks.detach(run.token)
            handle = run.handle
            if error is not None:
                if isinstance(error, GeneratorExit):  # the consumer stopped reading a stream: not a failure
                    handle.span.set_attribute(sc.LLMOBS_STREAM_INCOMPLETE, True)
                    error = None
                elif _is_control_flow(error):
                    handle.span.set_attribute(sc.LLMOBS_LANGGRAPH_INTERRUPT, type(error).__name__)
                    error = None
            elif has_output and _runtime.get().capture:
                handle.set_output(output)
            handle.end(error)

        # --- chains, graphs, nodes ---------------------------------------------------------------------
        def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None,
                           tags: Any = None, metadata: Any = None, **kwargs: Any) -> None:
            try:
                if tags and _HIDDEN in tags:
                    self.runs.put(run_id, _HiddenRun(self._parent_ctx(parent_run_id)))
                    return
                name = _run_name(serialized, kwargs, "chain")
                attrs: dict[str, Any] = {}
                node = False
                meta = metadata or {}
                graph_node = meta.get("langgraph_node")
                if name == graph_node and tags and any(t.startswith(_STEP_TAG) for t in tags):
                    node = True
                    kind = sc.KIND_TASK
                    attrs[sc.LLMOBS_LANGGRAPH_NODE] = name
                    step = meta.get("langgraph_step")
                    if isinstance(step, int):
                        attrs[sc.LLMOBS_LANGGRAPH_STEP] = step
                    parent = self.runs.get(parent_run_id)
                    if isinstance(parent, _SpanRun) and parent.handle._kind != sc.KIND_AGENT:
                        parent.handle.set_kind(sc.KIND_AGENT)  # a graph run inside a node: a subgraph
                elif (meta.get("ls_integration") == "langgraph" and graph_node is None) or name == "AgentExecutor":
                    kind = sc.KIND_AGENT
                elif parent_run_id is None:
                    kind = sc.KIND_WORKFLOW
                else:
                    kind = sc.KIND_TASK
                run = self._open(run_id, parent_run_id, name, kind, attrs, node)
                if _runtime.get().capture:
                    run.handle.set_input(inputs)
            except Exception as exc:
                report("langchain.on_chain_start", exc)

        def on_chain_end(self, outputs: Any, *, run_id: Any, **kwargs: Any) -> None:
            try:
                self._close(run_id, output=outputs, has_output=True)
            except Exception as exc:
                report("langchain.on_chain_end", exc)

        def on_chain_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
            try:
                self._close(run_id, error)
            except Exception as exc:
                report("langchain.on_chain_error", exc)

        # --- tools -------------------------------------------------------------------------------------
        def on_tool_start(self, serialized: Any, input_str: Any, *, run_id: Any, parent_run_id: Any = None,
                          tags: Any = None, metadata: Any = None, inputs: Any = None, **kwargs: Any) -> None:
            try:
                name = _run_name(serialized, kwargs, "tool")
                attrs: dict[str, Any] = {}
                if isinstance(serialized, dict) and isinstance(serialized.get("description"), str):
                    attrs[sc.GEN_AI_TOOL_DESCRIPTION] = serialized["description"]
                call_id = kwargs.get("tool_call_id")
                if isinstance(call_id, str) and call_id:
                    attrs[sc.GEN_AI_TOOL_CALL_ID] = call_id
                run = self._open(run_id, parent_run_id, name, sc.KIND_TOOL, attrs)
                if _runtime.get().capture:
                    run.handle.set_input(inputs if inputs is not None else input_str)
            except Exception as exc:
                report("langchain.on_tool_start", exc)

        def on_tool_end(self, output: Any, *, run_id: Any, **kwargs: Any) -> None:
            try:
                content = getattr(output, "content", output)  # a ToolMessage: its content is the result
                self._close(run_id, output=content, has_output=True)
            except Exception as exc:
                report("langchain.on_tool_end", exc)

        def on_tool_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
            try:
                self._close(run_id, error)
            except Exception as exc:
                report("langchain.on_tool_error", exc)

        # --- retrievers --------------------------------------------------------------------------------
        def on_retriever_start(self, serialized: Any, query: Any, *, run_id: Any, parent_run_id: Any = None,
                               tags: Any = None, metadata: Any = None, **kwargs: Any) -> None:
            try:
                name = _run_name(serialized, kwargs, "retriever")
                run = self._open(run_id, parent_run_id, name, sc.KIND_RETRIEVAL, {})
                if isinstance(query, str):
                    run.handle.set_content(sc.GEN_AI_RETRIEVAL_QUERY_TEXT, query)  # only when capture is on
            except Exception as exc:
                report("langchain.on_retriever_start", exc)

        def on_retriever_end(self, documents: Any, *, run_id: Any, **kwargs: Any) -> None:
            try:
                run = self.runs.get(run_id)
                if isinstance(run, _SpanRun) and _runtime.get().capture:
                    run.handle.set_content(sc.GEN_AI_RETRIEVAL_DOCUMENTS, _documents(documents))
                self._close(run_id)
            except Exception as exc:
                report("langchain.on_retriever_end", exc)

        def on_retriever_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
            try:
                self._close(run_id, error)
            except Exception as exc:
                report("langchain.on_retriever_error", exc)

        # --- chat models and LLMs ----------------------------------------------------------------------
        def _model_start(self, operation: str, run_id: Any, parent_run_id: Any, metadata: Any,
                         kwargs: Any, inputs: Any) -> None:
            ctx = self._parent_ctx(parent_run_id)
            if ctx is None:
                ctx = otel_context.get_current()
            # The runs of one generate() over several prompts all start before any of them runs: they share
            # a scope, so each provider call that follows claims one of them.
            batch = kwargs.get("batch_size")
            owner = ("batch", parent_run_id) if isinstance(batch, int) and batch > 1 else None
            run = _ModelRun(operation, ctx, metadata, kwargs.get("invocation_params"), inputs, owner)
            self.runs.put(run_id, run)

        def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any, parent_run_id: Any = None,
                                tags: Any = None, metadata: Any = None, **kwargs: Any) -> None:
            try:
                self._model_start(sc.OP_CHAT, run_id, parent_run_id, metadata, kwargs,
                                  messages[0] if messages else None)
            except Exception as exc:
                report("langchain.on_chat_model_start", exc)

        def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: Any, parent_run_id: Any = None,
                         tags: Any = None, metadata: Any = None, **kwargs: Any) -> None:
            try:
                self._model_start(sc.OP_TEXT_COMPLETION, run_id, parent_run_id, metadata, kwargs,
                                  prompts[0] if prompts else None)
            except Exception as exc:
                report("langchain.on_llm_start", exc)

        def on_llm_new_token(self, token: Any, *, run_id: Any, chunk: Any = None, **kwargs: Any) -> None:
            try:
                run = self.runs.runs.get(run_id)
                if run.__class__ is _ModelRun:
                    run.chunks += 1
                    if run.first_chunk_t is None and (token or _has_tool_call(chunk)):
                        run.first_chunk_t = _perf()
            except Exception as exc:
                report("langchain.on_llm_new_token", exc)

        def on_llm_end(self, response: Any, *, run_id: Any, **kwargs: Any) -> None:
            try:
                self._model_end(run_id, response, None)
            except Exception as exc:
                report("langchain.on_llm_end", exc)

        def on_llm_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
            try:
                self._model_end(run_id, kwargs.get("response"), error)
            except Exception as exc:
                report("langchain.on_llm_error", exc)

        def _model_end(self, run_id: Any, response: Any, error: BaseException | None) -> None:
            run = self.runs.pop(run_id)
            if not isinstance(run, _ModelRun):
                return
            if _frameworks.exit_model(run.scope, run.token):
                return  # an instrumented provider call recorded this model run
            call = _model_call(run, response, error)
            _frameworks.record_model_run(call, run.scope, run.ctx, run.start_ns, run.t0, error)

    return LLMObsCallbackHandler


# --- the LLM span of a model run nothing else recorded ---------------------------------------------------

def _model_call(run: _ModelRun, response: Any, error: BaseException | None) -> LLMCall:
    meta = run.metadata
    params = run.params
    model = meta.get("ls_model_name") or params.get("model") or params.get("model_name") or params.get("model_id")
    request: dict[str, Any] = {}
    if isinstance(meta.get("ls_temperature"), (int, float)):
        request[sc.GEN_AI_REQUEST_TEMPERATURE] = meta["ls_temperature"]
    if isinstance(meta.get("ls_max_tokens"), int):
        request[sc.GEN_AI_REQUEST_MAX_TOKENS] = meta["ls_max_tokens"]
    stop = meta.get("ls_stop") or params.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if isinstance(stop, (list, tuple)) and stop and all(isinstance(s, str) for s in stop):
        request[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
    for key, attr in _PARAMS:
        value = params.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            request[attr] = value
    call = LLMCall(
        run.operation, _frameworks.provider_name(meta.get("ls_provider")),
        str(model) if model else None, stream=run.chunks > 0, params=request, integration=_INTEGRATION,
    )
    call.chunks = run.chunks
    call.first_chunk_t = run.first_chunk_t
    if error is not None and run.chunks:
        call.incomplete = True
    generations = _generations(response)
    messages = [getattr(g, "message", None) for g in generations]
    _read_response(call, response, generations, messages)
    if _runtime.get().capture:
        _read_content(call, run, generations, messages)
    return call


def _generations(response: Any) -> list[Any]:
    gens = getattr(response, "generations", None)
    if gens and isinstance(gens, list) and isinstance(gens[0], list):
        return gens[0]
    return []


def _read_response(call: LLMCall, response: Any, generations: list[Any], messages: list[Any]) -> None:
    usage: Usage | None = None
    reasons: list[str] = []
    for gen, message in zip(generations, messages, strict=False):
        meta = getattr(message, "response_metadata", None) or {}
        info = getattr(gen, "generation_info", None) or {}
        if message is not None and usage is None:
            usage = _usage_metadata(getattr(message, "usage_metadata", None))
        if call.response_model is None:
            model = meta.get("model_name") or meta.get("model") or info.get("model")
            if isinstance(model, str):
                call.response_model = model
        if call.response_id is None:
            msg_id = getattr(message, "id", None) or meta.get("id")
            if isinstance(msg_id, str) and not msg_id.startswith(("run-", "lc_run")):
                call.response_id = msg_id
        reason = (meta.get("finish_reason") or meta.get("stop_reason") or info.get("finish_reason")
                  or info.get("stop_reason"))
        if isinstance(reason, str):
            reasons.append(_finish.ANY.get(reason, reason))
        elif getattr(message, "tool_calls", None):
            reasons.append(sc.FINISH_TOOL_CALL)
    if reasons:
        call.finish_reasons = reasons
    output = getattr(response, "llm_output", None)
    if isinstance(output, dict):
        if usage is None:
            usage = _frameworks.usage_of(output.get("token_usage") or output.get("usage"))
        if call.response_model is None and isinstance(output.get("model_name"), str):
            call.response_model = output["model_name"]
    call.usage = usage


def _usage_metadata(data: Any) -> Usage | None:
    """LangChain's ``UsageMetadata``: input_tokens already includes cached tokens, output includes reasoning."""
    if not isinstance(data, dict):
        return None
    usage = Usage(_int(data.get("input_tokens")), _int(data.get("output_tokens")))
    details = data.get("input_token_details")
    if isinstance(details, dict):
        usage.cache_read_input_tokens = _int(details.get("cache_read"))
        usage.cache_write_input_tokens = _int(details.get("cache_creation"))
    details = data.get("output_token_details")
    if isinstance(details, dict):
        usage.reasoning_output_tokens = _int(details.get("reasoning"))
    return None if usage.is_empty() else usage


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _has_tool_call(chunk: Any) -> bool:
    message = getattr(chunk, "message", None)
    return bool(getattr(message, "tool_call_chunks", None))


# --- content (only when capture is on) --------------------------------------------------------------------

def _read_content(call: LLMCall, run: _ModelRun, generations: list[Any], messages: list[Any]) -> None:
    inputs = run.inputs
    if isinstance(inputs, str):
        call.input_messages = [{"role": "user", "parts": [{"type": "text", "content": inputs}]}]
    elif isinstance(inputs, list):  # system messages stay in the input messages, as in the openai integration
        call.input_messages = [_message(message) for message in inputs]
    outputs: list[dict[str, Any]] = []
    for gen, message in zip(generations, messages, strict=False):
        if message is not None:
            item = _message(message)
        else:
            item = {"role": "assistant", "parts": [{"type": "text", "content": getattr(gen, "text", "")}]}
        if call.finish_reasons and len(call.finish_reasons) > len(outputs):
            item["finish_reason"] = call.finish_reasons[len(outputs)]
        outputs.append(item)
    if outputs:
        call.output_messages = outputs
    tools = run.params.get("tools")
    if isinstance(tools, list) and tools:
        definitions = []
        for tool in tools:
            if isinstance(tool, dict):
                fn = tool.get("function")
                name = (fn if isinstance(fn, dict) else tool).get("name")
                definitions.append({"type": tool.get("type", "function"), "name": name})
        call.tool_definitions = definitions


def _message(message: Any) -> dict[str, Any]:
    kind = getattr(message, "type", None)
    role = _ROLES.get(kind, kind) if isinstance(kind, str) else "user"
    if kind == "chat":
        role = getattr(message, "role", "user")
    parts: list[dict[str, Any]] = []
    content = getattr(message, "content", message)
    if kind == "tool":
        parts.append({"type": "tool_call_response", "id": getattr(message, "tool_call_id", None),
                      "response": content})
    elif isinstance(content, str):
        if content:
            parts.append({"type": "text", "content": content})
    elif isinstance(content, list):
        for block in content:
            parts.append(_block(block))
    for tool_call in getattr(message, "tool_calls", None) or ():
        if isinstance(tool_call, dict):
            parts.append({"type": "tool_call", "id": tool_call.get("id"), "name": tool_call.get("name"),
                          "arguments": tool_call.get("args")})
    item: dict[str, Any] = {"role": role, "parts": parts}
    name = getattr(message, "name", None)
    if isinstance(name, str) and name:
        item["name"] = name
    return item


def _block(block: Any) -> dict[str, Any]:
    if isinstance(block, str):
        return {"type": "text", "content": block}
    if isinstance(block, dict):
        kind = block.get("type")
        if kind == "text":
            return {"type": "text", "content": block.get("text", "")}
        if kind in ("reasoning", "thinking"):
            return {"type": "reasoning", "content": block.get("reasoning") or block.get("thinking") or ""}
        if kind == "image_url":
            url = block.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if isinstance(url, str):
                return url_part(url, "image")  # a data: URL becomes a descriptor, never its bytes
        if kind in ("image", "audio", "video", "file"):  # LangChain's standard media blocks
            modality = "document" if kind == "file" else kind
            source = block.get("source_type")
            data = block.get("base64") or (block.get("data") if source in (None, "base64") else None)
            if data is not None:
                return blob_descriptor(modality, block.get("mime_type"), data)
            url = block.get("url") or (block.get("data") if source == "url" else None)
            if isinstance(url, str):
                return url_part(url, modality)
    return {"type": "generic", "content": block}


def _documents(documents: Any) -> list[dict[str, Any]]:
    out = []
    for doc in documents or ():
        item: dict[str, Any] = {"content": getattr(doc, "page_content", None)}
        doc_id = getattr(doc, "id", None)
        if doc_id is not None:
            item["id"] = doc_id
        metadata = getattr(doc, "metadata", None)
        if metadata:
            item["metadata"] = metadata
        out.append(item)
    return out


# --- the integration ------------------------------------------------------------------------------------------

class LangChainIntegration(Integration):
    """Registers the handler with langchain-core's configure hooks (every callback manager gets it)."""

    name = "langchain"
    library = "langchain_core"

    def __init__(self) -> None:
        super().__init__()
        self.handler: Any = None
        self._hook: Any = None

    def patch(self, module: Any) -> None:
        from langchain_core.callbacks import BaseCallbackHandler
        from langchain_core.tracers import context as tracer_context

        self.handler = _make_handler_class(BaseCallbackHandler)()
        var: ContextVar[Any] = ContextVar("llmobs_langchain_handler", default=self.handler)
        tracer_context.register_configure_hook(var, True)
        hooks = tracer_context._configure_hooks
        self._hook = hooks[-1] if hooks and hooks[-1][0] is var else None

    def unpatch(self) -> None:
        super().unpatch()
        hook, self._hook = self._hook, None
        if hook is not None:
            try:
                from langchain_core.tracers import context as tracer_context

                tracer_context._configure_hooks[:] = [h for h in tracer_context._configure_hooks if h is not hook]
            except Exception as exc:
                report("langchain.unpatch", exc)
        handler, self.handler = self.handler, None
        if handler is not None:
            for run in handler.runs.clear():
                _close_evicted(run)
