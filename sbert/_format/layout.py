"""The sentence-transformers folder format, as data: file names, module type strings, config variants.

A saved model is a folder with ``modules.json`` listing the pipeline, one sub-folder per module (the first,
the Transformer, usually at the root), ``config_sentence_transformers.json`` and a ``README.md`` card.
This module only reads and writes those descriptions; the modules themselves load their own folders.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import (
    InvalidModelFileError,
    MissingEntryKeyError,
    MissingModuleArgumentError,
    ModelLoadError,
    UnrecognizedModelError,
    installed,
)
from .._io.atomic import atomic_directory
from .._numeric import MULTI_VECTOR_SIMILARITIES, SIMILARITY_FUNCTIONS
from .._st_loggers import ST_MODEL
from . import transformer_config
from .chat_template import inferred_message_entry
from .hub import resolve_model_path
from .requirements import check_requirements
from .weights import is_weights_file

MODULES_FILE = "modules.json"
# an export-only folder's marker (``sbert export``: the graphs in onnx/, no weights); a save of the whole
# model into such a folder drops it, or the folder would still load the exported graph
EXPORT_MARKER = "onnx/sbert_export.json"
TRANSFORMER_CONFIG_FILES = (
    "sentence_bert_config.json",
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
)
MODEL_CONFIG_FILE = "config_sentence_transformers.json"
# A PEFT adapter's config (peft and transformers write it, with adapter_model.safetensors, where a model
# with an adapter saves its encoder): it names the base model the adapter goes on.
ADAPTER_CONFIG_FILE = "adapter_config.json"

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
CLASSIC_POOLING_KEYS = frozenset(_LEGACY_POOLING_KEYS.values())  # Pooling's older constructor keywords


@dataclass(frozen=True)
class ModuleType:
    """One kind of pipeline module: how modules.json names it, where its torch class lives, and how to
    describe a saved one from its files alone (for the ONNX path, which never loads torch).

    ``describe(folder, width)`` returns the module's repr and the width of the vectors it outputs, given
    the folder of its config (``None`` when modules.json gives it none) and the width it receives.
    """

    kind: str
    type_string: str  # written to modules.json: the classic name every sentence-transformers release reads
    implementation: str  # sbert._modules.<implementation> (or a full ``sbert.`` path) defines class `kind`
    describe: Callable[[Path | None, int], tuple[str, int]]


@dataclass(frozen=True)
class ModuleEntry:
    kind: str  # a MODULE_TYPES kind ("Transformer", "Pooling", ...), or CUSTOM
    path: str  # sub-folder, "" for the model root
    name: str
    type_string: str = ""  # as modules.json gives it (a custom module's class path)
    kwargs: tuple[str, ...] = ()  # the encode keywords its forward takes ("kwargs", e.g. ["task"])


def kind_of_module(module: Any) -> str:
    """The modules.json kind of a loaded ``module``, which it is saved as: its class's name, or the kind its
    ``stands_for`` names (an ONNX stand-in's torch module, so a model's card and settings read the same on
    either backend; a class saved under an older type string that more releases read)."""
    return getattr(module, "stands_for", None) or type(module).__name__


# The kind of a modules.json entry naming a class outside sbert and sentence-transformers: the user's own
# module, whose class is imported (its code run) only with trust_remote_code=True, and only on torch.
CUSTOM = "Custom"


def default_pooling_mode(config: dict[str, Any]) -> str:
    """The pooling of a plain Hugging Face model, as sentence-transformers picks it: the last token for a
    model trained as a causal language model (unless its config says ``is_causal: false``), else mean."""
    architectures = config.get("architectures") or [""]
    causal = str(architectures[0]).endswith("ForCausalLM") and config.get("is_causal", True) is not False
    return "lasttoken" if causal else "mean"


def check_plain_folder(folder: Path) -> None:
    """A folder a model builds its default modules on needs an encoder: config.json, or a PEFT adapter's
    adapter_config.json (whose base model's config describes it)."""
    if (folder / "config.json").is_file() or (folder / ADAPTER_CONFIG_FILE).is_file():
        return
    kind = saved_model_type(folder)
    if kind is not None:  # another class's folder whose encoder is not at its root (a Router's routes, ...)
        raise ModelLoadError(
            f"{folder} holds a {kind} without an encoder at its root, which cannot be converted (nor can "
            f"sentence-transformers convert it): load this folder with sbert.{kind}."
        )
    raise UnrecognizedModelError(  # sentence-transformers: transformers' "Unrecognized model in ..."
        f"{folder} is not a model folder: it has neither {MODULES_FILE} "
        "(sentence-transformers format) nor config.json (Hugging Face format)."
    )


def read_json(path: Path, *, model_config: bool = False) -> dict[str, Any]:
    """The JSON object in ``path``. ``model_config``: the file is a model's config.json, so a missing one or
    one without an object is an :class:`UnrecognizedModelError` (a ``ValueError``), as transformers'
    ``AutoConfig`` refuses it under sentence-transformers ("Unrecognized model in ...")."""
    kind = UnrecognizedModelError if model_config else ModelLoadError
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise kind(f"{path} is missing") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise kind(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


# Earlier sentence-transformers class names of a kind, still loaded by 6.3: ``Asym`` (before 5.0) is Router,
# its folder in the old layout (routes in config.json) read by read_router_config.
RENAMED_KINDS = {"Asym": "Router"}


def module_kind(type_string: str) -> str:
    """Map a modules.json type string (any sentence-transformers or sbert spelling) to a module kind."""
    if isinstance(type_string, str) and type_string.split(".")[0] in ("sentence_transformers", "sbert"):
        kind = type_string.rsplit(".", 1)[-1]
        kind = RENAMED_KINDS.get(kind, kind)
        if kind in MODULE_TYPES:
            return kind
    raise ModelLoadError(
        f"Unknown module type {type_string!r} in {MODULES_FILE}; sbert supports {sorted(MODULE_TYPES)}. "
        "Models with custom module code cannot be loaded."
    )


def entry_kind(type_string: str) -> str:
    """:func:`module_kind`, or :data:`CUSTOM` for a class path outside sbert and sentence-transformers."""
    try:
        return module_kind(type_string)
    except ModelLoadError:
        if isinstance(type_string, str) and "." in type_string.strip(".") and not _library_path(type_string):
            return CUSTOM
        raise


def _library_path(type_string: str) -> bool:
    return type_string.split(".")[0] in ("sentence_transformers", "sbert")


def st_module_kwargs(folder: Path | None) -> dict[str, list[str]] | None:
    """sentence-transformers' ``model.module_kwargs`` of a model loaded from ``folder``: each modules.json
    entry's ``kwargs`` by module name; ``{}`` for a folder without modules.json (a plain Hugging Face
    folder); ``None`` for a model built from modules (``folder`` None)."""
    if folder is None:
        return None
    if not (folder / MODULES_FILE).is_file():
        return {}
    return {entry.name: list(entry.kwargs) for entry in read_modules(folder)}


def modules_json_entries(folder: Path) -> list[dict[str, Any]]:
    """The entries of ``folder``'s modules.json, each an object with a ``"type"`` (the one reading of the
    file: a list that is empty or not a list is a ValueError-class error, an entry without a type a
    KeyError-class one, as sentence-transformers fails on them)."""
    path = folder / MODULES_FILE
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"{path} could not be read: {e}") from e
    if not isinstance(entries, list) or not entries:
        raise InvalidModelFileError(f"{path} must be a non-empty JSON list of modules")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "type" not in entry:
            kind = MissingEntryKeyError if isinstance(entry, dict) else ModelLoadError
            raise kind(f"{path}: entry {i} must be an object with a 'type'")
    return entries


def read_modules(folder: Path) -> list[ModuleEntry]:
    path = folder / MODULES_FILE
    entries = modules_json_entries(folder)
    for i, entry in enumerate(entries):
        if not isinstance(entry.get("idx", 0), int) or not isinstance(entry.get("path") or "", str):
            raise ModelLoadError(f"{path}: entry {i} needs an integer 'idx' and a string 'path'")
        kwargs = entry.get("kwargs", [])
        if not isinstance(kwargs, list) or not all(isinstance(k, str) for k in kwargs):
            raise ModelLoadError(f"{path}: entry {i} has 'kwargs' {kwargs!r}; it must be a list of names")
    modules = []
    for i, entry in enumerate(sorted(entries, key=lambda e: e.get("idx", 0))):
        kind = entry_kind(entry["type"])
        sub = entry.get("path") or ""
        if Path(sub).is_absolute() or ".." in Path(sub).parts:
            raise ModelLoadError(f"{path}: entry {i} has path {sub!r} outside the model folder")
        name, kwargs = str(entry.get("name", i)), tuple(entry.get("kwargs", ()))
        modules.append(ModuleEntry(kind, sub, name, str(entry["type"]), kwargs))
    return modules


def modules_json(
    kinds_and_paths: Sequence[tuple[str, str]],
    kwargs: Sequence[Sequence[str]] = (),
    names: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """modules.json for ``(kind, path)`` pairs; a kind outside the registry is a custom module's class
    path. ``kwargs``: each module's entry keywords (written where there are some, as sentence-transformers
    writes them); ``names``: the modules' names (their positions where not given)."""
    entries = []
    for i, (kind, path) in enumerate(kinds_and_paths):
        entry = {
            "idx": i,
            "name": names[i] if i < len(names) else str(i),
            "path": path,
            "type": MODULE_TYPES[kind].type_string if kind in MODULE_TYPES else kind,
        }
        if i < len(kwargs) and kwargs[i]:
            entry["kwargs"] = list(kwargs[i])
        entries.append(entry)
    return entries


def pooling_config_from_file(path: Path) -> tuple[int, tuple[str, ...], bool]:
    """Read either pooling config variant: classic booleans or ``embedding_dimension``/``pooling_mode``."""
    # no file: no settings, as sentence-transformers reads it (and misses the dimension)
    config = read_json(path) if path.is_file() else {}
    dim = config.get("word_embedding_dimension", config.get("embedding_dimension"))
    if dim is None:
        raise MissingModuleArgumentError(
            f"{path} gives no embedding dimension (word_embedding_dimension), which Pooling needs; "
            "save the model again or write the encoder's hidden size there."
        )
    if not isinstance(dim, int) or isinstance(dim, bool) or dim <= 0:
        raise ModelLoadError(f"{path}: invalid embedding dimension ({dim!r})")
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
            raise InvalidModelFileError(
                f"{path}: unknown pooling mode {mode!r}; valid modes are {POOLING_MODES}"
            )
    return dim, modes, bool(config.get("include_prompt", True))


def pooling_modes_from_flags(flags: dict[str, Any]) -> tuple[str, ...]:
    """The modes of the classic ``pooling_mode_*_tokens=True`` constructor arguments, in the classic
    concatenation order (as sentence-transformers 6 reads them: the flags set, else mean). Unknown keys
    raise TypeError, as for any unexpected keyword argument."""
    keys = {key: mode for mode, key in _LEGACY_POOLING_KEYS.items()}
    unknown = sorted(set(flags) - set(keys))
    if unknown:
        raise TypeError(f"Pooling() got unexpected keyword arguments {unknown}")
    return tuple(m for m in POOLING_MODES if flags.get(_LEGACY_POOLING_KEYS[m], False)) or ("mean",)


def classic_flags_as_mode(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with its classic ``pooling_mode_*_tokens`` flags read as one ``pooling_mode`` (a name, or a
    tuple of several) and dropped, as sentence-transformers 6's ``Pooling.load_config`` gives it."""
    flags = {key: config[key] for key in _LEGACY_POOLING_KEYS.values() if key in config}
    config = {key: value for key, value in config.items() if key not in flags}
    if flags and "pooling_mode" not in config:
        modes = pooling_modes_from_flags(flags)
        config["pooling_mode"] = modes[0] if len(modes) == 1 else modes
    return config


def pooling_settings(dim: int, modes: Sequence[str], include_prompt: bool) -> dict[str, Any]:
    """Pooling's settings as sentence-transformers 6's ``get_config_dict`` and repr show them (one mode by
    name, several as a tuple); the file keeps the classic layout (:func:`pooling_config_to_file`)."""
    mode: str | tuple[str, ...] = modes[0] if len(modes) == 1 else tuple(modes)
    return {"embedding_dimension": dim, "pooling_mode": mode, "include_prompt": include_prompt}


def pooling_config(
    folder: Path | None, width: int, encoder_config: dict[str, Any]
) -> tuple[int, tuple[str, ...], bool]:
    """A Pooling's input width, modes and whether it pools the prompt's tokens: from its ``folder``'s
    config.json, or for one without a folder (a plain Hugging Face folder's) what sentence-transformers
    builds: ``width`` (the encoder's), the pooling ``encoder_config`` implies, the prompt included."""
    if folder is None:
        return width, (default_pooling_mode(encoder_config),), True
    return pooling_config_from_file(folder / "config.json")


def pipeline_pooling(
    pipeline: PipelineInfo, entry: ModuleEntry, folder: Path
) -> tuple[int, tuple[str, ...], bool]:
    """:func:`pooling_config` of the Pooling ``entry`` of ``pipeline`` saved in ``folder``: a folder-less one
    over its encoder's hidden size and with the pooling that encoder's config implies."""
    if entry.path:
        return pooling_config_from_file(folder / entry.path / "config.json")
    encoder_config = read_json(encoder_config_file(pipeline.transformer_path), model_config=True)
    return pooling_config(None, int(hidden_size(encoder_config)), encoder_config)


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


def model_directory(path: str | Any, *, export: bool = False) -> Any:
    """The atomic folder a model's save or ``export`` writes (``atomic_directory``): what ``path`` holds
    besides the model's files is kept, as sentence-transformers' save keeps it; ``modules.json`` goes in
    last. An export (its graphs hold the weights) drops weight files left at the folder's top level, which
    the torch backend would otherwise load in place of the exported model. A save (not an export) logs
    sentence-transformers' "Saving model to <path>" (INFO, on its logger), as its model classes' save does."""
    if not export:
        logging.getLogger(ST_MODEL).info(f"Saving model to {path}")
    stale: list[str] = [EXPORT_MARKER]
    if export and Path(path).is_dir():
        stale += [entry.name for entry in Path(path).iterdir() if entry.is_file() and is_weights_file(entry)]
    return atomic_directory(path, keep_others=True, last=(MODULES_FILE,), stale=stale)


def read_model_config(folder: Path) -> dict[str, Any]:
    path = folder / MODEL_CONFIG_FILE
    if not path.is_file():
        return {}
    config = read_json(path)
    check_requirements(config.get("requirements"), str(folder), for_sbert=True)
    fn = config.get("similarity_fn_name")
    if isinstance(fn, str) and fn.lower() in MULTI_VECTOR_SIMILARITIES:
        # a multi-vector model's scoring (PyLate writes "MaxSim"): sentence-transformers' dense and sparse
        # models load such a folder with their own default similarity, and so do sbert's
        del config["similarity_fn_name"]
    elif fn is not None and fn not in SIMILARITY_FUNCTIONS:
        raise ModelLoadError(f"{path}: unknown similarity_fn_name {fn!r}; valid: {SIMILARITY_FUNCTIONS}")
    return config


def transformer_config_path(folder: Path) -> Path | None:
    """The Transformer's ``sentence_bert_config.json`` (or one of its old names) in ``folder``, if any."""
    return next((folder / n for n in TRANSFORMER_CONFIG_FILES if (folder / n).is_file()), None)


def read_transformer_file(folder: Path) -> tuple[Path | None, dict[str, Any]]:
    """The Transformer's settings file in ``folder`` and what it holds (``None, {}``: it has none), read once
    for :func:`read_transformer_options` and :func:`read_transformer_settings`."""
    path = transformer_config_path(folder)
    return path, read_json(path) if path is not None else {}


def read_transformer_options(
    folder: Path, read: tuple[Path | None, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """``max_seq_length`` and ``do_lower_case`` from ``sentence_bert_config.json`` (or its old names);
    ``read``: :func:`read_transformer_file`'s result where the caller has it."""
    path, config = read or read_transformer_file(folder)
    if path is None:
        return {}
    known: dict[str, Any] = {k: config[k] for k in ("max_seq_length", "do_lower_case") if k in config}
    length = known.get("max_seq_length")
    if length is not None and (not isinstance(length, int) or isinstance(length, bool) or length < 2):
        raise ModelLoadError(f"{path}: max_seq_length must be an int >= 2 or null, found {length!r}")
    if not isinstance(known.get("do_lower_case", False), bool):
        raise ModelLoadError(f"{path}: do_lower_case must be true or false, found {known['do_lower_case']!r}")
    return known


def adapter_base_folder(folder: Path) -> Path | None:
    """The local folder of the base model that the PEFT adapter in ``folder`` goes on (its
    ``adapter_config.json``'s ``base_model_name_or_path``), or ``None`` for a folder with its own encoder
    (config.json: transformers loads an adapter beside it onto that encoder)."""
    if (folder / "config.json").is_file() or not (folder / ADAPTER_CONFIG_FILE).is_file():
        return None
    base = read_json(folder / ADAPTER_CONFIG_FILE).get("base_model_name_or_path")
    if not isinstance(base, str) or not base:
        raise ModelLoadError(f"{folder / ADAPTER_CONFIG_FILE} names no base_model_name_or_path to load.")
    return resolve_model_path(base, default_namespace=None)


def encoder_config_file(folder: Path) -> Path:
    """The Hugging Face ``config.json`` of the encoder in ``folder``: its own, or a PEFT adapter's base's."""
    return (adapter_base_folder(folder) or folder) / "config.json"


def default_max_seq_length(tokenizer: Any, max_position_embeddings: int | None) -> int:
    """Without a saved ``max_seq_length``: the smaller of the tokenizer's and the encoder's limits."""
    return int(min(tokenizer.configured_max_length or 10**9, max_position_embeddings or 10**9, 10**9 - 1))


def read_transformer_settings(
    folder: Path, read: tuple[Path | None, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """sentence-transformers 6's newer Transformer settings in ``sentence_bert_config.json``, those it has:
    ``transformer_task``, ``modality_config``, ``module_output_name``, ``processing_kwargs``,
    ``unpad_inputs``; ``read``: :func:`read_transformer_file`'s result where the caller has it."""
    path, config = read or read_transformer_file(folder)
    settings = transformer_config.settings_from_file(config) if path is not None else {}
    checks = {
        "transformer_task": lambda v: isinstance(v, str),
        "modality_config": lambda v: isinstance(v, dict),
        "module_output_name": lambda v: isinstance(v, str),
        "processing_kwargs": lambda v: v is None or isinstance(v, dict),
        "unpad_inputs": lambda v: v is None or isinstance(v, bool),
    }
    for key, value in settings.items():
        if not checks[key](value):
            raise ModelLoadError(f"{path}: {key} has the wrong type ({value!r})")
    return settings


def transformer_repr(settings: dict[str, Any], architecture: str) -> str:
    # The form sentence-transformers 6 prints (get_config_dict and the architecture), so model cards match.
    return f"Transformer({dict(transformer_config.config_dict(settings), architecture=architecture)})"


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
    input_kind: str = "Transformer"  # the first module's kind: only Transformer pipelines export to ONNX
    adapter: bool = False  # the Transformer has a PEFT adapter (adapter_config.json): it runs on torch only
    # another model class's folder (a cross-encoder's, a sparse encoder's, ...) whose encoder a
    # SentenceTransformer runs: on torch only (the folder's graphs, if any, are that class's)
    converted: bool = False
    # the Transformer takes chat input (a "message" modality): its message format, "auto" by the template
    chat_format: str | None = None
    encoder_model_type: str | None = None  # config.json's model_type (the chat template's message format)
    # the Transformer's saved processing_kwargs (its preprocess options; a chat template's variables)
    processing_kwargs: dict[str, Any] | None = None


def saved_model_type(folder: Path) -> str | None:
    """The model class a sentence-transformers folder holds (its config's ``model_type``,
    "SentenceTransformer" without one, as sentence-transformers 6 reads it); ``None`` for a folder without
    modules.json (a plain Hugging Face folder, which every class loads with its own default modules)."""
    if not (folder / MODULES_FILE).is_file():
        return None
    config = read_json(folder / MODEL_CONFIG_FILE) if (folder / MODEL_CONFIG_FILE).is_file() else {}
    return str(config.get("model_type") or "SentenceTransformer")


def is_own_folder(folder: Path, model_type: str, own: tuple[str, ...] = ()) -> bool:
    """Whether class ``model_type`` loads ``folder`` as its own save (modules.json, and a ``model_type``
    that is the class's or one in ``own``), reading its modules.json, config_sentence_transformers.json and
    the Transformer's sentence_bert_config.json. sentence-transformers 6 builds its default modules on a
    plain Hugging Face folder and on another class's folder and reads none of those files there."""
    saved = saved_model_type(folder)
    return saved is not None and (saved == model_type or saved in own)


def loads_as_plain(folder: Path, model_type: str | None = None) -> bool:
    """Whether a model builds its default modules on ``folder``: a plain Hugging Face folder (config.json
    or a PEFT adapter's adapter_config.json, no modules.json), or, for the class ``model_type``, another
    model class's folder, converted as sentence-transformers 6 converts it (its encoder only)."""
    saved = saved_model_type(folder)
    if saved is not None:
        return model_type is not None and saved != model_type
    return model2vec_entries(folder) is None


def cross_encoder_reason(folder: Path) -> str | None:
    """Why ``folder`` holds a cross-encoder (a sentence-pair scorer, not an embedding model), or ``None``:
    sentence-transformers' CrossEncoder settings, or a sequence-classification model without modules.json."""
    if saved_model_type(folder) == "CrossEncoder":
        return f"{MODEL_CONFIG_FILE} says model_type CrossEncoder"
    if not (folder / "config.json").is_file():
        return None
    config = read_json(folder / "config.json", model_config=True)
    if "sentence_transformers" in config or "sbert_ce_default_activation_function" in config:
        return "config.json holds sentence-transformers' CrossEncoder settings"
    architectures = config.get("architectures") or ()
    classifiers = [a for a in architectures if str(a).endswith("ForSequenceClassification")]
    if classifiers and not (folder / MODULES_FILE).is_file():
        return f"config.json names {classifiers[0]}"
    return None


# a task head on a base model class: "BertForMaskedLM", "Qwen3ForCausalLM", "GPT2LMHeadModel"
_HEAD_CLASS = re.compile(r"^([A-Za-z0-9]+?)(?:For[A-Za-z]+|LMHeadModel)$")


def _base_model_class(architecture: str) -> str:
    """The class ``AutoModel`` (the feature-extraction encoder) loads for a checkpoint config.json names by
    its task head, e.g. BertModel for BertForMaskedLM: the name the loaded encoder prints, known without
    importing transformers' auto mappings (which import torch)."""
    match = _HEAD_CLASS.match(architecture)
    return f"{match.group(1)}Model" if match else architecture


def describe_pipeline(
    folder: Path,
    architecture: str | None = None,
    *,
    model_type: str | None = None,
    tokenizer_options: dict[str, Any] | None = None,
    modules: int | None = None,
) -> PipelineInfo:
    """Read a sentence-transformers folder's module list and configs (no weights, no torch). For the class
    ``model_type``, a folder of another class describes the modules it converts to; without one such a
    folder's own modules are described, and a cross-encoder's folder is refused. ``tokenizer_options``:
    those given at load (a ``chat_template`` there counts as the folder's). ``modules``: only the first
    that many (a CSR sparse encoder's dense part, before its SparseAutoEncoder)."""
    reason = cross_encoder_reason(folder)
    if reason is not None and model_type is None:
        raise ModelLoadError(
            f"{folder} is a cross-encoder ({reason}): it scores sentence pairs and makes no embeddings. "
            "Load it with sbert.CrossEncoder instead of SentenceTransformer."
        )
    plain = loads_as_plain(folder, model_type)
    if plain:  # a plain Hugging Face folder (or a converted one): its default pooling over its own encoder
        check_plain_folder(folder)
        entries = [ModuleEntry("Transformer", "", "0"), ModuleEntry("Pooling", "", "1")]
    else:
        entries = (model2vec_entries(folder) or read_modules(folder))[:modules]
    if entries[0].kind != "Transformer":
        return _describe_other_input(folder, entries)
    transformer_path = folder / entries[0].path
    hf_config = read_json(encoder_config_file(transformer_path), model_config=True)
    arch = architecture or (hf_config.get("architectures") or ["AutoModel"])[0]
    # a converted folder's Transformer is built anew, as sentence-transformers does: its settings unread
    saved = None if plain else read_transformer_file(transformer_path)
    options = {} if saved is None else read_transformer_options(transformer_path, saved)
    shown = {} if saved is None else read_transformer_settings(transformer_path, saved)
    message = (shown.get("modality_config") or {}).get("message")
    text = transformer_config.TASK_DEFAULTS["feature-extraction"][0]["text"]
    if plain and (
        message := inferred_message_entry(
            transformer_path, hf_config.get("model_type"), text["method_output_name"], tokenizer_options
        )
    ):
        # a new Transformer's chat input, as sentence-transformers 6.3 infers it
        shown = {"modality_config": {"text": text, "message": message}}
    chat_format = None if not isinstance(message, dict) else str(message.get("format", "auto"))
    printed = arch
    if architecture is None and shown.get("transformer_task", "feature-extraction") == "feature-extraction":
        printed = _base_model_class(arch)  # what AutoModel builds, which the torch model's repr then names
    reprs, width = [transformer_repr(shown, printed)], int(hidden_size(hf_config))
    for entry in entries[1:]:
        # A module without a folder of its own (path "") takes its defaults, as sentence-transformers does.
        text, width = describe_entry(entry, folder / entry.path if entry.path else None, width)
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
        adapter=(transformer_path / ADAPTER_CONFIG_FILE).is_file(),
        chat_format=chat_format,
        encoder_model_type=hf_config.get("model_type"),
        processing_kwargs=shown.get("processing_kwargs"),
        converted=plain and (saved_model_type(folder) is not None or reason is not None),
    )


def describe_entry(entry: ModuleEntry, folder: Path | None, width: int) -> tuple[str, int]:
    """A module's repr and the width it hands on, from its files; a custom module's class is not imported
    here (its width is known once the torch modules load)."""
    if entry.kind == CUSTOM:
        return f"{entry.type_string.rsplit('.', 1)[-1]}()", width
    return MODULE_TYPES[entry.kind].describe(folder, width)


def _describe_other_input(folder: Path, entries: list[ModuleEntry]) -> PipelineInfo:
    """A pipeline whose input module is not a Transformer (StaticEmbedding, WordEmbeddings, Router):
    its ``describe`` gets width 0 and returns the width it hands on; such pipelines run on torch or on
    a backend made for them, never on the Transformer ONNX export."""
    reprs, width = [], 0
    for entry in entries:
        text, width = describe_entry(entry, folder / entry.path, width)
        reprs.append(text)
    return PipelineInfo(
        entries=entries,
        reprs=reprs,
        dimension=int(width),
        transformer_path=folder / entries[0].path,
        architecture=entries[0].kind,
        max_position_embeddings=None,
        max_seq_length=None,
        do_lower_case=False,
        includes_prompt=True,
        input_kind=entries[0].kind,
    )


def label_count(hf_config: dict[str, Any], path: Path | str = "config.json") -> int:
    """How many labels a sequence-classification config has: ``id2label``'s size, else ``num_labels``, else
    2 (``transformers``' rule)."""
    labels = hf_config.get("id2label")
    count = len(labels) if isinstance(labels, dict) and labels else hf_config.get("num_labels", 2)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ModelLoadError(f"{path}: num_labels must be a positive integer, found {count!r}")
    return count


# The names Hugging Face configs store the hidden size under (their classes' ``attribute_map`` makes each
# read as ``config.hidden_size``, which sentence-transformers reads); BLOOM's older files say ``n_embed``.
_HIDDEN_SIZE_KEYS = (
    "hidden_size",
    "d_model",
    "dim",
    "n_embd",
    "n_embed",
    "embed_dim",
    "hidden_dim",
    "emb_dim",
)


def hidden_size(hf_config: dict[str, Any]) -> Any:
    """The encoder's output width as sentence-transformers reads it from the config: OPT's
    ``word_embed_proj_dim`` (its decoder projects to it), else the hidden size under the names Hugging Face
    configs use for it."""
    if (width := hf_config.get("word_embed_proj_dim")) is not None:
        return width
    return next((hf_config[key] for key in _HIDDEN_SIZE_KEYS if hf_config.get(key) is not None), None)


def _describe_transformer(folder: Path | None, width: int) -> tuple[str, int]:
    raise ModelLoadError(f"{folder}: a Transformer can only be the first module of a pipeline")


def _describe_pooling(folder: Path | None, width: int) -> tuple[str, int]:
    if folder is not None:
        dim, modes, include_prompt = pooling_config_from_file(folder / "config.json")
    else:  # a plain Hugging Face folder: mean pooling
        dim, modes, include_prompt = width, ("mean",), True
    dim = width or dim  # it pools the token embeddings it gets, whatever width its config names
    return f"Pooling({pooling_settings(dim, modes, include_prompt)})", dim * len(modes)


def pooling_width_note(
    where: str, index: int, declared: int, source: str, width: int, path: str | None
) -> str:
    """The warning of a Pooling configured for another width than its token embeddings have: pooled as they
    are, as sentence-transformers does (which loads such folders; its Pooling reads no width). ``path``: the
    module's folder in a saved model, ``None`` for one being built."""
    fix = (
        f"Pass embedding_dimension={width} to Pooling."
        if path is None
        else f"Set embedding_dimension to {width} in {path or '.'}/config.json (saving the model writes it)."
    )
    return (
        f"{where}module {index} (Pooling) is configured for {declared}-dim token embeddings but {source} "
        f"gives {width}-dim ones; pooling them as they are, as sentence-transformers does. {fix}"
    )


def saved_dense_activation(config: dict[str, Any]) -> str:
    """The activation path of a saved Dense ``config.json``: one without the key has sentence-transformers'
    default, tanh (its ``Dense`` is built with that default); an explicit ``null`` is no activation."""
    name = config.get("activation_function", "torch.nn.modules.activation.Tanh")
    return dense_activation_name(name) if name is not None else "torch.nn.modules.linear.Identity"


def dense_activation_name(name: str) -> str:
    """A Dense config's activation path as sentence-transformers writes it: torch's public alias of a class
    (``torch.nn.Tanh``), which sentence-transformers' import also accepts, becomes the class's own module path
    (``torch.nn.modules.activation.Tanh``); other names are returned unchanged."""
    prefix, _, short = name.rpartition(".")
    if prefix != "torch.nn":
        return name
    return f"torch.nn.modules.{'linear' if short == 'Identity' else 'activation'}.{short}"


def _describe_dense(folder: Path | None, width: int) -> tuple[str, int]:
    if folder is None:
        raise ModelLoadError(f"{MODULES_FILE}: a Dense module needs a folder of its own (path is empty)")
    config = read_json(folder / "config.json")
    keys = ("in_features", "out_features", "bias", "activation_function")
    source, target, residual = dense_features(config)
    shown = {k: config[k] for k in keys if k in config}
    shown |= {"module_input_name": source, "module_output_name": target}
    described = f"Dense({shown | ({'use_residual': True} if residual else {})})"  # as its get_config_dict
    if target not in ("sentence_embedding", "token_embeddings"):
        return described, width  # written beside them: the width handed on is unchanged
    return described, config.get("out_features", width)


def dense_features(config: dict[str, Any]) -> tuple[str, str, bool]:
    """What a saved Dense (its config.json) reads, what it writes and whether it adds its input back
    (sentence-transformers 6's ``module_input_name``, ``module_output_name``, ``use_residual``)."""
    source = config.get("module_input_name") or "sentence_embedding"
    return source, config.get("module_output_name") or source, bool(config.get("use_residual"))


def normalize_features(folder: Path | None) -> tuple[str, str]:
    """The feature a saved Normalize reads and the one it writes (its config.json, which
    sentence-transformers 6 writes; none: the sentence embedding, both)."""
    path = folder / "config.json" if folder is not None else None
    config = read_json(path) if path is not None and path.is_file() else {}
    source = config.get("module_input_name") or "sentence_embedding"
    return source, config.get("module_output_name") or source


def _describe_normalize(folder: Path | None, width: int) -> tuple[str, int]:
    source, target = normalize_features(folder)  # shown as sentence-transformers 6 shows it, defaults too
    return f"Normalize({ {'module_input_name': source, 'module_output_name': target} })", width


ROUTER_CONFIG_FILE = "router_config.json"


@dataclass(frozen=True)
class RouterConfig:
    """A Router's ``router_config.json``: the module in each sub-folder, the routes, how a task picks one."""

    kinds: dict[str, str]  # sub-folder (module id) -> module kind (CUSTOM: the user's own class)
    routes: dict[str, list[str]]  # route name -> its module ids, in order (a module may serve several)
    default_route: str | None
    allow_empty_key: bool
    route_mappings: dict[tuple[Any, Any], str]  # (task, modality) -> route; None matches any
    type_strings: dict[str, str] = field(default_factory=dict)  # module id -> its type (a custom class path)


def read_router_config(folder: Path) -> RouterConfig:
    """Read and check a Router folder's config (``config.json`` in the old ``Asym`` layout)."""
    path = folder / ROUTER_CONFIG_FILE
    if not path.is_file() and (folder / "config.json").is_file():
        path = folder / "config.json"
    config = read_json(path)
    types, structure, params = config.get("types"), config.get("structure"), config.get("parameters", {})
    if not isinstance(types, dict) or not isinstance(structure, dict) or not isinstance(params, dict):
        raise ModelLoadError(
            f"{path}: needs 'types' (module id -> type), 'structure' (route -> module ids) and 'parameters'"
        )
    kinds = {}
    for module_id, type_string in types.items():
        if not module_id or Path(module_id).is_absolute() or ".." in Path(module_id).parts:
            raise ModelLoadError(f"{path}: module id {module_id!r} points outside the Router's folder")
        try:
            kinds[module_id] = entry_kind(type_string)
        except ModelLoadError:
            raise ModelLoadError(
                f"{path}: unknown module type {type_string!r}; sbert supports {sorted(MODULE_TYPES)}"
            ) from None
    for route, ids in structure.items():
        if not isinstance(ids, list) or not ids or any(i not in kinds for i in ids):
            raise ModelLoadError(f"{path}: route {route!r} must list module ids of 'types', found {ids!r}")
    if not structure:
        raise ModelLoadError(f"{path}: 'structure' names no route")
    default, allow_empty = params.get("default_route"), params.get("allow_empty_key", True)
    if (default is not None and default not in structure) or not isinstance(allow_empty, bool):
        raise ModelLoadError(
            f"{path}: default_route must be one of {list(structure)} or null, and allow_empty_key a bool"
        )
    mappings = _route_mappings(params.get("route_mappings") or {}, list(structure), path)
    if default is None and allow_empty:  # sentence-transformers' rule: the first route is the default
        default = next(iter(structure))
    routes = {r: list(ids) for r, ids in structure.items()}
    return RouterConfig(kinds, routes, default, allow_empty, mappings, dict(types))


def _route_mappings(raw: Any, routes: list[str], path: Path) -> dict[tuple[Any, Any], str]:
    """``{"('query', None)": "route"}`` (keys written as Python tuples) -> ``{("query", None): "route"}``."""
    import ast

    if not isinstance(raw, dict):
        raise ModelLoadError(f"{path}: route_mappings must be an object, found {raw!r}")
    mappings = {}
    for text, route in raw.items():
        try:
            key = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            key = None
        if not isinstance(key, tuple) or len(key) != 2 or route not in routes:
            raise ModelLoadError(
                f"{path}: route_mappings entry {text!r}: {route!r} must map a (task, modality) pair "
                f"to one of {routes}"
            )
        mappings[key] = route
    return mappings


def router_repr(default_route: str | None, mappings: dict[Any, str], routes: dict[str, list[str]]) -> str:
    """sentence-transformers' (torch's) nested form, so cards print the same architecture it prints."""
    extra = [f"default_route={default_route!r}"] if default_route is not None else []
    extra += [f"route_mappings={mappings}"] if mappings else []
    lines = [", ".join(extra)] if extra else []
    routed = [
        f"({name}): Sequential(\n"
        + "".join(f"  ({i}): {_indented(text, 2)}\n" for i, text in enumerate(texts))
        + ")"
        for name, texts in routes.items()
    ]
    lines.append("(sub_modules): ModuleDict(\n" + "".join(f"  {_indented(r, 2)}\n" for r in routed) + ")")
    return "Router(\n" + "".join(f"  {_indented(line, 2)}\n" for line in lines) + ")"


def _indented(text: str, spaces: int) -> str:
    return text.replace("\n", "\n" + " " * spaces)


def _describe_router(folder: Path | None, width: int) -> tuple[str, int]:
    if folder is None:
        raise ModelLoadError(f"{MODULES_FILE}: a Router module needs a folder of its own (path is empty)")
    config = read_router_config(folder)
    texts, widths = {}, {}
    for route, ids in config.routes.items():
        texts[route], widths[route] = [], width
        for module_id in ids:
            entry = ModuleEntry(config.kinds[module_id], module_id, module_id, config.type_strings[module_id])
            text, widths[route] = _describe_routed(folder / module_id, entry, widths[route])
            texts[route].append(text)
    route = config.default_route or next(iter(config.routes))
    return router_repr(config.default_route, config.route_mappings, texts), widths[route]


def _describe_routed(folder: Path, entry: ModuleEntry, width: int) -> tuple[str, int]:
    """A routed module; a route may start with a Transformer of its own."""
    if entry.kind != "Transformer":
        return describe_entry(entry, folder, width)
    hf_config = read_json(folder / "config.json")
    shown = read_transformer_settings(folder)
    return transformer_repr(shown, (hf_config.get("architectures") or ["AutoModel"])[0]), hidden_size(
        hf_config
    )


# Config files of the other module types, by kind (``config.json`` otherwise), and keys that
# sentence-transformers renamed (old -> new), so old folders read the same.
MODULE_CONFIG_FILES = {
    "WordEmbeddings": "wordembedding_config.json",
    "CNN": "cnn_config.json",
    "LSTM": "lstm_config.json",
}
_RENAMED_CONFIG_KEYS = {
    "CNN": {"in_word_embedding_dimension": "in_embedding_dimension"},
    "LSTM": {"word_embedding_dimension": "embedding_dimension"},
    "WeightedLayerPooling": {"word_embedding_dimension": "embedding_dimension"},
}


def module_config(folder: Path | None, kind: str) -> tuple[Path, dict[str, Any]]:
    """The config file of a ``kind`` module saved in ``folder`` and its contents, old key names renamed."""
    if folder is None:
        raise ModelLoadError(f"{MODULES_FILE}: a {kind} module needs a folder of its own (path is empty)")
    path = folder / MODULE_CONFIG_FILES.get(kind, "config.json")
    config = read_json(path)
    for old, new in _RENAMED_CONFIG_KEYS.get(kind, {}).items():
        if old in config and new not in config:
            config[new] = config.pop(old)
    return path, config


def config_repr(kind: str, config: dict[str, Any]) -> str:
    """sentence-transformers' form, ``Kind({config})``; lists over 20 items are shown by their length, so
    a model card stays readable with a 400k-word vocabulary."""
    shown = {
        k: f"<{len(v)} items>" if isinstance(v, (list, dict)) and len(v) > 20 else v
        for k, v in config.items()
    }
    return f"{kind}({shown})"


def _positive(path: Path, config: dict[str, Any], key: str, default: Any = None) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ModelLoadError(f"{path}: {key} must be a positive integer, found {value!r}")
    return value


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor shapes from a safetensors file's header, without torch."""
    from .weights import check_safetensors_file

    check_safetensors_file(path)
    with open(path, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    return {name: entry["shape"] for name, entry in header.items() if name != "__metadata__"}


def _describe_word_embeddings(folder: Path | None, width: int) -> tuple[str, int]:
    path, config = module_config(folder, "WordEmbeddings")
    weights = path.parent / "model.safetensors"
    # Old folders keep pickled weights, unreadable without torch: the next module's config gives the width.
    shape = safetensors_shapes(weights).get("emb_layer.weight", [0, 0]) if weights.is_file() else [0, 0]
    return config_repr("WordEmbeddings", config), int(shape[-1])


def _describe_bow(folder: Path | None, width: int) -> tuple[str, int]:
    path, config = module_config(folder, "BoW")
    vocab = config.get("vocab")
    if not isinstance(vocab, list):
        raise ModelLoadError(f"{path}: a BoW config needs its vocab, a list of words")
    return config_repr("BoW", config), len(dict.fromkeys(vocab))  # a vector entry per distinct word


def _describe_word_weights(folder: Path | None, width: int) -> tuple[str, int]:
    return config_repr("WordWeights", module_config(folder, "WordWeights")[1]), width


def _describe_layer_norm(folder: Path | None, width: int) -> tuple[str, int]:
    path, config = module_config(folder, "LayerNorm")
    return config_repr("LayerNorm", config), _positive(path, config, "dimension")


def _describe_dropout(folder: Path | None, width: int) -> tuple[str, int]:
    # Without a config file sentence-transformers takes its default rate.
    exists = folder is not None and (folder / "config.json").is_file()
    config = module_config(folder, "Dropout")[1] if exists else {"dropout": 0.2}
    return config_repr("Dropout", config), width


def _describe_weighted_layer_pooling(folder: Path | None, width: int) -> tuple[str, int]:
    path, config = module_config(folder, "WeightedLayerPooling")
    return config_repr("WeightedLayerPooling", config), _positive(path, config, "embedding_dimension")


def _describe_cnn(folder: Path | None, width: int) -> tuple[str, int]:
    path, config = module_config(folder, "CNN")
    kernels = config.get("kernel_sizes", [1, 3, 5])
    if not isinstance(kernels, list) or not kernels:
        raise ModelLoadError(f"{path}: kernel_sizes must be a non-empty list, found {kernels!r}")
    return config_repr("CNN", config), _positive(path, config, "out_channels", 256) * len(kernels)


def _describe_lstm(folder: Path | None, width: int) -> tuple[str, int]:
    path, config = module_config(folder, "LSTM")
    hidden = _positive(path, config, "hidden_dim")
    return config_repr("LSTM", config), hidden * (2 if config.get("bidirectional", True) else 1)


def static_table_width(path: Path) -> int:
    """The width of a static embedding table (``embedding.weight`` or model2vec's ``embeddings``), read
    from the safetensors header: no tensor is loaded."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            keys = [k for k in ("embedding.weight", "embeddings") if k in f.keys()]
            shape = f.get_slice(keys[0]).get_shape() if keys else None
    except Exception as e:  # safetensors raises its own Exception subclasses
        raise ModelLoadError(f"{path} could not be read: {e}") from e
    if shape is None:
        raise ModelLoadError(f"{path} holds no 'embedding.weight' or 'embeddings' table")
    if len(shape) != 2:
        raise ModelLoadError(f"{path}: the embedding table must be 2-D, found shape {shape}")
    return int(shape[1])


def model2vec_entries(folder: Path) -> list[ModuleEntry] | None:
    """The pipeline of a model2vec folder without ``modules.json`` (``config.json``, ``tokenizer.json`` and
    ``model.safetensors`` holding ``embeddings``): StaticEmbedding, then Normalize if its config says so.
    ``None`` for any other folder."""
    names = ("config.json", "tokenizer.json", "model.safetensors")
    if (folder / MODULES_FILE).is_file() or not all((folder / name).is_file() for name in names):
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(folder / "model.safetensors"), framework="numpy") as f:
            if "embeddings" not in f.keys():
                return None
    except Exception:  # not a readable safetensors file: not model2vec's; the other loaders say why
        return None
    entries = [ModuleEntry("StaticEmbedding", "", "0")]
    if read_json(folder / "config.json").get("normalize") is True:
        entries.append(ModuleEntry("Normalize", "", "1"))
    return entries


def _describe_static_embedding(folder: Path | None, width: int) -> tuple[str, int]:
    if folder is None:
        raise ModelLoadError(f"{MODULES_FILE}: a StaticEmbedding needs a folder of its own")
    weights = folder / "model.safetensors"
    if not weights.is_file() and (folder / "pytorch_model.bin").is_file():
        # a pickled table (saved with safe_serialization=False) is unreadable without torch: the width comes
        # from the next module's config, or from the loaded table
        return "StaticEmbedding({})", 0
    return "StaticEmbedding({})", static_table_width(weights)


def _sparse_only(kind: str) -> Callable[[Path | None, int], tuple[str, int]]:
    """The ``describe`` of a module only a SparseEncoder runs: SentenceTransformer refuses the folder."""
    return _only_in(kind, "sparse encoders (SPLADE, inference-free SPLADE, CSR)", "SparseEncoder")


def _only_in(kind: str, models: str, model_class: str) -> Callable[[Path | None, int], tuple[str, int]]:
    """The ``describe`` of a module only ``model_class`` runs: SentenceTransformer refuses the folder."""

    def describe(folder: Path | None, width: int) -> tuple[str, int]:
        raise ModelLoadError(
            f"{folder or MODULES_FILE}: {kind} is a module of {models}; load this folder with "
            f"sbert.{model_class} instead of SentenceTransformer."
        )

    return describe


def _sparse(kind: str, implementation: str) -> ModuleType:
    """A SparseEncoder module type, under sentence-transformers 5's ``sparse_encoder.models`` path (which
    every release since 5.0 reads); its class lives in ``sbert._sparse``."""
    type_string = f"sentence_transformers.sparse_encoder.models.{kind}"
    return ModuleType(kind, type_string, f"sbert._sparse.{implementation}", _sparse_only(kind))


def _classic(
    kind: str, implementation: str, describe: Callable[[Path | None, int], tuple[str, int]]
) -> ModuleType:
    """A registry entry under the classic ``sentence_transformers.models.Kind`` type string."""
    return ModuleType(kind, f"sentence_transformers.models.{kind}", implementation, describe)


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
        ModuleType("Router", "sentence_transformers.models.Router", "router", _describe_router),
        _classic("WordEmbeddings", "word_embeddings", _describe_word_embeddings),
        _classic("WordWeights", "word_weights", _describe_word_weights),
        _classic("BoW", "bow", _describe_bow),
        _classic("LayerNorm", "layer_norm", _describe_layer_norm),
        _classic("Dropout", "dropout", _describe_dropout),
        _classic("WeightedLayerPooling", "weighted_layer_pooling", _describe_weighted_layer_pooling),
        _classic("CNN", "cnn", _describe_cnn),
        _classic("LSTM", "lstm", _describe_lstm),
        ModuleType(
            "StaticEmbedding",
            "sentence_transformers.models.StaticEmbedding",
            "static_embedding",
            _describe_static_embedding,
        ),
        _sparse("MLMTransformer", "mlm_transformer"),
        _sparse("SpladePooling", "splade_pooling"),
        _sparse("SparseStaticEmbedding", "sparse_static_embedding"),
        _sparse("SparseAutoEncoder", "sparse_auto_encoder"),
        # sentence-transformers 6.3's late-interaction scoring mask; its class lives in sbert._multi_vector
        ModuleType(
            "MultiVectorMask",
            "sentence_transformers.multi_vector_encoder.modules.multi_vector_mask.MultiVectorMask",
            "sbert._multi_vector.multi_vector_mask",
            _only_in("MultiVectorMask", "multi-vector (ColBERT-style) encoders", "MultiVectorEncoder"),
        ),
        # sentence-transformers 6.3's causal-LM reranker score ("yes" vs "no" logits), a CrossEncoder's
        ModuleType(
            "LogitScore",
            "sentence_transformers.cross_encoder.modules.logit_score.LogitScore",
            "sbert._cross_encoder.network",
            _only_in("LogitScore", "causal language model rerankers", "CrossEncoder"),
        ),
        # sentence-transformers 6.3's Ward-clustering token pooling, a MultiVectorEncoder's last module
        ModuleType(
            "HierarchicalTokenPooling",
            "sentence_transformers.multi_vector_encoder.modules.token_pooling.HierarchicalTokenPooling",
            "sbert._multi_vector.hierarchical_pooling",
            _only_in(
                "HierarchicalTokenPooling", "multi-vector (ColBERT-style) encoders", "MultiVectorEncoder"
            ),
        ),
    )
}


def saved_versions(version: str) -> dict[str, str]:
    """The ``__version__`` block of config_sentence_transformers.json: sbert's and, when installed, the
    versions of transformers and torch (read from their metadata: importing torch takes seconds)."""
    import importlib.metadata

    libraries = (("transformers", "transformers"), ("pytorch", "torch"))
    found = {name: importlib.metadata.version(package) for name, package in libraries if installed(package)}
    return {"sbert": version, **found}
