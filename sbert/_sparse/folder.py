"""What a sparse-encoder folder says about its model, read from its files alone (no torch).

sentence-transformers 5 saves a SPLADE model as ``MLMTransformer`` + ``SpladePooling`` (the pooling width
under ``word_embedding_dimension``); 6.x as ``Transformer`` with ``transformer_task: fill-mask`` +
``SpladePooling`` (``embedding_dimension``), its ``max_seq_length`` in the tokenizer's ``model_max_length``.
Both are read; the 5.x spelling is written, because every release since 5.0 reads it. A plain Hugging Face
``*ForMaskedLM`` folder gets ``SpladePooling("max", "relu")``, as sentence-transformers builds it. Any other
``modules.json`` (a Router for inference-free SPLADE, Transformer + Pooling + SparseAutoEncoder for CSR) is
a pipeline of registered module types, which ``sbert._modules.load_modules`` loads.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._checks import is_positive_int
from .._errors import InvalidModelFileError, ModelLoadError, UnrecognizedModelError
from .._format import layout
from .._format.conversion import converted_from
from .._format.transformer_config import TASK_DEFAULTS, file_dict
from .._st_loggers import ST_SPARSE_ENCODER_MODEL

POOLING_STRATEGIES = ("sum", "max")  # in sentence-transformers' order (SPLADE_POOLING_MODES)
ACTIVATIONS = ("relu", "log1p_relu")
MODEL_TYPE = "SparseEncoder"
_INPUT_KINDS = ("MLMTransformer", "Transformer")  # the second only with transformer_task "fill-mask"
_WIDTH_KEYS = ("embedding_dimension", "word_embedding_dimension")  # 6.x's name, then 5.x's

# sentence-transformers' notice of the architecture it found in a plain folder, on its SparseEncoder's logger
st_model_logger = logging.getLogger(ST_SPARSE_ENCODER_MODEL)


@dataclass(frozen=True)
class SpladeConfig:
    """SpladePooling's settings: how a text's token scores become one vector."""

    pooling_strategy: str = "max"
    activation_function: str = "relu"
    embedding_dimension: int | None = None  # the vocabulary size, once known

    def problem(self) -> str | None:
        """What is wrong with these settings, or ``None``."""
        if self.pooling_strategy not in POOLING_STRATEGIES:
            return f"pooling_strategy must be one of {POOLING_STRATEGIES}, got {self.pooling_strategy!r}"
        if self.activation_function not in ACTIVATIONS:
            return f"activation_function must be one of {ACTIVATIONS}, got {self.activation_function!r}"
        if self.embedding_dimension is not None and not is_positive_int(self.embedding_dimension):
            return f"the embedding dimension must be a positive integer, got {self.embedding_dimension!r}"
        return None

    def to_dict(self) -> dict[str, Any]:
        """sentence-transformers 6's ``SpladePooling.get_config_dict()`` (and repr)."""
        return {
            "pooling_strategy": self.pooling_strategy,
            "activation_function": self.activation_function,
            "embedding_dimension": self.embedding_dimension,
        }

    def to_file(self) -> dict[str, Any]:
        """The saved ``config.json``: 5.x's key for the width, which every release reads."""
        config = self.to_dict()
        config["word_embedding_dimension"] = config.pop("embedding_dimension")
        return config


def write_masked_lm_settings(
    folder: Path,
    max_seq_length: int | None,
    do_lower_case: bool,
    modality_config: dict[Any, dict[str, Any]] | None = None,
    task: str = "fill-mask",
) -> None:
    """The masked-LM's (or, with ``task`` "feature-extraction", a CSR model's Transformer's)
    ``sentence_bert_config.json`` with the classic keys every release reads (its ``get_config_dict`` shows
    sentence-transformers 6's settings instead), and sentence-transformers 6's task and ``modality_config``
    where the latter is not the task's default (a chat template's "message" entry)."""
    settings: dict[str, Any] = {"max_seq_length": max_seq_length, "do_lower_case": do_lower_case}
    if modality_config is not None and modality_config != TASK_DEFAULTS[task][0]:
        task_settings = {"transformer_task": task, "modality_config": modality_config}
        settings = file_dict(max_seq_length, do_lower_case, task_settings)
    (folder / layout.TRANSFORMER_CONFIG_FILES[0]).write_text(json.dumps(settings, indent=2))


def saved_modality_config(folder: Path, task: str = "fill-mask") -> dict[Any, dict[str, Any]]:
    """The saved masked-LM's (``task``: another Transformer's) ``modality_config``: its file's, or text only
    where the file names none (its chat template unused), as sentence-transformers reads a folder saved
    before modalities."""
    saved = layout.read_transformer_settings(folder).get("modality_config")
    return saved if saved else copy.deepcopy(TASK_DEFAULTS[task][0])


