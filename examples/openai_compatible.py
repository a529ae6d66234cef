"""OpenAI-compatible servers (xAI Grok, Groq, Ollama, vLLM, gateways) through the openai SDK and ``base_url``.

    pip install 'llmobs[openai]'
    python examples/openai_compatible.py

llmobs names the provider (``gen_ai.provider.name``) from the client's base URL: ``api.x.ai`` is ``x_ai``,
``api.groq.com`` is ``groq``, a local address on port 11434 is ``ollama``, an unknown host is
``openai_compatible`` (docs/openai-compatible.md). Name your own gateway with
``llmobs.instrumentation.openai.PROVIDER_HOSTS["gateway.internal"] = "openai"``.

Online: each server whose variable is set is called (XAI_API_KEY, GROQ_API_KEY, OLLAMA_HOST e.g.
``127.0.0.1:11434``). Offline (none set): one fake LLM server per provider stands in for it, registered in
PROVIDER_HOSTS under the name its real host gets; a last call goes to a server llmobs does not know, named
``openai_compatible`` from its URL alone.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import openai
from _offline import local_stack

# provider -> (the variable that enables it, its real base URL, a model it serves)
SERVERS = {
    "x_ai": ("XAI_API_KEY", "https://api.x.ai/v1", "grok-3-mini"),
    "groq": ("GROQ_API_KEY", "https://api.groq.com/openai/v1", "llama-3.1-8b-instant"),
    "ollama": ("OLLAMA_HOST", "http://127.0.0.1:11434/v1", "llama3.2"),
}
QUESTION = [{"role": "user", "content": "Say hello to the bicycle shop."}]


def ollama_base_url(host: str) -> str:
    """OLLAMA_HOST as Ollama reads it (``host``, ``host:port`` or a URL) -> its OpenAI-compatible base URL."""
    url = host if "://" in host else f"http://{host}"
    if url.count(":") < 2:
        url += ":11434"
    return url.rstrip("/") + "/v1"


def main() -> None:
    names = [env for env, _, _ in SERVERS.values()]
    # Self-hosted models have no list price: price them yourself ($0 here), or they are "unpriced".
    with local_stack("openai-compatible-example", names, traces=None,
                     details=("gen_ai.provider.name", "server.address", "server.port"),
                     prices={"ollama/llama3.2": {"input": 0, "output": 0}}) as stack, ExitStack() as fakes:
        clients: dict[str, tuple[openai.OpenAI, str]] = {}
        for provider, (env, base_url, model) in SERVERS.items():
            if stack.offline:
                from llmobs.fake_llm import FakeLLMServer
                from llmobs.instrumentation.openai import PROVIDER_HOSTS

                fake = fakes.enter_context(FakeLLMServer(latency=0.02, chunk_delay=0.002))
                PROVIDER_HOSTS[f"127.0.0.1:{fake.port}"] = provider  # this fake plays `provider`'s host
                clients[provider] = (openai.OpenAI(base_url=f"{fake.url}/v1", api_key="offline"), model)
            elif os.environ.get(env):
                url = ollama_base_url(os.environ[env]) if provider == "ollama" else base_url
                key = "ollama" if provider == "ollama" else os.environ[env]  # Ollama ignores the key
                clients[provider] = (openai.OpenAI(base_url=url, api_key=key), model)
        if stack.offline:  # a host llmobs does not know (a vLLM server, a gateway): "openai_compatible"
            clients["vllm"] = (openai.OpenAI(base_url=f"http://localhost:{stack.fake_port}/v1",
                                             api_key="offline"), "Qwen/Qwen3-8B")

        for name, (client, model) in clients.items():
            reply = client.chat.completions.create(model=model, messages=QUESTION, max_tokens=60)
            print(f"{name:>6} {model}: {reply.choices[0].message.content}")


if __name__ == "__main__":
    main()
