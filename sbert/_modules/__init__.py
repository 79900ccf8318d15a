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

from .._errors import ModelLoadError
from .._format.layout import MODULE_TYPES, MODULES_FILE, ModuleEntry, read_modules


def module_class(kind: str) -> Any:
    """The torch class for a registered module kind (imported now: torch loads with it)."""
    return getattr(importlib.import_module(f"{__name__}.{MODULE_TYPES[kind].implementation}"), kind)


def load_modules(folder: Path, *, allow_pickle: bool, trust_remote_code: bool) -> list[Any]:
    """The modules of the model saved in ``folder``, their widths checked against each other."""
    options = {"allow_pickle": allow_pickle, "trust_remote_code": trust_remote_code}
    if not (folder / MODULES_FILE).is_file():
        return _plain_encoder(folder, options)
    entries = read_modules(folder)
    modules = [module_class(entry.kind).load(folder / entry.path, **options) for entry in entries]
    check_widths(modules, entries, folder)
    return modules


def _plain_encoder(folder: Path, options: dict[str, bool]) -> list[Any]:
    if not (folder / "config.json").is_file():
        raise ModelLoadError(
            f"{folder} is not a model folder: it has neither {MODULES_FILE} "
            "(sentence-transformers format) nor config.json (Hugging Face format)."
        )
    warnings.warn(
        f"{folder} has no {MODULES_FILE}: loading it as a plain Hugging Face encoder with mean "
        "pooling. Save it with sbert to record the pooling explicitly.",
        UserWarning,
        stacklevel=4,
    )
    transformer = module_class("Transformer")(folder, **options)
    return [transformer, module_class("Pooling")(transformer.get_word_embedding_dimension(), "mean")]


def output_width(module: Any) -> int:
    """The width of the vectors a module hands on (token embeddings for the Transformer)."""
    if hasattr(module, "get_sentence_embedding_dimension"):
        return int(module.get_sentence_embedding_dimension())
    return int(module.get_word_embedding_dimension())


def check_widths(
    modules: list[Any], entries: list[ModuleEntry] | None = None, folder: Path | None = None
) -> None:
    """Each module must take the width the previous one gives, or encode would fail or mislead later."""
    for i in range(1, len(modules)):
        expected, given = getattr(modules[i], "input_width", None), output_width(modules[i - 1])
        if expected is not None and expected != given:
            kind = type(modules[i]).__name__
            where = f"{folder}: " if folder is not None else ""
            config = f"; its config in {entries[i].path or '.'} is wrong" if entries else ""
            raise ModelLoadError(
                f"{where}module {i} ({kind}) expects {expected}-dim inputs but module {i - 1} "
                f"outputs {given}-dim vectors{config}."
            )
