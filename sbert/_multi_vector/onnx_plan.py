"""What a MultiVectorEncoder folder runs on ``backend="onnx"``, read from its configs without torch: the
encoder folder, the token-level steps of its graph (Dense projections, Normalize), the MultiVectorMask's
settings, the Transformer's per-task tokenization, the prefixes kept as single tokens and the model's
saved settings. The folders are those :mod:`.legacy` and :mod:`.pipeline` load on torch, read the same
way: sentence-transformers' MultiVectorEncoder saves, PyLate's and Stanford-NLP ColBERT's checkpoints and
SentenceTransformer folders with a Dense (converted as sentence-transformers converts them).

Folders whose pipeline is not that (a plain encoder, which gets a new random projection; token pooling
or other modules; weights saved as pickles) raise InputError naming ``backend="torch"``.
"""

from __future__ import annotations

import dataclasses
import string
from pathlib import Path
from typing import Any

from .._backends.graph_builder.head import dense_activation
from .._backends.graph_builder.multi_vector import NORMALIZE, TokenDense
from .._backends.graph_builder.ops import NotBuildable
from .._errors import InputError
from .._format.layout import (
    MODEL_CONFIG_FILE,
    MODULES_FILE,
    ModuleEntry,
    dense_features,
    is_own_folder,
    normalize_features,
    read_json,
    read_modules,
    read_transformer_settings,
    transformer_config_path,
)
from .legacy_format import (
    SUPPORTED_SIMILARITY,
    TYPE_ALIASES,
    LegacySettings,
    is_old_format,
    is_stanford,
    pylate_settings,
    stanford_settings,
)
from .task_inputs import read_task_settings

_TOKENS = "token_embeddings"
_TORCH = "Load it with backend='torch' (with torch installed: pip install 'sbert[torch]')."


@dataclasses.dataclass
class MultiVectorPlan:
    encoder: Path  # the Transformer's folder
    steps: list[TokenDense | str]  # the graph's token-level modules after the encoder, in order
    mask: dict[str, Any] | None  # the MultiVectorMask's settings (its config.json); None: no mask
    task_settings: dict[str, Any]  # query_length, document_length, query_expansion
    prefixes: list[str]  # kept as single tokens (legacy.register_prefix_tokens)
    settings: dict[str, Any]  # config_sentence_transformers.json's, as the model applies them
    entries: list[ModuleEntry] = dataclasses.field(default_factory=list)  # modules.json's (Stanford: none)


def read_plan(folder: Path) -> MultiVectorPlan:
    """The plan of the model in ``folder`` (see the module docstring)."""
    if not (folder / MODULES_FILE).is_file():
        if is_stanford(folder):
            return _stanford_plan(folder)
        raise InputError(
            f"{folder} is a plain Hugging Face model: sentence-transformers adds a new random token "
            f"projection to it, which sbert's ONNX graph does not make up. {_TORCH}"
        )
    config_path = folder / MODEL_CONFIG_FILE
    config = read_json(config_path) if config_path.is_file() else {}
    model_type = config.get("model_type")
    legacy = pylate_settings(config, config_path) if is_old_format(folder, config) else None
    if legacy is None and not is_own_folder(folder, "MultiVectorEncoder", own=("SentenceTransformer",)):
        raise InputError(  # its settings unread and its encoder given a new random projection, as on torch
            f"{folder} holds a {model_type}: sentence-transformers converts it with a new random token "
            f"projection, which sbert's ONNX graph does not make up. {_TORCH}"
        )
    entries = [
        dataclasses.replace(entry, kind=TYPE_ALIASES[entry.type_string])
        if entry.type_string in TYPE_ALIASES
        else entry
        for entry in read_modules(folder)
    ]
    if entries[0].kind != "Transformer":
        raise InputError(f"{folder}: its first module is a {entries[0].kind}, not a Transformer. {_TORCH}")
    converting = legacy is not None and model_type not in ("ColBERT", "MultiVectorEncoder")
    steps, mask = _steps(folder, entries[1:], legacy is not None, converting)
    settings = config
    if legacy is not None:
        mask, steps = _legacy_ending(folder, model_type, legacy, steps, mask, converting)
        settings = {**config, "prompts": legacy.prompts}
        similarity = settings.get("similarity_fn_name")
        if model_type != "MultiVectorEncoder" and similarity not in SUPPORTED_SIMILARITY:
            settings["similarity_fn_name"] = "maxsim"  # PyLate's "MaxSim", or a dense model's cosine
    encoder = folder / entries[0].path
    _check_encoder(encoder)
    return MultiVectorPlan(
        encoder,
        steps,
        mask,
        _task_settings(encoder, legacy),
        legacy.prefixes if legacy is not None else [],
        settings,
        entries,
    )


