"""The collector's text output: the report as a table or CSV, the trace list, a trace as a tree. Shared by
the CLI, the query API (CSV) and the demo. Every value from telemetry is shown with its control characters
escaped (``printable``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from . import queries

# C0 controls, DEL and C1 controls: telemetry is written by whoever can reach the collector, and printed
# as is, "ESC ] 0 ; ... BEL" would retitle the operator's terminal and "ESC [ 31 m" colour it.
_CONTROLS = {c: (f"\\x{c:02x}" if c not in (9, 10, 13) else {9: "\\t", 10: "\\n", 13: "\\r"}[c])
             for c in (*range(0x20), *range(0x7F, 0xA0))}


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\n``)."""
    return text.translate(_CONTROLS)


def _fmt(value: Any, kind: str = "") -> str:
    if value is None:
        return "-"
    if kind == "s":
        return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"
    if kind == "usd":
        if value == 0 or value >= 0.01:
            return f"${value:.4f}"
        return f"${value:.6f}" if value >= 1e-5 else f"${value:.1e}"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    rows = [[printable(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in rows]
    return "\n".join(lines)


def report_table(rows: list[dict[str, Any]], group_by: tuple[str, ...]) -> str:
    if not rows:
        return "no LLM calls in this window"
    headers = [*group_by, "calls", "errors", "p50", "p95", "p99", "ttft p50", "ttft p95", "tokens in", "tokens out",
               "tok/s", "cost"]
    body = [[
        *(str(r.get(g) or "-") for g in group_by), str(r["calls"]), _fmt(r["error_rate"], "pct"),
        _fmt(r["latency_p50_s"], "s"), _fmt(r["latency_p95_s"], "s"), _fmt(r["latency_p99_s"], "s"),
        _fmt(r["ttfc_p50_s"], "s"), _fmt(r["ttfc_p95_s"], "s"), _fmt(r["input_tokens"]), _fmt(r["output_tokens"]),
        _fmt(r["output_tokens_per_s"]), _fmt(r["cost_usd"], "usd"),
    ] for r in rows]
    total_cost = sum(r["cost_usd"] or 0 for r in rows)
    return _table(headers, body) + f"\n\n{sum(r['calls'] for r in rows)} calls, total cost ${total_cost:.6f}"


def report_csv(rows: list[dict[str, Any]], group_by: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*group_by, *queries.REPORT_FIELDS])
    for r in rows:
        writer.writerow([printable(v) if isinstance(v, str) else v
                         for v in (*(r.get(g) for g in group_by), *(r.get(f) for f in queries.REPORT_FIELDS))])
    return out.getvalue()


def traces_table(traces: list[dict[str, Any]]) -> str:
    if not traces:
        return "no traces"
    from datetime import datetime, timezone

    body = [[
        t["trace_id"], datetime.fromtimestamp(t["start_ns"] / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        str(t["root"]), _fmt(t["duration_s"], "s"), str(t["spans"]), str(t["llm_calls"]),
        _fmt((t["input_tokens"] or 0) + (t["output_tokens"] or 0) if t["llm_calls"] else None),
        _fmt(t["cost_usd"], "usd"), "ERROR" if t["error"] else "ok",
    ] for t in traces]
    return _table(["trace", "start (UTC)", "root", "duration", "spans", "llm", "tokens", "cost", "status"], body)


def tree_text(roots: list[dict[str, Any]]) -> str:
    lines: list[str] = []

    def walk(span: dict[str, Any], prefix: str, last: bool, top: bool) -> None:
        facts = [_fmt(span["duration_s"], "s")]
        if span.get("operation") in queries.LLM_OPERATIONS:
            facts.append(f"{span.get('provider')}/{span.get('response_model') or span.get('model')}")
            n_in, n_out = span.get("input_tokens"), span.get("output_tokens")
            if n_out is not None:
                facts.append(f"{n_in or 0}→{n_out} tok")
            elif n_in is not None:
                facts.append(f"{n_in} tok in")
            if span.get("ttfc_s") is not None:
                facts.append(f"ttft {_fmt(span['ttfc_s'], 's')}")
            if span.get("cost_usd") is not None:
                facts.append(_fmt(span["cost_usd"], "usd"))
        if span.get("status_code") == 2:
            facts.append(f"ERROR {span.get('error_type') or ''}".strip())
        connector = "" if top else ("└─ " if last else "├─ ")
        lines.append(f"{prefix}{connector}{printable(str(span['name']))}  [{printable(', '.join(facts))}]")
        children = span.get("children", [])
        for i, child in enumerate(children):
            walk(child, prefix + ("" if top else ("   " if last else "│  ")), i == len(children) - 1, False)

    for root in roots:
        walk(root, "", True, True)
    return "\n".join(lines)
