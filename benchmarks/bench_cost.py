"""Cost engine timings: ``PriceBook.cost()`` per call on a warm cache, and the cold first lookups.

    python benchmarks/bench_cost.py

Run it in a fresh interpreter (it is one): the first figure includes importing genai-prices and loading its
table, which happens once per process. Warm figures are the best of several rounds of the mean time per
call, in microseconds; ``genai_prices.calc_price`` is timed the same way for comparison.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from llmobs._cost import PriceBook
from llmobs._model import Usage

ROUNDS = 7
CALLS = 20_000


def per_call_us(fn: object, calls: int = CALLS) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best * 1e6


def main() -> None:
    assert "genai_prices" not in sys.modules, "importing llmobs._cost must not import genai-prices"
    book = PriceBook({"ollama/llama3.2": {"input": 0.0, "output": 0.0}, "acme-*": {"input": 1.0, "output": 2.0}})

    t0 = time.perf_counter()
    first = book.cost("openai", "gpt-4o", Usage(1000, 200))
    cold_first_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    second = book.cost("anthropic", "claude-sonnet-4-5", Usage(1000, 200))
    cold_next_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    missing = book.cost("openai", "no-such-model", Usage(1000, 200))
    cold_miss_ms = (time.perf_counter() - t0) * 1e3
    assert first is not None and second is not None and missing is None

    cases = {
        "gpt-4o, cached input": ("openai", "gpt-4o", Usage(1000, 200, cache_read_input_tokens=600), None),
        "claude-sonnet-4-5, cache read+write": (
            "anthropic", "claude-sonnet-4-5", Usage(5000, 300, cache_read_input_tokens=3000,
                                                    cache_write_input_tokens=1000), None,
        ),
        "gemini-2.5-pro, >200k (tier)": ("gcp.gemini", "gemini-2.5-pro", Usage(250_000, 2000), None),
        "o3-mini, reasoning": ("openai", "o3-mini", Usage(800, 1500, reasoning_output_tokens=1200), None),
        "claude-sonnet-4-6 (dated prices)": ("anthropic", "claude-sonnet-4-6", Usage(1000, 100), None),
        "azure deployment, response model": (
            "azure.ai.openai", "my-deployment", Usage(1000, 100), "gpt-4o-2024-08-06",
        ),
        "user price (ollama)": ("ollama", "llama3.2", Usage(1000, 100), None),
        "unknown model (negative cache)": ("openai", "no-such-model", Usage(1000, 100), None),
    }
    print(f"cold: first cost() incl. genai-prices import + table load: {cold_first_ms:8.1f} ms")
    print(f"cold: next new model (table loaded):                       {cold_next_ms:8.3f} ms")
    print(f"cold: unknown model (table loaded):                        {cold_miss_ms:8.3f} ms")
    print("warm cache, µs per cost() call:")
    for label, (provider, model, usage, response_model) in cases.items():
        book.cost(provider, model, usage, response_model)  # resolve once

        def call(p: str = provider, m: str = model, u: Usage = usage, r: str | None = response_model) -> None:
            book.cost(p, m, u, r)

        print(f"  {label:40s} {per_call_us(call):6.2f}")

    import genai_prices

    gp_usage = genai_prices.Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=600)

    def reference() -> None:
        genai_prices.calc_price(gp_usage, "gpt-4o", provider_id="openai")

    print(f"genai_prices.calc_price (gpt-4o), µs per call:  {per_call_us(reference, 2000):6.1f}")


if __name__ == "__main__":
    main()
