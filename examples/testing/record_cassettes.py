"""Re-record examples/testing/cassettes from llmobs's offline fake LLM server (no key, no network).

    python examples/testing/record_cassettes.py

Runs the tests in this directory with ``--record-mode=rewrite`` while the fake server plays OpenAI, then
rewrites the server's loopback address in the cassettes to https://api.openai.com, so that they replay for
a client with the default base URL, like cassettes recorded against OpenAI itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def main() -> int:
    from llmobs.fake_llm import FakeLLMServer
    from llmobs.instrumentation.openai import PROVIDER_HOSTS

    with FakeLLMServer(latency=0.02, chunk_delay=0.002) as fake:
        address = f"127.0.0.1:{fake.port}"
        PROVIDER_HOSTS[address] = "openai"  # named as the real API will be on replay
        os.environ["OPENAI_BASE_URL"] = f"{fake.url}/v1"
        os.environ["OPENAI_API_KEY"] = "sk-recording-never-written"
        code = pytest.main([str(HERE), "-q", "-p", "no:cacheprovider", "--record-mode=rewrite"])
    for cassette in (HERE / "cassettes").rglob("*.yaml"):
        text = cassette.read_text()
        text = text.replace(f"http://{address}", "https://api.openai.com").replace(address, "api.openai.com")
        cassette.write_text(text)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
