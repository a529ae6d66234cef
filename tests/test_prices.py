"""Cost (scenario 18): our fast path agrees with genai-prices, is cache- and reasoning-aware, handles tiers,
dated prices and odd model names, says "unpriced" for unknown models, and takes user prices offline."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest
from genai_prices import Usage as GPUsage
from genai_prices import calc_price

from llmobs import ConfigError, _cost
from llmobs._cost import PriceBook
from llmobs._model import Usage
from tests.support.subproc import run_py


def reference(model, provider_id, usage: Usage) -> float:
    gp = GPUsage(
        input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens or 0, cache_write_tokens=usage.cache_write_input_tokens or 0,
    )
    return float(calc_price(gp, model, provider_id=provider_id,
                            genai_request_timestamp=datetime.now(tz=timezone.utc)).total_price)


@pytest.mark.parametrize(
    ("provider", "provider_id", "model", "usage"),
    [
        ("openai", "openai", "gpt-4o", Usage(1000, 500, cache_read_input_tokens=200)),
        ("openai", "openai", "gpt-4o-2024-08-06", Usage(1000, 500)),
        ("openai", "openai", "o3-mini", Usage(800, 1500, reasoning_output_tokens=1200)),
        ("anthropic", "anthropic", "claude-sonnet-4-5", Usage(5000, 300, cache_read_input_tokens=3000,
                                                             cache_write_input_tokens=1000)),
        ("anthropic", "anthropic", "claude-sonnet-4-5", Usage(250_000, 300, cache_read_input_tokens=100_000)),
        ("gcp.gemini", "google", "gemini-2.5-pro", Usage(150_000, 2000)),
        ("gcp.gemini", "google", "gemini-2.5-pro", Usage(250_000, 2000, cache_read_input_tokens=50_000)),
        ("gcp.vertex_ai", "google", "gemini-2.5-flash", Usage(1000, 100, cache_read_input_tokens=500)),
        ("x_ai", "x-ai", "grok-4", Usage(1000, 100)),
        ("anthropic", "anthropic", "claude-sonnet-4-6", Usage(1000, 100)),  # a dated price change
    ],
)
def test_agrees_with_genai_prices(provider, provider_id, model, usage):
    cost = PriceBook().cost(provider, model, usage)
    assert cost is not None
    assert cost.source == "genai-prices"
    assert cost.total == pytest.approx(reference(model, provider_id, usage), rel=1e-9)
    assert cost.input + cost.output == pytest.approx(cost.total, rel=1e-12)


def test_cached_tokens_are_cheaper_and_reasoning_is_output():
    book = PriceBook()
    plain = book.cost("openai", "gpt-4o", Usage(1000, 0))
    cached = book.cost("openai", "gpt-4o", Usage(1000, 0, cache_read_input_tokens=1000))
    assert cached.total == pytest.approx(plain.total / 2)  # $1.25 vs $2.50 per M
    with_reasoning = book.cost("openai", "gpt-4o", Usage(0, 100, reasoning_output_tokens=80))
    without = book.cost("openai", "gpt-4o", Usage(0, 100))
    assert with_reasoning.total == without.total  # reasoning tokens are part of output, not extra


def test_tiers_use_the_cliff_model():
    book = PriceBook()
    below = book.cost("gcp.gemini", "gemini-2.5-pro", Usage(200_000, 0))
    above = book.cost("gcp.gemini", "gemini-2.5-pro", Usage(200_001, 0))
    assert above.total / 200_001 > below.total / 200_000 * 1.5  # every token pays the long-context rate


def test_response_model_first_then_request_model():
    book = PriceBook()
    # an Azure deployment name is arbitrary; the response names the real model
    cost = book.cost("azure.ai.openai", "my-prod-deployment", Usage(1000, 100), response_model="gpt-4o-2024-08-06")
    assert cost is not None
    assert cost.total == pytest.approx(reference("gpt-4o", "openai", Usage(1000, 100)), rel=1e-9)
    assert book.cost("openai", "gpt-4o-mini", Usage(1000, 100), response_model="not-a-model") is not None


@pytest.mark.parametrize("name", ["models/gemini-2.5-flash", "publishers/google/models/gemini-2.5-flash"])
def test_prefixed_gemini_names(name):
    cost = PriceBook().cost("gcp.vertex_ai", name, Usage(1000, 100))
    assert cost is not None
    assert cost.total == pytest.approx(reference("gemini-2.5-flash", "google", Usage(1000, 100)), rel=1e-9)


def test_provider_prefixed_name():
    assert PriceBook().cost("openai", "openai/gpt-4o", Usage(10, 10)) is not None


def test_unknown_model_local_provider_and_no_usage_are_unpriced():
    book = PriceBook()
    assert book.cost("openai", "definitely-not-a-model", Usage(10, 10)) is None
    assert book.cost("ollama", "llama3.2", Usage(10, 10)) is None
    assert book.cost("openai", "gpt-4o", Usage()) is None


def test_user_prices_exact_scoped_prefix_precedence_and_zero():
    book = PriceBook({
        "ollama/llama3.2": {"input": 0.0, "output": 0.0},
        "my-finetune": {"input": 3.0, "output": 12.0, "cache_read": 0.3},
        "acme-*": {"input": 1.0, "output": 2.0},
        "acme-large*": {"input": 10.0, "output": 20.0},
        "gpt-4o": {"input": 100.0, "output": 100.0},
    })
    zero = book.cost("ollama", "llama3.2", Usage(1000, 1000))
    assert (zero.total, zero.source) == (0.0, "user")
    assert book.cost("vllm", "llama3.2", Usage(1000, 1000)) is None  # scoped to ollama only
    ft = book.cost("vllm", "my-finetune", Usage(1_000_000, 1_000_000, cache_read_input_tokens=500_000))
    assert ft.total == pytest.approx(500_000 * 3e-6 + 500_000 * 0.3e-6 + 12.0)
    assert book.cost("x", "acme-small-2", Usage(1_000_000, 0)).total == pytest.approx(1.0)
    assert book.cost("x", "acme-large-2", Usage(1_000_000, 0)).total == pytest.approx(10.0)  # longest prefix
    assert book.cost("openai", "gpt-4o", Usage(1_000_000, 0)).total == pytest.approx(100.0)  # user wins


def test_prices_file(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"prices": {"ollama/llama3.2": {"input": 0.1, "output": 0.2}}}))
    book = PriceBook(overrides_file=str(path), file_setting="LLMOBS_PRICES_FILE")
    assert book.cost("ollama", "llama3.2", Usage(1_000_000, 1_000_000)).total == pytest.approx(0.3)


@pytest.mark.parametrize(
    "overrides",
    [
        {"m": {"input": 1.0}},
        {"m": {"input": 1.0, "output": -1}},
        {"m": {"input": "1", "output": 1}},
        {"m": {"input": 1.0, "output": 1.0, "cached": 1.0}},
        {"m": 5},
        {"": {"input": 1, "output": 1}},
        [("m", 1)],
        {"m": {"input": float("nan"), "output": 1}},
        {"m": {"input": True, "output": 1}},
    ],
)
def test_bad_user_prices_name_the_setting(overrides):
    with pytest.raises(ConfigError) as info:
        PriceBook(overrides)
    assert info.value.setting == "prices"
    assert "prices" in str(info.value)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "readable"), ("{not json", "invalid JSON"), ('{"models": {}}', '"prices"'),
     ('{"prices": {"m": {"input": 1}}}', "output")],
)
def test_bad_prices_file(tmp_path, content, fragment):
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        PriceBook(overrides_file=str(path), file_setting="LLMOBS_PRICES_FILE")
    assert info.value.setting == "LLMOBS_PRICES_FILE"
    assert fragment in str(info.value)


def test_instrument_validates_prices_eagerly(llmobs_capture, monkeypatch, tmp_path):
    import llmobs

    monkeypatch.setenv("LLMOBS_PRICES_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="LLMOBS_PRICES_FILE"):
        llmobs.instrument()
    monkeypatch.delenv("LLMOBS_PRICES_FILE")
    with pytest.raises(ConfigError, match="for prices;"):
        llmobs.instrument(prices={"m": {"input": 1}})
    assert not llmobs.is_instrumented()


def test_dated_prices_are_re_resolved_hourly(monkeypatch):
    book = PriceBook()
    usage = Usage(1000, 100)
    assert book.cost("anthropic", "claude-sonnet-4-6", usage) is not None
    key = ("anthropic", "claude-sonnet-4-6", None)
    assert key in book._cache_until  # dated model: cached until the next hour
    calls = []
    real = _cost._rates_from_genai
    monkeypatch.setattr(_cost, "_rates_from_genai", lambda *a: calls.append(a) or real(*a))
    book.cost("anthropic", "claude-sonnet-4-6", usage)
    assert calls == []  # still cached
    later = book._cache_until[key] + 1
    monkeypatch.setattr(_cost.time, "time", lambda: later)
    book.cost("anthropic", "claude-sonnet-4-6", usage)
    assert calls  # re-resolved after the hour
    assert ("openai", "gpt-4o", None) not in book._cache_until  # undated: cached for good


def test_caches_stay_bounded(monkeypatch):
    monkeypatch.setattr(_cost, "_CACHE_MAX", 50)
    book = PriceBook()
    for i in range(500):
        assert book.cost("openai", f"unknown-model-{i}", Usage(1, 1)) is None
    assert len(book._cache) <= 50
    assert len(_cost._resolved) <= 50


def test_concurrent_first_use_from_threads():
    book = PriceBook()
    book.warm()
    results = []

    def work():
        results.append(book.cost("openai", "gpt-4o-mini", Usage(1000, 100)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len({r.total for r in results}) == 1


def test_genai_prices_is_imported_lazily_and_never_fetches():
    out = run_py("""
        import json, sys
        import llmobs._cost as c
        before = "genai_prices" in sys.modules
        book = c.PriceBook()
        cost = book.cost("openai", "gpt-4o", c.Usage(1000, 100))
        print(json.dumps({"before": before, "after": "genai_prices" in sys.modules, "cost": cost.total,
                          "update_prices_running": c._snapshot.from_auto_update}))
    """)
    assert out["before"] is False
    assert out["after"] is True
    assert out["cost"] > 0
    assert out["update_prices_running"] is False


def test_a_broken_price_table_means_unpriced_not_an_error(monkeypatch):
    class Broken:
        def find_provider_model(self, *a):
            raise RuntimeError("corrupt table")

    monkeypatch.setattr(_cost, "_snapshot", Broken())
    monkeypatch.setattr(_cost, "_resolved", {})
    assert PriceBook().cost("openai", "gpt-4o", Usage(1, 1)) is None


def test_no_caller_waits_for_the_price_table():
    """A call ending while the table is still loading returns at once; its span ends, priced, from the
    loader thread with the end time measured when the call ended."""
    out = run_py("""
        import json, time
        import llmobs
        from llmobs import _cost
        from llmobs.testing import capture
        real_load = _cost._load
        def slow_load():
            time.sleep(0.5)
            real_load()
        _cost._load = slow_load
        with capture() as cap:
            llmobs._runtime.get().prices.warm()
            t = time.perf_counter()
            with llmobs.llm_call(provider="openai", model="gpt-4o") as call:
                call.record_usage(1000, 100)
            call_s = time.perf_counter() - t
            pending_before = len(cap.exporter.get_finished_spans())
            (rc,) = cap.llm_calls()  # waits for the loader
            duration_s = (rc.span.end_time - rc.span.start_time) / 1e9
        print(json.dumps({"call_s": call_s, "pending_before": pending_before, "cost": rc.cost,
                          "duration_s": duration_s}))
    """)
    assert out["call_s"] < 0.1
    assert out["pending_before"] == 0  # not ended yet: the loader ends it
    assert out["cost"] == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    assert out["duration_s"] < 0.1  # the span's end is when the call ended, not when it was priced
