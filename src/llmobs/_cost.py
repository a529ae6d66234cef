"""Cost: USD per LLM call, from the bundled genai-prices table and the user's own prices, never the network.

Measured here, importing genai-prices and loading its table takes about 250 ms and one
``genai_prices.calc_price`` about 150 µs, far over a per-call budget of 25 µs. So the table is loaded once,
on a background thread started by ``instrument()`` (``PriceBook.warm()``), and each (provider, model) is
resolved once into a few floats (USD per token: uncached input, cache read, cache write, output, and the
tiers of long-context prices). Pricing a call is then a dict lookup and a few multiplications (~1 µs).
Models whose prices change over time (dated or time-of-day prices) are re-resolved every hour.

User prices (``prices=`` / ``prices_file=`` / ``LLMOBS_PRICES_FILE``) take precedence::

    {"ollama/llama3.2": {"input": 0.0, "output": 0.0},          # provider-scoped (semconv provider name)
     "my-finetune": {"input": 3.0, "output": 12.0},             # any provider
     "acme-*": {"input": 1.0, "output": 2.0, "cache_read": 0.1}} # prefix (longest wins)

Values are USD per million tokens; ``input`` and ``output`` are required, ``cache_read`` and ``cache_write``
default to ``input``. A file holds the same mapping under a top-level ``"prices"`` key (JSON).

Arithmetic (genai-prices semantics): input cost = (input - cache_read - cache_write) x input rate +
cache_read x cache-read rate + cache_write x cache-write rate; output cost = output x output rate (reasoning
tokens are output tokens). Tiered prices use the cliff model: above a tier's start (total input tokens),
every token pays the tier's rate. An unknown model gets no cost (the span says ``unpriced``), never $0.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ._errors import ConfigError
from ._model import Usage
from ._safety import report

logger = logging.getLogger("llmobs")

SOURCE_USER = "user"
SOURCE_GENAI_PRICES = "genai-prices"
_PER_MILLION = 1_000_000.0
_CACHE_MAX = 4096
_LOAD_WAIT_S = 10.0
_FORK_WAIT_S = 3.0
_FIELDS = ("input", "output", "cache_read", "cache_write")

# gen_ai.provider.name -> genai-prices provider ids to try, in order.
PROVIDER_IDS: dict[str, tuple[str, ...]] = {
    "openai": ("openai",),
    "azure.ai.openai": ("azure", "openai"),
    "azure.ai.inference": ("azure",),
    "anthropic": ("anthropic",),
    "gcp.gemini": ("google",),
    "gcp.vertex_ai": ("google",),
    "gcp.gen_ai": ("google",),
    "aws.bedrock": ("aws",),
    "x_ai": ("x-ai",),
    "mistral_ai": ("mistral",),
    "deepseek": ("deepseek",),
    "groq": ("groq",),
    "perplexity": ("perplexity",),
    "cohere": ("cohere",),
    "moonshot_ai": ("moonshotai",),
    "openrouter": ("openrouter",),
    "together": ("together",),
    "fireworks": ("fireworks",),
    "cerebras": ("cerebras",),
}
_MODEL_PREFIXES = ("publishers/google/models/", "models/")


class Cost(NamedTuple):
    """USD; ``source`` is "genai-prices" or "user"."""

    total: float
    input: float
    output: float
    source: str


class Rates:
    """USD per token for one model; ``tiers`` are (start, Rates) for long-context prices, ascending."""

    __slots__ = ("cache_read", "cache_write", "input", "output", "source", "tiers")

    def __init__(self, input: float, output: float, cache_read: float | None, cache_write: float | None,
                 source: str, tiers: tuple[tuple[int, Rates], ...] = ()) -> None:
        self.input = input
        self.output = output
        self.cache_read = input if cache_read is None else cache_read
        self.cache_write = input if cache_write is None else cache_write
        self.source = source
        self.tiers = tiers

    def price(self, usage: Usage) -> Cost:
        total_in = usage.input_tokens or 0
        rates = self
        if self.tiers:
            for start, tier in reversed(self.tiers):
                if total_in > start:
                    rates = tier
                    break
        read = usage.cache_read_input_tokens or 0
        write = usage.cache_write_input_tokens or 0
        uncached = total_in - read - write
        if uncached < 0:
            uncached = 0
        cost_in = uncached * rates.input + read * rates.cache_read + write * rates.cache_write
        cost_out = (usage.output_tokens or 0) * rates.output
        return Cost(cost_in + cost_out, cost_in, cost_out, self.source)


# --- the genai-prices table, loaded once per process on a background thread ----------------------------------

_load_lock = threading.Lock()
_loaded = threading.Event()
# Calls that ended while the table was loading: finished by the loader thread once it has loaded, so no
# caller ever waits for the table. ``_drained`` is set when they have run.
_pending: list[Callable[[], None]] = []
_drained = threading.Event()
_loader: threading.Thread | None = None
_snapshot: Any = None
# (genai provider id, model ref) -> (Rates or None, valid until epoch seconds)
_resolved: dict[tuple[str, str], tuple[Rates | None, float]] = {}


def _after_fork_in_child() -> None:
    global _loader, _load_lock, _loaded, _drained
    _load_lock = threading.Lock()
    _pending.clear()  # the parent finishes its own calls
    if not _loaded.is_set():
        _loader = None  # the parent's loader thread does not exist here: start our own when needed
        _loaded = threading.Event()
        _drained = threading.Event()


def _before_fork() -> None:
    # A fork while the loader is importing genai-prices would leave the child's import locks held by a
    # thread that does not exist there; wait (briefly) for the load to finish first.
    if _loader is not None and not _loaded.is_set():
        _drained.wait(_FORK_WAIT_S)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def _load() -> None:
    global _snapshot
    try:
        from genai_prices import data_snapshot

        snapshot = data_snapshot.get_snapshot()
        _ = snapshot.providers  # the bundled data module is imported here
        _snapshot = snapshot
    except Exception as exc:  # genai-prices missing or broken: only user prices apply
        report("prices.load", exc)
    finally:
        with _load_lock:
            _loaded.set()
            pending = list(_pending)
            _pending.clear()
        for fn in pending:
            try:
                fn()
            except Exception as exc:
                report("prices.deferred", exc)
        _drained.set()


def defer(fn: Callable[[], None]) -> bool:
    """Run ``fn`` on the loader thread once the table has loaded. False (and nothing queued) if it already
    has: the caller runs ``fn`` itself."""
    with _load_lock:
        if _loaded.is_set():
            return False
        _pending.append(fn)
    _start_loader()
    return True


def wait_ready(timeout: float) -> bool:
    """Wait until the table has loaded and deferred calls have finished (True), or ``timeout`` passes."""
    if _loader is None and not _pending:
        return True
    return _drained.wait(max(timeout, 0.0))


def _start_loader() -> None:
    global _loader
    with _load_lock:
        if _loader is None and not _loaded.is_set():
            _loader = threading.Thread(target=_load, name="llmobs-prices", daemon=True)
            _loader.start()


def _table() -> Any:
    if not _loaded.is_set():
        _start_loader()
        _loaded.wait(_LOAD_WAIT_S)
    return _snapshot


def _rates_from_genai(provider_id: str, model_ref: str) -> tuple[Rates | None, float]:
    snapshot = _table()
    if snapshot is None:
        return None, math.inf
    try:
        _provider, info = snapshot.find_provider_model(model_ref, None, provider_id, None)
    except LookupError:
        return None, math.inf
    from datetime import datetime, timezone

    now = datetime.now(tz=timezone.utc)
    price = info.get_prices(now)
    dated = isinstance(info.prices, list)
    until = (math.floor(time.time() / 3600) + 1) * 3600.0 if dated else math.inf
    return _rates_from_price(price), until


def _rates_from_price(price: Any) -> Rates | None:
    from genai_prices.types import TieredPrices

    parts = {name: getattr(price, f"{name}_mtok", None) for name in _FIELDS}
    if parts["input"] is None and parts["output"] is None:
        return None  # not priced per token (per request, per second...)
    starts = sorted({t.start for v in parts.values() if isinstance(v, TieredPrices) for t in v.tiers})

    def at(value: Any, start: int | None) -> float | None:
        if value is None:
            return None
        if isinstance(value, TieredPrices):
            chosen = value.base
            if start is not None:
                for tier in value.tiers:
                    if tier.start <= start:
                        chosen = tier.price
            return float(chosen) / _PER_MILLION
        return float(value) / _PER_MILLION

    def rates(start: int | None) -> Rates:
        return Rates(
            at(parts["input"], start) or 0.0, at(parts["output"], start) or 0.0,
            at(parts["cache_read"], start), at(parts["cache_write"], start), SOURCE_GENAI_PRICES,
        )

    base = rates(None)
    base.tiers = tuple((start, rates(start)) for start in starts)
    return base


def _genai_lookup(provider_ids: tuple[str, ...], name: str) -> Rates | None:
    candidates = [name]
    lowered = name.lower()
    for prefix in _MODEL_PREFIXES:
        if lowered.startswith(prefix):
            candidates.append(name[len(prefix):])
    if "/" in name:
        candidates.append(name.rsplit("/", 1)[1])
    now = time.time()
    for provider_id in provider_ids:
        for ref in candidates:
            key = (provider_id, ref)
            hit = _resolved.get(key)
            if hit is None or hit[1] <= now:
                if len(_resolved) >= _CACHE_MAX:
                    _resolved.clear()
                hit = _rates_from_genai(provider_id, ref)
                _resolved[key] = hit
            if hit[0] is not None:
                return hit[0]
    return None


# --- user prices ------------------------------------------------------------------------------------------

def _parse_overrides(data: Any, setting: str) -> dict[str, Rates]:
    example = '{"provider/model": {"input": 1.0, "output": 2.0, "cache_read": 0.1, "cache_write": 1.25}}'
    if not isinstance(data, Mapping):
        raise ConfigError(setting, data, f"a mapping like {example} (USD per million tokens)")
    out: dict[str, Rates] = {}
    for key, spec in data.items():
        if not isinstance(key, str) or not key.strip() or key.strip().endswith("/"):
            raise ConfigError(setting, key, "keys 'model', 'provider/model' or a prefix ending in '*'")
        if not isinstance(spec, Mapping):
            raise ConfigError(setting, {key: spec}, f"a mapping like {example}")
        unknown = set(spec) - set(_FIELDS)
        if unknown:
            raise ConfigError(setting, {key: sorted(unknown)}, f"price fields {list(_FIELDS)}")
        values: dict[str, float | None] = {}
        for name in _FIELDS:
            value = spec.get(name)
            if value is None:
                if name in ("input", "output"):
                    raise ConfigError(setting, {key: dict(spec)}, "both 'input' and 'output' (USD per million tokens)")
                values[name] = None
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(setting, {key: {name: value}}, "numbers >= 0 (USD per million tokens)")
            values[name] = float(value) / _PER_MILLION
        out[key.strip()] = Rates(values["input"] or 0.0, values["output"] or 0.0, values["cache_read"],
                                 values["cache_write"], SOURCE_USER)
    return out


def _read_file(path: str, setting: str) -> dict[str, Rates]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ConfigError(setting, path, f"a readable JSON file ({exc.strerror or exc})")
    except ValueError as exc:
        raise ConfigError(setting, path, f'a JSON file like {{"prices": {{...}}}} (invalid JSON: {exc})')
    if not isinstance(data, Mapping) or "prices" not in data:
        raise ConfigError(setting, path, 'a JSON object with a top-level "prices" mapping')
    return _parse_overrides(data["prices"], setting)


class PriceBook:
    """Prices LLM calls. ``cost()`` never raises and returns None for an unpriced call."""

    def __init__(
        self,
        overrides: Mapping[str, Mapping[str, float]] | None = None,
        overrides_file: str | None = None,
        *,
        file_setting: str = "prices_file",
        use_genai_prices: bool = True,
    ) -> None:
        merged: dict[str, Rates] = {}
        if overrides_file:
            merged.update(_read_file(overrides_file, file_setting))
        if overrides is not None:
            merged.update(_parse_overrides(overrides, "prices"))  # the argument wins over the file
        self._exact = {k: v for k, v in merged.items() if not k.endswith("*")}
        self._prefixes = sorted(
            ((k[:-1], v) for k, v in merged.items() if k.endswith("*")), key=lambda kv: len(kv[0]), reverse=True
        )
        self._use_genai = use_genai_prices
        self._cache: dict[tuple[str | None, str | None, str | None], Rates | None] = {}
        self._cache_until: dict[tuple[str | None, str | None, str | None], float] = {}

    def warm(self) -> None:
        """Start loading the bundled table in the background (no network). Idempotent."""
        if self._use_genai:
            _start_loader()

    def ready(self) -> bool:
        """True when ``cost()`` will not wait for the table."""
        return not self._use_genai or _loaded.is_set()

    def defer(self, fn: Callable[[], None]) -> bool:
        """Queue ``fn`` to run when the table has loaded; False if it is ready now (run ``fn`` yourself)."""
        return self._use_genai and defer(fn)

    def cost(self, provider: str | None, model: str | None, usage: Usage,
             response_model: str | None = None) -> Cost | None:
        try:
            if usage.input_tokens is None and usage.output_tokens is None:
                return None
            key = (provider, model, response_model)
            rates = self._cache.get(key, _MISSING)
            if rates is _MISSING or (key in self._cache_until and self._cache_until[key] <= time.time()):
                rates = self._resolve(provider, model, response_model, key)
            if rates is None:
                return None
            return rates.price(usage)
        except Exception as exc:
            report("prices.cost", exc)
            return None

    def _resolve(self, provider: str | None, model: str | None, response_model: str | None,
                 key: tuple[str | None, str | None, str | None]) -> Rates | None:
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
            self._cache_until.clear()
        names = [n for n in (response_model, model) if n]
        rates = self._user_rates(provider, names)
        if rates is None and self._use_genai and provider in PROVIDER_IDS:
            ids = PROVIDER_IDS[provider]
            for name in names:
                rates = _genai_lookup(ids, name)
                if rates is not None:
                    until = min((_resolved.get((i, name), (None, math.inf))[1] for i in ids), default=math.inf)
                    if until != math.inf:
                        self._cache_until[key] = until
                    break
        self._cache[key] = rates
        return rates

    def _user_rates(self, provider: str | None, names: list[str]) -> Rates | None:
        if not self._exact and not self._prefixes:
            return None
        for name in names:
            if provider and f"{provider}/{name}" in self._exact:
                return self._exact[f"{provider}/{name}"]
            if name in self._exact:
                return self._exact[name]
        for name in names:
            scoped = f"{provider}/{name}" if provider else None
            for prefix, rates in self._prefixes:
                if (scoped is not None and scoped.startswith(prefix)) or name.startswith(prefix):
                    return rates
        return None


_MISSING: Any = object()
