"""llmobs against its peers on the same openai calls, counted by valgrind's callgrind.

    pip install opentelemetry-instrumentation-openai openinference-instrumentation-openai
    python benchmarks/icount_peers.py      # needs valgrind (Debian package), several minutes

The method of benchmarks/icount_openai.py: for each operation a fresh interpreter runs N=40 and N=120 calls
and one call costs (instructions(120) - instructions(40)) / 80, with the real openai SDK on a mock transport
returning prebuilt bytes (benchmarks/bench_openai.py), spans to an exporter that drops them, the garbage
collector off while counting. Each instrumentation runs alone in its interpreter, with an SDK tracer and
meter provider: llmobs (its metrics queue is cleared instead of recorded, as in icount_openai.py: the
recording happens off the caller's thread), OpenLLMetry's ``opentelemetry-instrumentation-openai``
(records its metrics on the caller's thread) and OpenInference's ``openinference-instrumentation-openai``
(spans only). Operations: a non-streaming chat completion and a 50-chunk stream.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from icount import integration_script, measure, save

SCRIPT = integration_script("""
    import collections
    import bench_openai as b
    import openai
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    name, _, op = os.environ["FN"].partition(":")
    q = collections.deque()
    if name == "llmobs":
        q = instrument("openai")
    elif name in ("openllmetry", "openinference"):
        tp = TracerProvider(); tp.add_span_processor(SimpleSpanProcessor(DropExporter()))
        mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
        if name == "openllmetry":
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor
            OpenAIInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
        else:
            from openinference.instrumentation.openai import OpenAIInstrumentor
            OpenAIInstrumentor().instrument(tracer_provider=tp)
    client = openai.OpenAI(api_key="sk", max_retries=0,
                           http_client=b.http.Client(transport=b.http.MockTransport(b.handler)))
    r = client.chat.completions
    ops = {
        "chat": lambda: r.create(model="gpt-4o-mini", messages=b.MESSAGES),
        "stream": lambda: [c for c in r.create(model="gpt-4o-mini", messages=b.MESSAGES, stream=True)],
    }
    fn = ops[op]
""")

PEERS = ("none", "llmobs", "openllmetry", "openinference")
OPS = {f"{peer}:{op}": f"{op}, {peer}" for op in ("chat", "stream") for peer in PEERS}


def main() -> None:
    results = measure(SCRIPT, OPS, 40, 120)
    lines = []
    for peer in PEERS[1:]:
        chat = results[f"{peer}:chat"] - results["none:chat"]
        stream = results[f"{peer}:stream"] - results["none:stream"]
        results[f"{peer}:chat_overhead"] = chat
        results[f"{peer}:stream_overhead"] = stream
        lines.append(f"{peer}: +{chat:,.0f} per call, +{stream:,.0f} per 50-chunk stream")
    print("\n" + "\n".join(lines))
    save("icount_peers", results)


if __name__ == "__main__":
    main()
