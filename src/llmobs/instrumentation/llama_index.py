"""LlamaIndex (llama-index-core 0.14): spans for query engines, retrievers, synthesizers, tools, chat engines,
workflows and agents, and the one-LLM-span rule for its LLM and embedding calls.

Nothing in LlamaIndex is patched. The integration adds one span handler and one event handler to LlamaIndex's
root instrumentation dispatcher (every component reports there) and removes them on ``uninstrument()``.

* Components get spans (``SpanHandle``), made current while they run so that what they call nests under them.
  Only the operations listed in ``_RULES`` and workflow runs and steps get a span; LlamaIndex's many internal
  spans (``_query``, ``_retrieve``, ``get_response``, node parsers, prompt programs, ``predict``...) are
  skipped: their work shows up under the nearest traced ancestor.
* An LLM call (``chat``/``complete``, async and streaming) and an embedding call open a model scope
  (``_frameworks.enter_model``) and no span. When the call ends (a stream: when it is drained, fails, is
  closed or collected), the span the provider integration recorded meanwhile claims it; if none did (an LLM
  class llmobs has no provider integration for, or the provider integration is off), the call is recorded
  from LlamaIndex's own data as the framework's LLM span, back-dated to when the call started.
* Every map keyed by LlamaIndex span id is a ``RunTable``: bounded whatever LlamaIndex reports.
"""

from __future__ import annotations

import inspect
import sys
import time
import weakref
from typing import Any

from opentelemetry import context as otel_context

from .. import _frameworks, _runtime
from .. import semconv as sc
from .._frameworks import (
    RunTable,
    attach,
    detach,
    enter_model,
    exit_model,
    provider_name,
    record_model_run,
    usage_of,
)
from .._manual import SpanHandle
from .._model import LLMCall
from .._recorder import _model_scope
from .._safety import report
from . import Integration, _finish

INTEGRATION = "llama_index"

_perf = time.perf_counter
_time_ns = time.time_ns
_get_current = otel_context.get_current
_UUID_LEN = 37  # "-" + str(uuid4()), the suffix of every LlamaIndex span id
_STEP_TAG = "llamaindex.step.input_event"  # the instrument tag llama-index-workflows sets on step spans
_MAX_CLASSIFIED = 4096

# What a LlamaIndex span is. The model rules open a model scope; the others a span of that kind.
SKIP, LLM, EMBED, QUERY, CHAT_ENGINE, RETRIEVE, SYNTH, TOOL, RERANK, RUN, STEP = range(11)

_LLM_METHODS = {
    "chat": (sc.OP_CHAT, False), "achat": (sc.OP_CHAT, False),
    "stream_chat": (sc.OP_CHAT, True), "astream_chat": (sc.OP_CHAT, True),
    "complete": (sc.OP_TEXT_COMPLETION, False), "acomplete": (sc.OP_TEXT_COMPLETION, False),
    "stream_complete": (sc.OP_TEXT_COMPLETION, True), "astream_complete": (sc.OP_TEXT_COMPLETION, True),
}
_EMBED_METHODS = frozenset({
    "get_query_embedding", "aget_query_embedding", "get_text_embedding", "aget_text_embedding",
    "get_text_embedding_batch", "aget_text_embedding_batch",
})
# (base class path, methods, rule), checked in order.
_RULES: tuple[tuple[str, str, frozenset[str], int], ...] = (
    ("llama_index.core.base.llms.base", "BaseLLM", frozenset(_LLM_METHODS), LLM),
    ("llama_index.core.base.embeddings.base", "BaseEmbedding", _EMBED_METHODS, EMBED),
    ("llama_index.core.base.base_query_engine", "BaseQueryEngine", frozenset({"query", "aquery"}), QUERY),
    ("llama_index.core.chat_engine.types", "BaseChatEngine",
     frozenset({"chat", "achat", "stream_chat", "astream_chat"}), CHAT_ENGINE),
    ("llama_index.core.base.base_retriever", "BaseRetriever", frozenset({"retrieve", "aretrieve"}), RETRIEVE),
    ("llama_index.core.response_synthesizers.base", "BaseSynthesizer",
     frozenset({"synthesize", "asynthesize"}), SYNTH),
    ("llama_index.core.tools.types", "BaseTool", frozenset({"__call__", "call", "acall"}), TOOL),
    ("llama_index.core.postprocessor.types", "BaseNodePostprocessor",
     frozenset({"postprocess_nodes", "apostprocess_nodes"}), RERANK),
)


