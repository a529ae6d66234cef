"""Failure isolation (issue 7, item 4).

1. A dead or blackholed OTLP endpoint: added p99 latency, memory and shutdown time, measured.
2. A fault injected into every extractor and hook llmobs runs on the hot path never
changes what the user gets: the same result as without llmobs, the same exception object, every stream chunk.

3. Forked workers (os.fork, multiprocessing with fork) keep exporting spans and metrics.
4. No network traffic at import or ``instrument()``.

Part 2: each case runs one scenario (an SDK call on its mock transport, a framework run) twice: uninstrumented, for the
reference, then instrumented with one llmobs function replaced by one that raises. The replaced function must
actually have been called (else the case proves nothing), and what the user got must be equal.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import llmobs
from llmobs import _cost, _metrics, _recorder
from llmobs.instrumentation import anthropic as ai
from llmobs.instrumentation import google_genai as gi
from llmobs.instrumentation import langchain as lci
from llmobs.instrumentation import llama_index as lii
from llmobs.instrumentation import openai as oi


class Injected(Exception):
    pass


class UserError(Exception):
    pass


def _dump(value):
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if hasattr(value, "content") and hasattr(value, "type"):  # a LangChain message
        return (type(value).__name__, value.content)
    return value


# --- scenarios: each returns a callable that makes the call and returns what the user got ---------------------

def openai_chat():
    from tests.support import openai_wire as w

    server = w.MockOpenAI()
    body = w.chat_completion(contents=["fine"])

    def run():
        server.add_json(body)
        return _dump(w.client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}]))
    return run


def openai_stream():
    from tests.support import openai_wire as w

    server = w.MockOpenAI()
    chunks = w.chat_chunks(contents=["one two three four"], include_usage=True)

    def run():
        server.add_chat_stream(chunks)
        stream = w.client(server).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True,
            stream_options={"include_usage": True})
        return [_dump(c) for c in stream]
    return run


def openai_error():
    from tests.support import openai_wire as w

    server = w.MockOpenAI()
    raised = UserError("the transport's own failure")

    def responder(request, recorded):
        raise raised

    def run():
        server.add(responder)
        try:
            w.client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        except Exception as exc:  # the SDK wraps transport errors: the object the user sees must be the same
            return ("raised", type(exc).__name__, exc.__cause__ is raised or exc is raised)
        return "no error"
    return run


def anthropic_create():
    from tests.support import anthropic_wire as w

    server = w.MockAnthropic()
    msg = w.message()

    def run():
        server.add_message(msg)
        return _dump(w.client(server).messages.create(model=w.MODEL, max_tokens=64,
                                                      messages=[{"role": "user", "content": "hi"}]))
    return run


def anthropic_stream():
    from tests.support import anthropic_wire as w

    server = w.MockAnthropic()
    events = w.stream_events(w.message())

    def run():
        server.add_stream(events)
        stream = w.client(server).messages.create(model=w.MODEL, max_tokens=64, stream=True,
                                                  messages=[{"role": "user", "content": "hi"}])
        return [_dump(e) for e in stream]
    return run


def genai_generate():
    from tests.support import genai_wire as w

    server = w.MockGemini()
    body = w.generate_content_response(text="Bonjour")

    def run():
        server.add_json(body)
        return _dump(w.client(server).models.generate_content(model="gemini-2.5-flash", contents="hi",
                                                                      config={"temperature": 0.5}))
    return run


def genai_stream():
    from tests.support import genai_wire as w

    server = w.MockGemini()
    chunks = w.stream_chunks(["Bonjour tout le monde"])

    def run():
        server.add_stream(chunks)
        return [_dump(c) for c in w.client(server).models.generate_content_stream(
            model="gemini-2.5-flash", contents="hi", config={"temperature": 0.5})]
    return run


def langchain_invoke():
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.runnables import RunnableLambda

    def run():
        model = FakeMessagesListChatModel(responses=[AIMessage(content="fine", id="m1")])
        chain = RunnableLambda(lambda x: x) | model
        return _dump(chain.invoke("hi"))
    return run


def langchain_stream():
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    def run():
        model = GenericFakeChatModel(messages=iter([AIMessage(content="one two three", id="m1")]))
        return [c.content for c in model.stream("hi")]
    return run


def llama_index_complete():
    from llama_index.core.llms import MockLLM

    def run():
        return MockLLM(max_tokens=5).complete("hello there").text
    return run


def user_exception():
    """A user's exception raised inside a recorded model run: the very same object reaches the caller."""
    from langchain_core.runnables import RunnableLambda

    err = UserError("user bug")

    def boom(_):
        raise err

    def run():
        try:
            RunnableLambda(boom).invoke("x")
        except UserError as exc:
            return ("raised", exc is err)
        return "no error"
    return run


