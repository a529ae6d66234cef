"""Tail sampling in the SDK: decide per whole trace, once it has ended, which traces are exported.

``TailSamplingProcessor`` wraps the processor that exports (llmobs's ``BatchSpanProcessor``). Ended spans are
held per trace id until every span of the trace started in this process has ended (the local root included),
then the trace is decided as a whole:

1. kept if a span has status ERROR or an ``error.type`` attribute;
2. kept if the sum of ``llmobs.cost.total_usd`` over its spans reaches ``cost_usd``;
3. kept if it lasted at least ``latency_s`` (the local root's duration; for a trace decided before its root
   ended, how long it has been running so far);
4. otherwise kept with probability ``ratio``, decided on a hash of the trace id, so every process running this
   code takes the same decision for the same trace, independently of a head sampler's trace-id ratio.

Kept traces go to the wrapped processor span by span; dropped ones are forgotten. Memory is bounded: at most
``max_spans`` spans are held (when full, the oldest traces are decided early), at most ``max_spans_per_trace``
per trace, and a trace is held at most ``max_age_s`` (checked on every span end: no background thread).
``force_flush()`` and ``shutdown()`` decide everything held. Spans of a trace that end after its decision
follow it. The per-span cost is a few dictionary operations under a lock; nothing here raises into the app.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any

from opentelemetry.trace import StatusCode  # the API (llmobs imports it anyway), not the SDK

from . import semconv as sc
from ._safety import report

DEFAULT_RATIO = 0.1
DEFAULT_LATENCY_S = 10.0
DEFAULT_COST_USD = 0.05
DEFAULT_MAX_SPANS = 5_000
DEFAULT_MAX_AGE_S = 60.0
DEFAULT_MAX_SPANS_PER_TRACE = 2_000
# Decisions remembered for spans that end after their trace was decided (ids only: ~100 bytes each).
_DECIDED_MAX = 10_000

_MASK64 = (1 << 64) - 1

_ERROR = StatusCode.ERROR
_ERROR_TYPE = sc.ERROR_TYPE
_COST = sc.LLMOBS_COST_TOTAL
_instances: weakref.WeakSet[TailSamplingProcessor] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A lock held by another thread of the parent stays held forever in the child; the spans held belong to
    # the parent, which exports them.
    for processor in list(_instances):
        processor._lock = threading.Lock()
        processor._traces.clear()
        processor._open.clear()
        processor._held = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def ratio_hash(trace_id: int) -> int:
    """A 64-bit mix of the trace id (splitmix64 finaliser over both halves): uniform even when only part of
    the id is random, and uncorrelated with ``TraceIdRatioBased`` (which compares the low 64 bits)."""
    x = (trace_id ^ (trace_id >> 64)) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class _Trace:
    __slots__ = ("cost", "error", "first_seen", "root_duration_ns", "root_ended", "spans")

    def __init__(self, now: float) -> None:
        self.spans: list[Any] = []
        self.first_seen = now
        self.root_duration_ns: int | None = None
        self.root_ended = False
        self.error = False
        self.cost = 0.0


class TailSamplingProcessor:
    """A span processor that keeps whole traces with an error, a high latency or a high cost, and a ratio of
    the rest, and hands the kept ones to ``processor`` (e.g. a ``BatchSpanProcessor``).

    Add it to your own ``TracerProvider`` in place of the exporting processor::

        provider.add_span_processor(llmobs.TailSamplingProcessor(BatchSpanProcessor(exporter), ratio=0.1))

    ``stats()`` returns the decision counters.
    """

    def __init__(
        self,
        processor: Any,
        *,
        ratio: float = DEFAULT_RATIO,
        latency_s: float = DEFAULT_LATENCY_S,
        cost_usd: float = DEFAULT_COST_USD,
        max_spans: int = DEFAULT_MAX_SPANS,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_spans_per_trace: int = DEFAULT_MAX_SPANS_PER_TRACE,
        clock: Any = time.monotonic,
    ) -> None:
        if not 0.0 <= float(ratio) <= 1.0:
            raise ValueError("ratio must be between 0 and 1")
        if latency_s < 0 or cost_usd < 0 or max_age_s <= 0 or max_spans < 1 or max_spans_per_trace < 1:
            raise ValueError("thresholds must be >= 0, max_age_s > 0 and span limits >= 1")
        self.processor = processor
        self.ratio = float(ratio)
        self.latency_ns = int(latency_s * 1e9)
        self.cost_usd = float(cost_usd)
        self.max_spans = int(max_spans)
        self.max_age_s = float(max_age_s)
        self.max_spans_per_trace = min(int(max_spans_per_trace), self.max_spans)
        self._bound = round(self.ratio * (_MASK64 + 1))
        self._clock = clock
        self._lock = threading.Lock()
        self._traces: OrderedDict[int, _Trace] = OrderedDict()  # oldest first
        self._open: OrderedDict[int, int] = OrderedDict()  # trace id -> spans started and not yet ended
        self._decided: OrderedDict[int, bool] = OrderedDict()
        self._held = 0
        self._closed = False
        self._stats: dict[str, int] = dict.fromkeys((
            "traces_kept", "traces_dropped", "spans_kept", "spans_dropped", "kept_error", "kept_cost",
            "kept_latency", "kept_ratio", "decided_early_full", "decided_early_age", "decided_early_trace_size",
            "decided_on_flush", "late_spans",
        ), 0)
        _instances.add(self)

    # -- the SpanProcessor interface ---------------------------------------------------------------------

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        try:
            ctx = span.context
            if ctx.trace_flags.sampled and not self._closed:
                tid = ctx.trace_id
                with self._lock:
                    self._open[tid] = self._open.get(tid, 0) + 1
                    if len(self._open) > self.max_spans:  # spans that never end: forget the oldest counts
                        self._open.popitem(last=False)
        except Exception as exc:
            report("tail_sampling.on_start", exc)
        try:
            self.processor.on_start(span, parent_context=parent_context)
        except Exception as exc:
            report("tail_sampling.on_start", exc)

    def _on_ending(self, span: Any) -> None:
        on_ending = getattr(self.processor, "_on_ending", None)
        if on_ending is not None:
            try:
                on_ending(span)
            except Exception as exc:
                report("tail_sampling._on_ending", exc)

    def on_end(self, span: Any) -> None:
        try:
            forward = self._on_end(span)
        except Exception as exc:
            report("tail_sampling.on_end", exc)
            forward = [span]  # when in doubt, export
        for item in forward:
            try:
                self.processor.on_end(item)
            except Exception as exc:
                report("tail_sampling.forward", exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._forward(self._decide_all())
        try:
            return bool(self.processor.force_flush(timeout_millis))
        except Exception as exc:
            report("tail_sampling.force_flush", exc)
            return False

    def shutdown(self) -> None:
        self._closed = True
        self._forward(self._decide_all())
        try:
            self.processor.shutdown()
        except Exception as exc:
            report("tail_sampling.shutdown", exc)

    # -- introspection -------------------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Decision counters, plus ``held_spans`` and ``held_traces`` (what is buffered now)."""
        with self._lock:
            out = dict(self._stats)
            out["held_spans"] = self._held
            out["held_traces"] = len(self._traces)
        return out

    def ratio_keeps(self, trace_id: int) -> bool:
        """Whether the ratio alone keeps this trace (the same answer in every process)."""
        return ratio_hash(trace_id) < self._bound

    # -- internals ---------------------------------------------------------------------------------------

    def _on_end(self, span: Any) -> list[Any]:
        ctx = span.context
        if not ctx.trace_flags.sampled or self._closed:
            return [span]  # not ours to sample (the wrapped processor ignores unsampled spans)
        tid = ctx.trace_id
        # Read the span outside the lock.
        attrs = span.attributes or {}
        error = span.status.status_code is _ERROR or _ERROR_TYPE in attrs
        cost = attrs.get(_COST)
        parent = span.parent
        is_root = parent is None or parent.is_remote
        now = self._clock()
        forward: list[Any] = []
        with self._lock:
            count = self._open.get(tid)
            if count is not None:
                if count <= 1:
                    del self._open[tid]
                    count = 0
                else:
                    self._open[tid] = count - 1
                    count -= 1
            decided = self._decided.get(tid)
            if decided is not None:  # the trace was decided already: this span follows
                self._stats["late_spans"] += 1
                self._count_spans(decided, 1)
                return [span] if decided else []
            trace = self._traces.get(tid)
            if trace is None:
                trace = self._traces[tid] = _Trace(now)
            trace.spans.append(span)
            self._held += 1
            if error:
                trace.error = True
            if isinstance(cost, (int, float)):
                trace.cost += cost
            if is_root:
                trace.root_ended = True
                start, end = span.start_time, span.end_time
                if start is not None and end is not None:
                    trace.root_duration_ns = max(trace.root_duration_ns or 0, end - start)
            if trace.root_ended and not count:
                self._decide(tid, forward, None)
            elif len(trace.spans) >= self.max_spans_per_trace:
                self._decide(tid, forward, "decided_early_trace_size")
            while self._held > self.max_spans:
                self._decide(next(iter(self._traces)), forward, "decided_early_full")
            while self._traces:
                oldest_id, oldest = next(iter(self._traces.items()))
                if now - oldest.first_seen < self.max_age_s:
                    break
                self._decide(oldest_id, forward, "decided_early_age")
        return forward

    def _decide(self, tid: int, forward: list[Any], early: str | None) -> None:
        """Decide trace ``tid`` (held, under the lock); kept spans are appended to ``forward``."""
        trace = self._traces.pop(tid)
        self._held -= len(trace.spans)
        self._open.pop(tid, None)
        if early is not None:
            self._stats[early] += 1
        if trace.error:
            keep, reason = True, "kept_error"
        elif trace.cost > 0 and trace.cost >= self.cost_usd:
            keep, reason = True, "kept_cost"
        elif self._duration_ns(trace) >= self.latency_ns:
            keep, reason = True, "kept_latency"
        elif ratio_hash(tid) < self._bound:
            keep, reason = True, "kept_ratio"
        else:
            keep, reason = False, ""
        if reason:
            self._stats[reason] += 1
        self._stats["traces_kept" if keep else "traces_dropped"] += 1
        self._count_spans(keep, len(trace.spans))
        if keep:
            forward.extend(trace.spans)
        self._decided[tid] = keep
        if len(self._decided) > _DECIDED_MAX:
            self._decided.popitem(last=False)

    @staticmethod
    def _duration_ns(trace: _Trace) -> int:
        if trace.root_ended and trace.root_duration_ns is not None:
            return trace.root_duration_ns
        # The root has not ended: it started no later than the earliest span we hold and is still running.
        starts = [s.start_time for s in trace.spans if s.start_time is not None]
        return max(time.time_ns() - min(starts), 0) if starts else 0

    def _count_spans(self, keep: bool, n: int) -> None:
        self._stats["spans_kept" if keep else "spans_dropped"] += n

    def _decide_all(self) -> list[Any]:
        forward: list[Any] = []
        try:
            with self._lock:
                while self._traces:
                    self._decide(next(iter(self._traces)), forward, "decided_on_flush")
        except Exception as exc:
            report("tail_sampling.decide_all", exc)
        return forward

    def _forward(self, spans: list[Any]) -> None:
        for span in spans:
            try:
                self.processor.on_end(span)
            except Exception as exc:
                report("tail_sampling.forward", exc)


def from_config(settings: Any, processors: list[Any]) -> TailSamplingProcessor:
    """One tail sampler in front of every exporting processor llmobs created (one buffer, one decision)."""
    if len(processors) == 1:
        inner = processors[0]
    else:
        from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor

        inner = SynchronousMultiSpanProcessor()
        for processor in processors:
            inner.add_span_processor(processor)
    return TailSamplingProcessor(
        inner, ratio=settings.ratio, latency_s=settings.latency_s, cost_usd=settings.cost_usd,
        max_spans=settings.max_spans, max_age_s=settings.max_age_s,
    )
