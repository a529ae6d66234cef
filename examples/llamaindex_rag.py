"""A small LlamaIndex RAG app traced by llmobs: three documents, an OpenAI embedding index, one question.

    pip install 'llmobs[llama-index]' llama-index-llms-openai llama-index-embeddings-openai
    python examples/llamaindex_rag.py

Offline (no OPENAI_API_KEY): LlamaIndex talks to llmobs's fake LLM server and the bundled collector prints the
trace: the query engine, its retrieval (with the question's embedding), the synthesizer and the chat call,
each model call once, recorded by the openai integration with its tokens and cost. With OPENAI_API_KEY set,
the same code runs against OpenAI.
"""

from __future__ import annotations

from _offline import local_stack
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI

DOCUMENTS = [
    "llmobs records every LLM call as an OpenTelemetry span with tokens and cost.",
    "LlamaIndex builds retrieval-augmented generation apps over your own documents.",
    "The fake LLM server answers OpenAI, Anthropic and Gemini requests offline.",
]
QUESTION = "What does llmobs record?"


def main() -> None:
    with local_stack("llamaindex-rag-example") as stack:
        options = {"api_base": stack.openai_base_url, "api_key": "offline"} if stack.fake_url else {}
        Settings.llm = OpenAI(model="gpt-4o-mini", **options)
        Settings.embed_model = OpenAIEmbedding(model="text-embedding-3-small", **options)
        index = VectorStoreIndex.from_documents([Document(text=text) for text in DOCUMENTS])
        answer = index.as_query_engine(similarity_top_k=2).query(QUESTION)
        print(f"Q: {QUESTION}\nA: {answer}")


if __name__ == "__main__":
    main()
