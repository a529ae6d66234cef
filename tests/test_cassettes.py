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


def test_the_documented_pytest_recording_setup(pytester):
    """conftest vcr_config() + @pytest.mark.vcr, recorded once against a local server, replayed with the
    server gone and no key: exactly what docs/testing.md tells users to do."""
    pytester.makeconftest(
        """
        import pytest
        import llmobs.testing

        @pytest.fixture(scope="module")
        def vcr_config():
            return llmobs.testing.vcr_config()
        """
    )
    pytester.makepyfile(
        test_chat="""
        import json, os, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import httpx2
        import pytest
        import llmobs

        class Provider(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                body = json.dumps({"usage": {"prompt_tokens": 7, "completion_tokens": 3}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        PORT = int(os.environ["FAKE_PORT"])

        @pytest.fixture
        def provider():
            if os.environ.get("SERVER") != "on":
                yield
                return
            srv = ThreadingHTTPServer(("127.0.0.1", PORT), Provider)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            yield
            srv.shutdown()
            srv.server_close()

        @pytest.mark.vcr
        def test_chat(provider, llmobs_capture):
            key = os.environ.get("API_KEY", "")
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
                reply = httpx2.post(f"http://127.0.0.1:{PORT}/v1/chat/completions",
                                    json={"model": "gpt-4o-mini"},
                                    headers={"Authorization": f"Bearer {key}"}).json()
                call.record_usage(reply["usage"]["prompt_tokens"], reply["usage"]["completion_tokens"])
            llmobs_capture.assert_llm_call(model="gpt-4o-mini", input_tokens=7, output_tokens=3)
        """
    )
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pytester._monkeypatch.setenv("FAKE_PORT", str(port))
    pytester._monkeypatch.setenv("SERVER", "on")
    pytester._monkeypatch.setenv("API_KEY", SECRET)
    recorded = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--record-mode=once")
    recorded.assert_outcomes(passed=1)
    cassettes = list(pytester.path.rglob("*.yaml"))
    assert len(cassettes) == 1
    assert SECRET not in cassettes[0].read_text()

    pytester._monkeypatch.setenv("SERVER", "off")
    pytester._monkeypatch.delenv("API_KEY")
    replayed = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--record-mode=none")
    replayed.assert_outcomes(passed=1)