class _Run:
    """A LlamaIndex operation traced as a span."""

    __slots__ = ("call_id", "handle", "instance", "rule", "token")

    def __init__(self, handle: SpanHandle, rule: int, instance: Any) -> None:
        self.handle = handle
        self.rule = rule
        self.instance = instance
        self.token: Any = None
        self.call_id: Any = None  # a workflow step handling one tool call: the call's (tool name, id)


class _Alias:
    """A model call that a model makes to itself (MockLLM's ``chat`` calls its ``complete``): not a call."""

    __slots__ = ("instance",)

    def __init__(self, instance: Any) -> None:
        self.instance = instance


class _Model:
    """An LLM or embedding call in progress (no span until it ends, and then only if nothing claimed it)."""

    __slots__ = ("chunks", "finalizer", "first_t", "instance", "messages", "op", "outer", "parent", "prompt",
                 "response", "scope", "start_ns", "stream", "t0", "token", "vectors")

    def __init__(self, instance: Any, op: str, scope: Any, token: Any, outer: Any) -> None:
        self.instance = instance
        self.op = op
        self.scope = scope
        self.token = token
        self.outer = outer  # the scope of the model run this one runs inside (a model wrapping another)
        self.parent = _get_current()
        self.start_ns = _time_ns()
        self.t0 = _perf()
        self.stream = False
        self.chunks = 0
        self.first_t: float | None = None
        self.response: Any = None
        self.messages: Any = None
        self.prompt: Any = None
        self.vectors: Any = None  # embeddings: (count, dimension)
        self.finalizer: Any = None


def _rt() -> Any:
    return _runtime._current or _runtime.get()


# --- classification ------------------------------------------------------------------------------------------

class _Classifier:
    def __init__(self) -> None:
        self.bases: list[tuple[type, frozenset[str], int]] = []
        for module_name, cls_name, methods, rule in _RULES:
            module = sys.modules.get(module_name)
            if module is None:
                try:
                    module = __import__(module_name, fromlist=[cls_name])
                except Exception as exc:
                    report(f"llama_index.import {module_name}", exc)
                    continue
            cls = getattr(module, cls_name, None)
            if isinstance(cls, type):
                self.bases.append((cls, methods, rule))
        self.cache: dict[tuple[type, str], int] = {}

    def rule(self, instance: Any, method: str) -> int:
        cls = type(instance)
        key = (cls, method)
        found = self.cache.get(key)
        if found is not None:
            return found
        rule = SKIP
        for base, methods, candidate in self.bases:
            if method in methods and issubclass(cls, base):
                rule = candidate
                break
        else:
            if method == "run" and _is_workflow(cls):
                rule = RUN
        if len(self.cache) >= _MAX_CLASSIFIED:
            self.cache.clear()
        self.cache[key] = rule
        return rule


def _is_workflow(cls: type) -> bool:
    module = sys.modules.get("workflows.workflow") or sys.modules.get("workflows")
    workflow = getattr(module, "Workflow", None) if module is not None else None
    return isinstance(workflow, type) and issubclass(cls, workflow)


def _is_agent(instance: Any) -> bool:
    # Only imported by the app if it uses agents: an instance of them cannot exist otherwise.
    module = sys.modules.get("llama_index.core.agent.workflow")
    if module is None:
        return False
    kinds = tuple(k for k in (getattr(module, "BaseWorkflowAgent", None), getattr(module, "AgentWorkflow", None))
                  if isinstance(k, type))
    return bool(kinds) and isinstance(instance, kinds)


# --- the handlers --------------------------------------------------------------------------------------------