SCENARIOS = {
    "openai_chat": openai_chat, "openai_stream": openai_stream, "openai_error": openai_error,
    "anthropic_create": anthropic_create, "anthropic_stream": anthropic_stream,
    "genai_generate": genai_generate, "genai_stream": genai_stream,
    "langchain_invoke": langchain_invoke, "langchain_stream": langchain_stream,
    "llama_index_complete": llama_index_complete, "langchain_user_exception": user_exception,
}

# What llmobs runs on the hot path, by (owner, attribute), and the scenarios that reach it.
_EACH = ("openai_chat", "openai_stream", "anthropic_stream", "genai_generate", "langchain_invoke",
         "llama_index_complete")
TARGETS = [
    # the recorder and what it calls for every call
    (_recorder, "_finish", (*_EACH, "openai_error")),
    (_recorder, "_complete", _EACH),
    (_recorder, "set_attributes", ("openai_chat", "genai_stream")),
    (_recorder, "_sampling_attributes", ("anthropic_create",)),
    (_recorder, "error_type", ("openai_error",)),
    (_recorder, "_context_attrs", ("openai_chat", "langchain_invoke", "openai_error")),  # llmobs.context() values
    (_cost.PriceBook, "cost", ("openai_chat", "anthropic_create")),
    (_metrics.Metrics, "enqueue_llm", ("openai_stream", "llama_index_complete")),
    (_metrics.Metrics, "enqueue_op", ("langchain_invoke",)),
    # the provider integrations: request readers, response readers, stream chunk handlers
    (oi, "_params", ("openai_chat", "openai_stream", "openai_error")),
    (oi, "client_info", ("openai_chat", "openai_error")),
    (oi, "_chat_usage", ("openai_chat", "openai_stream")),
    (oi, "_openai_extras", ("openai_chat",)),
    (oi.ChatAccumulator, "add", ("openai_stream",)),
    (oi.ChatAccumulator, "finish", ("openai_stream",)),
    (ai, "_params", ("anthropic_create", "anthropic_stream")),
    (ai, "_message_usage", ("anthropic_create",)),
    (ai.MessageAccumulator, "add", ("anthropic_stream",)),
    (ai.MessageAccumulator, "finish", ("anthropic_stream",)),
    (gi, "_generate_params", ("genai_generate", "genai_stream")),
    (gi, "_usage", ("genai_generate", "genai_stream")),
    (gi.GenAIStreamAccumulator, "add", ("genai_stream",)),
    (gi.GenAIStreamAccumulator, "finish", ("genai_stream",)),
    # the framework handlers
    (lci, "_run_name", ("langchain_invoke", "langchain_user_exception")),
    (lci, "_model_call", ("langchain_invoke", "langchain_stream")),
    (lci, "_read_response", ("langchain_invoke", "langchain_stream")),
    (lci, "_is_control_flow", ("langchain_user_exception",)),
    (lii, "_model_call", ("llama_index_complete",)),
    (lii, "_read_response", ("llama_index_complete",)),
]
CASES = [pytest.param(owner, attr, scenario, id=f"{getattr(owner, '__name__', owner)}.{attr}-{scenario}")
         for owner, attr, scenarios in TARGETS for scenario in scenarios]


class _RaisingContextVar:
    def __init__(self, hits):
        self.hits = hits

    def get(self, *args):
        self.hits.append(1)
        raise Injected("context attributes")


@pytest.mark.parametrize(("owner", "attr", "scenario"), CASES)
def test_a_fault_anywhere_never_changes_what_the_user_gets(llmobs_capture, monkeypatch, owner, attr, scenario):
    run = SCENARIOS[scenario]()
    expected = run()  # uninstrumented: the reference

    hits: list[int] = []
    if attr == "_context_attrs":
        broken = _RaisingContextVar(hits)
    else:
        def broken(*args, **kwargs):
            hits.append(1)
            raise Injected(f"{attr} failed")
    llmobs.instrument(integrations=[scenario.partition("_")[0].replace("genai", "google_genai").replace(
        "llama", "llama_index")])
    monkeypatch.setattr(owner, attr, broken)
    try:
        got = run()
        llmobs_capture.llm_calls()  # lets deferred work (metrics, a stream's end) run under the fault too
    finally:
        monkeypatch.undo()
        llmobs.uninstrument()
    assert hits, f"{attr} was never called by {scenario}: the injected fault proves nothing"
    assert got == expected


def test_every_target_is_exercised():
    assert all(scenarios for _o, _a, scenarios in TARGETS) and len(CASES) > 30


# --- 1. a dead or blackholed endpoint ----------------------------------------------------------------------

