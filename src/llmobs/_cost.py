"""Cost of an LLM call in USD: the user's own prices first, then the bundled genai-prices table; never the network.

Why this module does not just call ``genai_prices.calc_price``: importing genai-prices and loading its table
takes about 250 ms, and one ``calc_price`` about 150 µs, while all of llmobs must stay within ~25 µs per call.
So the table is imported lazily, on one daemon thread (``PriceBook.warm()``, started by ``instrument()``), and
each (provider, model) seen is resolved once into a few floats (:class:`Rates`, USD per token). Pricing a
call is then a dict lookup and a handful of multiplications (about 1 µs). Models whose genai-prices entry is a
list of conditional prices (a price that starts on a date, off-peak hours) are re-resolved at the next UTC
hour, or earlier at the next time-of-day boundary, so dated price changes apply. Unknown models are cached too
(as "unpriced"); every cache is bounded.

Arithmetic (genai-prices semantics; ``input_tokens`` includes cached tokens, ``output_tokens`` includes
reasoning tokens)::

    input cost  = (input - cache_read - cache_write) x input rate      # never below zero tokens
                  + cache_read x cache-read rate + cache_write x cache-write rate
    output cost = output x output rate                                 # reasoning tokens are output tokens
    total       = input cost + output cost (+ a per-request fee where genai-prices has one, e.g. Perplexity)

A cache rate the price does not state is the input rate. Where genai-prices prices reasoning tokens apart
(``output_reasoning_mtok``), those tokens pay that rate. Long-context prices use the cliff model: once the
total input tokens exceed a tier's start, every token pays that tier's rates. Usage genai-prices can price
that llmobs does not record (web searches, audio seconds, images) is not charged. An unknown model gets no
cost at all (the span says ``unpriced``), never $0.

Provider names are OpenTelemetry ``gen_ai.provider.name`` values, mapped to genai-prices provider ids by
:data:`PROVIDER_IDS`; any other provider (ollama, a local vLLM, ...) is priced only by the user's prices.
The response model is tried before the request model (an Azure deployment name is arbitrary; the response
names the real model), each as given and then without a ``models/``-style or ``<provider>/`` prefix.

User prices (``instrument(prices=...)``, ``prices_file=`` or ``LLMOBS_PRICES_FILE``) take precedence over
genai-prices. Keys are ``"model"`` (any provider) or ``"provider/model"`` (the semconv provider name); a
trailing ``*`` makes the model part a prefix (the longest matching prefix wins; exact keys win over
prefixes). Matching ignores case. Values are USD per **million** tokens: ``input`` and ``output`` are
required, ``cache_read`` and ``cache_write`` are optional and default to ``input``. A prices file is JSON
holding the same mapping under one top-level key, ``"prices"``::

    {
      "prices": {
        "ollama/llama3.2": {"input": 0, "output": 0},
        "my-finetune":     {"input": 3.0, "output": 12.0, "cache_read": 0.3},
        "acme-*":          {"input": 1.0, "output": 2.0, "cache_write": 1.25}
      }
    }

Prices given as an argument win over the file for the same key. Anything malformed raises
:class:`~llmobs.ConfigError` naming the setting when the ``PriceBook`` is built (at ``instrument()``).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._errors import ConfigError
from ._model import Usage
from ._safety import report

__all__ = ["PROVIDER_IDS", "Cost", "PriceBook", "Rates", "defer", "wait_ready"]

SOURCE_USER = "user"
SOURCE_GENAI_PRICES = "genai-prices"

# gen_ai.provider.name -> genai-prices provider ids, tried in order.
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

_CACHE_MAX = 4096  # entries per cache; a full cache is cleared (names come from API responses: unbounded)
_LOAD_WAIT_S = 10.0  # longest a first cost() waits for the table to finish loading
_FORK_WAIT_S = 3.0  # longest a fork waits for a load in progress (see _before_fork)
_HOUR = 3600.0
_DAY = 86400.0
_INF = math.inf
_FIELDS = ("input", "output", "cache_read", "cache_write")
_EXAMPLE = '{"provider/model": {"input": 2.5, "output": 10.0, "cache_read": 1.25, "cache_write": 3.0}}'


@dataclass(frozen=True, slots=True)
class Cost:
    """The cost of one call in USD. ``source`` is ``"user"`` or ``"genai-prices"``."""

    total: float
    input: float
    output: float
    source: str


# The frozen dataclass's generated __init__ sets each field through object.__setattr__; setting the slots
# directly builds the same object (no __post_init__, nothing else runs) in about half the time.
_new_cost = object.__new__
_set_total = vars(Cost)["total"].__set__
_set_input = vars(Cost)["input"].__set__
_set_output = vars(Cost)["output"].__set__
_set_source = vars(Cost)["source"].__set__


class Rates:
    """Prices of one model in USD per token (per request for ``request``).

    ``tiers`` holds the long-context prices as ``(start, Rates)`` pairs, highest start first: a call whose
    total input tokens exceed ``start`` pays that tier's rates for every token. ``reasoning`` is None when
    reasoning tokens pay the output rate.
    """

    __slots__ = ("cache_read", "cache_write", "input", "output", "reasoning", "request", "source", "tiers")

    def __init__(
        self,
        input: float,
        output: float,
        cache_read: float | None = None,
        cache_write: float | None = None,
        *,
        reasoning: float | None = None,
        request: float = 0.0,
        source: str = SOURCE_USER,
        tiers: tuple[tuple[int, Rates], ...] = (),
    ) -> None:
        self.input = input
        self.output = output
        self.cache_read = input if cache_read is None else cache_read
        self.cache_write = input if cache_write is None else cache_write
        self.reasoning = None if reasoning == output else reasoning
        self.request = request
        self.source = source
        self.tiers = tiers

    def __repr__(self) -> str:
        per_m = ", ".join(
            f"{n}={getattr(self, n) * 1e6:g}/M" for n in ("input", "output", "cache_read", "cache_write")
        )
        return f"Rates({per_m}, source={self.source!r}, tiers={[t[0] for t in self.tiers]})"


class _TableNotReady(Exception):
    """The genai-prices table did not finish loading in time: price nothing, cache nothing."""


# --- the genai-prices table: loaded at most once per process, on one daemon thread ---------------------------

_lock = threading.Lock()
_loaded = threading.Event()  # the load finished (successfully or not)
_drained = threading.Event()  # ... and the calls deferred until then have run
_pending: list[Callable[[], None]] = []
_loader: threading.Thread | None = None
_snapshot: Any = None  # genai_prices.data_snapshot.DataSnapshot once loaded; None if genai-prices is unusable
# (genai-prices provider id, lower-cased model ref) -> (Rates or None, expiry in epoch seconds; inf = never)
_resolved: dict[tuple[str, str], tuple[Rates | None, float]] = {}


def _load() -> None:
    """Import genai-prices and its bundled table (the loader thread's body). Never fetches anything."""
    global _snapshot
    try:
        from genai_prices import data_snapshot, types  # noqa: F401  (types: used by _rates_from_price)

        snapshot = data_snapshot.get_snapshot()
        _ = snapshot.providers  # the bundled table is built by now
        _snapshot = snapshot
    except Exception as exc:  # genai-prices missing or broken: only the user's prices apply
        report("prices.load", exc)
    finally:
        with _lock:
            _loaded.set()
            pending = _pending[:]
            _pending.clear()
        for fn in pending:
            try:
                fn()
            except Exception as exc:
                report("prices.deferred", exc)
        _drained.set()


def _start_loader() -> bool:
    """Start the loader thread unless it is started or done. False only if no thread could be started."""
    global _loader
    with _lock:
        if _loader is not None or _loaded.is_set():
            return True
        thread = threading.Thread(target=_load, name="llmobs-prices", daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # e.g. during interpreter shutdown
            report("prices.thread", exc)
            return False
        _loader = thread
        return True


def _table() -> Any:
    """The genai-prices snapshot (None if unusable), waiting for the loader the first time if needed."""
    if not _loaded.is_set():
        if not _start_loader():
            _load()  # no thread available: load here, once
        if not _loaded.wait(_LOAD_WAIT_S):
            raise _TableNotReady()
    return _snapshot


def defer(fn: Callable[[], None]) -> bool:
    """Run ``fn`` on the loader thread once the table has loaded (starting the load if needed).

    Returns False, queuing nothing, if the table has already loaded: the caller runs ``fn`` itself.
    """
    with _lock:
        if _loaded.is_set():
            return False
        _pending.append(fn)
    if not _start_loader():
        with _lock:
            try:
                _pending.remove(fn)
            except ValueError:  # pragma: no cover - a racing load already ran it
                return True
        return False
    return True


def wait_ready(timeout: float) -> bool:
    """Wait until the table has loaded and the deferred calls have run (True), or ``timeout`` seconds pass."""
    if _loader is None and not _pending:
        return True
    return _drained.wait(max(timeout, 0.0))


def _before_fork() -> None:
    # A child forked while the loader thread holds an import lock would inherit that lock held by a thread it
    # does not have; let a load in progress (and the calls deferred to it) finish first: a fraction of a second.
    if _loader is not None and not _drained.is_set():
        _drained.wait(_FORK_WAIT_S)


def _after_fork_in_child() -> None:
    global _lock, _loader, _loaded, _drained
    loaded = _loaded.is_set()
    # Fresh synchronisation objects: the parent's may have been held by a thread the child does not have.
    _lock = threading.Lock()
    _loaded = threading.Event()
    _drained = threading.Event()
    _pending.clear()  # the parent finishes its own deferred calls
    if loaded:
        _loaded.set()
        _drained.set()
    else:  # the parent's loader thread does not exist here: load again when needed
        _loader = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


# --- from a genai-prices entry to Rates ----------------------------------------------------------------------

def _rates_from_genai(provider_id: str, model_ref: str) -> tuple[Rates | None, float]:
    """Resolve one model in one genai-prices provider: (Rates or None if unknown/unpriceable, expiry)."""
    snapshot = _table()
    if snapshot is None:
        return None, _INF
    try:
        _provider, info = snapshot.find_provider_model(model_ref, None, provider_id, None)
    except LookupError:
        return None, _INF
    prices = info.prices
    if not isinstance(prices, list):  # one ModelPrice: valid for good
        return _rates_from_price(prices), _INF
    # Conditional prices (start dates, time of day): resolve for now, valid until the next possible change.
    now = time.time()
    price = info.get_prices(datetime.fromtimestamp(now, tz=timezone.utc))
    return _rates_from_price(price), _next_change(prices, now)


def _next_change(conditional_prices: Iterable[Any], now: float) -> float:
    """The next UTC hour boundary, or an earlier time-of-day boundary of one of the constraints."""
    until = (now // _HOUR + 1) * _HOUR  # start dates are UTC dates: they change on an hour boundary
    day_start = now - now % _DAY
    for conditional in conditional_prices:
        constraint = getattr(conditional, "constraint", None)
        for moment in (getattr(constraint, "start_time", None), getattr(constraint, "end_time", None)):
            if moment is None:
                continue
            seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
            offset = moment.utcoffset()
            if offset is not None:
                seconds -= offset.total_seconds()
            boundary = day_start + seconds % _DAY
            if boundary <= now:
                boundary += _DAY
            until = min(until, boundary)
    return until


def _rates_from_price(price: Any) -> Rates | None:
    """A genai-prices ``ModelPrice`` as Rates; None when it has no per-token input or output price."""
    from genai_prices.types import TieredPrices

    values = {
        name: getattr(price, key, None)
        for name, key in (
            ("input", "input_mtok"),
            ("output", "output_mtok"),
            ("cache_read", "cache_read_mtok"),
            ("cache_write", "cache_write_mtok"),
            ("reasoning", "output_reasoning_mtok"),
            ("request", "requests_kcount"),
        )
    }
    if values["input"] is None and values["output"] is None:
        return None  # priced per request, second, character... only: not something tokens can price
    starts = sorted({tier.start for v in values.values() if isinstance(v, TieredPrices) for tier in v.tiers})

    def at(name: str, start: int | None, per: float = 1e6) -> float | None:
        value = values[name]
        if value is None:
            return None
        if isinstance(value, TieredPrices):
            chosen = value.base
            if start is not None:
                for tier in value.tiers:  # ascending
                    if tier.start <= start:
                        chosen = tier.price
            value = chosen
        return float(value) / per

    def build(start: int | None, tiers: tuple[tuple[int, Rates], ...] = ()) -> Rates:
        output = at("output", start) or 0.0
        reasoning = at("reasoning", start)
        return Rates(
            at("input", start) or 0.0,
            output,
            at("cache_read", start),
            at("cache_write", start),
            reasoning=reasoning,
            request=at("request", start, 1e3) or 0.0,
            source=SOURCE_GENAI_PRICES,
            tiers=tiers,
        )

    return build(None, tuple((start, build(start)) for start in reversed(starts)))


def _genai_rates(provider_ids: tuple[str, ...], names: list[str]) -> tuple[Rates | None, float]:
    """The first of ``names`` (in order) known to one of ``provider_ids``, through the process-wide cache."""
    now = time.time()
    for name in names:
        for provider_id in provider_ids:
            key = (provider_id, name)
            hit = _resolved.get(key)
            if hit is None or hit[1] <= now:
                try:
                    hit = _rates_from_genai(provider_id, name)
                except _TableNotReady:
                    raise
                except Exception as exc:  # a broken entry or table: this name is unpriced
                    report("prices.lookup", exc)
                    hit = (None, _INF)
                if len(_resolved) >= _CACHE_MAX:
                    _resolved.clear()
                _resolved[key] = hit
            if hit[0] is not None:
                return hit
    return None, _INF


def _names(*models: str | None) -> list[str]:
    """Model names to try, in order: each as given, then without a ``.../models/`` or ``<provider>/`` prefix."""
    out: list[str] = []
    for model in models:
        if not model or not isinstance(model, str):
            continue
        name = model.strip().lower()
        variants = [name]
        cut = name.rfind("models/")  # models/gemini-2.5-pro, publishers/google/models/..., projects/.../models/
        if cut >= 0:
            variants.append(name[cut + len("models/"):])
        if "/" in name:
            variants.append(name.split("/", 1)[1])  # openai/gpt-4o
            variants.append(name.rsplit("/", 1)[1])
        for variant in variants:
            if variant and variant not in out:
                out.append(variant)
    return out


# --- the user's prices -------------------------------------------------------------------------------------

def _parse_prices(data: Any, setting: str) -> dict[str, Rates]:
    """Validate a user price mapping (USD per million tokens) into Rates keyed by lower-cased key."""
    if not isinstance(data, Mapping):
        raise ConfigError(setting, data, f"a mapping like {_EXAMPLE} (USD per million tokens)")
    out: dict[str, Rates] = {}
    for raw_key, spec in data.items():
        key = raw_key.strip().lower() if isinstance(raw_key, str) else ""
        model_part = key.rsplit("/", 1)[-1] if "/" in key else key
        if not key or key.startswith("/") or not model_part or "*" in key[:-1]:
            raise ConfigError(
                setting, raw_key,
                "keys 'model' or 'provider/model' (semconv provider name), with an optional trailing '*' "
                "for a model-name prefix",
            )
        if not isinstance(spec, Mapping):
            raise ConfigError(setting, {raw_key: spec}, f"a mapping like {_EXAMPLE} (USD per million tokens)")
        unknown = [k for k in spec if k not in _FIELDS]
        if unknown:
            raise ConfigError(
                setting, {raw_key: {k: spec[k] for k in unknown}},
                f"price fields {', '.join(repr(f) for f in _FIELDS)} (USD per million tokens)",
            )
        missing = [f for f in ("input", "output") if f not in spec]
        if missing:
            raise ConfigError(
                setting, {raw_key: dict(spec)},
                "both 'input' and 'output' (USD per million tokens); 'cache_read' and 'cache_write' optional",
            )
        per_token: dict[str, float | None] = {}
        for field in _FIELDS:
            value = spec.get(field)
            if field not in spec:
                per_token[field] = None
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not math.isfinite(float(value))
                or float(value) < 0
            ):
                raise ConfigError(
                    setting, {raw_key: {field: value}}, "finite numbers >= 0 (USD per million tokens)"
                )
            per_token[field] = float(value) / 1e6
        out[key] = Rates(
            per_token["input"] or 0.0,
            per_token["output"] or 0.0,
            per_token["cache_read"],
            per_token["cache_write"],
            source=SOURCE_USER,
        )
    return out


def _read_prices_file(path: Any, setting: str) -> dict[str, Rates]:
    shape = 'a JSON file like {"prices": ' + _EXAMPLE + "} (USD per million tokens)"
    try:
        with open(os.fspath(path), "rb") as fh:
            text = fh.read()  # json detects UTF-8/16/32
    except (OSError, TypeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(setting, path, f"the path of a readable JSON file ({reason})")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(setting, path, f"{shape}; the file has invalid JSON: {exc}")
    if not isinstance(data, dict) or "prices" not in data:
        raise ConfigError(setting, path, f'{shape}; the top-level "prices" key is missing')
    extra = [k for k in data if k != "prices"]
    if extra:
        raise ConfigError(setting, path, f'{shape}; only the top-level key "prices" (found {extra!r})')
    return _parse_prices(data["prices"], setting)


# --- the price book ----------------------------------------------------------------------------------------

_MISS: Any = object()


class PriceBook:
    """Prices LLM calls: the user's prices, then genai-prices. ``cost()`` never raises.

    ``overrides`` and the JSON file ``overrides_file`` are validated here (no genai-prices import); errors
    raise :class:`ConfigError` naming ``"prices"`` or ``file_setting``. ``use_genai_prices=False`` prices
    only what the user priced.
    """

    def __init__(
        self,
        overrides: Mapping[str, Mapping[str, float]] | None = None,
        overrides_file: str | None = None,
        *,
        file_setting: str = "prices_file",
        use_genai_prices: bool = True,
    ) -> None:
        user: dict[str, Rates] = {}
        if overrides_file is not None:
            user.update(_read_prices_file(overrides_file, file_setting))
        if overrides is not None:
            user.update(_parse_prices(overrides, "prices"))  # the argument wins over the file
        self._exact = {k: v for k, v in user.items() if not k.endswith("*")}
        self._prefixes = sorted(
            ((k[:-1], v) for k, v in user.items() if k.endswith("*")), key=lambda kv: len(kv[0]), reverse=True
        )
        self._use_genai = bool(use_genai_prices)
        # (provider, model, response_model) -> Rates, or None for unpriced.
        self._cache: dict[tuple[Any, Any, Any], Rates | None] = {}
        # Expiry (epoch seconds) of the entries above that come from conditional (dated) prices.
        self._cache_until: dict[tuple[Any, Any, Any], float] = {}

    def warm(self) -> None:
        """Start loading the genai-prices table on a daemon thread (no network). Idempotent, returns at once."""
        if self._use_genai:
            try:
                _start_loader()
            except Exception as exc:
                report("prices.warm", exc)

    def ready(self) -> bool:
        """True when ``cost()`` cannot have to wait for the table to load."""
        return not self._use_genai or _loaded.is_set()

    def defer(self, fn: Callable[[], None]) -> bool:
        """Queue ``fn`` to run on the loader thread once the table has loaded; False (nothing queued) if it
        needs no waiting: the caller runs ``fn`` itself."""
        return self._use_genai and defer(fn)

    def cost(
        self, provider: str | None, model: str | None, usage: Usage, response_model: str | None = None
    ) -> Cost | None:
        """The call's cost, or None if it is unpriced (unknown model, or no token counts). Never raises."""
        try:
            n_in = usage.input_tokens
            n_out = usage.output_tokens
            if n_in is None and n_out is None:
                return None
            key = (provider, model, response_model)
            rates = self._cache.get(key, _MISS)
            if rates is _MISS:
                rates = self._resolve(key)
            elif self._cache_until:
                until = self._cache_until.get(key)
                if until is not None and until <= time.time():
                    rates = self._resolve(key)
            if rates is None:
                return None
            n_in = n_in or 0
            if rates.tiers:
                for start, tier in rates.tiers:  # highest first; cliff: the whole call pays the tier rates
                    if n_in > start:
                        rates = tier
                        break
            read = usage.cache_read_input_tokens or 0
            write = usage.cache_write_input_tokens or 0
            uncached = n_in - read - write
            if uncached < 0:
                uncached = 0
            cost_in = uncached * rates.input + read * rates.cache_read + write * rates.cache_write
            n_out = n_out or 0
            if rates.reasoning is None:
                cost_out = n_out * rates.output
            else:
                thought = usage.reasoning_output_tokens or 0
                if thought > n_out:
                    thought = n_out
                cost_out = (n_out - thought) * rates.output + thought * rates.reasoning
            cost = _new_cost(Cost)  # = Cost(total, input, output, source), in half the time
            _set_total(cost, cost_in + cost_out + rates.request)
            _set_input(cost, cost_in)
            _set_output(cost, cost_out)
            _set_source(cost, rates.source)
            return cost
        except Exception as exc:
            report("prices.cost", exc)
            return None

    def _resolve(self, key: tuple[Any, Any, Any]) -> Rates | None:
        provider, model, response_model = key
        names = _names(response_model, model)
        rates = self._user_rates(provider, names)
        until = _INF
        if rates is None and self._use_genai and isinstance(provider, str) and names:
            provider_ids = PROVIDER_IDS.get(provider) or PROVIDER_IDS.get(provider.strip().lower())
            if provider_ids:
                rates, until = _genai_rates(provider_ids, names)  # _TableNotReady: nothing is cached
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
            self._cache_until.clear()
        self._cache[key] = rates
        if until != _INF:
            self._cache_until[key] = until
        else:
            self._cache_until.pop(key, None)
        return rates

    def _user_rates(self, provider: Any, names: list[str]) -> Rates | None:
        if not self._exact and not self._prefixes:
            return None
        scope = f"{provider.strip().lower()}/" if isinstance(provider, str) and provider.strip() else None
        exact = self._exact
        for name in names:
            if scope is not None and scope + name in exact:
                return exact[scope + name]
            if name in exact:
                return exact[name]
        for prefix, rates in self._prefixes:  # longest first
            for name in names:
                if name.startswith(prefix) or (scope is not None and (scope + name).startswith(prefix)):
                    return rates
        return None
