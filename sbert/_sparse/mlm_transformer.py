"""Transformer (fill-mask) and MLMTransformer: a Hugging Face masked-LM whose vocabulary logits are SPLADE's
per-token scores."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._compat import batch_encoding, check_tokenizer_kwargs, prompt_token_count, with_prompt
from .._cross_encoder.loading import mismatched_names, quiet_transformers
from .._cross_encoder.runners import forward_parameters
from .._errors import (
    TOKENIZE_RENAMED,
    InputError,
    WeightsMismatchError,
    log_renamed_once,
    require_peft,
    unloadable_weights,
    unreadable_config,
)
from .._format import layout
from .._format.chat_template import inferred_modality_config
from .._format.hub import name_by_hub_name, resolve_model_path
from .._format.transformer_config import (
    CONFIG_KEYS,
    config_dict,
    config_options,
    disable_kv_cache,
    merge_processing,
    model_options,
)
from .._format.weights import check_encoder_weights
from .._modules.base import InputModule
from .._modules.loading import st_loading
from .._modules.task_defaults import TaskDefaultSettings
from .._modules.transformer import encoder_alias, tokenizer_max_seq_length
from .._modules.transformer_outputs import as_tensors, encoder_inputs, text_features, text_inputs
from .._st_loggers import ST_INPUT_MODULE, ST_MLM_TRANSFORMER
from .._tokens.chat import ChatInput
from .._tokens.hf_methods import feature_names, token_types
from .._tokens.tokenizer import TextTokenizer
from .folder import saved_masked_lm_options, write_masked_lm_settings

# sentence-transformers' older names of the three option dicts (its 5.x MLMTransformer's), by current name
_OLDER_OPTIONS = {
    "model_kwargs": "model_args",
    "config_kwargs": "config_args",
    "processor_kwargs": "tokenizer_args",
}


class Transformer(ChatInput, TaskDefaultSettings, InputModule):
    """Wraps ``transformers.AutoModelForMaskedLM`` and its tokenizer: sentence-transformers 6's
    ``Transformer(transformer_task="fill-mask")`` in a SparseEncoder (older name: :class:`MLMTransformer`).

    Args:
        model_name_or_path: a folder with ``config.json``, masked-LM weights and tokenizer files, or a hub
            name.
        transformer_task: ``"fill-mask"``, the one task a SPLADE model's transformer has.
        max_seq_length: texts are truncated to this many tokens (default: the tokenizer's and model's limit).
        do_lower_case: lowercase texts before tokenizing.
        modality_config: sentence-transformers 6's: ``{"text": ...}``, and a ``"message"`` entry renders
            the inputs through the tokenizer's chat template (default: inferred, as there, from the template).
        allow_pickle, trust_remote_code, cache_dir: as for :class:`sbert.Transformer`.
        model_kwargs, config_kwargs, processor_kwargs (or 5.x's ``model_args``, ``config_args``,
            ``tokenizer_args``; ``tokenizer_kwargs``): for ``from_pretrained`` and the tokenizer.
    """

    save_in_root = True  # a pipeline's input module: saved at the model's root
    # Saved (in a Router too) under 5.x's MLMTransformer type, with its config, which every release reads.
    stands_for = "MLMTransformer"
    config_file_name = layout.TRANSFORMER_CONFIG_FILES[0]  # sentence_bert_config.json
    config_keys = list(CONFIG_KEYS)  # sentence-transformers 6.3's; get_config_dict reads the task itself

    def __init__(
        self,
        model_name_or_path: str | os.PathLike,
        *,
        max_seq_length: int | None = None,
        do_lower_case: bool = False,
        allow_pickle: bool = False,
        trust_remote_code: bool = False,
        model_kwargs: dict[str, Any] | None = None,
        config_kwargs: dict[str, Any] | None = None,
        processor_kwargs: dict[str, Any] | None = None,
        cache_dir: str | None = None,
        transformer_task: str = "fill-mask",
        modality_config: dict[Any, dict[str, Any]] | None = None,
        **older: dict[str, Any] | None,
    ) -> None:
        super().__init__()
        if transformer_task != "fill-mask":
            raise InputError(
                f"transformer_task={transformer_task!r}: a SparseEncoder's Transformer is a masked-LM "
                "(transformer_task='fill-mask'); load embedding models with sbert.SentenceTransformer."
            )
        self.transformer_task = transformer_task
        model_kwargs, config_kwargs, processor_kwargs = _merged_options(
            older, model_kwargs, config_kwargs, processor_kwargs
        )
        path = resolve_model_path(
            model_name_or_path, cache_folder=cache_dir, allow_pickle=allow_pickle, default_namespace=None
        )
        self.model = load_masked_lm(
            path,
            allow_pickle=allow_pickle,
            trust_remote_code=trust_remote_code,
            model_kwargs=model_kwargs,
            config_kwargs=config_kwargs,
        )
        tokenizer_options = check_tokenizer_kwargs(processor_kwargs)
        self.tokenizer = TextTokenizer.from_folder(path, **tokenizer_options)
        if modality_config is None:  # a tokenizer with a chat template adds chat input, as there
            model_type = self.model.config.model_type
            modality_config = inferred_modality_config(transformer_task, path, model_type, tokenizer_options)
        self._modality_config = modality_config
        self.do_lower_case = do_lower_case
        if do_lower_case:  # in the tokenizer's normalizer, as the Transformer's
            self.tokenizer.lowercase_inputs()
        max_seq_length = tokenizer_options.get("model_max_length") or max_seq_length
        if max_seq_length is None:
            limit = getattr(self.model.config, "max_position_embeddings", None)
            max_seq_length = layout.default_max_seq_length(self.tokenizer, limit)
        self.max_seq_length = max_seq_length
        # as the Transformer decides (hf_methods.token_types): features hold what the tokenizer makes
        types = token_types(self.tokenizer, "token_type_ids" in forward_parameters(self.model))
        self.takes_token_type_ids, self.gives_token_type_ids = types.to_encoder, types.in_features

    max_seq_length = tokenizer_max_seq_length
    auto_model = encoder_alias

    def get_embedding_dimension(self) -> int:
        """The vocabulary size: the width of the logits SpladePooling pools."""
        return int(self.model.config.vocab_size)

    @batch_encoding
    def tokenize(self, texts: list[str]) -> dict[str, Any]:
        """Token ids, attention mask (and token type ids when the model takes them) as ``(B, T)`` tensors,
        and ``"modality": "text"``, as sentence-transformers 6's ``tokenize`` gives them; ``{"text": t}``
        items read as texts; no texts: ``{}``."""
        log_renamed_once(TOKENIZE_RENAMED, ST_INPUT_MODULE)  # when called from outside sbert
        if not texts:
            return {}
        if self.chat is not None:  # sentence-transformers 6's tokenize is its preprocess
            return self.preprocess(texts)
        texts = text_inputs(texts)
        return {**self.to_features(self.tokenizer.encode_padded(texts)), "modality": "text"}

    @batch_encoding
    def preprocess(
        self,
        inputs: list[Any],
        prompt: str | None = None,
        processing_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``tokenize`` of the inputs, ``prompt`` before each; ``processing_kwargs`` (over the module's) or
        a ``max_length``: one tokenizer call with them, as sentence-transformers 6's Transformer makes it,
        with the prompt's token count. Through the chat template where the module reads chat input (the
        prompt a system message)."""
        if inputs and self.chat is not None:
            return as_tensors(self.chat_arrays(inputs, prompt, processing_kwargs, kwargs))
        if processing_kwargs is None and kwargs.get("max_length") is None:
            return super().preprocess(inputs, prompt)
        if not inputs:
            return {}
        texts = with_prompt(text_inputs(inputs), prompt)
        processing = merge_processing(self.processing_kwargs, processing_kwargs)
        features = text_features(self.tokenizer, texts, processing, kwargs.get("max_length"))
        if prompt:
            features["prompt_length"] = prompt_token_count(self.tokenizer, prompt)
        return features

    def to_features(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {name: torch.from_numpy(batch[name]) for name in feature_names(self.gives_token_type_ids)}

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        inputs = encoder_inputs(self.model, features, self.takes_token_type_ids)
        # (B, T, V): one score per vocabulary token at every position, in the model's dtype
        features["token_embeddings"] = self.model.forward(**inputs, return_dict=True).logits
        return features

    def get_config_dict(self) -> dict[str, Any]:
        """sentence-transformers 6's: the task, ``modality_config`` and ``module_output_name``; the length
        limit is :attr:`max_seq_length` (the saved file keeps the classic keys, see :meth:`save`)."""
        return config_dict(
            {"transformer_task": self.transformer_task, "modality_config": self._modality_config}
        )

    def __repr__(self) -> str:
        # As sentence-transformers 6 prints it, MLMTransformer too, so model cards match.
        settings = {"transformer_task": self.transformer_task, "modality_config": self._modality_config}
        return layout.transformer_repr(settings, type(self.model).__name__)

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        folder = Path(folder)
        with quiet_transformers():
            self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save(folder)  # the limit as its model_max_length, as sentence-transformers 6 keeps it
        write_masked_lm_settings(folder, self.max_seq_length, self.do_lower_case, self._modality_config)

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **options: Any) -> Transformer:
        return cls(folder, **{**saved_masked_lm_options(Path(folder)), **options})


