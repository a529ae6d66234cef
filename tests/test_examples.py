"""Every script in examples/ runs offline (the real provider SDKs against the fake LLM server, telemetry
exported over OTLP to the bundled collector) and prints what the collector stored; these tests read that
printout and check the spans: names, nesting, provider, model, tokens against what the SDK reported, cost,
cache and reasoning tokens, context attributes, scores, sampling decisions and redaction. The example test
suite in examples/testing runs with pytest against its committed cassettes.

The scripts run in parallel subprocesses (started once for the module), with no provider key or base URL in
their environment, so nothing leaves loopback.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from llmobs.fake_llm import FakeLLMServer
from tests.support.subproc import ROOT

EXAMPLES = ROOT / "examples"
# Covered elsewhere: the script -> the test file that runs it.
COVERED_ELSEWHERE = {
    "demo.py": "tests/test_demo.py",  # `llmobs demo`, which is examples/demo.py's main (checked below)
    "langgraph_agent.py": "tests/test_example_langgraph.py",
    "llamaindex_rag.py": "tests/test_example_llamaindex.py",  # needs openai 2.x: Makefile OPENAI2_TESTS
}
RUN_HERE = [
    "openai_chat.py", "openai_stream.py", "openai_tools.py", "openai_responses.py", "anthropic_caching.py",
    "gemini.py", "openai_compatible.py", "decorators.py", "manual_llm_call.py", "context.py", "scores.py",
    "sampling_and_redaction.py",
]
SECRET_ENV = re.compile(r"(_API_KEY|_BASE_URL|_ENDPOINT|_TOKEN|_PROXY|^OLLAMA_HOST|^GOOGLE_CLOUD_PROJECT)$", re.I)


def offline_env() -> dict[str, str]:
    """This environment without llmobs/OTel settings, provider keys, base URLs or proxies: the examples must
    take their offline path and reach nothing but loopback."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "LLMOBS_")) and not SECRET_ENV.search(k)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def run(args: list[str], cwd: Path = ROOT, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=offline_env(), cwd=str(cwd))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """All example scripts, started at once (two at a time per core) and awaited by the tests that need them."""
    pool = ThreadPoolExecutor(max_workers=max(2, 2 * (os.cpu_count() or 1)))
    futures: dict[str, Future[subprocess.CompletedProcess[str]]] = {
        name: pool.submit(run, [sys.executable, str(EXAMPLES / name)]) for name in RUN_HERE}
    futures["testing"] = pool.submit(run, [sys.executable, "-m", "pytest", str(EXAMPLES / "testing"), "-q",
                                           "-p", "no:cacheprovider", "--record-mode=none"])
    # record_cassettes.py, on a copy of examples/testing (the committed cassettes stay as they are)
    copy = tmp_path_factory.mktemp("examples") / "testing"
    shutil.copytree(EXAMPLES / "testing", copy, ignore=shutil.ignore_patterns("cassettes", "__pycache__"))
    futures["record"] = pool.submit(run, [sys.executable, str(copy / "record_cassettes.py")], copy.parent)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


# --- reading what an example printed -----------------------------------------------------------------------

@dataclass
class Span:
    depth: int
    name: str
    facts: str  # what the tree shows in brackets: duration, provider/model, tokens, ttft, cost, ERROR
    attrs: dict[str, str] = field(default_factory=dict)  # the `details` lines: stored attributes

    @property
    def tokens(self) -> tuple[int, int] | None:
        m = re.search(r"(\d+)→(\d+) tok", self.facts)
        return (int(m.group(1)), int(m.group(2))) if m else None

    @property
    def cost(self) -> float | None:
        m = re.search(r"\$([0-9.e+-]+)", self.facts)
        return float(m.group(1)) if m else None

    @property
    def provider_model(self) -> str:
        return self.facts.split(", ")[1] if self.facts.count(", ") else ""


@dataclass
class Output:
    stdout: str
    traces: list[list[Span]]
    report: dict[tuple[str, ...], list[str]]  # report row key (first two columns) -> the row's cells

    def line(self, prefix: str) -> str:
        found = [ln for ln in self.stdout.splitlines() if ln.startswith(prefix)]
        assert found, f"no line starting with {prefix!r} in:\n{self.stdout}"
        return found[0]

    def spans(self, name: str | None = None) -> list[Span]:
        return [s for t in self.traces for s in t if name is None or s.name == name]


def parse(stdout: str) -> Output:
    head = re.search(r"^(The trace, as the collector stored it:|The collector stored \d+ trace\(s\) of .*)$",
                     stdout, re.M)
    assert head, stdout
    body, _, report = stdout[head.end():].partition("\nPer ")
    traces: list[list[Span]] = []
    for block in body.strip("\n").split("\n\n"):
        spans: list[Span] = []
        for ln in block.splitlines():
            if ln.startswith("  · "):  # a details line: "  · <span name>: key=value, key=value"
                name, _, rest = ln[4:].partition(": ")
                attrs = dict(re.findall(r"([a-z_][a-z0-9_.]*)=(.*?)(?=, [a-z_][a-z0-9_.]*=|$)", rest))
                target = next(s for s in spans if s.name == name and not s.attrs)
                target.attrs = attrs
                continue
            stripped = ln.lstrip(" │├└─")
            name, _, facts = stripped.partition("  [")
            spans.append(Span((len(ln) - len(stripped)) // 3, name, facts.rstrip("]")))
        traces.append(spans)
    rows = {}
    for ln in report.splitlines()[3:]:
        cells = ln.split()
        if len(cells) > 3 and not ln.startswith("-"):
            rows[tuple(cells[:2])] = cells
    return Output(stdout, traces, rows)


def result(runs, name: str) -> Output:
    proc = runs[name].result()
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return parse(proc.stdout)


# --- every example is run by a test ------------------------------------------------------------------------

def test_every_example_is_run_by_a_test():
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(RUN_HERE) | set(COVERED_ELSEWHERE), "an example without a test: add it to RUN_HERE"
    for script, test_file in COVERED_ELSEWHERE.items():
        text = (ROOT / test_file).read_text()
        assert script in text or (script == "demo.py" and '"demo"' in text), (script, test_file)
    # examples/demo.py is `llmobs demo` (what tests/test_demo.py runs): the same function
    import llmobs.demo

    assert runpy.run_path(str(EXAMPLES / "demo.py"))["main"] is llmobs.demo.main
    testing = {p.name for p in (EXAMPLES / "testing").glob("*.py")}
    assert testing == {"conftest.py", "support_bot.py", "test_support_bot.py", "record_cassettes.py"}


# --- the OpenAI examples -----------------------------------------------------------------------------------

def test_openai_chat(runs):
    out = result(runs, "openai_chat.py")
    assert [[s.name for s in t] for t in out.traces] == [["chat gpt-4o-mini"], ["chat gpt-4o-mini"]]
    sync, async_ = out.traces[0][0], out.traces[1][0]
    reported = re.search(r"the SDK reported (\d+) prompt \+ (\d+) completion tokens", out.stdout)
    assert reported and sync.tokens == (int(reported.group(1)), int(reported.group(2)))
    for span in (sync, async_):
        assert span.provider_model == "openai/gpt-4o-mini-2024-07-18" and span.cost and span.cost > 0
        assert span.attrs["gen_ai.response.finish_reasons"] == '["stop"]'
    assert sync.attrs["gen_ai.request.temperature"] == "0.2" and "gen_ai.request.temperature" not in async_.attrs
    reply = out.line("sync:  ")[len("sync:  "):]
    output = json.loads(sync.attrs["gen_ai.output.messages"])  # captured content: the reply, as the app got it
    assert output == [{"role": "assistant", "parts": [{"type": "text", "content": reply}]}]
    assert out.report[("openai", "gpt-4o-mini")][2] == "2" and "2 calls, total cost $" in out.stdout


def test_openai_stream(runs):
    out = result(runs, "openai_stream.py")
    spans = [t[0] for t in out.traces]
    assert [s.name for s in spans] == ["chat gpt-4o-mini", "chat gpt-4.1-mini", "chat gpt-4o-mini"]
    for span in spans[:2]:  # with the usage chunk: tokens, cost, time to first token
        assert span.tokens and span.tokens[1] > 0 and span.cost and "ttft " in span.facts
    assert "ttft " in spans[2].facts and spans[2].tokens is None and spans[2].cost is None  # no usage chunk
    streamed = re.search(r"create\(stream=True\): (\d+) chunks: (.*)", out.stdout)
    assert streamed and int(streamed.group(1)) > 2 and streamed.group(2).endswith("fake LLM server.")
    assert out.line("stream() helper: ") == f"stream() helper: {streamed.group(2)}"


def test_openai_tools(runs):
    out = result(runs, "openai_tools.py")
    (trace,) = out.traces
    assert [(s.depth, s.name) for s in trace] == [
        (0, "invoke_agent stock-agent"), (1, "chat gpt-4o-mini"), (1, "execute_tool get_stock"),
        (1, "chat gpt-4o-mini")]
    first, tool, final = trace[1:]
    assert first.attrs["gen_ai.response.finish_reasons"] == '["tool_call"]'
    assert final.attrs["gen_ai.response.finish_reasons"] == '["stop"]'
    assert json.loads(tool.attrs["gen_ai.tool.call.arguments"]) == {"product_id": "12345", "city": "Lyon"}
    assert json.loads(tool.attrs["gen_ai.tool.call.result"])["units"] == 7
    assert tool.attrs["gen_ai.tool.description"] == "How many units of a product a store has in stock."
    assert final.tokens[0] > first.tokens[0]  # the second call carries the tool call and its result
    assert "12345 city Lyon units 7" in out.line("agent answered:")


def test_openai_responses(runs):
    out = result(runs, "openai_responses.py")
    reasoning, streamed = out.traces[0][0], out.traces[1][0]
    assert reasoning.name == "chat o4-mini" and reasoning.provider_model == "openai/o4-mini-2025-04-16"
    api_reasoning = int(re.search(r"reasoning tokens reported by the API: (\d+)", out.stdout).group(1))
    assert api_reasoning > 0 and reasoning.attrs["gen_ai.usage.reasoning.output_tokens"] == str(api_reasoning)
    assert reasoning.attrs["gen_ai.request.reasoning.level"] == "low"
    assert reasoning.tokens[1] > api_reasoning and reasoning.cost  # reasoning is part of (priced) output
    assert streamed.name == "chat gpt-4.1-mini" and "ttft " in streamed.facts and streamed.tokens


# --- the other providers -----------------------------------------------------------------------------------

def test_anthropic_caching(runs):
    out = result(runs, "anthropic_caching.py")
    write, read, stream = (t[0] for t in out.traces)
    usage = [dict(re.findall(r"(\w+)=(\d+)", ln)) for ln in out.stdout.splitlines() if "API usage:" in ln]
    assert len(usage) == 2
    for span, u in zip((write, read), usage, strict=True):  # conventions' input = input + cache write + read
        n = {k: int(v) for k, v in u.items()}
        assert span.tokens == (n["input"] + n["cache_creation"] + n["cache_read"], n["output"])
        assert span.attrs["gen_ai.usage.cache_write.input_tokens"] == str(n["cache_creation"])
        assert span.attrs["gen_ai.usage.cache_read.input_tokens"] == str(n["cache_read"])
    cached = int(write.attrs["gen_ai.usage.cache_write.input_tokens"])
    assert cached >= 1024 and read.attrs["gen_ai.usage.cache_read.input_tokens"] == str(cached)
    assert stream.attrs["gen_ai.usage.cache_read.input_tokens"] == str(cached) and "ttft " in stream.facts
    assert all(s.provider_model == "anthropic/claude-sonnet-4-6" for s in (write, read, stream))
    assert read.cost < write.cost / 3 and stream.cost < write.cost / 3  # cache reads are cheap, writes dear
    assert float(write.attrs["llmobs.cost.total_usd"]) == pytest.approx(write.cost, rel=0.01)


def test_gemini(runs):
    out = result(runs, "gemini.py")
    spans = [t[0] for t in out.traces]
    assert [s.name for s in spans] == ["generate_content gemini-2.5-flash"] * 4
    assert all(s.provider_model == "gcp.gemini/gemini-2.5-flash" and s.cost for s in spans)
    api = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out.line("  API usage:"))}
    assert spans[0].tokens == (api["prompt"], api["candidates"] + api["thoughts"])  # thinking is output
    assert spans[0].attrs["gen_ai.usage.reasoning.output_tokens"] == str(api["thoughts"])
    assert spans[0].attrs["gen_ai.request.max_tokens"] == "400"
    assert "ttft " in spans[1].facts and "ttft " not in spans[0].facts  # the stream
    assert spans[3].tokens[0] > spans[2].tokens[0]  # the chat's second turn sends the history
    assert out.report[("gcp.gemini", "gemini-2.5-flash")][2] == "4"


def test_openai_compatible_servers_are_named_by_base_url(runs):
    out = result(runs, "openai_compatible.py")
    spans = {s.attrs["gen_ai.provider.name"]: s for s in out.spans()}
    assert list(spans) == ["x_ai", "groq", "ollama", "openai_compatible"]
    assert spans["x_ai"].provider_model == "x_ai/grok-3-mini" and spans["x_ai"].cost
    assert spans["groq"].provider_model == "groq/llama-3.1-8b-instant" and spans["groq"].cost
    assert spans["ollama"].cost == 0  # priced by the example's own price: $0
    unknown = spans["openai_compatible"]
    assert unknown.cost is None and unknown.attrs["server.address"] == "localhost"  # no price: unpriced
    assert out.report[("openai_compatible", "Qwen/Qwen3-8B")][-1] == "-"
    assert len({s.tokens for s in spans.values()}) == 1  # the same request: the same usage, whoever serves it


# --- manual instrumentation --------------------------------------------------------------------------------

def test_decorators(runs):
    out = result(runs, "decorators.py")
    (trace,) = out.traces
    assert [(s.depth, s.name) for s in trace] == [
        (0, "invoke_workflow answer-customer"), (1, "retrieval catalog"), (2, "execute_tool search_catalog"),
        (1, "draft-reply"), (2, "chat gpt-4o-mini"), (1, "invoke_agent upsell-agent"), (2, "chat gpt-4o-mini"),
        (1, "words")]
    kinds = [s.attrs["llmobs.span.kind"] for s in trace]
    assert kinds == ["workflow", "retrieval", "tool", "task", "llm", "agent", "llm", "task"]
    tool = trace[2]
    assert json.loads(tool.attrs["gen_ai.tool.call.arguments"]) == {"query": "Do you sell a city bike and a lock?"}
    assert json.loads(tool.attrs["gen_ai.tool.call.result"]) == ["city bike", "gravel bike", "bike lock"]
    draft_input = json.loads(trace[3].attrs["llmobs.input"])
    assert draft_input == {"question": "Do you sell a city bike and a lock?",
                           "products": ["city bike", "gravel bike", "bike lock"]}  # `self` is left out
    assert all(s.provider_model.startswith("openai/gpt-4o-mini") and s.cost for s in trace if s.depth == 2
               and s.name.startswith("chat"))


def test_manual_llm_call(runs):
    out = result(runs, "manual_llm_call.py")
    whole, streamed = out.traces[0][0], out.traces[1][0]
    for span in (whole, streamed):
        assert span.name == "chat llama3.2" and span.provider_model == "ollama/llama3.2"
        assert span.attrs["server.address"] == "127.0.0.1"
        n_in, n_out = span.tokens
        assert span.cost == pytest.approx(n_in * 0.05e-6 + n_out * 0.10e-6, rel=0.05)  # the example's prices
    assert whole.attrs["gen_ai.response.finish_reasons"] == '["stop"]' and "ttft" not in whole.facts
    assert streamed.attrs["gen_ai.response.finish_reasons"] == '["length"]' and "ttft " in streamed.facts
    assert streamed.tokens[1] == 12  # num_predict=12
    text = out.line("streamed: ")[len("streamed: "):]
    assert json.loads(streamed.attrs["gen_ai.output.messages"])[0]["parts"][0]["content"] == text


def test_context(runs):
    out = result(runs, "context.py")
    assert len(out.traces) == 3
    by_user: dict[str, list[list[Span]]] = {}
    for trace in out.traces:
        assert [s.name for s in trace] == ["invoke_workflow support-turn", "chat gpt-4o-mini"]
        (user,) = {s.attrs["user.id"] for s in trace}  # on every span, the integration's LLM span included
        assert len({json.dumps(s.attrs, sort_keys=True) for s in trace}) == 1
        by_user.setdefault(user, []).append(trace)
    assert sorted((u, len(t)) for u, t in by_user.items()) == [("alice", 2), ("bob", 1)]
    alice = [t[1].attrs for t in by_user["alice"]]
    assert {a["session.id"] for a in alice} == {"s-100"} and {a["llmobs.metadata.plan"] for a in alice} == {"pro"}
    assert sorted(json.loads(a["llmobs.tags"])[1] for a in alice) == ["turn-1", "turn-2"]  # nested contexts
    bob = by_user["bob"][0][1].attrs
    assert (bob["session.id"], bob["llmobs.metadata.plan"], json.loads(bob["llmobs.tags"])) == (
        "s-200", "free", ["web", "turn-1"])
    assert out.report[("alice", "s-100")][2] == "2" and out.report[("bob", "s-200")][2] == "1"


def test_scores(runs):
    out = result(runs, "scores.py")
    (trace,) = out.traces
    assert [(s.depth, s.name) for s in trace] == [
        (0, "invoke_workflow answer"), (1, "chat gpt-4o-mini"), (1, "score relevance"), (1, "score user-feedback")]
    relevance, feedback = trace[2].attrs, trace[3].attrs
    assert float(relevance["gen_ai.evaluation.score.value"]) == 0.75  # 6 of the 8 question words echoed
    assert relevance["gen_ai.evaluation.explanation"] == "share of the question's words in the answer"
    assert feedback == {"gen_ai.evaluation.score.label": "thumbs-up", "gen_ai.evaluation.explanation": "clear and quick"}
    assert out.line("feedback recorded: ") == "feedback recorded: True"
    assert re.search(r"trace [0-9a-f]{32}, span [0-9a-f]{16}", out.stdout)


def test_sampling_and_redaction(runs):
    out = result(runs, "sampling_and_redaction.py")
    llm = [t[1] for t in out.traces]
    # 4 requests: the cheap, healthy one is dropped by tail sampling; the costly and the failed ones are kept
    assert [s.name for s in llm] == ["chat gpt-4.1", "chat gpt-4o-mini-error-500", "chat gpt-4.1"]
    assert llm[0].cost >= 0.001 and llm[2].cost >= 0.001
    assert "ERROR openai.InternalServerError" in llm[1].facts
    assert ("openai", "gpt-4o-mini") not in out.report
    captured = llm[0].attrs["gen_ai.input.messages"]
    assert "I am [email], order [order], my key is [api_key]." in captured  # built-ins + the example's hook
    assert "…[llmobs: truncated" in captured  # max_content_length
    assert "gen_ai.input.messages" not in llm[2].attrs  # capture_content(False) for that request
    for secret in ("jane.doe@example.com", "A-10442", "sk-proj-", "4111"):
        assert secret not in out.stdout


# --- the example test suite --------------------------------------------------------------------------------

def test_example_test_suite_passes_from_its_cassettes(runs):
    proc = runs["testing"].result()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b3 passed\b", proc.stdout), proc.stdout
    cassettes = sorted((EXAMPLES / "testing" / "cassettes").rglob("*.yaml"))
    assert [c.stem for c in cassettes] == sorted(
        n for n in re.findall(r"^def (test_\w+)", (EXAMPLES / "testing" / "test_support_bot.py").read_text(), re.M))
    for cassette in cassettes:
        text = cassette.read_text()
        assert "uri: https://api.openai.com/v1/chat/completions" in text and "127.0.0.1" not in text
        assert "authorization:\n      - REDACTED" in text and "sk-" not in text


def test_example_cassettes_can_be_recorded_again(runs):
    """record_cassettes.py records from the fake server while the tests run (and pass) against it, scrubs the
    key and names the real host, so the cassettes replay for a client with the default base URL."""
    recorded = runs["record"].result()
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert re.search(r"\b3 passed\b", recorded.stdout), recorded.stdout
    copy = Path(recorded.args[1]).parent
    cassettes = sorted((copy / "cassettes").rglob("*.yaml"))
    committed = sorted((EXAMPLES / "testing" / "cassettes").rglob("*.yaml"))
    assert [c.relative_to(copy) for c in cassettes] == [c.relative_to(EXAMPLES / "testing") for c in committed]
    for cassette in cassettes:
        text = cassette.read_text()
        assert "sk-recording-never-written" not in text and "127.0.0.1" not in text
        assert "uri: https://api.openai.com/v1/chat/completions" in text


# --- the fake server's Ollama route, which examples/manual_llm_call.py relies on ------------------------------

def test_fake_llm_speaks_ollama_native_chat():
    with FakeLLMServer(latency=0, chunk_delay=0) as fake, httpx.Client(base_url=fake.url) as http:
        body = {"model": "llama3.2", "messages": [{"role": "user", "content": "Why is the sky blue?"}]}
        whole = http.post("/api/chat", json={**body, "stream": False}).json()
        assert whole["done"] is True and whole["done_reason"] == "stop" and whole["model"] == "llama3.2"
        assert whole["message"]["role"] == "assistant" and "Why is the sky blue" in whole["message"]["content"]
        assert whole["prompt_eval_count"] > 0 and whole["eval_count"] > 0 and whole["eval_duration"] > 0
        with http.stream("POST", "/api/chat", json={**body, "options": {"num_predict": 5}}) as response:
            assert response.headers["content-type"] == "application/x-ndjson"
            lines = [json.loads(ln) for ln in response.iter_lines() if ln]
        assert [ln["done"] for ln in lines] == [False] * (len(lines) - 1) + [True]
        assert lines[-1]["done_reason"] == "length" and lines[-1]["eval_count"] == 5
        assert "".join(ln["message"]["content"] for ln in lines) == "You said: \"Why is"
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
        called = http.post("/api/chat", json={"model": "llama3.2", "stream": False, "tools": tools,
                                              "messages": [{"role": "user", "content": "Weather in Oslo?"}]}).json()
        assert called["message"]["tool_calls"] == [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]
        failed = http.post("/api/chat", json={**body, "model": "llama3.2-error-429"})
        assert failed.status_code == 429 and isinstance(failed.json()["error"], str)
        assert failed.headers["retry-after"] == "1"
