"""Configuration: ``instrument()`` arguments first, then environment variables (OTel names where they exist).

Every value is validated here, once; a bad one raises ``ConfigError`` naming the setting and what it accepts.
This module is the only place llmobs raises into user code.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from . import semconv as sc
from ._errors import ConfigError

EXPORTERS = ("otlp", "console", "none")
PROTOCOLS = ("http/protobuf", "grpc")
CAPTURE_MODES = (sc.CAPTURE_NO_CONTENT, sc.CAPTURE_SPAN_ONLY, sc.CAPTURE_EVENT_ONLY, sc.CAPTURE_SPAN_AND_EVENT)
METRICS_LAYOUTS = ("v1.41", "latest", "both")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")

ENV_INTEGRATIONS = "LLMOBS_INTEGRATIONS"
ENV_PRICES_FILE = "LLMOBS_PRICES_FILE"
ENV_METRICS_LAYOUT = "LLMOBS_METRICS_LAYOUT"
ENV_MAX_CONTENT_LENGTH = "LLMOBS_MAX_CONTENT_LENGTH"
ENV_REDACT = "LLMOBS_REDACT"
REDACTORS = ("emails", "api_keys", "card_numbers")  # llmobs.redactors built-ins, by name
DEFAULT_MAX_CONTENT_LENGTH = 16_384
ENV_TAIL_SAMPLING = "LLMOBS_TAIL_SAMPLING"
ENV_TAIL_SAMPLING_RATIO = "LLMOBS_TAIL_SAMPLING_RATIO"
ENV_TAIL_SAMPLING_LATENCY = "LLMOBS_TAIL_SAMPLING_LATENCY"
ENV_TAIL_SAMPLING_COST = "LLMOBS_TAIL_SAMPLING_COST"
ENV_TAIL_SAMPLING_MAX_SPANS = "LLMOBS_TAIL_SAMPLING_MAX_SPANS"
ENV_TAIL_SAMPLING_MAX_AGE = "LLMOBS_TAIL_SAMPLING_MAX_AGE"


@dataclass(frozen=True)
class SignalExport:
    """Where one signal (traces or metrics) goes."""

    exporters: tuple[str, ...]
    endpoint: str
    protocol: str
    headers: dict[str, str]
    timeout_s: float


@dataclass(frozen=True)
class TailSampling:
    """Tail sampling settings (see docs/sampling.md); applied only to a TracerProvider llmobs creates."""

    ratio: float = 0.1
    latency_s: float = 10.0
    cost_usd: float = 0.05
    max_spans: int = 5_000
    max_age_s: float = 60.0


@dataclass(frozen=True)
class Config:
    service_name: str | None
    traces: SignalExport
    metrics: SignalExport
    logs: SignalExport  # used only for content events (EVENT_ONLY / SPAN_AND_EVENT)
    capture_mode: str
    enabled_integrations: frozenset[str] | None  # None: every installed one
    disabled_integrations: frozenset[str]
    metrics_layout: str
    max_content_length: int
    prices: Mapping[str, Mapping[str, float]] | None
    prices_file: str | None
    prices_file_setting: str
    sdk_disabled: bool
    tracer_provider: Any = None
    meter_provider: Any = None
    tail_sampling: TailSampling | None = None  # None: off
    redact: Any = None  # a redaction hook (callable), or a tuple of built-in redactor names; None: none

    @property
    def capture_on_span(self) -> bool:
        return self.capture_mode in (sc.CAPTURE_SPAN_ONLY, sc.CAPTURE_SPAN_AND_EVENT)

    @property
    def capture_in_event(self) -> bool:
        return self.capture_mode in (sc.CAPTURE_EVENT_ONLY, sc.CAPTURE_SPAN_AND_EVENT)


def _env(name: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_bool(setting: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(setting, value, "true or false")


def parse_capture_mode(setting: str, value: object) -> str:
    """Content capture: util-genai's four modes, case-insensitive; booleans as aliases.

    ``True``/``"true"`` mean SPAN_ONLY (what the legacy openai-v2 instrumentation accepted), ``False``/``"false"``
    mean NO_CONTENT.
    """
    if value is None:
        return sc.CAPTURE_NO_CONTENT
    if isinstance(value, bool):
        return sc.CAPTURE_SPAN_ONLY if value else sc.CAPTURE_NO_CONTENT
    text = str(value).strip()
    upper = text.upper()
    if upper in CAPTURE_MODES:
        return upper
    if text.lower() in _TRUE:
        return sc.CAPTURE_SPAN_ONLY
    if text.lower() in _FALSE:
        return sc.CAPTURE_NO_CONTENT
    raise ConfigError(setting, value, (*CAPTURE_MODES, "true", "false"))


def parse_exporters(setting: str, value: object) -> tuple[str, ...]:
    items = _split(value)
    if not items:
        raise ConfigError(setting, value, EXPORTERS)
    for item in items:
        if item not in EXPORTERS:
            raise ConfigError(setting, value, EXPORTERS)
    if "none" in items:
        return ()
    return tuple(dict.fromkeys(items))


def parse_protocol(setting: str, value: object) -> str:
    text = str(value).strip().lower()
    if text not in PROTOCOLS:
        hint = "http/protobuf or grpc (the Python OTLP exporters do not implement http/json)"
        raise ConfigError(setting, value, hint)
    return text


def parse_endpoint(setting: str, value: object) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(setting, value, "an http:// or https:// URL with a host, e.g. http://localhost:4318")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigError(setting, value, "a URL whose port is a number from 1 to 65535")
    return text


def parse_headers(setting: str, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(k, str) or not k.strip():
                raise ConfigError(setting, value, "a mapping of header names to string values")
            out[k.strip().lower()] = str(v)
        return out
    text = str(value).strip()
    out = {}
    if not text:
        return out
    for pair in text.split(","):
        if not pair.strip():
            continue
        key, sep, val = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(setting, "<redacted>", "comma-separated key=value pairs (values URL-encoded)")
        out[unquote(key.strip()).lower()] = unquote(val.strip())
    return out


def parse_timeout(setting: str, value: object) -> float:
    """OTel timeouts are in milliseconds."""
    try:
        ms = float(str(value).strip())
    except ValueError:
        raise ConfigError(setting, value, "a number of milliseconds > 0")
    if ms <= 0:
        raise ConfigError(setting, value, "a number of milliseconds > 0")
    return ms / 1000.0


def parse_positive_int(setting: str, value: object) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(setting, value, "a whole number > 0")
    if number <= 0:
        raise ConfigError(setting, value, "a whole number > 0")
    return number


def _split(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip().lower() for p in value.split(",") if p.strip()]
    if isinstance(value, Iterable):
        return [str(p).strip().lower() for p in value if str(p).strip()]
    return [str(value).strip().lower()]


def _signal(
    signal: str,
    *,
    exporter_arg: object,
    endpoint_arg: object,
    protocol_arg: object,
    headers_arg: object,
    environ: Mapping[str, str],
) -> SignalExport:
    upper = signal.upper()
    if exporter_arg is not None:
        exporters = parse_exporters("metrics_exporter" if signal == "metrics" else "exporter", exporter_arg)
    else:
        name = f"OTEL_{upper}_EXPORTER"
        raw = _env(name, environ)
        exporters = parse_exporters(name, raw) if raw is not None else ("otlp",)

    if protocol_arg is not None:
        protocol = parse_protocol("protocol", protocol_arg)
    else:
        protocol = "http/protobuf"
        for name in (f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            raw = _env(name, environ)
            if raw is not None:
                protocol = parse_protocol(name, raw)
                break

    default_base = "http://localhost:4317" if protocol == "grpc" else "http://localhost:4318"
    if endpoint_arg is not None:
        endpoint = _signal_url(parse_endpoint("endpoint", endpoint_arg), signal, protocol)
    else:
        raw = _env(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", environ)
        if raw is not None:  # a per-signal endpoint is used as given
            endpoint = parse_endpoint(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", raw)
        else:
            raw = _env("OTEL_EXPORTER_OTLP_ENDPOINT", environ)
            base = parse_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", raw) if raw is not None else default_base
            endpoint = _signal_url(base, signal, protocol)

    if headers_arg is not None:
        headers = parse_headers("headers", headers_arg)
    else:
        headers = parse_headers("OTEL_EXPORTER_OTLP_HEADERS", _env("OTEL_EXPORTER_OTLP_HEADERS", environ))
        name = f"OTEL_EXPORTER_OTLP_{upper}_HEADERS"
        headers.update(parse_headers(name, _env(name, environ)))

    timeout_s = 10.0
    for name in (f"OTEL_EXPORTER_OTLP_{upper}_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        raw = _env(name, environ)
        if raw is not None:
            timeout_s = parse_timeout(name, raw)
            break
    return SignalExport(exporters, endpoint, protocol, headers, timeout_s)


def _signal_url(base: str, signal: str, protocol: str) -> str:
    """The OTLP/HTTP exporter appends /v1/<signal> to a base endpoint; gRPC takes the base as it is."""
    if protocol == "grpc":
        return base
    return base.rstrip("/") + f"/v1/{signal}"


def load_config(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    exporter: str | Iterable[str] | None = None,
    metrics_exporter: str | Iterable[str] | None = None,
    capture_content: bool | str | None = None,
    integrations: Iterable[str] | None = None,
    disabled_integrations: Iterable[str] | None = None,
    known_integrations: Iterable[str] = (),
    tracer_provider: Any = None,
    meter_provider: Any = None,
    prices: Mapping[str, Mapping[str, float]] | None = None,
    prices_file: str | None = None,
    metrics_layout: str | None = None,
    max_content_length: int | None = None,
    tail_sampling: bool | None = None,
    tail_sampling_ratio: float | None = None,
    tail_sampling_latency_s: float | None = None,
    tail_sampling_cost_usd: float | None = None,
    tail_sampling_max_spans: int | None = None,
    tail_sampling_max_age_s: float | None = None,
    redact: Any = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    env = os.environ if environ is None else environ
    known = frozenset(known_integrations)

    sdk_disabled = parse_bool("OTEL_SDK_DISABLED", _env("OTEL_SDK_DISABLED", env) or "false")

    if service_name is not None and (not isinstance(service_name, str) or not service_name.strip()):
        raise ConfigError("service_name", service_name, "a non-empty string")
    service = service_name or _env("OTEL_SERVICE_NAME", env)

    traces = _signal(
        "traces", exporter_arg=exporter, endpoint_arg=endpoint, protocol_arg=protocol,
        headers_arg=headers, environ=env,
    )
    metrics = _signal(
        "metrics", exporter_arg=metrics_exporter if metrics_exporter is not None else exporter,
        endpoint_arg=endpoint, protocol_arg=protocol, headers_arg=headers, environ=env,
    )
    logs = _signal(
        "logs", exporter_arg=exporter, endpoint_arg=endpoint, protocol_arg=protocol, headers_arg=headers,
        environ=env,
    )

    if capture_content is not None:
        capture_mode = parse_capture_mode("capture_content", capture_content)
    else:
        capture_mode = parse_capture_mode(
            sc.ENV_CAPTURE_MESSAGE_CONTENT, _env(sc.ENV_CAPTURE_MESSAGE_CONTENT, env)
        )

    enabled: frozenset[str] | None = None
    if integrations is not None:
        if isinstance(integrations, str):
            raise ConfigError("integrations", integrations, "a list of integration names")
        enabled = frozenset(_split(list(integrations)))
        unknown = enabled - known
        if unknown:
            raise ConfigError("integrations", sorted(unknown), sorted(known))
    else:
        raw = _env(ENV_INTEGRATIONS, env)
        if raw is not None:
            enabled = frozenset(_split(raw))
            unknown = enabled - known
            if unknown:
                raise ConfigError(ENV_INTEGRATIONS, raw, sorted(known))

    if disabled_integrations is not None:
        if isinstance(disabled_integrations, str):
            raise ConfigError("disabled_integrations", disabled_integrations, "a list of integration names")
        disabled = frozenset(_split(list(disabled_integrations)))
        unknown = disabled - known
        if unknown:
            raise ConfigError("disabled_integrations", sorted(unknown), sorted(known))
    else:
        # Other packages' instrumentor names may appear here too: those are not ours to check. Our
        # Names in this variable are opentelemetry_instrumentor entry points: llmobs's are llmobs_openai, ...
        # A plain "openai" names another distribution's instrumentor (disabled to let llmobs record those
        # calls, see docs/coexistence.md), so it does not turn llmobs's integration off.
        disabled = frozenset(n.removeprefix("llmobs_")
                             for n in _split(_env("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", env))
                             if n.startswith("llmobs_"))

    if metrics_layout is not None:
        layout = str(metrics_layout).strip().lower()
        if layout not in METRICS_LAYOUTS:
            raise ConfigError("metrics_layout", metrics_layout, METRICS_LAYOUTS)
    else:
        raw = _env(ENV_METRICS_LAYOUT, env)
        layout = raw.lower() if raw else "v1.41"
        if layout not in METRICS_LAYOUTS:
            raise ConfigError(ENV_METRICS_LAYOUT, raw, METRICS_LAYOUTS)

    if max_content_length is not None:
        max_len = parse_positive_int("max_content_length", max_content_length)
    else:
        raw = _env(ENV_MAX_CONTENT_LENGTH, env)
        max_len = parse_positive_int(ENV_MAX_CONTENT_LENGTH, raw) if raw else DEFAULT_MAX_CONTENT_LENGTH

    if prices is not None and not isinstance(prices, Mapping):
        raise ConfigError("prices", prices, 'a mapping like {"provider/model": {"input": 1.0, "output": 2.0}}')
    if prices_file is not None:
        file_setting = "prices_file"
        price_path: str | None = str(prices_file)
    else:
        file_setting = ENV_PRICES_FILE
        price_path = _env(ENV_PRICES_FILE, env)

    _check_provider("tracer_provider", tracer_provider, "get_tracer")
    _check_provider("meter_provider", meter_provider, "get_meter")

    return Config(
        service_name=service,
        traces=traces,
        metrics=metrics,
        logs=logs,
        capture_mode=capture_mode,
        enabled_integrations=enabled,
        disabled_integrations=disabled,
        metrics_layout=layout,
        max_content_length=max_len,
        prices=prices,
        prices_file=price_path,
        prices_file_setting=file_setting,
        sdk_disabled=sdk_disabled,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        tail_sampling=_tail_sampling(
            env, tail_sampling, tail_sampling_ratio, tail_sampling_latency_s, tail_sampling_cost_usd,
            tail_sampling_max_spans, tail_sampling_max_age_s,
        ),
        redact=parse_redact("redact", redact) if redact is not None
        else parse_redact(ENV_REDACT, _env(ENV_REDACT, env)),
    )


def parse_number(setting: str, value: object, low: float, high: float | None = None,
                 low_open: bool = False) -> float:
    """A finite number in [low, high] (or (low, high] with ``low_open``); bools are refused."""
    accepted = (f"a number {'>' if low_open else '>='} {low:g}" if high is None
                else f"a number from {low:g} to {high:g}")
    if isinstance(value, bool):
        raise ConfigError(setting, value, accepted)
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigError(setting, value, accepted)
    if number != number or number in (float("inf"), float("-inf")) or number < low or (low_open and number == low):
        raise ConfigError(setting, value, accepted)
    if high is not None and number > high:
        raise ConfigError(setting, value, accepted)
    return number


def _tail_sampling(env: Mapping[str, str], enabled: object, ratio: object, latency: object, cost: object,
                   max_spans: object, max_age: object) -> TailSampling | None:
    def pick(arg: object, arg_name: str, env_name: str) -> tuple[object, str]:
        if arg is not None:
            return arg, arg_name
        return _env(env_name, env), env_name

    value, setting = pick(enabled, "tail_sampling", ENV_TAIL_SAMPLING)
    on = parse_bool(setting, value) if value is not None else False
    # Every value is checked even while tail sampling is off: a typo must not wait until it is switched on.
    defaults = TailSampling()
    value, setting = pick(ratio, "tail_sampling_ratio", ENV_TAIL_SAMPLING_RATIO)
    r = parse_number(setting, value, 0.0, 1.0) if value is not None else defaults.ratio
    value, setting = pick(latency, "tail_sampling_latency_s", ENV_TAIL_SAMPLING_LATENCY)
    lat = parse_number(setting, value, 0.0) if value is not None else defaults.latency_s
    value, setting = pick(cost, "tail_sampling_cost_usd", ENV_TAIL_SAMPLING_COST)
    usd = parse_number(setting, value, 0.0) if value is not None else defaults.cost_usd
    value, setting = pick(max_spans, "tail_sampling_max_spans", ENV_TAIL_SAMPLING_MAX_SPANS)
    spans = parse_positive_int(setting, value) if value is not None else defaults.max_spans
    value, setting = pick(max_age, "tail_sampling_max_age_s", ENV_TAIL_SAMPLING_MAX_AGE)
    age = parse_number(setting, value, 0.0, low_open=True) if value is not None else defaults.max_age_s
    return TailSampling(r, lat, usd, spans, age) if on else None


def parse_redact(setting: str, value: object) -> Any:
    """A redaction hook: a callable ``redact(text, field) -> str``, or built-in redactor names (a comma-separated
    string or a list: emails, api_keys, card_numbers). Returns the callable, a tuple of names, or None."""
    if value is None or value is False:
        return None
    if callable(value):
        return value
    names = _split(value)
    accepted = f"a callable redact(text, field) -> str, or names from {', '.join(REDACTORS)}"
    if isinstance(value, (bool, int, float)):
        raise ConfigError(setting, value, accepted)
    names = [n for n in names if n != "none"]
    for name in names:
        if name not in REDACTORS:
            raise ConfigError(setting, value, accepted)
    return tuple(dict.fromkeys(names)) or None


def _check_provider(setting: str, provider: Any, method: str) -> None:
    if provider is not None and not callable(getattr(provider, method, None)):
        raise ConfigError(setting, type(provider).__name__, f"an OpenTelemetry provider with a {method}() method")
