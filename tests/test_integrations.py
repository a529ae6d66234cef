"""integrations/: every config parses, the Collector configs are wired consistently, the Grafana dashboards
query only metrics and labels llmobs really emits (derived from a real run: the openai SDK against the fake
LLM server on loopback, metrics read from an in-memory reader and translated with the OTel-to-Prometheus
rules), and the READMEs name only real environment variables.

The same dashboards are run against a real Prometheus, and spans are sent to a real Arize Phoenix, by the
nox sessions ``integration_prometheus`` and ``integration_phoenix`` (tests/integrations_support/).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import llmobs
from llmobs import semconv as sc
from llmobs.fake_llm import FakeLLMServer
from tests.integrations_support import workload as w

ROOT = Path(__file__).resolve().parent.parent
INTEGRATIONS = ROOT / "integrations"
COLLECTOR_CONFIGS = sorted((INTEGRATIONS / "otel-collector").glob("*.yaml"))
DASHBOARDS = sorted((INTEGRATIONS / "grafana" / "dashboards").glob("*.json"))
READMES = sorted(INTEGRATIONS.rglob("README.md"))
BACKENDS = ["otel-collector", "grafana", "jaeger", "phoenix", "langfuse", "datadog", "honeycomb"]

# Component types of the OpenTelemetry Collector (core + contrib) that the configs may use. A typo or a
# component from another distribution fails here rather than at the user's `otelcol-contrib --config`.
KNOWN_COMPONENTS = {
    "receivers": {"otlp"},
    "processors": {"memory_limiter", "batch", "tail_sampling", "attributes", "resource", "filter", "transform"},
    "exporters": {"otlp_grpc", "otlp_http", "otlp", "otlphttp", "loadbalancing", "load_balancing", "prometheus",
                  "prometheusremotewrite", "debug", "datadog"},
    "extensions": {"health_check", "pprof", "zpages", "bearertokenauth", "basicauth"},
    "connectors": {"spanmetrics", "datadog/connector"},
}


def _yaml_files() -> list[Path]:
    return sorted(p for ext in ("*.yaml", "*.yml") for p in INTEGRATIONS.rglob(ext))


def _component_type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


# --- layout and parsing -----------------------------------------------------------------------------------------

def test_every_backend_has_a_folder_with_a_readme_and_the_index_links_it():
    index = (INTEGRATIONS / "README.md").read_text()
    for name in BACKENDS:
        assert (INTEGRATIONS / name / "README.md").is_file(), name
        assert f"]({name}/)" in index, f"integrations/README.md does not link {name}/"


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(INTEGRATIONS)))
def test_yaml_parses(path):
    docs = list(yaml.safe_load_all(path.read_text()))
    assert docs and all(isinstance(d, dict) for d in docs), path


@pytest.mark.parametrize("path", sorted(INTEGRATIONS.rglob("*.json")), ids=lambda p: p.name)
def test_json_parses(path):
    assert isinstance(json.loads(path.read_text()), dict)


# --- OpenTelemetry Collector configs ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_collector_pipelines_reference_only_defined_components(path):
    config = yaml.safe_load(path.read_text())
    service = config["service"]
    used: set[tuple[str, str]] = {("extensions", e) for e in service.get("extensions", [])}
    assert service["pipelines"], path
    for name, pipeline in service["pipelines"].items():
        assert name.split("/")[0] in ("traces", "metrics", "logs"), name
        assert pipeline.get("receivers") and pipeline.get("exporters"), name
        for section in ("receivers", "processors", "exporters"):
            for component in pipeline.get(section, []):
                used.add((section, component))
                assert component in (config.get(section) or {}), f"{path.name}: {name} uses undefined {component}"
        if pipeline.get("processors"):
            assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter must come first"
            assert pipeline["processors"][-1] == "batch", f"{name}: batch must come last"
    for section in ("receivers", "processors", "exporters", "extensions", "connectors"):
        for component in config.get(section) or {}:
            assert _component_type(component) in KNOWN_COMPONENTS[section], f"{path.name}: {component}"
            assert (section, component) in used, f"{path.name}: {component} is defined but unused"


def _policies(path: Path) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(path.read_text())
    return {p["name"]: p for p in config["processors"]["tail_sampling"]["policies"]}


def test_collector_tail_sampling_mirrors_llmobs_tail_sampler():
    from llmobs import _tail_sampling as ts

    policies = _policies(INTEGRATIONS / "otel-collector" / "collector.yaml")
    for policy in policies.values():
        assert policy["type"] in policy, policy  # the policy's settings sit under its type's key
    assert policies["errors"]["status_code"]["status_codes"] == ["ERROR"]
    assert policies["slow"]["latency"]["threshold_ms"] == ts.DEFAULT_LATENCY_S * 1000
    assert policies["the-rest"]["probabilistic"]["sampling_percentage"] == ts.DEFAULT_RATIO * 100
    [condition] = policies["costly"]["ottl_condition"]["span"]
    # the cost attribute is a double: numeric_attribute (integers only) would never match it
    assert f'attributes["{sc.LLMOBS_COST_TOTAL}"] >= {ts.DEFAULT_COST_USD}' in condition
    [condition] = policies["failed-llm-calls"]["ottl_condition"]["span"]
    assert f'attributes["{sc.ERROR_TYPE}"] != nil' in condition
    tail = yaml.safe_load((INTEGRATIONS / "otel-collector" / "collector.yaml").read_text())
    assert "tail_sampling" in tail["service"]["pipelines"]["traces"]["processors"]
    assert "tail_sampling" not in tail["service"]["pipelines"]["metrics"]["processors"]


def test_load_balancing_tier_routes_traces_by_trace_id():
    config = yaml.safe_load((INTEGRATIONS / "otel-collector" / "loadbalancing.yaml").read_text())
    lb = config["exporters"]["loadbalancing"]
    assert lb["routing_key"] == "traceID"
    assert "endpoint" not in lb["protocol"]["otlp"]  # the resolver supplies the endpoints
    assert set(lb["resolver"]) <= {"static", "dns", "k8s"} and lb["resolver"]
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["loadbalancing"]
    assert "tail_sampling" not in config.get("processors", {})  # the second tier (collector.yaml) samples


# --- Grafana: the dashboards read what llmobs emits --------------------------------------------------------------

@pytest.fixture(scope="module")
def emitted() -> tuple[set[str], set[str]]:
    """Prometheus series and label names of one real llmobs run (default metrics layout)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider

    reader = InMemoryMetricReader()
    llmobs.uninstrument()
    llmobs.instrument(integrations=["openai"], meter_provider=MeterProvider(metric_readers=[reader]),
                      tracer_provider=TracerProvider())
    try:
        with FakeLLMServer(port=0, latency=0.0, chunk_delay=0.0) as server:
            try:
                w.make_calls(w.openai_client(server.url))
            finally:
                w.forget_provider(server.url)
        llmobs.flush()
        names, labels = w.series_from_metrics_data(reader.get_metrics_data())
    finally:
        llmobs.uninstrument()
    return names, labels


