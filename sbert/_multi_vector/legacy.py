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

:func:`load_legacy` is the one place sbert reads them: it gives back the pipeline (Transformer with
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

from .._errors import InputError, ModelLoadError
from .._format.layout import MODEL_CONFIG_FILE, MODULES_FILE, read_json, read_modules, transformer_config_path
from .._modules import load_modules
from .._modules.dense import Dense
from .._modules.normalize import Normalize
from .._modules.pooling import Pooling
from .._modules.transformer import Transformer
from .multi_vector_mask import MultiVectorMask
from .pipeline import MultiVectorNetwork, pipeline_from_modules, random_projection
from .task_inputs import check_query_expansion, read_task_settings, set_task_settings

# Module types of other libraries that sentence-transformers loads as its own classes (never importing them).
TYPE_ALIASES = {"pylate.models.Dense.Dense": "Dense"}
STANFORD_ARCHITECTURE = "HF_ColBERT"
STANFORD_METADATA = "artifact.metadata"
# PyLate's top-level settings: any of them marks a folder as PyLate's (sentence-transformers' list).
_TRANSFORMER_KEYS = ("query_length", "document_length", "query_expansion")
_PYLATE_KEYS = (
    *_TRANSFORMER_KEYS,
    "do_query_expansion",
    "attend_to_expansion_tokens",
    "attend_to_mask_tokens",
    "query_prefix",
    "document_prefix",
    "skiplist_words",
)
_DEFAULT_QUERY_LENGTH = 32  # ColBERT's query width when a checkpoint names none
_SUPPORTED_SIMILARITY = ("maxsim", "meanmaxsim")


@dataclasses.dataclass
class _Legacy:
    """What an old checkpoint says beyond its modules: the Transformer's settings, the prompts (with the
    prefixes), the prefixes to keep as single tokens and the skiplist (None: not given)."""

    transformer: dict[str, Any] = dataclasses.field(default_factory=dict)
    prompts: dict[str, str] = dataclasses.field(default_factory=dict)
    prefixes: list[str] = dataclasses.field(default_factory=list)
    skiplist: list[str] | None = None


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


def _is_old_format(folder: Path, config: dict[str, Any]) -> bool:
    """Whether sentence-transformers changes this folder's modules or settings on load: PyLate's (its
    model_type, settings or Dense), a SentenceTransformer's (converted), or a MultiVectorEncoder's with
    PyLate's settings or a Dense whose config predates ``module_input_name``."""
    model_type = config.get("model_type")
    entries = read_modules(folder)
    pylate = any(entry.type_string in TYPE_ALIASES for entry in entries)
    pylate = pylate or model_type == "ColBERT" or any(key in config for key in _PYLATE_KEYS)
    if model_type in (None, "SentenceTransformer"):
        return pylate or any(entry.kind == "Pooling" for entry in entries)
    if model_type == "MultiVectorEncoder":
        dense = [folder / entry.path / "config.json" for entry in entries if entry.kind == "Dense"]
        return pylate or any("module_input_name" not in read_json(path) for path in dense)
    return model_type == "ColBERT"  # any other model class's folder: the model says which class loads it


def _pipeline(modules: list[Any], legacy: _Legacy) -> MultiVectorNetwork:
    """The checked pipeline, its prefixes kept as single tokens before the skiplist learns its ids."""
    if isinstance(modules[0], Transformer):
        register_prefix_tokens(modules[0].tokenizer, legacy.prefixes)
    return pipeline_from_modules(modules, ModelLoadError)


# ---------------------------------------------------------------------------------------------- PyLate


def _pylate_settings(config: dict[str, Any], path: Path) -> _Legacy:
    """PyLate's top-level settings as sentence-transformers reads them: each prefix goes before the saved
    prompt of its task, and the flat expansion fields become a ``query_expansion`` (on, at ``query_length``,
    unless ``do_query_expansion`` is false)."""
    _check_types(config, path)
    legacy = _Legacy(prompts=dict(config.get("prompts") or {}), skiplist=config.get("skiplist_words"))
    for key, task in (("query_prefix", "query"), ("document_prefix", "document")):
        if key in config:
            prefix = config[key] or ""
            legacy.prefixes.append(prefix)
            legacy.prompts[task] = prefix + (legacy.prompts.get(task) or "").removeprefix(prefix)
    knobs = {
        key: config[key]
        for key in _TRANSFORMER_KEYS
        if key in config and (config[key] is not None or key == "query_expansion")
    }
    if "query_expansion" not in knobs and any(key in config for key in _PYLATE_KEYS):
        if config.get("do_query_expansion") is False:
            knobs["query_expansion"] = None
        else:
            attend = config.get("attend_to_expansion_tokens", config.get("attend_to_mask_tokens"))
            length = knobs.pop("query_length", None) or _DEFAULT_QUERY_LENGTH
            knobs["query_expansion"] = {"strategy": "fixed", "attend": bool(attend), "length": length}
    try:
        if "query_expansion" in knobs:
            knobs["query_expansion"] = check_query_expansion(knobs["query_expansion"])
    except InputError as e:
        raise ModelLoadError(f"{path}: {e}") from e
    legacy.transformer = knobs
    return legacy


_FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "query_prefix": ((str,), "a string"),
    "document_prefix": ((str,), "a string"),
    "query_length": ((int,), "a positive int"),
    "document_length": ((int,), "a positive int"),
    "query_maxlen": ((int,), "a positive int"),
    "doc_maxlen": ((int,), "a positive int"),
    "do_query_expansion": ((bool,), "true or false"),
    "attend_to_expansion_tokens": ((bool,), "true or false"),
    "attend_to_mask_tokens": ((bool,), "true or false"),
    "mask_punctuation": ((bool,), "true or false"),
    "query_token_id": ((str,), "a token (a string such as [unused0])"),
    "doc_token_id": ((str,), "a token (a string such as [unused1])"),
    "skiplist_words": ((list,), "a list of strings"),
    "prompts": ((dict,), "an object of prompt names to texts"),
}


