"""The README.md model card of a saved sparse encoder, and sentence-transformers'
``SparseEncoderModelCardData``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._format.card import citation_section, results_section
from .._format.card_data import SentenceTransformerModelCardData
from .._format.card_training import training_details
from .._format.front_matter import ARCHITECTURE_NAMES, card_front_matter
from .._format.layout import kind_of_module

TASK_NAME = "semantic search and sparse retrieval"  # sentence-transformers' default


@dataclass
class SparseEncoderModelCardData(SentenceTransformerModelCardData):
    """:class:`sbert.SentenceTransformerModelCardData` for a :class:`sbert.SparseEncoder`'s card (its
    ``task_name`` defaults to ``"semantic search and sparse retrieval"`` once the model has it)."""

    task_name: str | None = None  # type: ignore[assignment]
    tags: list[str] = field(default_factory=lambda: ["sentence-transformers", "sparse-encoder", "sparse"])
    pipeline_tag: str | None = field(default=None, init=False)  # the model's: "feature-extraction"
    model_type: str = field(default="Sparse Encoder", init=False, repr=False)
    registered_pipeline_tag: ClassVar[str | None] = "feature-extraction"


def model_card(model: Any, model_name: str) -> str:
    """Markdown for the sparse encoder ``model`` saved under ``model_name``."""
    card_data = model.model_card_data
    title = card_data.get("model_name") or model_name
    name = card_data.get("model_id") or model_name  # the name the usage code loads
    task = card_data.get("task_name") or TASK_NAME
    usage = (
        f"model = SparseEncoder({name!r})\n"
        'embeddings = model.encode(["The weather is lovely today.", "It\'s so sunny outside!"])\n'
        "print(model.similarity(embeddings, embeddings))\n"
        "print(model.decode(embeddings[0], top_k=10))  # the heaviest vocabulary tokens\n"
    )
    sections = [
        card_front_matter(model, card_data),
        f"# {title}\n",
        f"This is a {_architecture(model)} made with [sbert](https://www.SBERT.net): it maps a text to a "
        f"{model.get_embedding_dimension()}-dimensional sparse vector for {task}. Texts longer than "
        f"{model.max_seq_length} tokens are truncated; scores are the {model.similarity_fn_name} similarity "
        "of two vectors.\n",
        f"## Usage (sbert)\n\n```python\nfrom sbert import SparseEncoder\n\n{usage}```\n",
        "## Usage (Sentence-Transformers)\n\nThe folder uses the sentence-transformers format, so that "
        "library loads it too:\n\n```python\nfrom sentence_transformers import SparseEncoder\n\n"
        f"{usage}```\n",
        results_section("Evaluation Results", card_data.get("evaluation")),
        results_section("Training", card_data.get("training")),
        training_details(card_data, "sparse_encoder"),
        f"## Full Model Architecture\n```\n{model!r}\n```\n",
        citation_section(card_data.get("citations") or {}),
    ]
    return "\n".join(s for s in sections if s)


def model_type(model: Any) -> str:
    """sentence-transformers' name of the model's kind ("SPLADE Sparse Encoder", "Inference-free SPLADE
    Sparse Encoder", ...): its card's model name where the card data gives none."""
    kinds = set(map(kind_of_module, model.modules()))
    parts = ["Asymmetric", "Inference-free", "SPLADE", "CSR"]
    held = ["Router", "SparseStaticEmbedding", "SpladePooling", "SparseAutoEncoder"]
    return " ".join([part for part, module in zip(parts, held) if module in kinds] + ["Sparse Encoder"])


ARCHITECTURE_NAMES["SparseEncoder"] = (
    model_type  # its card's model type, by its modules (front matter, to_yaml)
)


def _architecture(model: Any) -> str:
    """Which of sentence-transformers' sparse architectures ``model`` is, in words."""
    kinds = set(map(kind_of_module, model.modules()))
    if "SparseAutoEncoder" in kinds:
        return "CSR (Contrastive Sparse Representation) sparse encoder, a k-sparse code of a dense embedding"
    if "SparseStaticEmbedding" in kinds:
        return "inference-free SPLADE sparse encoder (fixed token weights for queries, SPLADE for documents)"
    return "SPLADE sparse encoder, one weight per vocabulary token"
