"""Cassettes: vcrpy with llmobs.testing.vcr_config() records provider traffic without secrets and replays
it offline, for both HTTP libraries the provider SDKs are built on (httpx and httpx2)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import vcr

from llmobs.testing import vcr_config

SECRET = "sk-live-THIS-MUST-NOT-BE-RECORDED"


class FakeProvider(BaseHTTPRequestHandler):
    def log_message(self, *args):
        return None

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        payload = json.dumps({"id": "chatcmpl-1", "echo": json.loads(body),
                              "usage": {"prompt_tokens": 5, "completion_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "session=abc")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeProvider)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("httplib", ["httpx", "httpx2"])
def test_record_scrubs_secrets_and_replays_offline(tmp_path, server, httplib):
    http = pytest.importorskip(httplib)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions?key={SECRET}"
    headers = {"Authorization": f"Bearer {SECRET}", "x-api-key": SECRET, "api-key": SECRET}
    cassette = tmp_path / "chat.yaml"
    my_vcr = vcr.VCR(**vcr_config())

    with my_vcr.use_cassette(str(cassette), record_mode="once"):
        recorded = http.post(url, json={"model": "gpt-4o-mini"}, headers=headers).json()
    text = cassette.read_text()
    assert SECRET not in text
    assert "REDACTED" in text
    assert "session=abc" not in text

    server.shutdown()  # replay must not need the server
    with my_vcr.use_cassette(str(cassette), record_mode="none"):
        replayed = http.post(url, json={"model": "gpt-4o-mini"},
                             headers={"Authorization": "Bearer another-key"}).json()
    assert replayed == recorded
