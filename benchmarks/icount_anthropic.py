"""Instructions the anthropic integration adds per call and per streamed event, counted by valgrind's callgrind.

    python benchmarks/icount_anthropic.py      # needs valgrind (Debian package), a few minutes

Same method as benchmarks/icount_openai.py: for each operation a fresh interpreter runs N=40 and N=120 calls
and one call costs (instructions(120) - instructions(40)) / 80. Operations: a non-streaming
``messages.create`` and a streamed one of 55 events (message_start, a text block of 50 deltas,
message_delta, message_stop), through the real SDK client on a mock transport of its HTTP library,
uninstrumented (the patched method's original) and instrumented. Spans go to an exporter that drops them;
the metrics queue is cleared instead of recorded; the garbage collector is off during the counted calls.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from icount import integration_script, measure, save

SCRIPT = integration_script("""
    import anthropic
    from tests.support import anthropic_wire as w
    q = instrument("anthropic")
    msg = w.message(content=[w.text_block("word " * 50)])
    body = json.dumps(msg).encode()
    sse = b"".join(w.sse_pieces(w.stream_events(msg, pieces=50, ping=False)))

    def handler(request):
        streamed = b'"stream":true' in request.content
        return w.HTTP.Response(200, headers={"content-type": "text/event-stream" if streamed else "application/json"},
                               content=sse if streamed else body)

    client = anthropic.Anthropic(api_key="sk", max_retries=0,
                                 http_client=w.HTTP.Client(transport=w.HTTP.MockTransport(handler)))
    r = client.messages
    orig = type(r).create.__wrapped__
    kw = dict(model=w.MODEL, max_tokens=100, messages=[{"role": "user", "content": "Say hello"}])
    ops = {
        "chat_base": lambda: orig(r, **kw),
        "chat": lambda: r.create(**kw),
        "stream_base": lambda: [e for e in orig(r, stream=True, **kw)],
        "stream": lambda: [e for e in r.create(stream=True, **kw)],
    }
    fn = ops[os.environ["FN"]]
""")

OPS = {
    "chat_base": "messages.create, uninstrumented",
    "chat": "messages.create, instrumented",
    "stream_base": "55-event stream, uninstrumented",
    "stream": "55-event stream, instrumented",
}
EVENTS = 55


def main() -> None:
    results = measure(SCRIPT, OPS, 40, 120)
    chat = results["chat"] - results["chat_base"]
    stream = results["stream"] - results["stream_base"]
    results["chat_overhead"] = chat
    results["stream_overhead"] = stream
    results["per_event_overhead"] = (stream - chat) / EVENTS
    print(f"\nper call: +{chat:,.0f} ({chat / results['chat_base']:.1%} of the SDK call); "
          f"per stream: +{stream:,.0f} ({stream / results['stream_base']:.1%}); "
          f"per event: +{results['per_event_overhead']:,.0f}")
    save("icount_anthropic", results)


if __name__ == "__main__":
    main()
