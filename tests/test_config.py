"""Configuration: every setting from its argument or environment variable; bad values name the setting."""

from __future__ import annotations

import pytest

from llmobs import ConfigError
from llmobs._config import load_config


def cfg(env=None, **kwargs):
    return load_config(environ=env or {}, known_integrations=["openai", "anthropic"], **kwargs)


def test_defaults():
    c = cfg()
    assert c.traces.exporters == ("otlp",)
    assert c.traces.protocol == "http/protobuf"
    assert c.traces.endpoint == "http://localhost:4318/v1/traces"
    assert c.metrics.endpoint == "http://localhost:4318/v1/metrics"
    assert c.logs.endpoint == "http://localhost:4318/v1/logs"
    assert c.capture_mode == "NO_CONTENT"
    assert c.enabled_integrations is None
    assert c.metrics_layout == "v1.41"
    assert c.sdk_disabled is False


def test_env_endpoints_protocol_headers():
    c = cfg({
        "OTEL_SERVICE_NAME": "svc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://metrics:9000/custom",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://logs:9001/in",
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc,x-team=ml",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-team=traces",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
    })
    assert c.service_name == "svc"
    assert c.traces.endpoint == "http://collector:4318/v1/traces"
    assert c.metrics.endpoint == "http://metrics:9000/custom"  # per-signal: used as given
    assert c.logs.endpoint == "http://logs:9001/in"
    assert c.traces.headers == {"authorization": "Bearer abc", "x-team": "traces"}
    assert c.metrics.headers == {"authorization": "Bearer abc", "x-team": "ml"}
    assert c.traces.timeout_s == 2.5


def test_grpc_protocol_uses_the_endpoint_as_is():
    c = cfg({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert c.traces.protocol == "grpc"
    assert c.traces.endpoint == "http://localhost:4317"
    c = cfg(protocol="grpc", endpoint="http://otel:4317")
    assert c.metrics.endpoint == "http://otel:4317"


def test_arguments_win_over_env():
    c = cfg({"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "env"}, exporter="none", service_name="arg")
    assert c.traces.exporters == ()
    assert c.service_name == "arg"


@pytest.mark.parametrize(
    ("value", "mode"),
    [("SPAN_ONLY", "SPAN_ONLY"), ("span_and_event", "SPAN_AND_EVENT"), ("EVENT_ONLY", "EVENT_ONLY"),
     ("NO_CONTENT", "NO_CONTENT"), ("true", "SPAN_ONLY"), ("false", "NO_CONTENT")],
)
def test_capture_content_env_values(value, mode):
    assert cfg({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}).capture_mode == mode


def test_capture_content_argument():
    assert cfg(capture_content=True).capture_on_span
    assert not cfg(capture_content=False).capture_on_span
    assert cfg(capture_content="EVENT_ONLY").capture_in_event


def test_integrations_enable_and_disable():
    assert cfg(integrations=["openai"]).enabled_integrations == {"openai"}
    assert cfg({"LLMOBS_INTEGRATIONS": "anthropic, openai"}).enabled_integrations == {"openai", "anthropic"}
    c = cfg({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "llmobs_openai,requests,anthropic"})
    # llmobs's entry-point names count; plain names are other distributions' instrumentors (tolerated, and
    # they do not turn llmobs's integration of the same library off: docs/coexistence.md)
    assert c.disabled_integrations == {"openai"}


def test_sdk_disabled():
    assert cfg({"OTEL_SDK_DISABLED": "true"}).sdk_disabled is True


@pytest.mark.parametrize(
    ("kwargs", "env", "setting", "accepted_fragment"),
    [
        ({"exporter": "zipkin"}, {}, "exporter", "'otlp', 'console', 'none'"),
        ({}, {"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER", "'otlp'"),
        ({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf or grpc"),
        ({"protocol": "udp"}, {}, "protocol", "grpc"),
        ({"endpoint": "localhost:4318"}, {}, "endpoint", "http:// or https:// URL"),
        ({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x"}, "OTEL_EXPORTER_OTLP_ENDPOINT", "URL"),
        ({}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:99999"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "port"),
        ({}, {"OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, "OTEL_EXPORTER_OTLP_HEADERS", "key=value"),
        ({}, {"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, "OTEL_EXPORTER_OTLP_TIMEOUT", "milliseconds"),
        ({"capture_content": "maybe"}, {}, "capture_content", "SPAN_ONLY"),
        ({}, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "yes please"},
         "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "NO_CONTENT"),
        ({"integrations": ["opneai"]}, {}, "integrations", "'anthropic', 'openai'"),
        ({"integrations": "openai"}, {}, "integrations", "list"),
        ({}, {"LLMOBS_INTEGRATIONS": "cohere"}, "LLMOBS_INTEGRATIONS", "openai"),
        ({"disabled_integrations": ["x"]}, {}, "disabled_integrations", "openai"),
        ({}, {"OTEL_SDK_DISABLED": "perhaps"}, "OTEL_SDK_DISABLED", "true or false"),
        ({"metrics_layout": "v2"}, {}, "metrics_layout", "'v1.41', 'latest', 'both'"),
        ({}, {"LLMOBS_METRICS_LAYOUT": "new"}, "LLMOBS_METRICS_LAYOUT", "latest"),
        ({"max_content_length": 0}, {}, "max_content_length", "whole number"),
        ({"service_name": ""}, {}, "service_name", "non-empty"),
        ({"tracer_provider": object()}, {}, "tracer_provider", "get_tracer"),
        ({"meter_provider": 3}, {}, "meter_provider", "get_meter"),
        ({"prices": [1, 2]}, {}, "prices", "mapping"),
    ],
)
def test_bad_values_raise_one_clear_error(kwargs, env, setting, accepted_fragment):
    with pytest.raises(ConfigError) as info:
        cfg(env, **kwargs)
    assert info.value.setting == setting
    message = str(info.value)
    assert setting in message
    assert accepted_fragment in message


def test_header_secrets_are_not_echoed_in_errors():
    with pytest.raises(ConfigError) as info:
        cfg({"OTEL_EXPORTER_OTLP_HEADERS": "Authorization"})
    assert "Authorization" not in str(info.value)
