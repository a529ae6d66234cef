"""A model no integration covers, recorded by hand with ``llmobs.llm_call``: here Ollama's native chat API
(``/api/chat``, called with plain httpx), once whole and once streamed. The span, metrics and cost are the
same as an integration's: provider, model, server, tokens, finish reason, time to first chunk, and, with
your own prices, cost (a self-hosted model has no list price).

    pip install llmobs httpx
    python examples/manual_llm_call.py

Online: with OLLAMA_HOST set (e.g. ``127.0.0.1:11434``) and ``ollama pull llama3.2`` done, it calls your
Ollama. Offline: llmobs's fake LLM server answers ``/api/chat`` in Ollama's wire format.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import httpx
from _offline import local_stack

import llmobs

MODEL = "llama3.2"
MESSAGES = [{"role": "user", "content": "Give me one tip to keep a bicycle chain clean."}]


def chat(base_url: str) -> str:
    """One call, recorded as one LLM span."""
    url = urlsplit(base_url)
    with llmobs.llm_call(provider="ollama", model=MODEL, server_address=url.hostname, server_port=url.port,
                         temperature=0.2, input_messages=MESSAGES) as call:
        reply = httpx.post(f"{base_url}/api/chat", timeout=120, json={
            "model": MODEL, "messages": MESSAGES, "stream": False, "options": {"temperature": 0.2}}).json()
        call.set_response(model=reply["model"], finish_reasons=[reply.get("done_reason", "stop")])
        call.record_usage(input_tokens=reply["prompt_eval_count"], output_tokens=reply["eval_count"])
        call.record_output(reply["message"]["content"])  # kept only when content capture is on
        return reply["message"]["content"]


def chat_streaming(base_url: str) -> str:
    """A stream: call.record_chunk() per chunk gives gen_ai.response.time_to_first_chunk."""
    url = urlsplit(base_url)
    text: list[str] = []
    with llmobs.llm_call(provider="ollama", model=MODEL, server_address=url.hostname, server_port=url.port,
                         stream=True, max_tokens=12, input_messages=MESSAGES) as call:
        with httpx.stream("POST", f"{base_url}/api/chat", timeout=120, json={
                "model": MODEL, "messages": MESSAGES, "options": {"num_predict": 12}}) as response:
            for line in response.iter_lines():
                if not line:
                    continue
                chunk = json.loads(line)
                call.record_chunk(has_content=bool(chunk["message"]["content"]))
                text.append(chunk["message"]["content"])
                if chunk["done"]:  # Ollama's last object carries the counts; "length" here: num_predict hit
                    call.set_response(model=chunk["model"], finish_reasons=[chunk.get("done_reason", "stop")])
                    call.record_usage(input_tokens=chunk["prompt_eval_count"], output_tokens=chunk["eval_count"])
        call.record_output("".join(text))
    return "".join(text)


def ollama_url(host: str) -> str:
    url = host if "://" in host else f"http://{host}"
    return url.rstrip("/") if url.count(":") >= 2 else f"{url}:11434"


def main() -> None:
    # Your own price for a self-hosted model (USD per million tokens): the spans get a cost, and the
    # report can compare it with hosted models. Without it the calls are "unpriced" (never $0 by accident).
    with local_stack("manual-llm-call-example", "OLLAMA_HOST", traces=None, capture_content=True,
                     prices={"ollama/llama3.2": {"input": 0.05, "output": 0.10}},
                     details=("server.address", "gen_ai.response.finish_reasons", "gen_ai.output.messages")
                     ) as stack:
        base_url = stack.fake_url or ollama_url(os.environ["OLLAMA_HOST"])
        print("whole:   ", chat(base_url))
        print("streamed:", chat_streaming(base_url))


if __name__ == "__main__":
    main()
