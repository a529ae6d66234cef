"""Every attribute, metric and event name llmobs emits, in one place.

The OpenTelemetry GenAI conventions are still in Development status and keep changing, so no other module
spells a telemetry name as a literal: they import it from here. Names that start with ``llmobs.`` are ours,
used only where no convention exists yet (cost, span kinds, stream completeness, context tags); they are
listed in ``docs/attributes.md``.
"""

from __future__ import annotations

from typing import Final

# --- Instrumentation scope --------------------------------------------------------------------------------
SCOPE_NAME: Final = "llmobs"
SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"

# --- GenAI span attributes -------------------------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_REQUEST_REASONING_LEVEL: Final = "gen_ai.request.reasoning.level"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID: Final = "gen_ai.request.previous_response.id"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"

GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"

GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"

GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"

GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
GEN_AI_RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"
GEN_AI_RETRIEVAL_TOP_K: Final = "gen_ai.retrieval.top_k"

# OpenAI-specific attributes (set only when gen_ai.provider.name is openai or azure.ai.openai).
OPENAI_API_TYPE: Final = "openai.api.type"
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"

# Evaluation results (semconv event ``gen_ai.evaluation.result``); we carry them on a score span.
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

# Metric-only attributes.
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
GEN_AI_TOKEN_MODALITY: Final = "gen_ai.token.modality"

# Deprecated names: never emitted, accepted wherever llmobs reads telemetry (fixtures, reports).
DEPRECATED_GEN_AI_SYSTEM: Final = "gen_ai.system"
DEPRECATED_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
DEPRECATED_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"
DEPRECATED_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"

# --- General OTel attributes -------------------------------------------------------------------------------
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
USER_ID: Final = "user.id"
SESSION_ID: Final = "session.id"
ERROR_TYPE_OTHER: Final = "_OTHER"

# --- Operation names ---------------------------------------------------------------------------------------
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EMBEDDINGS: Final = "embeddings"
OP_RETRIEVAL: Final = "retrieval"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
INFERENCE_OPERATIONS: Final = frozenset({OP_CHAT, OP_TEXT_COMPLETION, OP_GENERATE_CONTENT})
# Operations of LLM spans (the ones carrying usage and cost), in a fixed order.
LLM_OPERATIONS: Final = (*sorted(INFERENCE_OPERATIONS), OP_EMBEDDINGS)

# --- Finish reasons (normalised) ---------------------------------------------------------------------------
FINISH_STOP: Final = "stop"
FINISH_LENGTH: Final = "length"
FINISH_CONTENT_FILTER: Final = "content_filter"
FINISH_TOOL_CALL: Final = "tool_call"
FINISH_ERROR: Final = "error"

# --- Content capture (util-genai's environment variable and values) ------------------------------------------
ENV_CAPTURE_MESSAGE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
CAPTURE_NO_CONTENT: Final = "NO_CONTENT"
CAPTURE_SPAN_ONLY: Final = "SPAN_ONLY"
CAPTURE_EVENT_ONLY: Final = "EVENT_ONLY"
CAPTURE_SPAN_AND_EVENT: Final = "SPAN_AND_EVENT"

# --- Events (log records) ----------------------------------------------------------------------------------
EVENT_INFERENCE_DETAILS: Final = "gen_ai.client.inference.operation.details"

# --- Metrics -----------------------------------------------------------------------------------------------
# Layout "v1.41" (what opentelemetry-util-genai and most dashboards read today).
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_TTFC: Final = "gen_ai.client.operation.time_to_first_chunk"
# Layout "latest" (semantic-conventions-genai main branch).
METRIC_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
METRIC_INFERENCE_TTFC: Final = "gen_ai.client.inference.time_to_first_chunk"
METRIC_INFERENCE_USAGE_INPUT: Final = "gen_ai.client.inference.usage.input_tokens"
METRIC_INFERENCE_USAGE_OUTPUT: Final = "gen_ai.client.inference.usage.output_tokens"
METRIC_INFERENCE_USAGE_CACHE_READ: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
METRIC_INFERENCE_USAGE_CACHE_WRITE: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
METRIC_INFERENCE_USAGE_REASONING: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"
METRIC_INFERENCE_OP_INPUT: Final = "gen_ai.client.inference.operation.input_tokens"
METRIC_INFERENCE_OP_OUTPUT: Final = "gen_ai.client.inference.operation.output_tokens"
METRIC_EMBEDDINGS_DURATION: Final = "gen_ai.client.embeddings.duration"
METRIC_EMBEDDINGS_OP_INPUT: Final = "gen_ai.client.embeddings.operation.input_tokens"
# Both layouts.
METRIC_INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
METRIC_INVOKE_WORKFLOW_DURATION: Final = "gen_ai.invoke_workflow.duration"
METRIC_EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"

BUCKETS_DURATION: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
BUCKETS_TOKENS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)
BUCKETS_AGENT: Final = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6)
BUCKETS_WORKFLOW: Final = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
BUCKETS_COST_USD: Final = (1e-6, 1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

# --- llmobs's own names (no convention exists) ---------------------------------------------------------------
LLMOBS_PREFIX: Final = "llmobs."
LLMOBS_SPAN_KIND: Final = "llmobs.span.kind"
LLMOBS_COST_TOTAL: Final = "llmobs.cost.total_usd"
LLMOBS_COST_INPUT: Final = "llmobs.cost.input_usd"
LLMOBS_COST_OUTPUT: Final = "llmobs.cost.output_usd"
LLMOBS_COST_STATUS: Final = "llmobs.cost.status"
LLMOBS_COST_SOURCE: Final = "llmobs.cost.source"
LLMOBS_STREAM_INCOMPLETE: Final = "llmobs.stream.incomplete"
LLMOBS_STREAM_CHUNKS: Final = "llmobs.stream.chunks"
LLMOBS_TAGS: Final = "llmobs.tags"
LLMOBS_METADATA_PREFIX: Final = "llmobs.metadata."
LLMOBS_INPUT: Final = "llmobs.input"
LLMOBS_OUTPUT: Final = "llmobs.output"
LLMOBS_INTEGRATION: Final = "llmobs.integration"
LLMOBS_SCORE_TARGET_TRACE_ID: Final = "llmobs.score.target.trace_id"
LLMOBS_SCORE_TARGET_SPAN_ID: Final = "llmobs.score.target.span_id"
# Framework integrations (LangChain/LangGraph, LlamaIndex).
LLMOBS_RUN_ABANDONED: Final = "llmobs.run.abandoned"  # closed by llmobs: the framework never reported its end
LLMOBS_LANGGRAPH_NODE: Final = "llmobs.langgraph.node"
LLMOBS_LANGGRAPH_STEP: Final = "llmobs.langgraph.step"
LLMOBS_LANGGRAPH_INTERRUPT: Final = "llmobs.langgraph.interrupt"  # the control-flow exception that ended a run
METRIC_LLMOBS_COST: Final = "llmobs.client.cost"

# llmobs.span.kind values
KIND_LLM: Final = "llm"
KIND_EMBEDDING: Final = "embedding"
KIND_WORKFLOW: Final = "workflow"
KIND_TASK: Final = "task"
KIND_AGENT: Final = "agent"
KIND_TOOL: Final = "tool"
KIND_RETRIEVAL: Final = "retrieval"
KIND_SCORE: Final = "score"

# llmobs.cost.status values
COST_PRICED: Final = "priced"
COST_UNPRICED: Final = "unpriced"

# llmobs.cost.source values
COST_SOURCE_PROVIDER: Final = "provider"  # the API response stated the cost (OpenRouter, Perplexity)