def test_translation_rules_give_the_documented_names(emitted):
    names, labels = emitted
    assert {"gen_ai_client_operation_duration_seconds_bucket", "gen_ai_client_token_usage_sum",
            "gen_ai_client_operation_time_to_first_chunk_seconds_bucket", "llmobs_client_cost_USD_sum"} <= names
    assert {"gen_ai_request_model", "gen_ai_provider_name", "gen_ai_token_type", "error_type"} <= labels
    assert "user_id" not in labels  # metrics carry no user id: the dashboard's user panels query Tempo


def _prometheus_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel, target in w.dashboard_targets(dashboard)
            if w.is_prometheus(panel, target)]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_promql_uses_only_emitted_metrics_and_labels(path, emitted):
    names, labels = emitted
    dashboard = json.loads(path.read_text())
    queries = _prometheus_queries(dashboard)
    assert queries
    allowed_labels = labels | {"le", "job", "instance"}
    for title, expr in queries:
        used = w.metric_names_in(expr)
        assert used, f"{title}: no metric found in {expr}"
        assert used <= names, f"{title}: {sorted(used - names)} are not emitted by llmobs"
        assert w.label_names_in(expr) <= allowed_labels, f"{title}: {sorted(w.label_names_in(expr) - allowed_labels)}"
    for panel, target in w.dashboard_targets(dashboard):
        if w.is_prometheus(panel, target):
            assert w.label_names_in(target.get("legendFormat", "")) <= allowed_labels, panel["title"]
    for variable in dashboard["templating"]["list"]:
        m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]\w*)\)", variable["query"]["query"])
        assert m, variable["name"]
        assert w.metric_names_in(m.group(1)) <= names and m.group(2) in allowed_labels, variable["name"]


