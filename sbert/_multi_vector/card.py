"""The README.md model card of a saved MultiVectorEncoder: front matter, usage with sbert and with
sentence-transformers, and the full architecture, as sentence-transformers writes a card on every save."""

from __future__ import annotations

from typing import Any

from .._format.card import front_matter

MULTI_VECTOR_TAGS = ("sentence-transformers", "multi-vector-encoder", "late-interaction", "colbert", "sbert")


def model_card(model: Any, model_name: str, card_data: dict[str, Any]) -> str:
    """Markdown for the MultiVectorEncoder ``model`` saved under ``model_name``."""
    title = card_data.get("model_name") or model_name
    name = card_data.get("model_id") or model_name  # the name the usage code loads
    usage = (
        f"model = MultiVectorEncoder({name!r})\n"
        'queries = model.encode_query(["What is the capital of France?"])\n'
        'documents = model.encode_document(["Paris is the capital of France.", "Berlin is in Germany."])\n'
        "print(model.similarity(queries, documents))  # MaxSim scores\n"
    )
    width = model.get_embedding_dimension()
    sections = [
        front_matter(card_data, "sentence-similarity", MULTI_VECTOR_TAGS),
        f"# {title}\n",
        "This is a late-interaction (ColBERT-style) MultiVectorEncoder made with "
        f"[sbert](https://www.SBERT.net): it maps a text to one {width}-dimensional vector per token, and "
        f"scores a query against a document with {model.similarity_fn_name} (each query token's best match, "
        "summed).\n",
        f"## Usage (sbert)\n\n```python\nfrom sbert import MultiVectorEncoder\n\n{usage}```\n",
        "## Usage (Sentence-Transformers)\n\nThe folder uses the sentence-transformers format, so that "
        "library loads it too:\n\n```python\nfrom sentence_transformers import MultiVectorEncoder\n\n"
        f"{usage}```\n",
        f"## Full Model Architecture\n```\n{model!r}\n```\n",
    ]
    return "\n".join(sections)
