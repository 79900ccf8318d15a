"""Saving a MultiVectorEncoder loaded with ``backend="onnx"``, without torch: the folder its graph was built
from is in sentence-transformers' MultiVectorEncoder format, so each module's files are copied as they are
(the graph cache under ``onnx/`` left out), with the Transformer's and the MultiVectorMask's settings as the
model holds them now; the model writes ``config_sentence_transformers.json`` and the card.

Checkpoints that sentence-transformers converts on load (PyLate's, Stanford-NLP ColBERT's, SentenceTransformer
folders) are refused: loaded with ``backend="torch"``, their save writes the converted modules.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .._errors import InputError
from .._format import layout
from .legacy_format import is_old_format

_WRITTEN_BY_MODEL = {layout.MODULES_FILE, layout.MODEL_CONFIG_FILE, "README.md"}


def save_source(source: Path, network: Any, target: Path) -> None:
    """The modules of the model in ``source`` (read as ``network``, an ``OnnxMultiVectorNetwork``) into
    ``target``, with ``modules.json``."""
    _check_savable(source)
    entries = layout.read_modules(source)
    for entry in entries:
        module_folder, destination = source / entry.path, target / entry.path
        destination.mkdir(parents=True, exist_ok=True)
        for path in module_folder.iterdir():
            if path.is_file() and not (module_folder == source and path.name in _WRITTEN_BY_MODEL):
                shutil.copyfile(path, destination / path.name)
    shutil.copyfile(source / layout.MODULES_FILE, target / layout.MODULES_FILE)
    transformer, mask = network[0], network.mask
    encoder = target / entries[0].path
    config_path = layout.transformer_config_path(encoder) or encoder / layout.TRANSFORMER_CONFIG_FILES[0]
    config = layout.read_json(config_path) if config_path.is_file() else {}
    settings = _transformer_settings(transformer, config, encoder)
    config_path.write_text(json.dumps({**config, **settings}, indent=2))
    transformer.tokenizer.save(encoder)  # its limit as model_max_length, as sentence-transformers 6 keeps it
    mask_entry = next((entry for entry in entries if entry.kind == "MultiVectorMask"), None)
    if mask is not None and mask_entry is not None:
        (target / mask_entry.path / "config.json").write_text(json.dumps(mask.get_config_dict(), indent=4))


def _check_savable(source: Path) -> None:
    config_path = source / layout.MODEL_CONFIG_FILE
    config = layout.read_json(config_path) if config_path.is_file() else {}
    converted = not (source / layout.MODULES_FILE).is_file() or is_old_format(source, config)
    if converted or config.get("model_type") != "MultiVectorEncoder":
        raise InputError(
            f"{source} is a checkpoint sentence-transformers converts when it loads it (PyLate's, "
            "Stanford-NLP ColBERT's or a SentenceTransformer's); load it with backend='torch' to save the "
            "converted modules."
        )


def _transformer_settings(transformer: Any, saved: dict[str, Any], encoder: Path) -> dict[str, Any]:
    """The Transformer's settings to write over its saved ones: those it had saved, and the others where they
    differ from what loading the folder without them gives (``encoder``: the copy of its files)."""
    current = transformer.get_config_dict()
    if "max_seq_length" not in saved:
        limit = layout.read_json(encoder / "config.json").get("max_position_embeddings")
        if current["max_seq_length"] == layout.default_max_seq_length(transformer.tokenizer, limit):
            current.pop("max_seq_length")
    if "do_lower_case" not in saved and not current["do_lower_case"]:
        current.pop("do_lower_case")
    return current