def _check_types(config: dict[str, Any], path: Path) -> None:
    """Each old field that is set has its type (null stands for "not set", as both libraries read it)."""
    for key, (types, wanted) in _FIELD_TYPES.items():
        value = config.get(key)
        if value is None:
            continue
        bad = not isinstance(value, types) or (bool not in types and isinstance(value, bool))
        bad = bad or (int in types and value < 1)
        bad = bad or (key == "skiplist_words" and not all(isinstance(word, str) for word in value))
        if bad:
            raise ModelLoadError(f"{path}: {key} must be {wanted} or null, found {value!r}.")


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


def register_prefix_tokens(tokenizer: Any, prefixes: list[str]) -> None:
    """Keep each prefix a model was trained with as one token, as sentence-transformers does: a prefix the
    vocabulary holds (the whole ``"[Q] "`` PyLate added, or the first word of ``"[unused0] "``) that the
    tokenizer would split or normalize becomes a special token matched as written. Prefixes the vocabulary
    lacks stay plain text."""
    from tokenizers import AddedToken

    vocab = tokenizer.get_vocab()
    to_register = []
    for value in prefixes:
        if not value or not value.split():
            continue
        for prefix in (value, value.split(None, 1)[0]):
            if prefix not in vocab:
                continue
            if tokenizer.tokenize(prefix) != [prefix]:
                to_register.append(AddedToken(prefix, normalized=False, special=True))
            break
    if to_register:
        tokenizer.add_special_tokens({"additional_special_tokens": to_register})


# ---------------------------------------------------------------------------------------------- Stanford


def _is_stanford(folder: Path) -> bool:
    path = folder / "config.json"
    if not path.is_file():
        return False
    architectures = read_json(path).get("architectures") or []
    return isinstance(architectures, list) and STANFORD_ARCHITECTURE in architectures


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


def _stanford_settings(folder: Path) -> _Legacy:
    path = folder / STANFORD_METADATA
    metadata = read_json(path) if path.is_file() else {}
    _check_types(metadata, path)
    prefixes = [
        (metadata.get("query_token_id") or "[unused0]") + " ",
        (metadata.get("doc_token_id") or "[unused1]") + " ",
    ]
    expansion = check_query_expansion(
        {
            "strategy": "fixed",
            "attend": bool(metadata.get("attend_to_mask_tokens")),
            "length": metadata.get("query_maxlen") or _DEFAULT_QUERY_LENGTH,
        }
    )
    return _Legacy(
        transformer={"document_length": metadata.get("doc_maxlen"), "query_expansion": expansion},
        prompts={"query": prefixes[0], "document": prefixes[1]},
        prefixes=prefixes,
        skiplist=list(string.punctuation) if metadata.get("mask_punctuation", True) else [],
    )


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