_LOAD_CHILD = r"""
import json, os, socket, sys, threading, time
mode = sys.argv[1]
import llmobs
from tests.support import openai_wire as w

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

kwargs = {"service_name": "isolation", "exporter": "none"} if mode == "none" else {
    "service_name": "isolation", "endpoint": os.environ["ENDPOINT"], "protocol": os.environ["PROTOCOL"]}
llmobs.instrument(**kwargs)
server = w.MockOpenAI()
client = w.client(server)
messages = [{"role": "user", "content": "hi"}]
def call():
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    server.requests.clear()
for _ in range(300):
    call()
latencies = []
print("ready", flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "run":
        for _ in range(int(arg)):
            t = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - t)
        print("ok", flush=True)
    elif cmd == "stats":
        latencies.sort()
        print(json.dumps({"p50_ms": latencies[len(latencies) // 2] * 1e3,
                          "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3}), flush=True)
        latencies = []
    elif cmd == "spans":  # many spans, cheaply: the same recorder and exporter path as the SDK calls
        before = rss_mb()
        for i in range(int(arg)):
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini", input_messages="x" * 200) as c:
                c.record_output("y" * 200)
                c.record_usage(100, 20)
        time.sleep(0.3)  # the metrics worker's pass
        print(json.dumps({"rss_growth_mb": rss_mb() - before}), flush=True)
    elif cmd == "shutdown":
        t = time.perf_counter()
        llmobs.shutdown()
        t1 = time.perf_counter()
        llmobs._setup.shutdown(timeout=llmobs._setup.EXIT_TIMEOUT_S)  # what the exit hook runs next
        print(json.dumps({"shutdown_s": t1 - t, "exit_hook_s": time.perf_counter() - t1}), flush=True)
    elif cmd == "exit":
        break
print("exiting", flush=True)
"""


class _Child:
    def __init__(self, mode: str, endpoint: str = "", protocol: str = "http/protobuf") -> None:
        from tests.support.subproc import ROOT

        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
        env.update(PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]), ENDPOINT=endpoint, PROTOCOL=protocol)
        self.mode = mode
        self.proc = subprocess.Popen([sys.executable, "-c", _LOAD_CHILD, mode], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                     cwd=str(ROOT))

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        assert line, f"{self.mode}: the child died"
        return line

    def exit_seconds(self) -> float:
        """Ask the child to return from its script; the time from its last line to the process's end."""
        assert self.ask("exit") == "exiting"
        t = time.monotonic()
        self.proc.wait(timeout=30)
        return time.monotonic() - t


class _Blackhole:
    """A local socket that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _lockstep(children: list[_Child], calls: int, block: int = 25) -> dict[str, float]:
    """Each child makes ``calls`` calls, in blocks taken in turn, so a noisy neighbour slows them alike."""
    for i in range(calls // block):
        order = children if i % 2 == 0 else children[::-1]
        for child in order:
            assert child.ask(f"run {block}") == "ok"
    return {c.mode: json.loads(c.ask("stats"))["p99_ms"] for c in children}


def test_a_dead_or_blackholed_endpoint_costs_no_unbounded_memory_or_slow_shutdown():
    """The latency side (added p99 per call) is measured by benchmarks/bench_isolation.py, with this harness:
    timing budgets live in benchmarks, not in tests."""
    blackhole, blackhole_grpc = _Blackhole(), _Blackhole()
    children = [
        _Child("down", f"http://127.0.0.1:{_closed_port()}"),
        _Child("blackhole", f"http://127.0.0.1:{blackhole.port}"),
    ]
    exit_only = _Child("blackhole-grpc", f"http://127.0.0.1:{blackhole_grpc.port}", "grpc")
    try:
        for child in [*children, exit_only]:
            assert child.ask("") == "ready"
        for child in children:  # calls keep working while the endpoint is dead
            assert child.ask("run 200") == "ok"

        targets = children
        for child in targets:  # sent to all first: they work (and wait for their dead endpoint) in parallel
            child.proc.stdin.write("spans 20000\nshutdown\n")
            child.proc.stdin.flush()
        for child in targets:
            growth = json.loads(child.ask(""))["rss_growth_mb"]
            print(child.mode, "RSS growth after 20k more spans (MB):", growth)
            assert growth < 25, (child.mode, growth)  # the export queue is bounded (20k spans: ~60 MB)
        for child in targets:
            times = json.loads(child.ask(""))
            print(child.mode, "shutdown (s):", times)
            assert times["shutdown_s"] < 5.0, (child.mode, times)  # shutdown()'s default budget: 5 s
            # Shut down already: the exit hook has nothing left to wait for (it used to wait EXIT_TIMEOUT_S).
            assert times["exit_hook_s"] < 0.5, (child.mode, times)
            exit_s = child.exit_seconds()
            print(child.mode, "exit after shutdown (s):", exit_s)
            assert exit_s < 3.0, (child.mode, exit_s)
        exit_s = exit_only.exit_seconds()  # no shutdown() call: the exit hook's EXIT_TIMEOUT_S bounds it
        print("gRPC, blackholed, exit without shutdown() (s):", exit_s)
        assert exit_s < 5.0
    finally:
        for child in [*children, exit_only]:
            if child.proc.poll() is None:
                child.proc.kill()
                child.proc.wait()
        blackhole.close()
        blackhole_grpc.close()


# --- 3. fork --------------------------------------------------------------------------------------------------

_FORK_CHILD = """
import json, multiprocessing, os
import llmobs
from tests.support import openai_wire as w

