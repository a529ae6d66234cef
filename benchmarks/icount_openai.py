"""Instructions the openai integration adds per call and per chunk, counted by valgrind's callgrind.

    python benchmarks/icount_openai.py      # needs valgrind (Debian package), a few minutes

Wall-clock overhead on a shared VM swings with its neighbours (benchmarks/bench_openai.py); instruction
counts do not. For each operation a fresh interpreter runs N=40 and N=120 calls (same set-up,
PYTHONHASHSEED=0) and the cost of one call is (instructions(120) - instructions(40)) / 80. Operations: a
non-streaming chat call and a 50-content-chunk stream, each through the real SDK client on a mock transport
(as in bench_openai.py), uninstrumented (the patched method's original) and instrumented. Set-up: SDK
TracerProvider with a SimpleSpanProcessor into an exporter that drops spans, price table loaded, the metrics
queue cleared instead of recorded (the worker's share is measured in benchmarks/icount.py), the garbage
collector off during the counted calls (where it runs varies from run to run and made the figures drift).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from icount import integration_script, measure, save

SCRIPT = integration_script("""
    import bench_openai as b
    import openai
    q = instrument("openai")
    client = openai.OpenAI(api_key="sk", max_retries=0,
                           http_client=b.http.Client(transport=b.http.MockTransport(b.handler)))
    r = client.chat.completions
    orig = type(r).create.__wrapped__
    ops = {
        "chat_base": lambda: orig(r, model="gpt-4o-mini", messages=b.MESSAGES),
        "chat": lambda: r.create(model="gpt-4o-mini", messages=b.MESSAGES),
        "stream_base": lambda: [c for c in orig(r, model="gpt-4o-mini", messages=b.MESSAGES, stream=True)],
        "stream": lambda: [c for c in r.create(model="gpt-4o-mini", messages=b.MESSAGES, stream=True)],
    }
    fn = ops[os.environ["FN"]]
""")

OPS = {
    "chat_base": "chat.completions.create, uninstrumented",
    "chat": "chat.completions.create, instrumented",
    "stream_base": "50-chunk stream, uninstrumented",
    "stream": "50-chunk stream, instrumented",
}


def main() -> None:
    results = measure(SCRIPT, OPS, 40, 120)
    chat = results["chat"] - results["chat_base"]
    stream = results["stream"] - results["stream_base"]
    results["chat_overhead"] = chat
    results["stream_overhead"] = stream
    results["per_chunk_overhead"] = (stream - chat) / 53
    print(f"\nper call: +{chat:,.0f} ({chat / results['chat_base']:.1%} of the SDK call); "
          f"per stream: +{stream:,.0f} ({stream / results['stream_base']:.1%}); "
          f"per chunk: +{results['per_chunk_overhead']:,.0f}")
    save("icount_openai", results)


if __name__ == "__main__":
    main()
