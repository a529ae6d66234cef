"""Each provider's finish reasons mapped onto the conventions' values (``gen_ai.response.finish_reasons``).

The provider integrations each read their own table; framework integrations (LangChain, LlamaIndex), which
pass on whichever provider's reasons the model returned, read their union.
"""

from __future__ import annotations

from .. import semconv as sc

OPENAI = {
    "stop": sc.FINISH_STOP,
    "length": sc.FINISH_LENGTH,
    "tool_calls": sc.FINISH_TOOL_CALL,
    "function_call": sc.FINISH_TOOL_CALL,
    "content_filter": sc.FINISH_CONTENT_FILTER,
}

ANTHROPIC = {
    "end_turn": sc.FINISH_STOP,
    "stop_sequence": sc.FINISH_STOP,
    "pause_turn": sc.FINISH_STOP,
    "max_tokens": sc.FINISH_LENGTH,
    "model_context_window_exceeded": sc.FINISH_LENGTH,
    "tool_use": sc.FINISH_TOOL_CALL,
    "refusal": sc.FINISH_CONTENT_FILTER,
}

GEMINI = {
    "STOP": sc.FINISH_STOP,
    "MAX_TOKENS": sc.FINISH_LENGTH,
    "SAFETY": sc.FINISH_CONTENT_FILTER,
    "RECITATION": sc.FINISH_CONTENT_FILTER,
    "BLOCKLIST": sc.FINISH_CONTENT_FILTER,
    "PROHIBITED_CONTENT": sc.FINISH_CONTENT_FILTER,
    "SPII": sc.FINISH_CONTENT_FILTER,
    "IMAGE_SAFETY": sc.FINISH_CONTENT_FILTER,
    "IMAGE_PROHIBITED_CONTENT": sc.FINISH_CONTENT_FILTER,
    "IMAGE_RECITATION": sc.FINISH_CONTENT_FILTER,
    "MODEL_ARMOR": sc.FINISH_CONTENT_FILTER,
    "FINISH_REASON_UNSPECIFIED": sc.FINISH_ERROR,
    "OTHER": sc.FINISH_ERROR,
    "MALFORMED_FUNCTION_CALL": sc.FINISH_ERROR,
    "UNEXPECTED_TOOL_CALL": sc.FINISH_ERROR,
    "TOO_MANY_TOOL_CALLS": sc.FINISH_ERROR,
    "MISSING_THOUGHT_SIGNATURE": sc.FINISH_ERROR,
    "MALFORMED_RESPONSE": sc.FINISH_ERROR,
    "IMAGE_OTHER": sc.FINISH_ERROR,
    "NO_IMAGE": sc.FINISH_ERROR,
}

# Keys do not overlap (OpenAI's are lower-case, Gemini's upper-case, Anthropic's its own words).
ANY = {**OPENAI, **ANTHROPIC, **GEMINI}