class _Tracer:
    """All the state, shared by the span and event handlers."""

    def __init__(self) -> None:
        self.classifier = _Classifier()
        self.runs = RunTable(self._evict)
        # Open streams by model scope: a model whose stream reads another of its own streams when read
        # (CustomLLM's astream_complete iterates its stream_complete) is one call, the outer one.
        self.streams = RunTable(_ignore)

    # spans -------------------------------------------------------------------------------------------------
    def enter(self, id_: str, bound_args: Any, instance: Any, parent_id: Any, tags: Any) -> None:
        if instance is None:
            if not tags or _STEP_TAG not in tags:
                return
            name = id_[:-_UUID_LEN]
            self._start_span(id_, name.rpartition("<locals>.")[2], sc.KIND_TASK, STEP, None, bound_args)
            return
        cls_name = type(instance).__name__
        method = id_[len(cls_name) + 1:-_UUID_LEN]
        rule = self.classifier.rule(instance, method)
        if rule == SKIP:
            return
        runs = self.runs
        parent = runs.get(parent_id)
        if rule in (LLM, EMBED):
            if (type(parent) is _Model or type(parent) is _Alias) and parent.instance is instance:
                runs.put(id_, _Alias(instance))  # the model delegating to itself (chat -> complete): one call
                return
            if len(self.streams):
                reading = self.streams.get(_model_scope.get())
                if reading is not None and reading.instance is instance:
                    runs.put(id_, _Alias(instance))
                    return
            scope, token = enter_model(parent_id)
            op = _LLM_METHODS[method][0] if rule == LLM else sc.OP_EMBEDDINGS
            runs.put(id_, _Model(instance, op, scope, token, parent.scope if type(parent) is _Model else None))
            return
        if rule == TOOL and type(parent) is _Run and parent.rule == TOOL and parent.instance is instance:
            return  # __call__ -> call of the same tool
        rt = _rt()
        if rule in (QUERY, CHAT_ENGINE):
            if parent_id is None:
                self._start_span(id_, cls_name, sc.KIND_WORKFLOW, rule, instance, bound_args, rt)
            else:
                self._start_span(id_, f"{cls_name}.{method}", sc.KIND_TASK, rule, instance, bound_args, rt)
        elif rule == RETRIEVE:
            attrs: dict[str, Any] = {}
            top_k = getattr(instance, "similarity_top_k", None) or getattr(instance, "_similarity_top_k", None)
            if type(top_k) is int:
                attrs[sc.GEN_AI_RETRIEVAL_TOP_K] = top_k
            run = self._start_span(id_, cls_name, sc.KIND_RETRIEVAL, rule, instance, None, rt, attrs)
            if run is not None and rt.capture:
                query = _query_text(_first_arg(bound_args))
                if query is not None:
                    run.handle.set_content(sc.GEN_AI_RETRIEVAL_QUERY_TEXT, query)
        elif rule in (SYNTH, RERANK):
            self._start_span(id_, f"{cls_name}.{method}", sc.KIND_TASK, rule, instance, bound_args, rt)
        elif rule == TOOL:
            self._start_tool(id_, instance, bound_args, parent, rt)
        elif rule == RUN:
            self._start_run(id_, instance, bound_args, rt)

    def _start_span(self, id_: str, name: str, kind: str, rule: int, instance: Any, bound_args: Any,
                    rt: Any = None, attrs: dict[str, Any] | None = None) -> _Run | None:
        handle = SpanHandle(name, kind, attrs)
        run = _Run(handle, rule, instance)
        if rule == STEP:
            run.call_id = _tool_call_of(bound_args)
        elif bound_args is not None and (rt or _rt()).capture:
            value = _input_of(rule, bound_args)
            if value is not None:
                handle.set_input(value)
        run.token = attach(handle.span)
        self.runs.put(id_, run)
        return run

    def _start_tool(self, id_: str, instance: Any, bound_args: Any, parent: Any, rt: Any) -> None:
        name = "tool"
        attrs: dict[str, Any] = {}
        meta = getattr(instance, "metadata", None)
        if meta is not None:
            name = getattr(meta, "name", None) or name
            description = getattr(meta, "description", None)
            if isinstance(description, str) and description:
                attrs[sc.GEN_AI_TOOL_DESCRIPTION] = description.split("\n", 1)[0][:512]
        if type(parent) is _Run and parent.call_id is not None and parent.call_id[0] == name:
            attrs[sc.GEN_AI_TOOL_CALL_ID] = parent.call_id[1]
        handle = SpanHandle(name, sc.KIND_TOOL, attrs)
        run = _Run(handle, TOOL, instance)
        if rt.capture:
            handle.set_input(_tool_arguments(bound_args))
        run.token = attach(handle.span)
        self.runs.put(id_, run)

    def _start_run(self, id_: str, instance: Any, bound_args: Any, rt: Any) -> None:
        attrs: dict[str, Any] = {}
        if _is_agent(instance):
            name = getattr(instance, "name", None)
            if not isinstance(name, str) or not name:
                name = type(instance).__name__
            description = getattr(instance, "description", None)
            if isinstance(description, str) and description:
                attrs[sc.GEN_AI_AGENT_DESCRIPTION] = description[:512]
            handle = SpanHandle(name, sc.KIND_AGENT, attrs)
        else:
            handle = SpanHandle(type(instance).__name__, sc.KIND_WORKFLOW)
        run = _Run(handle, RUN, instance)
        if rt.capture:
            start_event = bound_args.arguments.get("start_event") if bound_args is not None else None
            if start_event is not None:
                handle.set_input(start_event)
        run.token = attach(handle.span)
        self.runs.put(id_, run)

    def exit(self, id_: str, result: Any) -> None:
        state = self.runs.get(id_)
        if state is None:
            return
        if type(state) is _Alias:
            self.runs.pop(id_)
            return
        if type(state) is _Model:
            if state.op != sc.OP_EMBEDDINGS and (inspect.isgenerator(result) or inspect.isasyncgen(result)):
                # A stream: the call ends when the stream does. The model scope stays current in this
                # context meanwhile, so the provider request the stream makes when first read claims it.
                state.stream = True
                self.streams.put(state.scope, state)
                try:
                    state.finalizer = weakref.finalize(result, self._collected, id_)
                except TypeError:
                    pass
                return
            self.runs.pop(id_)
            self._end_model(state, None, state.token)
            return
        self.runs.pop(id_)
        detach(state.token)
        handle = state.handle
        if result is not None and _rt().capture:
            output = _output_of(state.rule, result)
            if output is not None:
                if state.rule == RETRIEVE:
                    handle.set_content(sc.GEN_AI_RETRIEVAL_DOCUMENTS, output)
                else:
                    handle.set_output(output)
        handle.end()

    def drop(self, id_: str, err: BaseException | None) -> None:
        state = self.runs.pop(id_)
        if state is None or type(state) is _Alias:
            return
        if type(state) is _Model:
            self._end_model(state, err, state.token)
            return
        detach(state.token)
        state.handle.end(err)

    # events ------------------------------------------------------------------------------------------------
    def event(self, event: Any) -> None:
        state = self.runs.get(event.span_id)
        if type(state) is not _Model:
            return
        name = type(event).__name__
        if name.endswith("InProgressEvent"):  # LLMChatInProgressEvent, LLMCompletionInProgressEvent
            state.chunks += 1
            if state.first_t is None:
                state.first_t = _perf()
            state.response = event.response
        elif name.endswith("EndEvent"):  # LLMChatEndEvent, LLMCompletionEndEvent, EmbeddingEndEvent
            if name == "EmbeddingEndEvent":
                vectors = event.embeddings
                state.vectors = (len(vectors), len(vectors[0]) if vectors else 0)
                return
            if event.response is not None:
                state.response = event.response
            if state.stream:
                self.runs.pop(event.span_id)
                self._end_stream(state, None)
        elif name.endswith("StartEvent"):  # LLMChatStartEvent, LLMCompletionStartEvent: content only
            if _rt().capture:
                state.messages = getattr(event, "messages", None)
                state.prompt = getattr(event, "prompt", None)
        elif name == "ExceptionEvent" and state.stream:  # a stream failed or was closed early
            self.runs.pop(event.span_id)
            self._end_stream(state, event.exception)

    # model calls -------------------------------------------------------------------------------------------
    def _end_stream(self, state: _Model, exc: BaseException | None) -> None:
        self.streams.pop(state.scope)
        if state.finalizer is not None:
            state.finalizer.detach()
        # Reset the scope only where it is still the current one (a stream ended in its own context).
        token = state.token if _model_scope.get() is state.scope else None
        self._end_model(state, exc, token)

    def _collected(self, id_: str) -> None:
        """A stream was garbage-collected before it was read to the end (or at all)."""
        try:
            state = self.runs.pop(id_)
            if state is not None:
                self.streams.pop(state.scope)
                self._end_model(state, GeneratorExit(), None)
        except Exception as exc:
            report("llama_index.collected", exc)

    def _end_model(self, state: _Model, exc: BaseException | None, token: Any) -> None:
        if exit_model(state.scope, token):
            return  # the provider integration recorded this call
        call = _model_call(state, _rt())
        if isinstance(exc, GeneratorExit):
            call.incomplete = True
            exc = None
        # The span claims the model run it ran inside, if that one is still open, and nothing else: not a
        # stream's scope left current in this context, nor whatever is current where a stream was collected.
        outer = state.outer
        record_model_run(call, state.scope, state.parent, state.start_ns, state.t0, exc,
                         claims=outer if outer is not None and outer.members > 0 else None)

    def _evict(self, state: Any) -> None:
        if type(state) is _Model:
            self.streams.pop(state.scope)
            if state.finalizer is not None:
                state.finalizer.detach()
            self._end_model(state, GeneratorExit(), None)
        elif type(state) is _Run:
            state.handle.end()

    def close(self) -> None:
        self.streams.clear()
        for state in self.runs.clear():
            try:
                if type(state) is _Model:
                    if state.finalizer is not None:
                        state.finalizer.detach()
                    exit_model(state.scope, None)
                elif type(state) is _Run:
                    state.handle.end()
            except Exception as exc:
                report("llama_index.close", exc)