def _steps(
    folder: Path, entries: list[ModuleEntry], legacy: bool, converting: bool
) -> tuple[list[TokenDense | str], dict[str, Any] | None]:
    """The graph's steps and the mask's settings of the modules after the Transformer; a SentenceTransformer
    folder's Pooling and sentence-level Normalize dropped (``converting``)."""
    steps: list[TokenDense | str] = []
    mask = None
    for entry in entries:
        module = folder / entry.path
        if entry.kind == "Dense":
            steps.append(_token_dense(module, legacy, converting))
        elif entry.kind == "Normalize" and normalize_features(module)[0] == _TOKENS:
            steps.append(NORMALIZE)
        elif entry.kind in ("Normalize", "Pooling") and converting:
            continue
        elif entry.kind == "MultiVectorMask":
            path = module / "config.json"
            mask = read_json(path) if path.is_file() else {}
        else:
            raise InputError(
                f"{folder}: sbert's ONNX graph of a MultiVectorEncoder runs a Transformer, token Dense "
                f"layers, a MultiVectorMask and a token Normalize, not a {entry.kind} module ({entry.path}). "
                + _TORCH
            )
    return steps, mask


def _token_dense(module: Path, legacy: bool, converting: bool) -> TokenDense:
    config = read_json(module / "config.json")
    source, target, residual = dense_features(config)
    if legacy and "module_input_name" not in config:  # PyLate's, or sentence-transformers' before 5.4
        source = target = _TOKENS
    if converting and source == "sentence_embedding":  # a SentenceTransformer's, moved to the tokens
        source = target = _TOKENS
    if (source, target, residual) != (_TOKENS, _TOKENS, False):
        raise InputError(f"{module}: a Dense on {source} (to {target}, residual {residual}). {_TORCH}")
    if not (module / "model.safetensors").is_file():
        raise InputError(f"{module} keeps its weights in a pickle, not model.safetensors. {_TORCH}")
    try:
        activation = dense_activation(module)
    except NotBuildable as e:
        raise InputError(f"{module}: sbert's ONNX graph does not write its {e}. {_TORCH}") from e
    return TokenDense(module / "model.safetensors", bool(config.get("bias", True)), activation)


def _legacy_ending(
    folder: Path,
    model_type: str | None,
    legacy: LegacySettings,
    steps: list[TokenDense | str],
    mask: dict[str, Any] | None,
    converting: bool,
) -> tuple[dict[str, Any] | None, list[TokenDense | str]]:
    """The mask and the token Normalize sentence-transformers adds to PyLate 3's [Transformer, Dense] and
    to a converted SentenceTransformer folder (a new random projection there: not on ONNX)."""
    if model_type == "ColBERT":
        skiplist = legacy.skiplist if legacy.skiplist is not None else list(string.punctuation)
        return {"skiplist_words": skiplist}, [*steps, NORMALIZE]
    if not converting:
        return mask, steps
    if not any(isinstance(step, TokenDense) for step in steps):
        raise InputError(
            f"{folder} has no Dense layer: sentence-transformers adds a new random token projection, which "
            f"sbert's ONNX graph does not make up. {_TORCH}"
        )
    skiplist = legacy.skiplist
    if skiplist is None and legacy.prefixes:
        skiplist = list(string.punctuation)
    return {"skiplist_words": skiplist or []}, [*steps, NORMALIZE]


def _task_settings(encoder: Path, legacy: LegacySettings | None) -> dict[str, Any]:
    """The Transformer's saved per-task settings, and a legacy checkpoint's where its config has no key."""
    settings = read_task_settings(encoder)
    if legacy is not None:
        path = transformer_config_path(encoder)
        saved = set(read_json(path)) if path is not None else set()
        settings.update({key: value for key, value in legacy.transformer.items() if key not in saved})
    return settings


def _check_encoder(encoder: Path) -> None:
    """A Transformer that gives the encoder's last hidden states (sentence-transformers 6's default)."""
    settings = read_transformer_settings(encoder)
    task = settings.get("transformer_task", "feature-extraction")
    output = settings.get("module_output_name", _TOKENS)
    if task != "feature-extraction" or output != _TOKENS:
        raise InputError(
            f"{encoder}: a Transformer with transformer_task {task!r} writing {output!r}; sbert's ONNX graph "
            f"runs the encoder's token embeddings. {_TORCH}"
        )


def _stanford_plan(folder: Path) -> MultiVectorPlan:
    """A Stanford-NLP checkpoint: the encoder, its ``linear.weight`` projection, the punctuation mask and a
    token Normalize; the markers as prompts, ``query_maxlen`` as the query expansion's width."""
    legacy = stanford_settings(folder)
    if not (folder / "model.safetensors").is_file():
        raise InputError(f"{folder} keeps its weights in a pickle, not model.safetensors. {_TORCH}")
    steps: list[TokenDense | str] = [TokenDense(folder / "model.safetensors", bias=False), NORMALIZE]
    settings = {"document_length": None, "query_length": None, "query_expansion": None}
    settings.update(legacy.transformer)
    mask = {"skiplist_words": legacy.skiplist}
    return MultiVectorPlan(folder, steps, mask, settings, legacy.prefixes, {"prompts": legacy.prompts})