def saved_masked_lm_options(folder: Path) -> dict[str, Any]:
    """A saved masked-LM's settings: its length limit, lowercasing and :func:`saved_modality_config`."""
    return {**layout.read_transformer_options(folder), "modality_config": saved_modality_config(folder)}


@dataclass(frozen=True)
class SpladeFiles:
    """A ``[masked-LM, SpladePooling]`` model's files, in any of the layouts above."""

    transformer_path: Path  # config.json, weights and tokenizer of the masked-LM
    transformer_kind: str  # "MLMTransformer" (5.x) or "Transformer" (6.x, plain masked-LM folders)
    pooling: SpladeConfig
    max_seq_length: int | None  # sentence_bert_config.json's, if any
    do_lower_case: bool
    # the saved modalities (a "message" entry: inputs through the chat template); None: a plain folder's,
    # inferred from its tokenizer when the masked-LM is made
    modality_config: dict[Any, dict[str, Any]] | None = None


@dataclass(frozen=True)
class SparseFolder:
    """A sparse encoder's folder as its files describe it."""

    folder: Path
    splade: SpladeFiles | None  # None: another pipeline of registered modules (Router, CSR)
    settings: dict[str, Any]  # config_sentence_transformers.json ({} without one)
    # a dense model made a CSR model, as sentence-transformers makes it: "encoder" (a plain Hugging Face
    # encoder: mean Pooling and a new SparseAutoEncoder), "embedding" (a SentenceTransformer's modules and
    # a new SparseAutoEncoder); None: the folder's own sparse pipeline
    new_csr_head: str | None = None


def read_sparse_folder(folder: Path, name: str | None = None) -> SparseFolder:
    """Describe ``folder`` (a sparse-encoder folder or a plain ``*ForMaskedLM`` one; ``name``: as the caller
    named it), or raise :class:`~sbert.ModelLoadError` naming what does not fit. Another model class's folder
    (a CrossEncoder's, a MultiVectorEncoder's) is read as a plain Hugging Face folder, its settings dropped,
    as sentence-transformers converts it."""
    has_modules = (folder / layout.MODULES_FILE).is_file()
    settings = _settings(folder) if has_modules else {}  # a plain folder's are not read, as there
    other = has_modules and settings.get("model_type") not in (None, "SentenceTransformer", MODEL_TYPE)
    if has_modules and not other:
        entries = _module_entries(folder)
        if _is_dense_model(entries, settings):
            converted_from(folder, MODEL_TYPE, name or str(folder))  # sentence-transformers' notice
            return SparseFolder(folder, None, settings, new_csr_head="embedding")
        if settings.get("model_type") == MODEL_TYPE:  # sentence-transformers' "Loading SparseEncoder model"
            converted_from(folder, MODEL_TYPE, name or str(folder))
        pipeline = _read_pipeline(folder, entries)
        if pipeline is None:
            return SparseFolder(folder, None, settings)
        kind, transformer_path, pooling = pipeline
    else:
        converted_from(folder, MODEL_TYPE, name or str(folder))  # or the notice of a plain folder
        kind, transformer_path, pooling = "Transformer", folder, SpladeConfig()
        if not _is_masked_lm(folder):
            st_model_logger.info(
                "No MLM architecture detected, using default Transformer + mean Pooling + "
                "SparseAutoEncoder (CSR)"
            )
            return SparseFolder(folder, None, {}, new_csr_head="encoder")
        st_model_logger.info("Detected MLM architecture, using SpladePooling")
    # a plain or converted folder's Transformer is built anew, as there: its saved options unread
    options = {} if other or not has_modules else layout.read_transformer_options(transformer_path)
    splade = SpladeFiles(
        transformer_path=transformer_path,
        transformer_kind=kind,
        pooling=pooling,
        max_seq_length=options.get("max_seq_length"),
        do_lower_case=bool(options.get("do_lower_case", False)),
        modality_config=saved_modality_config(transformer_path) if has_modules and not other else None,
    )
    return SparseFolder(folder, splade, {} if other else settings)


def _settings(folder: Path) -> dict[str, Any]:
    settings = layout.read_model_config(folder)
    path = folder / layout.MODEL_CONFIG_FILE
    prompts = settings.get("prompts") or {}
    if not isinstance(prompts, dict) or not all(isinstance(v, str) for v in prompts.values()):
        raise ModelLoadError(f"{path}: prompts must map prompt names to texts, found {prompts!r}")
    active = settings.get("max_active_dims")
    if active is not None and not is_positive_int(active):
        raise ModelLoadError(f"{path}: max_active_dims must be a positive integer or null, found {active!r}")
    return settings