def _ignore(state: Any) -> None:
    pass


def _model_call(state: _Model, rt: Any) -> LLMCall:
    instance = state.instance
    op = state.op
    call = LLMCall(op, _provider(instance), _model_name(instance, op), stream=state.stream,
                   integration=INTEGRATION)
    params = call.params
    if op == sc.OP_EMBEDDINGS:
        dims = getattr(instance, "dimensions", None)
        if type(dims) is int:
            params[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dims
        return call
    for key, attr in ((sc.GEN_AI_REQUEST_TEMPERATURE, "temperature"), (sc.GEN_AI_REQUEST_MAX_TOKENS, "max_tokens"),
                      (sc.GEN_AI_REQUEST_TOP_P, "top_p")):
        value = getattr(instance, attr, None)
        if type(value) in (int, float):
            params[key] = value
    if state.stream:
        call.chunks = state.chunks
        call.first_chunk_t = state.first_t
    response = state.response
    if response is not None:
        _read_response(call, response)
    if rt.capture:
        _content(call, state, response)
    return call


_providers: dict[type, str] = {}


def _provider(instance: Any) -> str:
    cls = type(instance)
    name = _providers.get(cls)
    if name is None:
        name = _provider_of(cls)
        if len(_providers) < _MAX_CLASSIFIED:
            _providers[cls] = name
    return name


def _provider_of(cls: type) -> str:
    """gen_ai.provider.name from the LLM class: its integration package (``llama_index.llms.anthropic``), else
    a class name llmobs knows (``OpenAI``); LlamaIndex's mock models are ``llama_index.mock``, anything else
    ``llama_index`` (a custom model: LlamaIndex knows no provider for it)."""
    parts = cls.__module__.split(".")
    if len(parts) > 2 and parts[0] == "llama_index" and parts[1] in ("llms", "embeddings"):
        return provider_name(parts[2])
    key = cls.__name__.lower()
    for suffix in ("embedding", "llm", ""):
        label = key[: -len(suffix)] if suffix and key.endswith(suffix) else key
        known = _frameworks.known_provider(label)
        if known is not None:
            return known
    if key.startswith("mock"):
        return "llama_index.mock"
    return "llama_index"


def _model_name(instance: Any, op: str) -> str | None:
    name = getattr(instance, "model_name" if op == sc.OP_EMBEDDINGS else "model", None)
    if not isinstance(name, str) or not name:
        try:
            name = instance.metadata.model_name
        except Exception:
            name = None
    if not isinstance(name, str) or not name or name == "unknown":
        return None
    return name


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _read_response(call: LLMCall, response: Any) -> None:
    """Usage, response id and model, finish reasons from a ChatResponse/CompletionResponse's ``raw``."""
    raw = getattr(response, "raw", None)
    if raw is not None:
        rid = _get(raw, "id")
        if isinstance(rid, str):
            call.response_id = rid
        model = _get(raw, "model")
        if isinstance(model, str):
            call.response_model = model
        call.usage = usage_of(_get(raw, "usage"))
        reasons: list[str] = []
        choices = _get(raw, "choices")
        if isinstance(choices, (list, tuple)):
            for choice in choices:
                reason = _get(choice, "finish_reason")
                if isinstance(reason, str):
                    reasons.append(_finish.ANY.get(reason, reason))
        else:
            reason = _get(raw, "stop_reason")
            if isinstance(reason, str):
                reasons.append(_finish.ANY.get(reason, reason))
        if reasons:
            call.finish_reasons = reasons
    if call.usage is None:
        extra = getattr(response, "additional_kwargs", None)
        if isinstance(extra, dict):
            usage = usage_of(extra)
            if usage is not None:
                call.usage = usage


# --- content (only ever called with capture on) ----------------------------------------------------------------

def _role(message: Any) -> str:
    role = getattr(message, "role", None)
    value = getattr(role, "value", role)
    return value if isinstance(value, str) else "user"


def _text_parts(text: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "content": text}] if isinstance(text, str) and text else []