class MLMTransformer(Transformer):
    """sentence-transformers 5's name for :class:`Transformer` with ``transformer_task="fill-mask"`` (a
    subclass of it, as there); folders saved with this type load as one. Made by the caller, it logs
    sentence-transformers 6's deprecation notice, as there (each time; not when a folder is loaded)."""

    def __init__(self, *args: Any, _from_auto_load: bool = False, **kwargs: Any) -> None:
        if not _from_auto_load:  # sentence-transformers' words
            logging.getLogger(ST_MLM_TRANSFORMER).warning(
                "The MLMTransformer module is deprecated. Please use the Transformer module with "
                '`transformer_task="fill-mask"` instead.'
            )
        super().__init__(*args, **kwargs)

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **options: Any) -> Transformer:
        return cls(folder, _from_auto_load=True, **{**saved_masked_lm_options(Path(folder)), **options})


def load_masked_lm(
    path: Path,
    *,
    allow_pickle: bool,
    trust_remote_code: bool,
    model_kwargs: dict[str, Any],
    config_kwargs: dict[str, Any],
) -> Any:
    """The ``AutoModelForMaskedLM`` of ``path`` in eval mode; every weight, the prediction head's included,
    must come from the file (a plain encoder folder has no head: its scores would be random)."""
    from transformers import AutoConfig, AutoModelForMaskedLM

    adapter_folder, path = path, layout.adapter_base_folder(path) or path  # an adapter: its base's weights
    if path != adapter_folder:
        require_peft("Loading a PEFT model")
    weights = check_encoder_weights(path, allow_pickle=allow_pickle)
    try:
        config = AutoConfig.from_pretrained(
            path, **config_options(config_kwargs, trust_remote_code=trust_remote_code)
        )
    except (OSError, ValueError, KeyError) as e:
        raise unreadable_config(path / "config.json", e) from e
    disable_kv_cache(config, config_kwargs)
    # Wrong-shaped weights are reported in the loading info (checked below), not raised.
    options = model_options(model_kwargs, trust_remote_code=trust_remote_code, weights=weights)
    try:
        with quiet_transformers():
            model, info = AutoModelForMaskedLM.from_pretrained(path, config=config, **options)
            name_by_hub_name(model, path)
            if path != adapter_folder:  # what from_pretrained(adapter folder) does, after the base
                model.load_adapter(str(adapter_folder))
    except (OSError, RuntimeError, ValueError) as e:
        raise unloadable_weights(
            f"{weights} could not be loaded as a masked-LM ({config.model_type}): {e}", e
        ) from e
    missing = sorted(info.get("missing_keys", ()))
    mismatched = sorted(mismatched_names(info))
    if missing or mismatched:
        shown = ", ".join((missing + mismatched)[:3])
        raise WeightsMismatchError(
            f"{weights} does not match {path / 'config.json'} ({type(model).__name__}): missing or "
            f"wrong-shaped weights [{shown}]. A SPLADE model needs a trained masked-LM head; this file is "
            "truncated, belongs to another model, or holds an encoder without one."
        )
    return model.eval()


def _merged_options(older: dict[str, Any], *options: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``(model_kwargs, config_kwargs, processor_kwargs)`` with the older names merged in."""
    accepted = {*_OLDER_OPTIONS.values(), "tokenizer_kwargs"}
    unknown = sorted(set(older) - accepted)
    if unknown:
        raise TypeError(f"MLMTransformer() got unexpected keyword arguments {unknown}")
    merged = []
    for name, value in zip(_OLDER_OPTIONS, options):
        extra = older.get(_OLDER_OPTIONS[name]) or {}
        if name == "processor_kwargs":
            extra = {**extra, **(older.get("tokenizer_kwargs") or {})}
        merged.append({**extra, **(value or {})})
    return merged
