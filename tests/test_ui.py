"""The collector's web UI in a real browser: Debian's headless Chromium (``/usr/bin/chromium``) driven by
Playwright (never ``playwright install``), against a collector fed by the real SDK in a subprocess (the demo's
support bot on the real openai SDK and the fake LLM server: tool calls, a stream, a 429, a score).

Without Chromium or Playwright these tests fail with the reason: they are part of ``make test``. Set
``LLMOBS_UI_SCREENSHOTS=docs/ui`` to refresh the screenshots in docs/ (otherwise they go to a temporary
directory, so a test run leaves the tree clean).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from llmobs.collector import Collector, queries
from tests.support.subproc import run_py

CHROMIUM = os.environ.get("LLMOBS_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 10_000

FEED = """
import json
import openai
import llmobs
from llmobs.demo import build_app
from llmobs.fake_llm import FakeLLMServer
from llmobs.instrumentation.openai import PROVIDER_HOSTS

with FakeLLMServer(latency=0.02, chunk_delay=0.005) as fake:
    PROVIDER_HOSTS[f"127.0.0.1:{fake.port}"] = "openai"
    PROVIDER_HOSTS[f"localhost:{fake.port}"] = "x_ai"
    oa = openai.OpenAI(base_url=f"http://127.0.0.1:{fake.port}/v1", api_key="k", max_retries=0)
    xa = openai.OpenAI(base_url=f"http://localhost:{fake.port}/v1", api_key="k", max_retries=0)
    llmobs.instrument(service_name="ui-test", endpoint=ENDPOINT, capture_content=True, metrics_exporter="none")
    handle = build_app(oa, xa, None)
    with llmobs.context(user_id="alice", session_id="s-alice-1"):
        handle("Where is my order A-1042?")
    with llmobs.context(user_id="bob", session_id="s-bob-1"):
        handle("Has order B-7 shipped yet?")
    with llmobs.context(user_id="carol", session_id="s-carol-1"):
        oa.chat.completions.create(model="gpt-4o",
                                   messages=[{"role": "user", "content": "Translate zebra crossing to French"}])
    llmobs.shutdown(timeout=10)