def _content(call: LLMCall, state: _Model, response: Any) -> None:
    if state.messages is not None:
        inputs: list[dict[str, Any]] = []
        system: list[dict[str, Any]] = []
        for message in state.messages:
            text = getattr(message, "content", None)
            if _role(message) == "system":
                system.extend(_text_parts(text))
            else:
                inputs.append({"role": _role(message), "parts": _text_parts(text)})
        call.input_messages = inputs
        if system:
            call.system_instructions = system
    elif isinstance(state.prompt, str):
        call.input_messages = [{"role": "user", "parts": _text_parts(state.prompt)}]
    if response is not None:
        message = getattr(response, "message", None)
        text = getattr(message, "content", None) if message is not None else getattr(response, "text", None)
        out: dict[str, Any] = {"role": "assistant", "parts": _text_parts(text)}
        if call.finish_reasons:
            out["finish_reason"] = call.finish_reasons[0]
        call.output_messages = [out]


def _first_arg(bound_args: Any) -> Any:
    if bound_args is None:
        return None
    for key, value in bound_args.arguments.items():
        if key != "self":
            return value
    return None


def _query_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    text = getattr(value, "query_str", None)  # QueryBundle
    return text if isinstance(text, str) else None


def _input_of(rule: int, bound_args: Any) -> Any:
    first = _first_arg(bound_args)
    if rule in (QUERY, SYNTH):
        return _query_text(first)
    if rule == CHAT_ENGINE:
        return first if isinstance(first, str) else None
    return None


