"""Instructions the google_genai integration adds per call and per chunk, counted by valgrind's callgrind.

    python benchmarks/icount_google_genai.py      # needs valgrind (Debian package), a few minutes

Wall-clock overhead on a shared VM swings with its neighbours; instruction counts do not. For each operation a
fresh interpreter runs N=40 and N=120 calls (same set-up, PYTHONHASHSEED=0) and the cost of one call is
(instructions(120) - instructions(40)) / 80. Operations: a non-streaming ``client.models.generate_content``
and a 50-chunk ``generate_content_stream`` (every chunk a text piece with running ``usageMetadata``, as the
Gemini API sends them), fully iterated, each through the real SDK client on a mock transport of its HTTP
library. The public SDK methods call the patched per-request ones, so the baseline ("_base") is the same
script with llmobs imported and set up but ``instrument()`` not called; set-up differences cancel out in the
N=120 - N=40 difference. Set-up as in icount_openai.py: SDK TracerProvider with a SimpleSpanProcessor into an
exporter that drops spans, price table loaded, the metrics queue cleared instead of recorded (the worker's
share is measured in benchmarks/icount.py), the garbage collector off during the counted calls.

Per chunk, two figures: ``per_chunk_overhead`` = (overhead of a 50-chunk stream - overhead of a 10-chunk
stream) / 40, the marginal cost of one more chunk (proxy and accumulator), and, comparable with
icount_openai.py, ``per_chunk_overhead_incl_stream_setup`` = (50-chunk stream overhead - call overhead) / 50,
which also spreads the per-stream extras (the proxy, the time-to-first-chunk metric, the stream attributes)
over the chunks. Writes benchmarks/results/icount_google_genai.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from icount import integration_script, measure, save

CHUNKS = 50
SHORT = 10

SCRIPT = integration_script("""
    import google.genai._api_client as api_client
    from google import genai
    from google.genai import types
    http = getattr(api_client, "httpx2", None) or api_client.httpx
    MODEL = "gemini-2.5-flash"
    CHUNKS = int(os.environ["CHUNKS"])
    RESPONSE = json.dumps({
        "candidates": [{"content": {"parts": [{"text": "Hello there! How can I help?"}], "role": "model"},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 8, "totalTokenCount": 20,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}]},
        "modelVersion": MODEL, "responseId": "bench-response-id-00001",
    }).encode()

    def chunk(i):
        cand = {"content": {"parts": [{"text": f"tok{i} "}], "role": "model"}, "index": 0}
        if i == CHUNKS - 1:
            cand["finishReason"] = "STOP"
        return {"candidates": [cand], "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": i + 1,
                "totalTokenCount": 13 + i}, "modelVersion": MODEL, "responseId": "bench-response-id-00001"}

    SSE = "".join(f"data: {json.dumps(chunk(i))}\\r\\n\\r\\n" for i in range(CHUNKS)).encode()

    def handler(request):
        if "streamGenerateContent" in request.url.path:
            return http.Response(200, headers={"content-type": "text/event-stream"}, content=SSE)
        return http.Response(200, headers={"content-type": "application/json"}, content=RESPONSE)

    name = os.environ["FN"]
    q = instrument("google_genai") if not name.endswith("_base") else []
    transport = http.MockTransport(handler)
    client = genai.Client(vertexai=False, api_key="bench-key", http_options=types.HttpOptions(
        client_args={"transport": transport}, async_client_args={"transport": transport}))
    models = client.models
    ops = {
        "call": lambda: models.generate_content(model=MODEL, contents="Say hello"),
        "stream": lambda: [c for c in models.generate_content_stream(model=MODEL, contents="Say hello")],
    }
    ops["short"] = ops["stream"]  # run with CHUNKS=10
    fn = ops[name.replace("_base", "")]
    assert len(fn() if name.startswith(("stream", "short")) else [fn()]) == (
        1 if name.startswith("call") else CHUNKS)
""")

OPS = {
    "call_base": "models.generate_content, uninstrumented",
    "call": "models.generate_content, instrumented",
    "stream_base": f"{CHUNKS}-chunk generate_content_stream, uninstrumented",
    "stream": f"{CHUNKS}-chunk generate_content_stream, instrumented",
    "short_base": f"{SHORT}-chunk generate_content_stream, uninstrumented",
    "short": f"{SHORT}-chunk generate_content_stream, instrumented",
}


def main() -> None:
    results = measure(SCRIPT, OPS, 40, 120,
                      env=lambda fn: {"CHUNKS": str(SHORT if fn.startswith("short") else CHUNKS)})
    call = results["call"] - results["call_base"]
    stream = results["stream"] - results["stream_base"]
    short = results["short"] - results["short_base"]
    results["call_overhead"] = call
    results["stream_overhead"] = stream
    results["short_stream_overhead"] = short
    results["per_chunk_overhead"] = (stream - short) / (CHUNKS - SHORT)
    results["per_chunk_overhead_incl_stream_setup"] = (stream - call) / CHUNKS
    print(f"\nper call: +{call:,.0f} ({call / results['call_base']:.1%} of the SDK call); "
          f"per {CHUNKS}-chunk stream: +{stream:,.0f} ({stream / results['stream_base']:.1%}); "
          f"per chunk: +{results['per_chunk_overhead']:,.0f} "
          f"(+{results['per_chunk_overhead_incl_stream_setup']:,.0f} with the stream set-up spread over the chunks)")
    save("icount_google_genai", results)


if __name__ == "__main__":
    main()
