"""The sentence-transformers folder format, as data: file names, module type strings, config variants.

A saved model is a folder with ``modules.json`` listing the pipeline, one sub-folder per module (the first,
the Transformer, usually at the root), ``config_sentence_transformers.json`` and a ``README.md`` card.
This module only reads and writes those descriptions; the modules themselves load their own folders.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ModelLoadError
from .._numeric import SIMILARITY_FUNCTIONS

MODULES_FILE = "modules.json"
TRANSFORMER_CONFIG_FILES = (
    "sentence_bert_config.json",
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
)
MODEL_CONFIG_FILE = "config_sentence_transformers.json"

# Concatenation order of combined pooling modes; the same order sentence-transformers uses, so combined
# embeddings are interchangeable.
POOLING_MODES: tuple[str, ...] = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

# Classic boolean keys of the pooling config, in sentence-transformers' concatenation order.
_LEGACY_POOLING_KEYS = {
    "cls": "pooling_mode_cls_token",
    "mean": "pooling_mode_mean_tokens",
    "max": "pooling_mode_max_tokens",
    "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
    "weightedmean": "pooling_mode_weightedmean_tokens",
    "lasttoken": "pooling_mode_lasttoken",
}


@dataclass(frozen=True)
class ModuleType:
    """One kind of pipeline module: how modules.json names it, where its torch class lives, and how to
    describe a saved one from its files alone (for the ONNX path, which never loads torch).

    ``describe(folder, width)`` returns the module's repr and the width of the vectors it outputs, given
    the folder of its config (``None`` when modules.json gives it none) and the width it receives.
    """

    kind: str
    type_string: str  # written to modules.json: the classic name every sentence-transformers release reads
    implementation: str  # sbert._modules.<implementation> defines a class named `kind`
    describe: Callable[[Path | None, int], tuple[str, int]]


@dataclass(frozen=True)
class ModuleEntry:
    kind: str  # "Transformer", "Pooling", "Dense" or "Normalize"
    path: str  # sub-folder, "" for the model root
    name: str


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ModelLoadError(f"{path} is missing") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


def module_kind(type_string: str) -> str:
    """Map a modules.json type string (any sentence-transformers or sbert spelling) to a module kind."""
    if isinstance(type_string, str) and type_string.split(".")[0] in ("sentence_transformers", "sbert"):
        kind = type_string.rsplit(".", 1)[-1]
        if kind in MODULE_TYPES:
            return kind
    raise ModelLoadError(
        f"Unknown module type {type_string!r} in {MODULES_FILE}; sbert supports {sorted(MODULE_TYPES)}. "
        "Models with custom module code cannot be loaded."
    )


def read_modules(folder: Path) -> list[ModuleEntry]:
    path = folder / MODULES_FILE
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"{path} could not be read: {e}") from e
    if not isinstance(entries, list) or not entries:
        raise ModelLoadError(f"{path} must be a non-empty JSON list of modules")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "type" not in entry:
            raise ModelLoadError(f"{path}: entry {i} must be an object with a 'type'")
        if not isinstance(entry.get("idx", 0), int) or not isinstance(entry.get("path") or "", str):
            raise ModelLoadError(f"{path}: entry {i} needs an integer 'idx' and a string 'path'")
    modules = []
    for i, entry in enumerate(sorted(entries, key=lambda e: e.get("idx", 0))):
        kind = module_kind(entry["type"])
        sub = entry.get("path") or ""
        if Path(sub).is_absolute() or ".." in Path(sub).parts:
            raise ModelLoadError(f"{path}: entry {i} has path {sub!r} outside the model folder")
        modules.append(ModuleEntry(kind=kind, path=sub, name=str(entry.get("name", i))))
    return modules


def modules_json(kinds_and_paths: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"idx": i, "name": str(i), "path": path, "type": MODULE_TYPES[kind].type_string}
        for i, (kind, path) in enumerate(kinds_and_paths)
    ]


def pooling_config_from_file(path: Path) -> tuple[int, tuple[str, ...], bool]:
    """Read either pooling config variant: classic booleans or ``embedding_dimension``/``pooling_mode``."""
    config = read_json(path)
    dim = config.get("word_embedding_dimension", config.get("embedding_dimension"))
    if not isinstance(dim, int) or isinstance(dim, bool) or dim <= 0:
        raise ModelLoadError(f"{path}: missing or invalid embedding dimension ({dim!r})")
    if "pooling_mode" in config:
        raw = config["pooling_mode"]
        modes = (raw,) if isinstance(raw, str) else tuple(raw) if isinstance(raw, list) else ()
        if not modes:
            raise ModelLoadError(f"{path}: pooling_mode must be a mode or a non-empty list, found {raw!r}")
    else:
        # Concatenation order is fixed by the classic layout, whatever the key order in the file.
        modes = tuple(m for m in POOLING_MODES if config.get(_LEGACY_POOLING_KEYS[m], False))
        modes = modes or ("mean",)
    for mode in modes:
        if mode not in POOLING_MODES:
            raise ModelLoadError(f"{path}: unknown pooling mode {mode!r}; valid modes are {POOLING_MODES}")
    return dim, modes, bool(config.get("include_prompt", True))


def pooling_config_to_file(dim: int, modes: Sequence[str], include_prompt: bool) -> dict[str, Any]:
    """The classic boolean layout, readable by every sentence-transformers release and by TEI.

    Booleans cannot express an order: a combination in any other than the canonical order is written in
    the newer ``pooling_mode`` list variant instead, so it reloads unchanged.
    """
    canonical = tuple(m for m in POOLING_MODES if m in modes)
    if tuple(modes) != canonical:
        return {"embedding_dimension": dim, "pooling_mode": list(modes), "include_prompt": include_prompt}
    config: dict[str, Any] = {"word_embedding_dimension": dim}
    config.update({key: mode in modes for mode, key in _LEGACY_POOLING_KEYS.items()})
    config["include_prompt"] = include_prompt
    return config


def read_model_config(folder: Path) -> dict[str, Any]:
    path = folder / MODEL_CONFIG_FILE
    if not path.is_file():
        return {}
    config = read_json(path)
    fn = config.get("similarity_fn_name")
    if fn is not None and fn not in SIMILARITY_FUNCTIONS:
        raise ModelLoadError(f"{path}: unknown similarity_fn_name {fn!r}; valid: {SIMILARITY_FUNCTIONS}")
    return config


def read_transformer_options(folder: Path) -> dict[str, Any]:
    """``max_seq_length`` and ``do_lower_case`` from ``sentence_bert_config.json`` (or its old names)."""
    for name in TRANSFORMER_CONFIG_FILES:
        path = folder / name
        if path.is_file():
            break
    else:
        return {}
    config = read_json(path)
    known: dict[str, Any] = {k: config[k] for k in ("max_seq_length", "do_lower_case") if k in config}
    length = known.get("max_seq_length")
    if length is not None and (not isinstance(length, int) or isinstance(length, bool) or length < 2):
        raise ModelLoadError(f"{path}: max_seq_length must be an int >= 2 or null, found {length!r}")
    if not isinstance(known.get("do_lower_case", False), bool):
        raise ModelLoadError(f"{path}: do_lower_case must be true or false, found {known['do_lower_case']!r}")
    return known


def default_max_seq_length(tokenizer: Any, max_position_embeddings: int | None) -> int:
    """Without a saved ``max_seq_length``: the smaller of the tokenizer's and the encoder's limits."""
    return int(min(tokenizer.model_max_length or 10**9, max_position_embeddings or 10**9, 10**9 - 1))


def transformer_repr(config: dict[str, Any], architecture: str) -> str:
    # The exact form sentence-transformers prints, trailing space included, so model cards match.
    return f"Transformer({config}) with Transformer model: {architecture} "


@dataclass(frozen=True)
class PipelineInfo:
    """What can be known about a saved pipeline from its files alone, without torch."""

    entries: list[ModuleEntry]
    reprs: list[str]
    dimension: int
    transformer_path: Path
    architecture: str
    max_seq_length: int | None
    do_lower_case: bool
    max_position_embeddings: int | None
    includes_prompt: bool  # False when a Pooling leaves the prompt's tokens out (include_prompt: false)


def describe_pipeline(folder: Path, architecture: str | None = None) -> PipelineInfo:
    """Read a sentence-transformers folder's module list and configs (no weights, no torch)."""
    if (folder / MODULES_FILE).is_file():
        entries = read_modules(folder)
    elif not (folder / "config.json").is_file():
        raise ModelLoadError(
            f"{folder} is not a model folder: it has neither {MODULES_FILE} "
            "(sentence-transformers format) nor config.json (Hugging Face format)."
        )
    else:  # a plain Hugging Face folder: mean pooling over the encoder's own files
        entries = [ModuleEntry("Transformer", "", "0"), ModuleEntry("Pooling", "", "1")]
    if entries[0].kind != "Transformer":
        raise ModelLoadError(f"{folder / MODULES_FILE}: the first module must be a Transformer")
    transformer_path = folder / entries[0].path
    hf_config = read_json(transformer_path / "config.json")
    arch = architecture or (hf_config.get("architectures") or ["AutoModel"])[0]
    options = read_transformer_options(transformer_path)
    shown = {
        "max_seq_length": options.get("max_seq_length"),
        "do_lower_case": options.get("do_lower_case", False),
    }
    reprs, width = [transformer_repr(shown, arch)], int(hidden_size(hf_config))
    for entry in entries[1:]:
        # A module without a folder of its own (path "") takes its defaults, as sentence-transformers does.
        text, width = MODULE_TYPES[entry.kind].describe(folder / entry.path if entry.path else None, width)
        reprs.append(text)
    return PipelineInfo(
        entries=entries,
        reprs=reprs,
        dimension=int(width),
        transformer_path=transformer_path,
        architecture=arch,
        max_position_embeddings=hf_config.get("max_position_embeddings"),
        max_seq_length=options.get("max_seq_length"),
        do_lower_case=bool(options.get("do_lower_case", False)),
        includes_prompt=all(
            pooling_config_from_file(folder / e.path / "config.json")[2]
            for e in entries
            if e.kind == "Pooling" and e.path
        ),
    )