def _output_of(rule: int, result: Any) -> Any:
    if rule == RETRIEVE:
        if not isinstance(result, list):
            return None
        docs = []
        for item in result:
            node = getattr(item, "node", None)
            doc: dict[str, Any] = {"id": getattr(node, "node_id", None), "score": getattr(item, "score", None)}
            try:
                doc["content"] = node.get_content() if node is not None else None
            except Exception:
                pass
            docs.append(doc)
        return docs
    if rule == TOOL:
        content = getattr(result, "content", None)
        return content if content is not None else getattr(result, "raw_output", None)
    if rule == RUN:
        return getattr(result, "result", None) or getattr(result, "response", None) or str(result)
    text = getattr(result, "response", None)  # Response, AgentChatResponse
    return text if isinstance(text, str) else None


def _tool_arguments(bound_args: Any) -> Any:
    if bound_args is None:
        return None
    args = {k: v for k, v in bound_args.arguments.items() if k != "self"}
    kwargs = args.pop("kwargs", None)
    positional = args.pop("args", None)
    if isinstance(kwargs, dict):
        args.update(kwargs)
    if positional:
        args["args"] = list(positional)
    return args


def _tool_call_of(bound_args: Any) -> tuple[str, str] | None:
    """A workflow step handling one tool call (an agent's ``ToolCall`` event): (tool name, call id)."""
    if bound_args is None:
        return None
    for value in bound_args.arguments.values():
        call_id = getattr(value, "tool_id", None)
        name = getattr(value, "tool_name", None)
        if isinstance(call_id, str) and isinstance(name, str):
            return name, call_id
    return None


