"""sentence-transformers 6's Transformer settings as a transformer module that runs its task's defaults
reads them: the SparseEncoder's masked-LM and the CrossEncoder's module 0. sbert's own ``Transformer`` holds
them as attributes it can change; these modules read them off their ``get_config_dict()`` (the format
sentence-transformers saves), so ``model[0].modality_config``, ``module_output_name``, ``processing_kwargs``,
``config``, ... give sentence-transformers' values. They cannot be set here (no setter)."""

from __future__ import annotations

from typing import Any

from .._format.transformer_config import modality_key_from_file


class TransformerAliases:
    """sentence-transformers 6's shorthands on a module holding a transformers ``model`` and its
    ``tokenizer``: sbert's Transformer and the modules below."""

    model: Any
    tokenizer: Any

    @property
    def processor(self) -> Any:
        """sentence-transformers 6's name for :attr:`tokenizer`."""
        return self.tokenizer

    @property
    def config(self) -> Any:
        """The transformers model's config."""
        return self.model.config

    @property
    def encoder_model_type(self) -> str | None:
        """config.json's ``model_type`` (a chat template's message format may follow it)."""
        return self.model.config.model_type


class TaskDefaultSettings(TransformerAliases):
    """Mixed in before the module's base class; the module provides ``get_config_dict``, ``model`` and
    ``tokenizer``."""

    backend = "torch"  # sentence-transformers' module backend (the model's may differ)
    # a MultiVectorEncoder's per-task token caps and query expansion: not settings of these modules
    query_length = None
    document_length = None
    query_expansion = None

    model: Any
    tokenizer: Any

    def get_config_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def modality_config(self) -> dict[Any, dict[str, Any]]:
        """Which model method and output give each modality's features: ``{"text": {...}}``."""
        saved = self.get_config_dict().get("modality_config") or {}
        return {modality_key_from_file(key): value for key, value in saved.items()}

    @property
    def modalities(self) -> list[Any]:
        return list(self.modality_config)

    @property
    def module_output_name(self) -> str | None:
        return self.get_config_dict().get("module_output_name")

    @property
    def processing_kwargs(self) -> dict[str, Any]:
        return dict(self.get_config_dict().get("processing_kwargs") or {})

    @property
    def unpad_inputs(self) -> bool | None:
        return self.get_config_dict().get("unpad_inputs")
