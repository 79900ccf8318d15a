"""The README.md model card of a saved MultiVectorEncoder: front matter, usage with sbert and with
sentence-transformers, and the full architecture, as sentence-transformers writes a card on every save; and
sentence-transformers' ``MultiVectorEncoderModelCardData``, what a user tells that card up front."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._format.card import citation_section, results_section
from .._format.card_data import SentenceTransformerModelCardData
from .._format.card_training import training_details
from .._format.front_matter import card_front_matter

TASK_NAME = "semantic search with late interaction"  # sentence-transformers' default


@dataclass
class MultiVectorEncoderModelCardData(SentenceTransformerModelCardData):
    """:class:`sbert.SentenceTransformerModelCardData` for a :class:`sbert.MultiVectorEncoder`'s card: its
    ``task_name`` defaults to ``"semantic search with late interaction"`` on the card, and its ``tags`` to
    sentence-transformers' late-interaction tags.

    Example::

        model = MultiVectorEncoder(
            "my-colbert", model_card_data=MultiVectorEncoderModelCardData(language="en", license="mit")
        )
    """

    task_name: str | None = None  # type: ignore[assignment]
    tags: list[str] = field(
        default_factory=lambda: ["sentence-transformers", "multi-vector", "colbert", "late-interaction"]
    )
    pipeline_tag: str | None = field(default=None, init=False)  # the model's: "feature-extraction"
    model_type: str = field(default="Multi-Vector Encoder", init=False, repr=False)
    registered_pipeline_tag: ClassVar[str | None] = "feature-extraction"


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
        card_front_matter(model, card_data),
        f"# {title}\n",
        "This is a late-interaction (ColBERT-style) MultiVectorEncoder made with "
        f"[sbert](https://www.SBERT.net): it maps a text to one {width}-dimensional vector per token, and "
        f"scores a query against a document with {model.similarity_fn_name} (each query token's best match, "
        f"summed), for {card_data.get('task_name') or TASK_NAME}.\n",
        f"## Usage (sbert)\n\n```python\nfrom sbert import MultiVectorEncoder\n\n{usage}```\n",
        "## Usage (Sentence-Transformers)\n\nThe folder uses the sentence-transformers format, so that "
        "library loads it too:\n\n```python\nfrom sentence_transformers import MultiVectorEncoder\n\n"
        f"{usage}```\n",
        results_section("Evaluation Results", card_data.get("evaluation")),
        results_section("Training", card_data.get("training")),
        training_details(card_data, "multi_vector_encoder"),
        f"## Full Model Architecture\n```\n{model!r}\n```\n",
        citation_section(card_data.get("citations") or {}),
    ]
    return "\n".join(s for s in sections if s)