def _handler_classes() -> tuple[type, type]:
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
    from pydantic import PrivateAttr

    class LlmobsSpanHandler(BaseSpanHandler[Any]):
        """llmobs's span handler: keeps no span in LlamaIndex's own maps (``open_spans`` stays empty)."""

        _tracer: Any = PrivateAttr(default=None)

        @classmethod
        def class_name(cls) -> str:
            return "LlmobsSpanHandler"

        def span_enter(self, id_: str, bound_args: Any, instance: Any = None, parent_id: Any = None,
                       tags: Any = None, **kwargs: Any) -> None:
            try:
                self._tracer.enter(id_, bound_args, instance, parent_id, tags)
            except Exception as exc:
                report("llama_index.span_enter", exc)

        def span_exit(self, id_: str, bound_args: Any, instance: Any = None, result: Any = None,
                      **kwargs: Any) -> None:
            try:
                self._tracer.exit(id_, result)
            except Exception as exc:
                report("llama_index.span_exit", exc)

        def span_drop(self, id_: str, bound_args: Any, instance: Any = None, err: Any = None,
                      **kwargs: Any) -> None:
            try:
                self._tracer.drop(id_, err)
            except Exception as exc:
                report("llama_index.span_drop", exc)

        # The abstract hooks of BaseSpanHandler; unused since the three methods above are overridden.
        def new_span(self, id_: str, bound_args: Any, instance: Any = None, parent_span_id: Any = None,
                     tags: Any = None, **kwargs: Any) -> None:
            return None

        def prepare_to_exit_span(self, id_: str, bound_args: Any, instance: Any = None, result: Any = None,
                                 **kwargs: Any) -> None:
            return None

        def prepare_to_drop_span(self, id_: str, bound_args: Any, instance: Any = None, err: Any = None,
                                 **kwargs: Any) -> None:
            return None

    class LlmobsEventHandler(BaseEventHandler):
        _tracer: Any = PrivateAttr(default=None)

        @classmethod
        def class_name(cls) -> str:
            return "LlmobsEventHandler"

        def handle(self, event: Any, **kwargs: Any) -> None:
            try:
                self._tracer.event(event)
            except Exception as exc:
                report("llama_index.event", exc)

    return LlmobsSpanHandler, LlmobsEventHandler


class LlamaIndexIntegration(Integration):
    name = "llama_index"
    library = "llama_index.core"

    def __init__(self) -> None:
        super().__init__()
        self.tracer: _Tracer | None = None
        self._dispatcher: Any = None
        self._handlers: tuple[Any, Any] | None = None

    def patch(self, module: Any) -> None:
        from llama_index.core.instrumentation import get_dispatcher

        span_cls, event_cls = _handler_classes()
        tracer = _Tracer()
        span_handler = span_cls()
        span_handler._tracer = tracer
        event_handler = event_cls()
        event_handler._tracer = tracer
        dispatcher = get_dispatcher()  # the root: every LlamaIndex dispatcher propagates to it
        dispatcher.add_span_handler(span_handler)
        dispatcher.add_event_handler(event_handler)
        self.tracer = tracer
        self._dispatcher = dispatcher
        self._handlers = (span_handler, event_handler)

    def unpatch(self) -> None:
        super().unpatch()
        dispatcher, handlers = self._dispatcher, self._handlers
        self._dispatcher = self._handlers = None
        if dispatcher is not None and handlers is not None:
            span_handler, event_handler = handlers
            try:  # remove exactly ours, in place (other code may hold these lists)
                dispatcher.span_handlers[:] = [h for h in dispatcher.span_handlers if h is not span_handler]
                dispatcher.event_handlers[:] = [h for h in dispatcher.event_handlers if h is not event_handler]
            except Exception as exc:
                report("llama_index.unpatch", exc)
        if self.tracer is not None:
            self.tracer.close()
            self.tracer = None