print(json.dumps({"ok": True}))
"""


# --- the formats of ui/util.js ------------------------------------------------------------------------------
NONE = "\u2013"  # what the UI shows for no value (an en dash)


def fmt_int(v: Any) -> str:
    return NONE if v is None else f"{v:,}"


def fmt_cost(v: Any) -> str:
    return "unpriced" if v is None else f"${v:.6f}"


def fmt_sec(v: Any) -> str:
    return NONE if v is None else f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"


def fmt_pct(v: Any) -> str:
    return NONE if v is None else f"{v * 100:.1f}%"


def fmt_rate(v: Any) -> str:
    return NONE if v is None else f"{v:.1f}/s"


# --- fixtures -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    with Collector(str(tmp_path_factory.mktemp("ui-data")), http_port=0, grpc_port=None) as c:
        run_py(FEED.replace("ENDPOINT", repr(c.http_endpoint)), timeout=90)
        deadline = time.monotonic() + 10
        while c.store.count() < 33 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.store.count() == 33  # 16 spans per support-bot trace, one for carol's call
        yield c


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"the UI tests need Playwright from PyPI (pip install -e '.[test]'): {exc}")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"the UI tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium); "
                    "set LLMOBS_CHROMIUM to use another Chromium binary")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, collector):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield pg
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    target = os.environ.get("LLMOBS_UI_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("ui-shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def conn(collector: Collector) -> Any:
    collector.store.sync()
    return collector.store.reader()


def shown_ids(page) -> list[str]:
    return page.eval_on_selector_all("[data-trace-id]", "rows => rows.map(r => r.dataset.traceId)")


def wait_ids(page, expected: list[str]) -> None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while shown_ids(page) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shown_ids(page) == expected


def trace_of(collector: Collector, user: str) -> str:
    (row,) = queries.list_traces(conn(collector), queries.Filters(user=user))
    return row["trace_id"]


def flat(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for s in spans:
        out.append(s)
        out += flat(s["children"])
    return out


# --- tests --------------------------------------------------------------------------------------------------
def test_trace_list_shows_the_traces_sent(page, collector, shots):
    page.goto(collector.http_endpoint + "/")
    expected = [t["trace_id"] for t in queries.list_traces(conn(collector), queries.Filters())]
    assert len(expected) == 3
    page.wait_for_selector("[data-trace-id]")
    wait_ids(page, expected)
    alice = page.locator(f"[data-trace-id='{trace_of(collector, 'alice')}']")
    assert "alice" in alice.inner_text() and "error" in alice.inner_text()  # the 429 call
    page.screenshot(path=str(shots / "traces.png"))


@pytest.mark.parametrize("field,value,who", [("model", "gpt-4o", "carol"), ("user", "alice", "alice"),
                                             ("q", "zebra", "carol"), ("session", "s-bob-1", "bob")])
def test_a_filter_narrows_the_list(page, collector, field, value, who):
    page.goto(collector.http_endpoint + "/#/traces")
    page.wait_for_selector("[data-trace-id]")
    assert len(shown_ids(page)) == 3
    page.fill(f"[data-testid=filter-{field}]", value)
    page.click("button[type=submit]")
    wait_ids(page, [trace_of(collector, who)])
    assert f"{field}={value}" in page.url  # the filter is in the address: a link reproduces the view


def test_status_filter_and_paging_params(page, collector):
    page.goto(collector.http_endpoint + "/#/traces?status=error")
    wait_ids(page, [t["trace_id"] for t in queries.list_traces(conn(collector), queries.Filters(status="error"))])
    assert len(shown_ids(page)) == 2
    page.goto(collector.http_endpoint + "/#/traces?offset=1")
    wait_ids(page, [t["trace_id"] for t in queries.list_traces(conn(collector), queries.Filters(), offset=1)])


def test_trace_view_shows_the_right_numbers(page, collector, shots):
    trace_id = trace_of(collector, "alice")
    spans = flat(queries.get_trace(conn(collector), trace_id) or [])
    page.goto(collector.http_endpoint + "/#/traces?user=alice")
    page.click(f"[data-trace-id='{trace_id}']")
    page.wait_for_selector("[data-testid=span-row]")

    def stat(key: str) -> str:
        return page.inner_text(f"[data-testid=trace-summary] [data-stat={key}]")

    def total(key: str) -> Any:
        values = [s[key] for s in spans if s[key] is not None]
        return sum(values) if values else None

    assert stat("input_tokens") == fmt_int(total("input_tokens")) == "473"
    assert stat("output_tokens") == fmt_int(total("output_tokens"))
    assert stat("cost_usd") == fmt_cost(total("cost_usd"))
    assert stat("spans") == "16"
    assert stat("errors") == "1"
    # the score is shown on the trace and on the span it targets
    assert page.inner_text("[data-testid=trace-scores]").strip().endswith("helpfulness: 0.9")
    score = next(s for s in spans if s["attributes"].get("llmobs.span.kind") == "score")
    target = score["attributes"]["llmobs.score.target.span_id"]
    assert "helpfulness: 0.9" in page.inner_text(f"[data-span-id='{target}']")
    # the waterfall: one row per span but the score, errors in red, bars placed by start time
    assert page.locator("[data-testid=span-row]").count() == 15
    failed = next(s for s in spans if s["status_code"] == 2)
    assert page.locator(f"[data-span-id='{failed['span_id']}'] .bar.k-error").count() == 1

    def detail(key: str) -> str:
        return page.inner_text(f"[data-testid=span-detail] [data-field={key}]")

    stream = next(s for s in spans if s["model"] == "gpt-4.1")
    page.click(f"[data-span-id='{stream['span_id']}']")
    assert detail("input_tokens") == fmt_int(stream["input_tokens"])
    assert detail("output_tokens") == fmt_int(stream["output_tokens"])
    assert detail("cost_usd") == fmt_cost(stream["cost_usd"])
    assert stream["ttfc_s"] and detail("ttfc_s") == fmt_sec(stream["ttfc_s"])
    assert detail("finish_reasons") == ", ".join(stream["attributes"]["gen_ai.response.finish_reasons"])
    assert "Where is my order A-1042?" in page.inner_text("[data-testid=input-messages]")
    page.screenshot(path=str(shots / "trace.png"))
    # the agent's first call asked for the tool: its tool call is shown
    agent_call = next(s for s in spans if "tool_call" in (s["attributes"].get("gen_ai.output.messages") or ""))
    page.click(f"[data-span-id='{agent_call['span_id']}']")
    assert "get_order_status(" in page.inner_text("[data-testid=tool-calls]")


def test_dashboard_figures_equal_the_report(page, collector, shots):
    rows = queries.report(conn(collector), queries.Filters())
    page.goto(collector.http_endpoint + "/#/dashboard?since=")
    page.wait_for_selector("[data-testid=report] tbody tr")
    assert page.locator("[data-testid=report] tbody tr").count() == len(rows) == 6
    formats = {"calls": fmt_int, "errors": fmt_int, "error_rate": fmt_pct, "latency_p50_s": fmt_sec,
               "latency_p95_s": fmt_sec, "ttfc_p50_s": fmt_sec, "input_tokens": fmt_int,
               "output_tokens": fmt_int, "output_tokens_per_s": fmt_rate, "cost_usd": fmt_cost}
    for row in rows:
        tr = page.locator(f"[data-testid=report] tbody tr[data-model='{row['model']}']")
        for key, fmt in formats.items():
            cell = tr.locator(f"td[data-col={key}]")
            assert json.loads(cell.get_attribute("data-value") or "") == row[key], (row["model"], key)
            assert cell.inner_text().strip() == fmt(row[key]), (row["model"], key)
    total = sum(r["cost_usd"] or 0 for r in rows)
    assert page.inner_text("[data-stat=cost_usd]") == fmt_cost(total)
    assert page.locator("[data-testid=cost-chart] rect").count() >= 4  # one bar per priced model
    # p95 latency over time: one line per model, through the collector's series (the page asks 1-day buckets)
    series = queries.timeseries(conn(collector), queries.Filters(), 86400)
    for model in {r["model"] for r in series}:
        line = page.locator(f"[data-testid=latency-chart] polyline[data-model='{model}']")
        assert json.loads(line.get_attribute("data-values") or "") == [
            r["latency_p95_s"] for r in series if r["model"] == model]
    page.screenshot(path=str(shots / "dashboard.png"))
    # the range picker asks the collector again: nothing is older than a day, nothing is in the future
    page.select_option("[data-testid=range]", "15m")
    page.wait_for_url("**since=15m")
    page.wait_for_selector("[data-testid=report] tbody tr")
    assert page.locator("[data-testid=report] tbody tr").count() == 6


def test_users_and_sessions_page(page, collector, shots):
    page.goto(collector.http_endpoint + "/#/usage?since=")
    page.wait_for_selector("[data-testid=usage-session] tbody tr")
    for by in ("user", "session"):
        rows = queries.usage(conn(collector), queries.Filters(), by)
        assert [r[by] for r in rows] == page.eval_on_selector_all(
            f"[data-testid=usage-{by}] tbody tr", "rows => rows.map(r => r.dataset.key)")
        for r in rows:
            tr = page.locator(f"[data-testid=usage-{by}] tbody tr[data-key='{r[by]}']")
            assert tr.locator("td[data-col=calls]").inner_text() == fmt_int(r["calls"])
            assert tr.locator("td[data-col=cost_usd]").inner_text() == fmt_cost(r["cost_usd"])
    alice = queries.usage(conn(collector), queries.Filters(user="alice"), "user")[0]
    assert (alice["calls"], alice["errors"], alice["traces"]) == (7, 1, 1)
    page.screenshot(path=str(shots / "usage.png"))
    page.click("[data-testid=usage-user] tbody tr[data-key='bob']")
    wait_ids(page, [trace_of(collector, "bob")])


def test_a_session_row_opens_its_traces(page, collector):
    page.goto(collector.http_endpoint + "/#/usage?since=")
    page.wait_for_selector("[data-testid=usage-session] tbody tr[data-key='s-bob-1']")
    page.click("[data-testid=usage-session] tbody tr[data-key='s-bob-1']")
    page.wait_for_url("**session=s-bob-1**")
    wait_ids(page, [trace_of(collector, "bob")])
    assert page.input_value("[data-testid=filter-session]") == "s-bob-1"


def test_filters_suggest_the_values_seen(page, collector):
    found = queries.facets(conn(collector), queries.Filters())
    assert {"gpt-4o", "gpt-4.1"} <= set(found["models"]) and "alice" in found["users"]
    page.goto(collector.http_endpoint + "/#/traces")
    for name, key in (("model", "models"), ("provider", "providers"), ("service", "services"),
                      ("user", "users"), ("session", "sessions")):
        page.wait_for_function(f"document.querySelectorAll('#facet-{name} option').length === {len(found[key])}")
        assert page.eval_on_selector_all(f"#facet-{name} option", "os => os.map(o => o.value)") == found[key]
    # a suggestion is a value the filter takes
    page.fill("[data-testid=filter-user]", found["users"][0])
    page.click("button[type=submit]")
    wait_ids(page, [t["trace_id"] for t in queries.list_traces(conn(collector), queries.Filters(user=found["users"][0]))])


def test_live_list_shows_new_traces_without_reload(page, collector):
    page.goto(collector.http_endpoint + "/")
    page.wait_for_selector("[data-trace-id]")
    before = shown_ids(page)
    now = time.time_ns()
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "chat live-model", "kind": 3,
            "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 10**8),
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                           {"key": "gen_ai.request.model", "value": {"stringValue": "live-model"}}]}
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "live"}}]}, "scopeSpans": [{"spans": [span]}]}]}
    request = urllib.request.Request(collector.http_endpoint + "/v1/traces", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    assert urllib.request.urlopen(request, timeout=10).status == 200
    wait_ids(page, ["ab" * 16, *before])  # within the 3 s refresh


# --- serving and auth, without a browser ----------------------------------------------------------------------
def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_static_files_and_no_external_resources(collector):
    status, headers, _ = _get(collector.http_endpoint + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    ui = Path(queries.__file__).parent / "ui"
    for f in ui.iterdir():
        text = f.read_text().replace('"http://www.w3.org/2000/svg"', "")  # the SVG namespace, not a URL
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, f
        status, headers, _ = _get(f"{collector.http_endpoint}/ui/{f.name}")
        assert status == 200, f
    assert _get(collector.http_endpoint + "/ui/../server.py")[0] == 404
    assert _get(collector.http_endpoint + "/ui/%2e%2e/server.py")[0] == 404
    assert _get(collector.http_endpoint + "/ui/nope.js")[0] == 404


def test_ui_and_api_need_the_token_when_one_is_set(tmp_path):
    with Collector(str(tmp_path), http_port=0, grpc_port=None, token="s3cret") as c:
        assert _get(c.http_endpoint + "/")[0] == 401
        assert _get(c.http_endpoint + "/?token=wrong")[0] == 401
        status, headers, _ = _get(c.http_endpoint + "/?token=s3cret")
        assert status == 303 and headers["Location"] == "/"
        cookie = headers["Set-Cookie"].split(";")[0]
        assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
        assert _get(c.http_endpoint + "/", {"Cookie": cookie})[0] == 200
        assert _get(c.http_endpoint + "/api/usage", {"Cookie": cookie})[0] == 200
        assert _get(c.http_endpoint + "/api/usage", {"Authorization": "Bearer s3cret"})[0] == 200
        assert _get(c.http_endpoint + "/api/usage", {"Cookie": "llmobs_token=wrong"})[0] == 401
        # the cookie is for reading: ingest still takes only the bearer header
        request = urllib.request.Request(c.http_endpoint + "/v1/traces", b"{}",
                                         {"Content-Type": "application/json", "Cookie": cookie})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        assert info.value.code == 401


def test_api_validates_new_parameters(collector):
    assert _get(collector.http_endpoint + "/api/usage?by=model")[0] == 400
    assert _get(collector.http_endpoint + "/api/timeseries?bucket=0s")[0] == 400
    status, _, body = _get(collector.http_endpoint + "/api/timeseries?bucket=1h")
    rows = json.loads(body)["rows"]
    assert status == 200
    report = queries.report(conn(collector), queries.Filters())
    assert sum(r["calls"] for r in rows) == sum(r["calls"] for r in report)
    assert abs(sum(r["cost_usd"] or 0 for r in rows) - sum(r["cost_usd"] or 0 for r in report)) < 1e-12
