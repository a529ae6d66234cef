"""The Grafana dashboard's PromQL against a real Prometheus (Debian's package), scraping a real llmobs app.

Run by ``nox -s integration_prometheus`` (not part of the default ``pytest`` run: the file name does not
match ``test_*.py``). Needs ``prometheus`` on PATH and ``opentelemetry-exporter-prometheus`` installed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.integrations_support import procs
from tests.integrations_support import workload as w

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "integrations" / "grafana" / "dashboards" / "llmobs-genai.json"
JOB = "llmobs-prometheus-test"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Any:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (apt-get install -y prometheus)"
    tmp = tmp_path_factory.mktemp("prometheus")
    app_port, prom_port = procs.free_port(), procs.free_port()
    app_log = tmp / "app.log"
    with open(app_log, "w") as log:
        app = subprocess.Popen([sys.executable, "-m", "tests.integrations_support.prom_app", "--port", str(app_port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                   filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    try:
        assert app.stdout is not None
        line = app.stdout.readline()
        assert line.strip() == "ready", f"app did not start: {line!r}\n{app_log.read_text()}"
        config = tmp / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{app_port}']\n")
        prom_log = tmp / "prometheus.log"
        with open(prom_log, "w") as log:
            prom = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{prom_port}"
        try:
            procs.wait_until(lambda: procs.get_json(f"{url}/api/v1/status/buildinfo")["status"] == "success",
                             60, "prometheus ready", prom, str(prom_log))
            # enough scrapes for rate() over 30 s windows to see the counters move
            procs.wait_until(
                lambda: len(procs.promql(url, f'count_over_time(up{{job="{JOB}"}}[1m])')) == 1 and
                float(procs.promql(url, f'count_over_time(up{{job="{JOB}"}}[1m])')[0]["value"][1]) >= 5,
                60, "five scrapes of the app", prom, str(prom_log))
            yield url
        finally:
            procs.stop(prom)
    finally:
        procs.stop(app)


def _queries() -> list[tuple[str, str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["refId"], target["expr"]) for panel, target in w.dashboard_targets(dashboard)
            if w.is_prometheus(panel, target)]


def _values(url: str, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
    result = procs.promql(url, w.substitute_grafana_variables(expr, range_="5m", rate_interval="30s"))
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in result}


def _by(values: dict[tuple[tuple[str, str], ...], float], label: str) -> dict[str, float]:
    return {dict(k)[label]: v for k, v in values.items()}


def test_app_is_scraped_and_names_match_the_translation(prometheus):
    """What Prometheus stored is what tests/test_integrations.py derives from the in-memory run."""
    names = set(procs.get_json(f"{prometheus}/api/v1/label/__name__/values")["data"])
    assert {"gen_ai_client_operation_duration_seconds_bucket", "gen_ai_client_token_usage_sum",
            "gen_ai_client_operation_time_to_first_chunk_seconds_bucket", "llmobs_client_cost_USD_sum"} <= names


@pytest.mark.parametrize("title, ref, expr", _queries(), ids=lambda x: x if isinstance(x, str) and len(x) < 60 else "")
def test_every_dashboard_query_returns_data(prometheus, title, ref, expr):
    values = procs.wait_until(lambda: {k: v for k, v in _values(prometheus, expr).items() if math.isfinite(v)},
                              30, f"{title} ({ref}) returns finite values")
    assert values, title


def test_template_variables_list_the_app_and_its_models(prometheus):
    dashboard = json.loads(DASHBOARD.read_text())
    found = {}
    for variable in dashboard["templating"]["list"]:
        selector, label = variable["query"]["query"][len("label_values("):-1].rsplit(",", 1)
        expr = w.substitute_grafana_variables(selector.strip())
        series = procs.get_json(f"{prometheus}/api/v1/series?match[]=" + urllib.parse.quote(expr))
        found[variable["name"]] = {s[label.strip()] for s in series["data"] if label.strip() in s}
    assert JOB in found["service"]
    assert found["provider"] == {"openai"}
    assert {w.CHAT_MODEL, w.STREAM_MODEL, w.ERROR_MODEL, w.EMBEDDING_MODEL} <= found["model"]


def _panel_expr(title: str, ref: str = "A") -> str:
    return next(e for t, r, e in _queries() if t == title and r == ref)


def test_cost_by_model(prometheus):
    per_hour = _by(_values(prometheus, _panel_expr("Cost by model (USD per hour)")), "gen_ai_request_model")
    total = _by(_values(prometheus, _panel_expr("Cost by model (time range)")), "gen_ai_request_model")
    for model in (w.CHAT_MODEL, w.STREAM_MODEL, w.EMBEDDING_MODEL):
        assert per_hour.get(model, 0) > 0 and total.get(model, 0) > 0, (model, per_hour, total)
    assert w.ERROR_MODEL not in total  # a failed call has no usage, so no cost
    # gpt-4o costs more per token than gpt-4o-mini, and its prompt and reply are longer here
    assert total[w.STREAM_MODEL] > total[w.CHAT_MODEL]


def test_latency_ttft_errors_and_tokens(prometheus):
    p95 = _by(_values(prometheus, _panel_expr("p95 latency by model")), "gen_ai_request_model")
    assert all(0 < p95[m] < 5 for m in (w.CHAT_MODEL, w.STREAM_MODEL)), p95
    ttft = _values(prometheus, _panel_expr("Time to first token (p50 / p95)", "B"))
    assert set(_by(ttft, "gen_ai_request_model")) == {w.STREAM_MODEL}  # streams only
    errors = _by(_values(prometheus, _panel_expr("Error rate by model")), "gen_ai_request_model")
    assert errors[w.ERROR_MODEL] == 1.0 and errors[w.CHAT_MODEL] == 0.0, errors
    by_type = _by(_values(prometheus, _panel_expr("Errors by type")), "error_type")
    assert set(by_type) == {"openai.InternalServerError"}
    tokens = _values(prometheus, _panel_expr("Tokens per second by model"))
    kinds = {(dict(k)["gen_ai_request_model"], dict(k)["gen_ai_token_type"]) for k, v in tokens.items() if v > 0}
    assert {(w.CHAT_MODEL, "input"), (w.CHAT_MODEL, "output"), (w.STREAM_MODEL, "output"),
            (w.EMBEDDING_MODEL, "input")} <= kinds
    calls = _by(_values(prometheus, _panel_expr("Calls per second by model")), "gen_ai_request_model")
    assert all(calls[m] > 0 for m in (w.CHAT_MODEL, w.STREAM_MODEL, w.ERROR_MODEL, w.EMBEDDING_MODEL)), calls
    stat = _values(prometheus, _panel_expr("Error rate"))
    assert 0.2 <= next(iter(stat.values())) <= 0.3  # one failing call in four