def _read_pipeline(folder: Path, entries: list[tuple[str, str]]) -> tuple[str, Path, SpladeConfig] | None:
    """A SPLADE pipeline's masked-LM kind and folder and its pooling (``entries``: its modules.json's);
    ``None`` for any other pipeline."""
    kinds = [kind for kind, _ in entries]
    if len(entries) != 2 or kinds[0] not in _INPUT_KINDS or kinds[1] != "SpladePooling":
        return None
    transformer_path = folder / entries[0][1]
    if kinds[0] == "Transformer":
        _check_fill_mask(transformer_path)
    pooling_path = folder / entries[1][1] / "config.json" if entries[1][1] else None
    return kinds[0], transformer_path, read_pooling_config(pooling_path)


def _module_entries(folder: Path) -> list[tuple[str, str]]:
    """``(kind, sub-folder)`` of each module, in order; the kind is the type string's class name."""
    path = folder / layout.MODULES_FILE
    entries = layout.modules_json_entries(folder)
    found = []
    for entry in sorted(entries, key=lambda e: e.get("idx", 0) if isinstance(e.get("idx"), int) else 0):
        type_string, sub = str(entry["type"]), entry.get("path") or ""
        if not isinstance(sub, str) or Path(sub).is_absolute() or ".." in Path(sub).parts:
            raise ModelLoadError(f"{path}: module path {sub!r} is outside the model folder")
        found.append((type_string.rsplit(".", 1)[-1], sub))
    return found


def _check_fill_mask(transformer_path: Path) -> None:
    """A 6.x ``Transformer`` makes SPLADE logits only with ``transformer_task: fill-mask``."""
    path = transformer_path / layout.TRANSFORMER_CONFIG_FILES[0]
    task = layout.read_json(path).get("transformer_task") if path.is_file() else None
    if task != "fill-mask":
        raise ModelLoadError(
            f"{path}: a SparseEncoder's Transformer needs transformer_task 'fill-mask' (a masked-LM whose "
            f"vocabulary logits SpladePooling pools), found {task!r}."
        )


def read_pooling_config(path: Path | None) -> SpladeConfig:
    """SpladePooling's ``config.json`` at ``path``, either release's keys; ``None``: the defaults."""
    if path is None or not path.is_file():  # no settings of its own: sentence-transformers' defaults
        return SpladeConfig()
    raw = layout.read_json(path)
    width = next((raw[key] for key in _WIDTH_KEYS if raw.get(key) is not None), None)
    config = SpladeConfig(
        pooling_strategy=raw.get("pooling_strategy", "max"),
        activation_function=raw.get("activation_function", "relu"),
        embedding_dimension=width,
    )
    problem = config.problem()
    if problem:
        raise InvalidModelFileError(f"{path}: {problem}")
    return config


def _is_masked_lm(folder: Path) -> bool:
    """Whether a folder without modules.json holds a ``*ForMaskedLM`` model (a SPLADE model is made of it;
    of another encoder, a CSR model with a new head, as sentence-transformers makes them)."""
    if not (folder / "config.json").is_file():
        raise UnrecognizedModelError(  # sentence-transformers: transformers' "Unrecognized model in ..."
            f"{folder} is not a model folder: it has neither {layout.MODULES_FILE} (sentence-transformers "
            "format) nor config.json (Hugging Face format)."
        )
    architectures = layout.read_json(folder / "config.json").get("architectures") or []
    return any(str(name).endswith("ForMaskedLM") for name in architectures)


# the modules that make a pipeline sparse (a folder of other modules is a dense model)
SPARSE_KINDS = frozenset({"SpladePooling", "SparseAutoEncoder", "SparseStaticEmbedding"})


def _is_dense_model(entries: list[tuple[str, str]], settings: dict[str, Any]) -> bool:
    """Whether a sentence-transformers folder holds a SentenceTransformer (its config's ``model_type``, or,
    without one, a pipeline with no sparse module): sentence-transformers' SparseEncoder puts a new CSR head
    on it. A SPLADE folder without ``model_type`` stays SPLADE (sentence-transformers would convert it)."""
    model_type = settings.get("model_type")
    if model_type is not None:
        return model_type == "SentenceTransformer"
    kinds = {kind for kind, _ in entries}
    routes = "Router" in kinds  # a Router's routes may hold the sparse modules: keep it as it is
    return not routes and not kinds & SPARSE_KINDS
