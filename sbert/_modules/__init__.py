"""Torch modules of a sentence-embedding pipeline: Transformer -> Pooling -> Dense -> Normalize.

Each module maps a dict of tensors to a dict of tensors, saves its own config in its own folder and loads
from a local folder only (names are resolved to folders before any module sees them). Which class serves
which modules.json entry is decided by the one registry, ``sbert._format.layout.MODULE_TYPES``.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

from .._errors import ModelLoadError, SbertError
from .._format.layout import (
    MODULE_TYPES,
    MODULES_FILE,
    ModuleEntry,
    default_pooling_mode,
    model2vec_entries,
    plain_folder_warning,
    read_json,
    read_modules,
)


def module_class(kind: str) -> Any:
    """The torch class for a registered module kind (imported now: torch loads with it)."""
    return getattr(importlib.import_module(f"{__name__}.{MODULE_TYPES[kind].implementation}"), kind)


def load_modules(
    folder: Path,
    *,
    allow_pickle: bool,
    trust_remote_code: bool,
    transformer_options: dict[str, Any] | None = None,
) -> list[Any]:
    """The modules of the model saved in ``folder``, their widths checked against each other.

    ``transformer_options`` (``model_args``, ``config_args``) go to the Transformer only.
    """
    options = {"allow_pickle": allow_pickle, "trust_remote_code": trust_remote_code}
    entries = model2vec_entries(folder)  # a model2vec folder (no modules.json) is a static model
    if entries is None and not (folder / MODULES_FILE).is_file():
        return _plain_encoder(folder, {**options, **(transformer_options or {})})
    entries = entries or read_modules(folder)
    modules = [
        module_class(entry.kind).load(
            folder / entry.path,
            **options,
            **(transformer_options or {} if entry.kind == "Transformer" else {}),
        )
        for entry in entries
    ]
    check_widths(modules, entries, folder)
    return modules


def _plain_encoder(folder: Path, options: dict[str, Any]) -> list[Any]:
    if not (folder / "config.json").is_file():
        raise ModelLoadError(
            f"{folder} is not a model folder: it has neither {MODULES_FILE} "
            "(sentence-transformers format) nor config.json (Hugging Face format)."
        )
    mode = default_pooling_mode(read_json(folder / "config.json"))
    warnings.warn(plain_folder_warning(folder, mode), UserWarning, stacklevel=4)
    transformer = module_class("Transformer")(folder, **options)
    return [transformer, module_class("Pooling")(transformer.get_word_embedding_dimension(), mode)]


def output_width(module: Any) -> int | None:
    """The width of the vectors a module hands on (token embeddings for the Transformer); ``None`` for a
    module that keeps the width it is given (Normalize) or writes another feature (a Dense's
    ``module_output_name``)."""
    if getattr(module, "module_output_name", "sentence_embedding") not in (
        "sentence_embedding",
        "token_embeddings",
    ):
        return None
    if hasattr(module, "get_sentence_embedding_dimension"):
        return int(module.get_sentence_embedding_dimension())
    if hasattr(module, "get_word_embedding_dimension"):
        return int(module.get_word_embedding_dimension())
    return None


def check_widths(
    modules: list[Any],
    entries: list[ModuleEntry] | None = None,
    folder: Path | None = None,
    *,
    error: type[SbertError] = ModelLoadError,
) -> None:
    """Each module must take the width the modules before it give, or encode would fail or mislead later.

    ``error``: :class:`ModelLoadError` for a saved model (its files are wrong), :class:`InputError` for one
    being built from modules (the caller's arguments are).
    """
    width, source = None, 0  # the width handed on, and the module that set it
    for i, module in enumerate(modules):
        expected = getattr(module, "input_width", None)
        if expected is not None and width is not None and expected != width:
            kind = type(module).__name__
            where = f"{folder}: " if folder is not None else ""
            fix = (
                f"its config in {entries[i].path or '.'} is wrong"
                if entries
                else f"make {kind} take {width}-dim inputs"
            )
            raise error(
                f"{where}module {i} ({kind}) expects {expected}-dim inputs but module {source} "
                f"({type(modules[source]).__name__}) outputs {width}-dim vectors; {fix}."
            )
        if output_width(module) is not None:
            width, source = output_width(module), i