llmobs.instrument(service_name="forked", endpoint=os.environ["ENDPOINT"], metrics_exporter="otlp")

def work(name):
    server = w.MockOpenAI()
    client = w.client(server)
    for _ in range(3):
        client.chat.completions.create(model=name, messages=[{"role": "user", "content": "hi"}])
    return name

pids = []
for i in range(2):  # os.fork(), as gunicorn does; the child exits through sys.exit (atexit hooks run)
    pid = os.fork()
    if pid == 0:
        work(f"fork-{i}")
        raise SystemExit(0)
    pids.append(pid)
for pid in pids:
    assert os.waitpid(pid, 0)[1] == 0
ctx = multiprocessing.get_context("fork")  # its children end with os._exit(): no atexit there
pool = ctx.Pool(2)
done = pool.map(work, ["pool-0", "pool-1"])
pool.close()  # workers that end normally flush (pool.terminate() kills them: what they buffered is lost)
pool.join()
procs = [ctx.Process(target=work, args=(f"process-{i}",)) for i in range(2)]
for p in procs:
    p.start()
for p in procs:
    p.join()
print(json.dumps({"done": done, "codes": [p.exitcode for p in procs]}))
"""


def test_forked_workers_keep_exporting_spans_and_metrics(tmp_path):
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    from llmobs.collector import Collector
    from llmobs.pytest_plugin import CollectorHandle
    from tests.support.subproc import run_py

    with Collector(str(tmp_path), http_port=0, grpc_port=None) as collector:
        out = run_py(_FORK_CHILD, env={"ENDPOINT": collector.http_endpoint}, timeout=60)
        assert out["codes"] == [0, 0]
        handle = CollectorHandle(collector)
        models = ["fork-0", "fork-1", "pool-0", "pool-1", "process-0", "process-1"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(handle.count(model=m) < 3 for m in models):
            time.sleep(0.1)
        assert {m: handle.count(model=m) for m in models} == dict.fromkeys(models, 3)

        counts: dict[str, int] = {}
        collector.store.sync()
        for (body,) in collector.store.reader().execute(
                "SELECT body FROM received.payloads WHERE signal = 'metrics'"):
            request = ExportMetricsServiceRequest.FromString(body)
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        if metric.name != "gen_ai.client.operation.duration":
                            continue
                        for point in metric.histogram.data_points:
                            attrs = {a.key: a.value.string_value for a in point.attributes}
                            model = attrs.get("gen_ai.request.model", "")
                            counts[model] = max(counts.get(model, 0), point.count)  # cumulative
        assert {m: counts.get(m, 0) for m in models} == dict.fromkeys(models, 3)


# --- 4. no network at import or instrument() ---------------------------------------------------------------

def test_no_network_at_import_or_instrument():
    from tests.support.subproc import run_py

    out = run_py("""
        import json, socket, sys
        calls = []
        def spy(name, original):
            def f(*args, **kwargs):
                calls.append(name)
                return original(*args, **kwargs)
            return f
        socket.socket.connect = spy("connect", socket.socket.connect)
        socket.socket.connect_ex = spy("connect_ex", socket.socket.connect_ex)
        socket.create_connection = spy("create_connection", socket.create_connection)
        socket.getaddrinfo = spy("getaddrinfo", socket.getaddrinfo)
        import llmobs
        llmobs.instrument(service_name="quiet", metrics_exporter="otlp")
        import anthropic, openai
        from google import genai
        import langchain_core.language_models, llama_index.core
        llmobs.flush(timeout=2.0)  # the price table has loaded: from the bundled file
        print(json.dumps({"calls": calls, "integrations": llmobs._setup.instrumented_integrations(),
                          "otel_instrumentation": "opentelemetry.instrumentation" in sys.modules}))
    """, env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.invalid:4318"})
    assert out["calls"] == []
    assert out["integrations"] == ["anthropic", "google_genai", "langchain", "llama_index", "openai"]
    assert out["otel_instrumentation"] is False  # the zero-code entry points' dependency stays unimported
