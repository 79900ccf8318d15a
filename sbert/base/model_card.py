"""sentence-transformers 6's ``sentence_transformers.base.model_card`` path:

from sbert.base.model_card import generate_model_card
text = generate_model_card(model)  # the README.md that model.save() writes

``BaseModelCardData`` is the class every model class's card data derives from; ``BaseModelCardCallback``
the base of the trainers' model-card callbacks (:mod:`sbert._training.card_callbacks`, loaded on access).
"""

from __future__ import annotations

from typing import Any

__all__ = [  # noqa: F822 (the classes made on access)
    "generate_model_card",
    "get_versions",
    "BaseModelCardData",
    "BaseModelCardCallback",
]

# the name the usage code loads when the card data has no model_id, as sentence-transformers' template
_NO_MODEL_ID = "sentence_transformers_model_id"


def generate_model_card(model: Any) -> str:
    """The model card (markdown) of ``model``, any sbert model class, as its ``save`` writes it; the training
    data, losses and settings a trainer recorded in ``model.model_card_data`` included."""
    from .._format.card_data import card_data_for

    card_data = card_data_for(model)
    name = card_data.get("model_id") or _NO_MODEL_ID
    from .._cross_encoder.model import CrossEncoder
    from .._multi_vector.model import MultiVectorEncoder
    from .._sparse.model import SparseEncoder

    if isinstance(model, SparseEncoder):
        from .._sparse.card import model_card as sparse_card

        return sparse_card(model, name)
    if isinstance(model, MultiVectorEncoder):
        from .._multi_vector.card import model_card as multi_vector_card

        return multi_vector_card(model, name, card_data)
    if isinstance(model, CrossEncoder):
        from .._cross_encoder.card import model_card as cross_encoder_card

        return cross_encoder_card(model, name)
    from .._format.card import model_card

    return model_card(model, name)


def get_versions() -> dict[str, str]:
    """The versions a model card records, as sentence-transformers' ``get_versions``: Python's, the
    sentence-transformers release sbert stands in for, and the installed libraries' (none imported)."""
    from .._format.card_data_surface import framework_versions

    return framework_versions()


def __getattr__(name: str) -> Any:
    if name == "BaseModelCardData":
        from .._format.card_data import SentenceTransformerModelCardData

        return SentenceTransformerModelCardData
    if name == "BaseModelCardCallback":
        from .._training.card_callbacks import BaseModelCardCallback

        return BaseModelCardCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
