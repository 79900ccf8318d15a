"""The settings of ColBERT checkpoints older than sentence-transformers' MultiVectorEncoder format, read
without torch: which folders are PyLate's or Stanford-NLP ColBERT's (:func:`is_old_format`,
:func:`is_stanford`), their settings as sentence-transformers 6.3 reads them (:func:`pylate_settings`,
:func:`stanford_settings`: the Transformer's lengths and query expansion, the prompts carrying the
prefixes, the skiplist) and the prefixes kept as single tokens (:func:`register_prefix_tokens`).
:mod:`.legacy` builds the torch modules from them; :mod:`.onnx_plan` the ONNX graph's plan.
"""

from __future__ import annotations

import dataclasses
import string
from pathlib import Path
from typing import Any

from .._errors import InputError, ModelLoadError
from .._format.layout import read_json, read_modules
from .._numeric import MULTI_VECTOR_SIMILARITIES
from .task_inputs import check_query_expansion

# Module types of other libraries that sentence-transformers loads as its own classes (never importing them).
TYPE_ALIASES = {"pylate.models.Dense.Dense": "Dense"}
STANFORD_ARCHITECTURE = "HF_ColBERT"
STANFORD_METADATA = "artifact.metadata"
# PyLate's top-level settings: any of them marks a folder as PyLate's (sentence-transformers' list).
TRANSFORMER_KEYS = ("query_length", "document_length", "query_expansion")
PYLATE_KEYS = (
    *TRANSFORMER_KEYS,
    "do_query_expansion",
    "attend_to_expansion_tokens",
    "attend_to_mask_tokens",
    "query_prefix",
    "document_prefix",
    "skiplist_words",
)
DEFAULT_QUERY_LENGTH = 32  # ColBERT's query width when a checkpoint names none
SUPPORTED_SIMILARITY = MULTI_VECTOR_SIMILARITIES


@dataclasses.dataclass
class LegacySettings:
    """What an old checkpoint says beyond its modules: the Transformer's settings, the prompts (with the
    prefixes), the prefixes to keep as single tokens and the skiplist (None: not given)."""

    transformer: dict[str, Any] = dataclasses.field(default_factory=dict)
    prompts: dict[str, str] = dataclasses.field(default_factory=dict)
    prefixes: list[str] = dataclasses.field(default_factory=list)
    skiplist: list[str] | None = None


def is_old_format(folder: Path, config: dict[str, Any]) -> bool:
    """Whether sentence-transformers changes this folder's modules or settings on load: PyLate's (its
    model_type, settings or Dense), a SentenceTransformer's (converted), or a MultiVectorEncoder's with
    PyLate's settings or a Dense whose config predates ``module_input_name``."""
    model_type = config.get("model_type")
    entries = read_modules(folder)
    pylate = any(entry.type_string in TYPE_ALIASES for entry in entries)
    pylate = pylate or model_type == "ColBERT" or any(key in config for key in PYLATE_KEYS)
    if model_type in (None, "SentenceTransformer"):
        return pylate or any(entry.kind == "Pooling" for entry in entries)
    if model_type == "MultiVectorEncoder":
        dense = [folder / entry.path / "config.json" for entry in entries if entry.kind == "Dense"]
        return pylate or any("module_input_name" not in read_json(path) for path in dense)
    return model_type == "ColBERT"  # any other model class's folder: the model says which class loads it


def pylate_settings(config: dict[str, Any], path: Path) -> LegacySettings:
    """PyLate's top-level settings as sentence-transformers reads them: each prefix goes before the saved
    prompt of its task, and the flat expansion fields become a ``query_expansion`` (on, at ``query_length``,
    unless ``do_query_expansion`` is false)."""
    check_types(config, path)
    legacy = LegacySettings(prompts=dict(config.get("prompts") or {}), skiplist=config.get("skiplist_words"))
    for key, task in (("query_prefix", "query"), ("document_prefix", "document")):
        if key in config:
            prefix = config[key] or ""
            legacy.prefixes.append(prefix)
            legacy.prompts[task] = prefix + (legacy.prompts.get(task) or "").removeprefix(prefix)
    knobs = {
        key: config[key]
        for key in TRANSFORMER_KEYS
        if key in config and (config[key] is not None or key == "query_expansion")
    }
    if "query_expansion" not in knobs and any(key in config for key in PYLATE_KEYS):
        if config.get("do_query_expansion") is False:
            knobs["query_expansion"] = None
        else:
            attend = config.get("attend_to_expansion_tokens", config.get("attend_to_mask_tokens"))
            length = knobs.pop("query_length", None) or DEFAULT_QUERY_LENGTH
            knobs["query_expansion"] = {"strategy": "fixed", "attend": bool(attend), "length": length}
    try:
        if "query_expansion" in knobs:
            knobs["query_expansion"] = check_query_expansion(knobs["query_expansion"])
    except InputError as e:
        raise ModelLoadError(f"{path}: {e}") from e
    legacy.transformer = knobs
    return legacy


FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
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


def check_types(config: dict[str, Any], path: Path) -> None:
    """Each old field that is set has its type (null stands for "not set", as both libraries read it)."""
    for key, (types, wanted) in FIELD_TYPES.items():
        value = config.get(key)
        if value is None:
            continue
        bad = not isinstance(value, types) or (bool not in types and isinstance(value, bool))
        bad = bad or (int in types and value < 1)
        bad = bad or (key == "skiplist_words" and not all(isinstance(word, str) for word in value))
        if bad:
            raise ModelLoadError(f"{path}: {key} must be {wanted} or null, found {value!r}.")


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


def is_stanford(folder: Path) -> bool:
    path = folder / "config.json"
    if not path.is_file():
        return False
    architectures = read_json(path).get("architectures") or []
    return isinstance(architectures, list) and STANFORD_ARCHITECTURE in architectures


def stanford_settings(folder: Path) -> LegacySettings:
    path = folder / STANFORD_METADATA
    metadata = read_json(path) if path.is_file() else {}
    check_types(metadata, path)
    prefixes = [
        (metadata.get("query_token_id") or "[unused0]") + " ",
        (metadata.get("doc_token_id") or "[unused1]") + " ",
    ]
    expansion = check_query_expansion(
        {
            "strategy": "fixed",
            "attend": bool(metadata.get("attend_to_mask_tokens")),
            "length": metadata.get("query_maxlen") or DEFAULT_QUERY_LENGTH,
        }
    )
    return LegacySettings(
        transformer={"document_length": metadata.get("doc_maxlen"), "query_expansion": expansion},
        prompts={"query": prefixes[0], "document": prefixes[1]},
        prefixes=prefixes,
        skiplist=list(string.punctuation) if metadata.get("mask_punctuation", True) else [],
    )
