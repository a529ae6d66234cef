"""What the integration tests send: a few LLM calls through the real openai SDK against llmobs's fake LLM
server, covering every series the dashboards read (priced calls, a stream for time to first token, a failed
call, an embedding), and the OpenTelemetry-to-Prometheus name translation the dashboards rely on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

CHAT_MODEL = "gpt-4o-mini"
STREAM_MODEL = "gpt-4o"
ERROR_MODEL = "gpt-4o-mini-error-500"
EMBEDDING_MODEL = "text-embedding-3-small"
USER_ID = "user-42"


def openai_client(server_url: str) -> Any:
    """A real openai client on the fake server, which llmobs names provider ``openai`` (so calls are priced
    from the bundled table, as for api.openai.com). The demo does the same."""
    import openai

    from llmobs.instrumentation.openai import PROVIDER_HOSTS

    PROVIDER_HOSTS[server_url.split("://", 1)[1]] = "openai"
    return openai.OpenAI(base_url=f"{server_url}/v1", api_key="test", max_retries=0)


def forget_provider(server_url: str) -> None:
    """Undo :func:`openai_client`'s provider mapping (the port may be reused by another test's server)."""
    from llmobs.instrumentation.openai import PROVIDER_HOSTS

    PROVIDER_HOSTS.pop(server_url.split("://", 1)[1], None)


def make_calls(client: Any) -> None:
    """One round: a chat call, a streamed chat call, a failing call, an embedding; all inside a user context."""
    import openai

    import llmobs

    with llmobs.context(user_id=USER_ID, session_id="session-7"):
        client.chat.completions.create(model=CHAT_MODEL, messages=[{"role": "user", "content": "Say hello"}])
        stream = client.chat.completions.create(
            model=STREAM_MODEL, messages=[{"role": "user", "content": "Tell me about Paris"}], stream=True,
            stream_options={"include_usage": True})
        for _ in stream:
            pass
        try:
            client.chat.completions.create(model=ERROR_MODEL, messages=[{"role": "user", "content": "x"}])
        except openai.InternalServerError:
            pass
        else:
            raise AssertionError(f"{ERROR_MODEL} should fail")
        client.embeddings.create(model=EMBEDDING_MODEL, input="hello world")


# --- OpenTelemetry -> Prometheus names (the OTel specification's compatibility rules, which both the
# Collector's prometheus exporter and opentelemetry-exporter-prometheus implement) ---------------------------

_UNITS = {"d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
          "us": "microseconds", "ns": "nanoseconds", "By": "bytes", "1": "", "%": "percent"}


def prometheus_label(attribute: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", attribute)


def prometheus_base_name(name: str, unit: str) -> str:
    base = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
    unit = re.sub(r"\{[^}]*\}", "", unit or "")
    unit = _UNITS.get(unit, re.sub(r"[^a-zA-Z0-9_:]", "_", unit).strip("_"))
    if unit and not base.endswith("_" + unit):
        base = f"{base}_{unit}"
    return base


def prometheus_series(name: str, unit: str, kind: str) -> set[str]:
    """The series names one OTel instrument becomes: ``kind`` is histogram, counter (monotonic sum) or gauge."""
    base = prometheus_base_name(name, unit)
    if kind == "histogram":
        return {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    if kind == "counter":
        return {base if base.endswith("_total") else f"{base}_total"}
    return {base}


def series_from_metrics_data(data: Any) -> tuple[set[str], set[str]]:
    """(series names, label names) of everything in an OTel SDK ``MetricsData``."""
    from opentelemetry.sdk.metrics.export import Histogram, Sum

    names: set[str] = set()
    labels: set[str] = set()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if isinstance(metric.data, Histogram):
                    kind = "histogram"
                elif isinstance(metric.data, Sum) and metric.data.is_monotonic:
                    kind = "counter"
                else:
                    kind = "gauge"
                names |= prometheus_series(metric.name, metric.unit or "", kind)
                for point in metric.data.data_points:
                    labels |= {prometheus_label(k) for k in (point.attributes or {})}
    return names, labels


# --- reading PromQL out of the dashboards ---------------------------------------------------------------------

PROMQL_FUNCTIONS = {
    "sum", "rate", "increase", "histogram_quantile", "sort_desc", "sort", "by", "without", "label_values",
    "avg", "max", "min", "count", "topk", "bottomk", "irate", "delta", "clamp_min", "on", "ignoring",
    "group_left", "group_right", "bool", "and", "or", "unless", "offset", "le", "vector", "scalar",
}


def dashboard_targets(dashboard: dict[str, Any]) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query of every panel, rows included."""
    def walk(panels: list[dict[str, Any]]) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
        for panel in panels:
            yield from walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                yield panel, target
    yield from walk(dashboard.get("panels", []))


def is_prometheus(panel: dict[str, Any], target: dict[str, Any]) -> bool:
    ds = target.get("datasource") or panel.get("datasource") or {}
    return ds.get("type") == "prometheus"


def metric_names_in(expr: str) -> set[str]:
    """Metric names an expression selects: identifiers followed by ``{`` or ``[``, or bare ones that are not
    functions, keywords or label names inside ``by (...)``/``{...}``."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)              # string literals
    stripped = re.sub(r"\{[^}]*\}", "{}", stripped)                   # label matchers
    stripped = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", stripped)  # grouping labels
    stripped = re.sub(r"\[[^\]]*\]", "[]", stripped)                  # range selectors
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", stripped):
        word, call = m.group(1), m.group(2)
        if call or word in PROMQL_FUNCTIONS:
            continue
        names.add(word)
    return names


def label_names_in(expr: str) -> set[str]:
    labels = set()
    for block in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", block))
    for block in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels |= {x.strip() for x in block.split(",") if x.strip()}
    labels |= set(re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", expr))
    return labels


def substitute_grafana_variables(expr: str, range_: str = "5m", rate_interval: str = "30s") -> str:
    return (expr.replace("$__rate_interval", rate_interval).replace("$__range", range_)
            .replace("$service", ".*").replace("$provider", ".*").replace("$model", ".*"))