def hidden_size(hf_config: dict[str, Any]) -> Any:
    """The encoder's hidden size under the names Hugging Face configs use for it."""
    return hf_config.get("hidden_size", hf_config.get("d_model", hf_config.get("dim")))


def _describe_transformer(folder: Path | None, width: int) -> tuple[str, int]:
    raise ModelLoadError(f"{folder}: a Transformer can only be the first module of a pipeline")


def _describe_pooling(folder: Path | None, width: int) -> tuple[str, int]:
    if folder is not None:
        dim, modes, include_prompt = pooling_config_from_file(folder / "config.json")
    else:  # a plain Hugging Face folder: mean pooling
        dim, modes, include_prompt = width, ("mean",), True
    return f"Pooling({pooling_config_to_file(dim, modes, include_prompt)})", dim * len(modes)


def _describe_dense(folder: Path | None, width: int) -> tuple[str, int]:
    if folder is None:
        raise ModelLoadError(f"{MODULES_FILE}: a Dense module needs a folder of its own (path is empty)")
    config = read_json(folder / "config.json")
    keys = ("in_features", "out_features", "bias", "activation_function")
    return f"Dense({ {k: config[k] for k in keys if k in config} })", config.get("out_features", width)


def _describe_normalize(folder: Path | None, width: int) -> tuple[str, int]:
    return "Normalize()", width


# The one registry of module types. Adding a type is a file in sbert/_modules/ plus an entry here.
MODULE_TYPES: dict[str, ModuleType] = {
    t.kind: t
    for t in (
        ModuleType(
            "Transformer", "sentence_transformers.models.Transformer", "transformer", _describe_transformer
        ),
        ModuleType("Pooling", "sentence_transformers.models.Pooling", "pooling", _describe_pooling),
        ModuleType("Dense", "sentence_transformers.models.Dense", "dense", _describe_dense),
        ModuleType("Normalize", "sentence_transformers.models.Normalize", "normalize", _describe_normalize),
    )
}
