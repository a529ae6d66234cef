"""Re-record tests/cassettes/openai_flows.yaml from the offline fake server (no network, no key needed).

    python tests/cassettes/record_openai.py

Serves tests.support.openai_wire.MockOpenAI's default replies over real HTTP on loopback, drives the real
openai SDK through vcrpy with llmobs.testing.vcr_config() (secrets scrubbed), and keeps the cassette.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import openai  # noqa: E402
import vcr  # noqa: E402

from llmobs.testing import vcr_config  # noqa: E402
from tests.support import openai_wire as w  # noqa: E402

CASSETTE = Path(__file__).with_name("openai_flows.yaml")
fake = w.MockOpenAI()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        return None

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = w.HTTP.Request("POST", f"https://api.openai.com{self.path}", headers=dict(self.headers),
                                 content=body)
        response = fake.handler(request)
        payload = b"".join(response.iter_bytes()) if hasattr(response, "iter_bytes") else response.content
        self.send_response(response.status_code)
        self.send_header("Content-Type", response.headers.get("content-type", "application/json"))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def flows(client):
    """The calls the cassette holds (tests/test_openai_cassettes.py replays the same)."""
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}])
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Count"}],
                                            stream=True, stream_options={"include_usage": True}):
        pass
    client.embeddings.create(model="text-embedding-3-small", input="hello", encoding_format="float")


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    CASSETTE.unlink(missing_ok=True)
    recorder = vcr.VCR(**vcr_config(record_mode="once", match_on=["method", "path"]))
    client = openai.OpenAI(api_key="sk-live-never-recorded", max_retries=0,
                           base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    with recorder.use_cassette(str(CASSETTE)):
        flows(client)
    server.shutdown()
    print(f"wrote {CASSETTE}")


if __name__ == "__main__":
    main()
