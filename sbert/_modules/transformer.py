"""Transformer: a Hugging Face encoder that turns token ids into contextual token embeddings."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import InputError, ModelLoadError
from .._format.hub import resolve_model_path
from .._format.layout import default_max_seq_length, read_transformer_options, transformer_repr
from .._format.weights import check_encoder_weights
from .._tokens.tokenizer import TextTokenizer, lowercased
from .padding_free import padding_free_forward, runs_padding_free_on, supports_padding_free

CONFIG_FILE = "sentence_bert_config.json"


def _get_max_seq_length(module: Any) -> int:
    return module.tokenizer.max_length


def _set_max_seq_length(module: Any, value: int) -> None:
    if not isinstance(value, int) or value < 2:
        raise InputError(f"max_seq_length must be an int >= 2, got {value!r}")
    module.tokenizer.max_length = value


# The token limit of a module that holds a ``tokenizer``: the tokenizer's own (Transformer, MLMTransformer).
tokenizer_max_seq_length = property(_get_max_seq_length, _set_max_seq_length)


class Transformer(nn.Module):
    """Wraps ``transformers.AutoModel`` and its tokenizer.

    Args:
        model_name_or_path: a folder with ``config.json``, weights and tokenizer files, or a hub name.
        max_seq_length: texts are truncated to this many tokens (special tokens included). ``None`` takes
            the smaller of the tokenizer's and the model's limits.
        do_lower_case: lowercase texts before tokenizing (for models trained on lowercased text).
        allow_pickle: allow loading ``pytorch_model.bin`` (pickle) weights. Off by default because unpickling
            an untrusted file can run arbitrary code; prefer safetensors.
        trust_remote_code: allow architectures whose code lives in the model folder.
        model_args, config_args: passed to ``AutoModel.from_pretrained`` / ``AutoConfig.from_pretrained``.
        tokenizer_args: sentence-transformers' ``tokenizer_kwargs`` (``model_max_length``, which then is the
            length limit, ``do_lower_case``, ``padding_side``, ``truncation_side``); see ``TextTokenizer``.
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike,
        *,
        max_seq_length: int | None = None,
        do_lower_case: bool = False,
        allow_pickle: bool = False,
        trust_remote_code: bool = False,
        model_args: dict[str, Any] | None = None,
        config_args: dict[str, Any] | None = None,
        tokenizer_args: dict[str, Any] | None = None,
        cache_dir: str | None = None,
        tokenizer_name_or_path: str | os.PathLike | None = None,
        **renamed: dict[str, Any] | None,
    ) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModel

        # sentence-transformers 6's names for the three option dicts (model_kwargs, config_kwargs,
        # processor_kwargs / tokenizer_kwargs).
        model_args, config_args, tokenizer_args = _renamed_options(
            renamed, model_args, config_args, tokenizer_args
        )
        path = resolve_model_path(
            model_name_or_path, cache_folder=cache_dir, allow_pickle=allow_pickle, default_namespace=None
        )
        tokenizer_path = path
        if tokenizer_name_or_path is not None:
            tokenizer_path = resolve_model_path(
                tokenizer_name_or_path, cache_folder=cache_dir, default_namespace=None
            )
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                f"{path / 'config.json'} not found: Transformer needs a local Hugging Face model folder "
                "(config.json, model.safetensors and tokenizer files). Resolve a hub name with "
                "SentenceTransformer(name) instead."
            )
        weights_file = check_encoder_weights(path, allow_pickle=allow_pickle)
        try:
            config = AutoConfig.from_pretrained(
                path, trust_remote_code=trust_remote_code, **(config_args or {})
            )
        except (OSError, ValueError, KeyError) as e:
            raise ModelLoadError(f"{path / 'config.json'} could not be read: {e}") from e
        try:
            with _quiet_transformers():
                self.auto_model, info = AutoModel.from_pretrained(
                    path,
                    config=config,
                    use_safetensors=weights_file.name.startswith("model.safetensors"),
                    trust_remote_code=trust_remote_code,
                    output_loading_info=True,
                    # Report wrong-shaped weights in loading_info (checked below) rather than as an error
                    # that only points at a log message.
                    **{"ignore_mismatched_sizes": True, **(model_args or {})},
                )
        except (OSError, RuntimeError, ValueError) as e:
            raise ModelLoadError(f"{weights_file} could not be loaded into {config.model_type}: {e}") from e
        _check_loading_info(info, weights_file, path / "config.json", config.model_type)
        self.auto_model.eval()
        self.tokenizer = TextTokenizer.from_folder(tokenizer_path, **(tokenizer_args or {}))
        self.do_lower_case = do_lower_case
        # The caller's model_max_length wins over the saved max_seq_length, uncapped (sentence-transformers').
        max_seq_length = (tokenizer_args or {}).get("model_max_length") or max_seq_length
        if max_seq_length is None:
            max_seq_length = default_max_seq_length(
                self.tokenizer, getattr(config, "max_position_embeddings", None)
            )
        self.max_seq_length = max_seq_length
        forward_params = inspect.signature(self.auto_model.forward).parameters
        self.takes_token_type_ids = "token_type_ids" in forward_params
        # Inference skips padded rows in the dense layers where the architecture allows (same numbers).
        self.padding_free = supports_padding_free(self.auto_model)

    @property
    def model(self) -> Any:
        """The transformers encoder: sentence-transformers 6's name for :attr:`auto_model`."""
        return self.auto_model

    @property
    def processor(self) -> Any:
        """sentence-transformers 6's name for :attr:`tokenizer`."""
        return self.tokenizer

    @property
    def config(self) -> Any:
        """The encoder's Hugging Face config, as sentence-transformers 6's ``Transformer.config``."""
        return self.auto_model.config

    max_seq_length = tokenizer_max_seq_length

    def get_word_embedding_dimension(self) -> int:
        return int(self.auto_model.config.hidden_size)

    get_embedding_dimension = get_word_embedding_dimension  # sentence-transformers 6's name

    def tokenize(self, texts: list[str] | list[tuple[str, str]]) -> dict[str, torch.Tensor]:
        """Token ids, attention mask (and token type ids when the model takes them) as ``(B, T)`` tensors;
        ``(a, b)`` items are text pairs."""
        if self.do_lower_case:
            texts = lowercased(texts)
        batch = self.tokenizer.encode_padded(texts)
        return self.to_features(batch)

    def to_features(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        features = {
            "input_ids": torch.from_numpy(batch["input_ids"]),
            "attention_mask": torch.from_numpy(batch["attention_mask"]),
        }
        if self.takes_token_type_ids:
            features["token_type_ids"] = torch.from_numpy(batch["token_type_ids"])
        return features

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        inputs = {k: features[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in features}
        every_layer = bool(getattr(self.auto_model.config, "output_hidden_states", False))
        fast = self.padding_free and not every_layer and not self.training and not torch.is_grad_enabled()
        fast = fast and runs_padding_free_on(inputs["input_ids"].device)
        if fast and not _tracing():
            hidden = padding_free_forward(self.auto_model, **inputs)
        else:
            output = self.auto_model(**inputs, return_dict=True)
            hidden = output.last_hidden_state
            if every_layer:  # (layers + 1) x (B, T, D), for WeightedLayerPooling, as sentence-transformers
                features["all_layer_embeddings"] = [h.float() for h in output.hidden_states]
        # (B, T, D); pooling and later modules run in fp32 even when the encoder runs in bf16/fp16.
        features["token_embeddings"] = hidden.float()
        return features

    def get_config_dict(self) -> dict[str, Any]:
        return {"max_seq_length": self.max_seq_length, "do_lower_case": self.do_lower_case}

    def __repr__(self) -> str:
        return transformer_repr(self.get_config_dict(), type(self.auto_model).__name__)

    def save(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        with _quiet_transformers():
            self.auto_model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save(folder)
        (folder / CONFIG_FILE).write_text(json.dumps(self.get_config_dict(), indent=2))

    @classmethod
    def load(cls, folder: str | os.PathLike, **kwargs: Any) -> Transformer:
        folder = Path(folder)
        return cls(folder, **read_transformer_options(folder), **kwargs)


def _tracing() -> bool:
    """An ONNX export traces the encoder's own forward: the graph must not depend on a batch's padding."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hide transformers' per-load progress bar (restored afterwards: no global change)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _check_loading_info(info: dict[str, Any], weights_file: Path, config_file: Path, model_type: str) -> None:
    """Weights missing from the file or of the wrong shape mean a truncated or foreign file."""
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith("pooler."))
    mismatched = [_shape_mismatch(m) for m in info.get("mismatched_keys", ())]
    problems = [f"missing weights {_first(missing)}"] if missing else []
    problems += [f"wrong-shaped weights {_first(sorted(mismatched))}"] if mismatched else []
    if problems:
        raise ModelLoadError(
            f"{weights_file} does not match {config_file} ({model_type}): "
            f"{'; '.join(problems)}. The file is truncated or belongs to another model."
        )


def _shape_mismatch(entry: Any) -> str:
    """One ``mismatched_keys`` item of transformers' loading info: ``(name, file shape, model shape)``."""
    if isinstance(entry, (tuple, list)) and len(entry) == 3:
        name, in_file, in_model = entry
        return f"{name}: {tuple(in_file)} in the file, {tuple(in_model)} in the model"
    return str(entry)


def _first(items: list[str], n: int = 3) -> str:
    return "[" + ", ".join(items[:n]) + (", ..." if len(items) > n else "") + "]"


_RENAMED_OPTIONS = {
    "model_kwargs": "model_args",
    "config_kwargs": "config_args",
    "tokenizer_kwargs": "tokenizer_args",
    "processor_kwargs": "tokenizer_args",
}


def _renamed_options(renamed: dict[str, Any], *options: dict[str, Any] | None) -> tuple[Any, ...]:
    """``(model_args, config_args, tokenizer_args)`` with sentence-transformers' newer names merged in."""
    unknown = sorted(set(renamed) - set(_RENAMED_OPTIONS))
    if unknown:
        raise TypeError(f"Transformer() got unexpected keyword arguments {unknown}")
    merged = dict(zip(("model_args", "config_args", "tokenizer_args"), options))
    for new, old in _RENAMED_OPTIONS.items():
        if renamed.get(new):
            merged[old] = {**(merged[old] or {}), **renamed[new]}
    return merged["model_args"], merged["config_args"], merged["tokenizer_args"]
