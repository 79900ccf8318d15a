"""A tokenizer's chat template, as sentence-transformers 6.3 finds and reads it (files only, no transformers).

A Transformer whose tokenizer has a chat template takes chat input, the "message" modality: each input (a
text, a ``(query, document)`` pair, or a conversation of ``{"role", "content"}`` messages) is rendered through
the template before it is tokenized. The message ``format`` says what ``content`` the template reads: "flat"
(a string) or "structured" (``[{"type": "text", "text": ...}]``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from .transformer_config import TASK_DEFAULTS

CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")  # transformers' files for a template
# Model types whose templates read flat content (sentence-transformers' table); others: by the template.
_FLAT_MODEL_TYPES = {"apertus", "deepseek_v3", "gpt_oss", "minicpm3", "seed_oss"}
_STRUCTURED_PATTERNS = ("content[0]", ".type", "'type'", '"type"', "item.type", "message.content[")


def message_format(model_type: str | None, template: Any) -> str:
    """ "flat" or "structured": the message content the template reads (sentence-transformers' inference;
    a dict of named templates reads structured content, as there)."""
    if model_type in _FLAT_MODEL_TYPES:
        return "flat"
    if not isinstance(template, str) or not template:
        return "structured"
    return "structured" if any(p in template for p in _STRUCTURED_PATTERNS) else "flat"


def read_chat_template(files: dict[str, bytes]) -> str | dict[str, str] | None:
    """The chat template among a tokenizer's files (by name), where transformers 5 looks: the
    ``chat_template.jinja`` file, ``chat_template.json``, then ``tokenizer_config.json``'s ``chat_template``
    (a string, or a list of named templates: a dict by name)."""
    if "chat_template.jinja" in files:
        return files["chat_template.jinja"].decode("utf-8")
    for name in ("chat_template.json", "tokenizer_config.json"):
        try:
            value = json.loads(files[name]).get("chat_template") if name in files else None
        except (ValueError, AttributeError):
            value = None
        if isinstance(value, list):
            return {t["name"]: t["template"] for t in value if isinstance(t, dict) and "name" in t}
        if value:
            return value
    return None


def with_chat_template(files: dict[str, bytes], template: str | dict[str, str] | None) -> dict[str, bytes]:
    """A tokenizer's ``files`` with ``template`` as its one chat template, in the file transformers saves it
    to: ``chat_template.jinja`` (several, named: ``chat_template.json``; ``None``: none)."""
    files = {k: v for k, v in files.items() if k not in CHAT_TEMPLATE_FILES}
    try:
        config = json.loads(files.get("tokenizer_config.json") or b"{}")
    except ValueError:
        config = None
    if isinstance(config, dict) and "chat_template" in config:  # one place holds it
        del config["chat_template"]
        files["tokenizer_config.json"] = json.dumps(config, indent=2, ensure_ascii=False).encode("utf-8")
    if isinstance(template, str):
        files["chat_template.jinja"] = template.encode("utf-8")
    elif template is not None:
        files["chat_template.json"] = json.dumps({"chat_template": template}, indent=2).encode("utf-8")
    return files


def folder_chat_template(folder: Path, given: dict[str, Any] | None = None) -> str | dict[str, str] | None:
    """The chat template of the tokenizer in ``folder``; ``given``: the tokenizer options given at load,
    whose ``chat_template`` replaces the folder's, as transformers' ``from_pretrained(chat_template=...)``."""
    names = (*CHAT_TEMPLATE_FILES, "tokenizer_config.json")
    files = {n: (folder / n).read_bytes() for n in names if (folder / n).is_file()}
    if given and "chat_template" in given:
        files = with_chat_template(files, given["chat_template"])
    return read_chat_template(files)


def has_chat_template(folder: Path, given: dict[str, Any] | None = None) -> bool:
    """Whether the tokenizer files in ``folder`` carry a chat template (transformers' places for one), or
    one was given at load (``given``: the tokenizer options)."""
    return folder_chat_template(folder, given) is not None


def inferred_message_entry(
    folder: Path, model_type: str | None, output: str, given: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The "message" entry sentence-transformers 6.3 adds to a new Transformer's ``modality_config`` when
    its tokenizer has a chat template (``None`` without one; ``given``: the tokenizer options given at load,
    whose template counts as the folder's): the text entry's method and output, and the format the
    template reads."""
    template = folder_chat_template(folder, given)
    if template is None:
        return None
    return {"method": "forward", "method_output_name": output, "format": message_format(model_type, template)}


def inferred_modality_config(
    task: str, folder: Path, model_type: str | None, given: dict[str, Any] | None = None
) -> dict[Any, dict[str, Any]]:
    """A new Transformer's ``modality_config`` (one made, not loaded from its saved settings): its task's
    defaults, and the :func:`inferred_message_entry` where the tokenizer in ``folder`` has a chat template
    (``given``: the tokenizer options given at load). SentenceTransformer's, CrossEncoder's and the
    SparseEncoder's masked-LM (torch and ONNX) alike."""
    config = copy.deepcopy(TASK_DEFAULTS[task][0])
    message = inferred_message_entry(folder, model_type, config["text"]["method_output_name"], given)
    if message is not None:
        config["message"] = message
    return config
