"""ColBERT checkpoints saved before sentence-transformers' MultiVectorEncoder, loaded as sentence-transformers
6.3's MultiVectorEncoder loads them (same modules, prompts, prefix tokens, skiplist and scoring).

Two families of files, most of the ColBERT models on the hub:

- PyLate's: ``modules.json`` lists only the Transformer and ``pylate.models.Dense.Dense`` (masking and
  normalization were PyLate's code, not modules), and ``config_sentence_transformers.json`` holds PyLate's
  settings at its top level: ``query_prefix`` / ``document_prefix`` (``"[Q] "`` / ``"[D] "``, tokens PyLate
  added to the tokenizer), ``query_length``, ``document_length``, ``do_query_expansion``,
  ``attend_to_expansion_tokens`` and ``skiplist_words``. PyLate 3 writes ``model_type: "ColBERT"``; earlier
  and later PyLate saves have no ``model_type`` or ``"SentenceTransformer"`` (sentence-transformers then
  converts the folder, dropping any Pooling).
- Stanford-NLP ColBERT's: a plain BERT folder whose ``config.json`` names the ``HF_ColBERT`` architecture, the
  projection stored as ``linear.weight`` beside the encoder's weights, and the settings in
  ``artifact.metadata`` (``query_token_id`` / ``doc_token_id``, in-vocabulary markers such as ``[unused0]``,
  ``query_maxlen``, ``doc_maxlen``, ``attend_to_mask_tokens``, ``mask_punctuation``).

sentence-transformers loads two more folders through the same steps, so they are read here too: a
SentenceTransformer's (its Pooling and sentence-level Normalize dropped, a Dense moved to the tokens) and a
MultiVectorEncoder save holding PyLate's settings or a Dense config older than ``module_input_name``.

:func:`load_legacy` is the one place sbert loads them on torch (their settings: :mod:`.legacy_format`, which
:mod:`.onnx_plan` reads for the ONNX graph too): it gives back the pipeline (Transformer with
``query_expansion`` / lengths, token-level Dense, MultiVectorMask with the skiplist, token-level Normalize)
and the settings (prompts carrying the prefixes, registered as special tokens so that they stay one token)
that a sentence-transformers 6.3 save of the same model holds; encoding and saving know nothing of the old
formats, and a save writes sentence-transformers 6.3's format.
"""

from __future__ import annotations

import dataclasses
import string
from pathlib import Path
from typing import Any

from torch import nn

from .._errors import ModelLoadError
from .._format.layout import MODEL_CONFIG_FILE, MODULES_FILE, read_json, read_modules, transformer_config_path
from .._modules import load_modules
from .._modules.dense import Dense
from .._modules.normalize import Normalize
from .._modules.pooling import Pooling
from .._modules.transformer import Transformer
from .legacy_format import STANFORD_ARCHITECTURE, TYPE_ALIASES, register_prefix_tokens
from .legacy_format import SUPPORTED_SIMILARITY as _SUPPORTED_SIMILARITY
from .legacy_format import LegacySettings as _Legacy
from .legacy_format import is_old_format as _is_old_format
from .legacy_format import is_stanford as _is_stanford
from .legacy_format import pylate_settings as _pylate_settings
from .legacy_format import stanford_settings as _stanford_settings
from .multi_vector_mask import MultiVectorMask
from .pipeline import MultiVectorNetwork, pipeline_from_modules, random_projection
from .task_inputs import read_task_settings, set_task_settings


def load_legacy(
    folder: Path, allow_pickle: bool, trust_remote_code: bool, options: dict[str, Any]
) -> tuple[MultiVectorNetwork, dict[str, Any]] | None:
    """The pipeline and the ``config_sentence_transformers.json`` settings of an old ColBERT checkpoint (or a
    SentenceTransformer's folder, converted) in ``folder``; None for the folders sbert's own loading reads as
    they are (a MultiVectorEncoder's save, a plain encoder)."""
    options = {k: v for k, v in options.items() if v}
    if not (folder / MODULES_FILE).is_file():
        if not _is_stanford(folder):
            return None
        return _load_stanford(folder, allow_pickle, trust_remote_code, options)
    config_path = folder / MODEL_CONFIG_FILE
    config = read_json(config_path) if config_path.is_file() else {}
    model_type = config.get("model_type")
    if not _is_old_format(folder, config):
        return None
    legacy = _pylate_settings(config, config_path)
    modules = _load_listed(folder, allow_pickle, trust_remote_code, options, legacy)
    if model_type == "ColBERT":  # PyLate 3 listed only [Transformer, Dense]: its mask and normalization
        skiplist = legacy.skiplist if legacy.skiplist is not None else list(string.punctuation)
        modules += [MultiVectorMask(skiplist), Normalize("token_embeddings")]
    elif model_type != "MultiVectorEncoder":  # a SentenceTransformer's folder, converted
        modules = _converted(modules, legacy)
    settings = {**config, "prompts": legacy.prompts}
    if model_type != "MultiVectorEncoder" and settings.get("similarity_fn_name") not in _SUPPORTED_SIMILARITY:
        settings["similarity_fn_name"] = "maxsim"  # PyLate's "MaxSim", or a dense model's cosine
    return _pipeline(modules, legacy), settings


