"""sentence-transformers' ``CLIPModel``: a name that imports, for code that names it, and a model sbert does
not run (CLIP embeds images; sbert reads text only)."""

from __future__ import annotations

from typing import Any

from .._errors import InputError


class CLIPModel:
    """sentence-transformers' CLIP module (text and image embeddings). sbert reads text only: constructing
    one raises :class:`~sbert.InputError` saying so."""

    def __init__(self, model_name_or_path: str = "openai/clip-vit-base-patch32", *args: Any, **kwargs: Any):
        raise InputError(
            f"CLIPModel({model_name_or_path!r}): sbert reads text only, and CLIP's image embeddings are "
            "out of its scope. For text embeddings use a text model (sbert.SentenceTransformer), or "
            "sentence-transformers itself for CLIP."
        )