def test_dashboard_has_the_promised_panels():
    dashboard = json.loads((INTEGRATIONS / "grafana" / "dashboards" / "llmobs-genai.json").read_text())
    titles = {panel["title"]: panel for panel, _ in w.dashboard_targets(dashboard)}
    exprs = {title: " ".join(t.get("expr", t.get("query", "")) for p, t in w.dashboard_targets(dashboard)
                             if p["title"] == title) for title in titles}
    assert "llmobs_client_cost_USD_sum" in exprs["Cost by model (USD per hour)"]
    assert "histogram_quantile(0.95" in exprs["p95 latency by model"]
    assert "histogram_quantile(0.5" in exprs["Time to first token (p50 / p95)"]
    assert 'error_type!=""' in exprs["Error rate by model"]
    assert "gen_ai_client_token_usage_sum" in exprs["Tokens per second by model"]
    assert "gen_ai_client_operation_duration_seconds_count" in exprs["Calls per second by model"]
    top_users = titles["Top users by cost"]
    assert top_users["datasource"]["type"] == "tempo"
    assert f"span.{sc.USER_ID}" in exprs["Top users by cost"]
    assert f"span.{sc.LLMOBS_COST_TOTAL}" in exprs["Top users by cost"]
    # every panel's datasource is one the provisioning defines
    provisioned = yaml.safe_load((INTEGRATIONS / "grafana" / "provisioning" / "datasources" /
                                  "datasources.yaml").read_text())
    uids = {d["uid"] for d in provisioned["datasources"]}
    for panel, target in w.dashboard_targets(dashboard):
        assert target["datasource"]["uid"] in uids, panel["title"]


def test_docker_compose_mounts_files_that_exist():
    compose = yaml.safe_load((INTEGRATIONS / "grafana" / "docker-compose.yaml").read_text())
    for name, service in compose["services"].items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), f"{name}: pin the image"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (INTEGRATIONS / "grafana" / source).exists(), f"{name}: {source}"


# --- READMEs ------------------------------------------------------------------------------------------------------

# Variables the OpenTelemetry SDK specification defines and the Python SDK / exporters read.
OTEL_VARIABLES = {
    "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER",
    "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
} | {f"OTEL_EXPORTER_OTLP{signal}_{what}" for signal in ("", "_TRACES", "_METRICS", "_LOGS")
     for what in ("ENDPOINT", "PROTOCOL", "HEADERS", "TIMEOUT", "COMPRESSION", "INSECURE", "CERTIFICATE")}


def _llmobs_variables() -> set[str]:
    text = "\n".join(p.read_text() for p in (ROOT / "src" / "llmobs").rglob("*.py"))
    return set(re.findall(r'"(LLMOBS_[A-Z_]+)"', text))


@pytest.mark.parametrize("path", READMES, ids=lambda p: str(p.relative_to(INTEGRATIONS)))
def test_readme_env_vars_are_real(path):
    text = path.read_text()
    otel = set(re.findall(r"\bOTEL_[A-Z0-9_]+\b", text))
    assert otel <= OTEL_VARIABLES, f"{path}: unknown {sorted(otel - OTEL_VARIABLES)}"
    ours = set(re.findall(r"\bLLMOBS_[A-Z0-9_]+\b", text))
    known = _llmobs_variables() | {"LLMOBS_COLLECTOR_ENDPOINT"}  # the collector configs' own variable
    assert ours <= known, f"{path}: unknown {sorted(ours - known)}"


def test_readmes_use_the_real_instrument_parameters():
    import inspect

    params = set(inspect.signature(llmobs.instrument).parameters)
    for path in READMES:
        for call in re.findall(r"llmobs\.instrument\(([^)]*)\)", path.read_text()):
            for keyword in re.findall(r"(\w+)\s*=", call):
                assert keyword in params, f"{path}: instrument() has no {keyword}="