def _pipeline(modules: list[Any], legacy: _Legacy) -> MultiVectorNetwork:
    """The checked pipeline, its prefixes kept as single tokens before the skiplist learns its ids."""
    if isinstance(modules[0], Transformer):
        register_prefix_tokens(modules[0].tokenizer, legacy.prefixes)
    return pipeline_from_modules(modules, ModelLoadError)


# ---------------------------------------------------------------------------------------------- PyLate


def _load_listed(
    folder: Path, allow_pickle: bool, trust_remote_code: bool, options: dict[str, Any], legacy: _Legacy
) -> list[Any]:
    """The modules modules.json lists (PyLate's Dense as sbert's), with the Transformer's settings of the
    checkpoint where its own config leaves them out, and token-level Dense layers where theirs predates
    ``module_input_name`` (PyLate's, and sentence-transformers' before 5.4)."""
    entries = [
        dataclasses.replace(entry, kind=TYPE_ALIASES[entry.type_string])
        if entry.type_string in TYPE_ALIASES
        else entry
        for entry in read_modules(folder)
    ]
    modules = load_modules(
        folder,
        allow_pickle=allow_pickle,
        trust_remote_code=trust_remote_code,
        transformer_options=options,
        entries=entries,
    )
    for entry, module in zip(entries, modules):
        if isinstance(module, Transformer):
            _set_transformer_settings(module, folder / entry.path, legacy.transformer)
        if isinstance(module, Dense):
            saved = read_json(folder / entry.path / "config.json")
            if "module_input_name" not in saved:
                module.module_input_name = "token_embeddings"
                if "module_output_name" not in saved:
                    module.module_output_name = "token_embeddings"
    return modules


def _set_transformer_settings(transformer: Transformer, folder: Path, knobs: dict[str, Any]) -> None:
    """The Transformer's saved settings, and the checkpoint's where its config has no such key."""
    path = transformer_config_path(folder)
    saved = set(read_json(path)) if path is not None else set()
    settings = read_task_settings(folder)
    settings.update({key: value for key, value in knobs.items() if key not in saved})
    set_task_settings(transformer, settings)


def _converted(modules: list[Any], legacy: _Legacy) -> list[Any]:
    """A SentenceTransformer folder as a multi-vector pipeline, as sentence-transformers converts it: no
    pooling or sentence-level normalization, a sentence-level Dense moved to the tokens (or a new random
    projection where there is none), then the mask (PyLate's punctuation skiplist for a PyLate save) and a
    token-level Normalize."""
    kept = [
        module
        for module in modules
        if not isinstance(module, Pooling)
        and not (isinstance(module, Normalize) and module.module_input_name == "sentence_embedding")
    ]
    for module in kept:
        if isinstance(module, Dense) and module.module_input_name == "sentence_embedding":
            module.module_input_name = module.module_output_name = "token_embeddings"
    if not any(isinstance(module, Dense) for module in kept):
        kept.append(random_projection(kept[0], "This SentenceTransformer folder has no Dense layer"))
    skiplist = legacy.skiplist
    if skiplist is None and legacy.prefixes:
        skiplist = list(string.punctuation)
    return [*kept, MultiVectorMask(skiplist), Normalize("token_embeddings")]


# ---------------------------------------------------------------------------------------------- Stanford


def _load_stanford(
    folder: Path, allow_pickle: bool, trust_remote_code: bool, options: dict[str, Any]
) -> tuple[MultiVectorNetwork, dict[str, Any]]:
    """The encoder, a token Dense of its ``linear.weight``, the punctuation mask (``mask_punctuation``) and a
    token Normalize; the markers as prompts, ``query_maxlen`` as the query expansion's width."""
    legacy = _stanford_settings(folder)
    transformer = Transformer(
        folder, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code, **options
    )
    set_task_settings(transformer, legacy.transformer)
    weight = _stanford_projection(folder, allow_pickle)
    projection = Dense(
        weight.shape[1],
        weight.shape[0],
        bias=False,
        activation_function=nn.Identity(),
        init_weight=weight,
        module_input_name="token_embeddings",
    )
    modules = [transformer, projection, MultiVectorMask(legacy.skiplist), Normalize("token_embeddings")]
    return _pipeline(modules, legacy), {"prompts": legacy.prompts}


def _stanford_projection(folder: Path, allow_pickle: bool) -> Any:
    """``linear.weight`` ``(dim, hidden)`` from the checkpoint's weights file."""
    import torch

    from .._format.weights import check_safetensors_file

    safe, pickled = folder / "model.safetensors", folder / "pytorch_model.bin"
    if safe.is_file():
        from safetensors import safe_open

        check_safetensors_file(safe)
        with safe_open(str(safe), framework="pt") as f:
            weights = {"linear.weight": f.get_tensor("linear.weight")} if "linear.weight" in f.keys() else {}
        source = safe
    elif pickled.is_file() and allow_pickle:
        weights, source = torch.load(pickled, map_location="cpu", weights_only=True), pickled
    else:
        hint = " (pytorch_model.bin is a pickle file: pass allow_pickle=True if you trust it)"
        raise ModelLoadError(
            f"No Stanford-NLP ColBERT weights in {folder}: expected model.safetensors"
            + (hint if pickled.is_file() else "")
        )
    weight = weights.get("linear.weight")
    if weight is None or weight.ndim != 2:
        raise ModelLoadError(
            f"{source} has no 2-D linear.weight, the ColBERT projection a Stanford-NLP checkpoint "
            f"({STANFORD_ARCHITECTURE} in config.json) keeps beside the encoder's weights."
        )
    return weight
