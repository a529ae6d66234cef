"""GenAI metrics, recorded off the caller's thread.

One measurement through the OpenTelemetry SDK costs about 10 µs on a small machine (attribute cleaning and
hashing), and an LLM call produces four to six of them. So the caller only appends a tuple to a deque
(about 0.1 µs); a daemon worker turns the queued calls into measurements every 100 ms, and ``drain()``
does it at once (``llmobs.flush()``, the pytest fixture, shutdown). Every call is counted, whatever the
trace sampler decided.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque
from typing import Any

from . import semconv as sc
from ._model import LLMCall
from ._safety import report

_QUEUE_MAX = 100_000
_INTERVAL_S = 0.1


_instances: weakref.WeakSet[Metrics] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The parent's worker thread does not exist in the child, and a lock it held is held forever here.
    for metrics in list(_instances):
        metrics._lock = threading.Lock()
        metrics._thread = None
        metrics._pid = os.getpid()
        metrics._queue.clear()  # the parent records these


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Metrics:
    def __init__(self, meter: Any, layout: str) -> None:
        _instances.add(self)
        self.layout = layout
        self._queue: deque[tuple[Any, ...]] = deque(maxlen=_QUEUE_MAX)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pid = os.getpid()
        old = layout in ("v1.41", "both")
        new = layout in ("latest", "both")
        d = list(sc.BUCKETS_DURATION)
        t = list(sc.BUCKETS_TOKENS)
        h = meter.create_histogram
        c = meter.create_counter
        self._old = old
        self._new = new
        if old:
            self.op_duration = h(sc.METRIC_OPERATION_DURATION, unit="s",
                                 description="GenAI operation duration.",
                                 explicit_bucket_boundaries_advisory=d)
            self.token_usage = h(sc.METRIC_TOKEN_USAGE, unit="{token}",
                                 description="Number of input and output tokens used.",
                                 explicit_bucket_boundaries_advisory=t)
            self.op_ttfc = h(sc.METRIC_OPERATION_TTFC, unit="s",
                             description="Time to receive the first chunk of a streamed response.",
                             explicit_bucket_boundaries_advisory=d)
        if new:
            self.inf_duration = h(sc.METRIC_INFERENCE_DURATION, unit="s",
                                  description="GenAI inference duration.",
                                  explicit_bucket_boundaries_advisory=d)
            self.inf_ttfc = h(sc.METRIC_INFERENCE_TTFC, unit="s",
                              description="Time to receive the first chunk of a streamed response.",
                              explicit_bucket_boundaries_advisory=d)
            self.usage_in = c(sc.METRIC_INFERENCE_USAGE_INPUT, unit="{token}", description="Input tokens.")
            self.usage_out = c(sc.METRIC_INFERENCE_USAGE_OUTPUT, unit="{token}", description="Output tokens.")
            self.usage_cache_read = c(sc.METRIC_INFERENCE_USAGE_CACHE_READ, unit="{token}",
                                      description="Input tokens read from a cache.")
            self.usage_cache_write = c(sc.METRIC_INFERENCE_USAGE_CACHE_WRITE, unit="{token}",
                                       description="Input tokens written to a cache.")
            self.usage_reasoning = c(sc.METRIC_INFERENCE_USAGE_REASONING, unit="{token}",
                                     description="Reasoning output tokens.")
            self.op_in = h(sc.METRIC_INFERENCE_OP_INPUT, unit="{token}",
                           description="Input tokens per operation.", explicit_bucket_boundaries_advisory=t)
            self.op_out = h(sc.METRIC_INFERENCE_OP_OUTPUT, unit="{token}",
                            description="Output tokens per operation.", explicit_bucket_boundaries_advisory=t)
            self.emb_duration = h(sc.METRIC_EMBEDDINGS_DURATION, unit="s",
                                  description="GenAI embeddings duration.",
                                  explicit_bucket_boundaries_advisory=d)
            self.emb_in = h(sc.METRIC_EMBEDDINGS_OP_INPUT, unit="{token}",
                            description="Input tokens per embeddings operation.",
                            explicit_bucket_boundaries_advisory=t)
            self.other_duration = h(sc.METRIC_OPERATION_DURATION, unit="s",
                                    description="GenAI operation duration.",
                                    explicit_bucket_boundaries_advisory=d) if not old else None
        self.cost = h(sc.METRIC_LLMOBS_COST, unit="USD", description="Cost of LLM calls in US dollars.",
                      explicit_bucket_boundaries_advisory=list(sc.BUCKETS_COST_USD))
        self.agent_duration = h(sc.METRIC_INVOKE_AGENT_DURATION, unit="s", description="Agent invocation duration.",
                                explicit_bucket_boundaries_advisory=list(sc.BUCKETS_AGENT))
        self.workflow_duration = h(sc.METRIC_INVOKE_WORKFLOW_DURATION, unit="s",
                                   description="Workflow invocation duration.",
                                   explicit_bucket_boundaries_advisory=list(sc.BUCKETS_WORKFLOW))
        self.tool_duration = h(sc.METRIC_EXECUTE_TOOL_DURATION, unit="s", description="Tool execution duration.",
                               explicit_bucket_boundaries_advisory=d)

    # --- caller side: cheap -------------------------------------------------------------------------
    def enqueue_llm(self, call: LLMCall, duration_s: float, ttfc_s: float | None, cost_usd: float | None,
                    error_type: str | None) -> None:
        # A flat tuple of plain values, not the call: the queue must not keep spans and messages alive (nor
        # give the garbage collector big object graphs to walk) until the worker's next pass.
        usage = call.usage
        self._queue.append((
            0, call.operation, call.provider, call.model, call.response_model, call.server_address,
            call.server_port,
            None if usage is None else (usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens,
                                        usage.cache_write_input_tokens, usage.reasoning_output_tokens),
            duration_s, ttfc_s, cost_usd, error_type,
        ))
        if self._thread is None:  # also after a fork: _after_fork_in_child clears it
            self._start()

    def enqueue_op(self, kind: str, attrs: dict[str, Any], duration_s: float) -> None:
        self._queue.append((1, kind, attrs, duration_s))
        if self._thread is None:  # also after a fork: _after_fork_in_child clears it
            self._start()

    # --- worker side ---------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop.clear()
            thread = threading.Thread(target=self._run, name="llmobs-metrics", daemon=True)
            self._thread = thread
            thread.start()

    def _run(self) -> None:
        while not self._stop.wait(_INTERVAL_S):
            self.drain()
        self.drain()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)
        self._thread = None
        self.drain()

    def drain(self) -> None:
        queue = self._queue
        with self._lock:
            while queue:
                try:
                    item = queue.popleft()
                except IndexError:
                    break
                try:
                    if item[0] == 0:
                        self._record_llm(*item[1:])
                    else:
                        self._record_op(*item[1:])
                except Exception as exc:
                    report("metrics", exc)

    def _record_llm(self, operation: str, provider: str, model: str | None, response_model: str | None,
                    server_address: str | None, server_port: int | None,
                    usage: tuple[int | None, ...] | None, duration_s: float, ttfc_s: float | None,
                    cost_usd: float | None, error_type: str | None) -> None:
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation, sc.GEN_AI_PROVIDER_NAME: provider}
        if model:
            attrs[sc.GEN_AI_REQUEST_MODEL] = model
        if response_model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = response_model
        if server_address:
            attrs[sc.SERVER_ADDRESS] = server_address
            if server_port:
                attrs[sc.SERVER_PORT] = server_port
        in_tok = usage[0] if usage is not None else None
        out_tok = usage[1] if usage is not None else None
        with_error = attrs
        if error_type:
            with_error = {**attrs, sc.ERROR_TYPE: error_type}
        is_embeddings = operation == sc.OP_EMBEDDINGS
        if self._old:
            self.op_duration.record(duration_s, with_error)
            if in_tok is not None:
                self.token_usage.record(in_tok, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
            if out_tok is not None:
                self.token_usage.record(out_tok, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
            if ttfc_s is not None:
                self.op_ttfc.record(ttfc_s, attrs)
        if self._new:
            if is_embeddings:
                self.emb_duration.record(duration_s, with_error)
                self.emb_in.record(in_tok or 0, attrs)
            elif operation in sc.INFERENCE_OPERATIONS:
                self.inf_duration.record(duration_s, with_error)
                if ttfc_s is not None:
                    self.inf_ttfc.record(ttfc_s, attrs)
                modality = "unknown"
                self.usage_in.add(in_tok or 0, {**attrs, sc.GEN_AI_TOKEN_MODALITY: modality})
                self.usage_out.add(out_tok or 0, {**attrs, sc.GEN_AI_TOKEN_MODALITY: modality})
                if usage is not None:
                    for value, counter in (
                        (usage[2], self.usage_cache_read),
                        (usage[3], self.usage_cache_write),
                        (usage[4], self.usage_reasoning),
                    ):
                        if value:
                            counter.add(value, {**attrs, sc.GEN_AI_TOKEN_MODALITY: modality})
                self.op_in.record(in_tok or 0, with_error)
                self.op_out.record(out_tok or 0, with_error)
            elif self.other_duration is not None:
                self.other_duration.record(duration_s, with_error)
        if cost_usd is not None:
            self.cost.record(cost_usd, attrs)

    def _record_op(self, kind: str, attrs: dict[str, Any], duration_s: float) -> None:
        if kind == sc.KIND_AGENT:
            self.agent_duration.record(duration_s, attrs)
        elif kind == sc.KIND_WORKFLOW:
            self.workflow_duration.record(duration_s, attrs)
        elif kind == sc.KIND_TOOL:
            self.tool_duration.record(duration_s, attrs)
