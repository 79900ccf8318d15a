"""Offline stand-ins for models whose architecture lives in their folder (config.json ``auto_map``, loaded
with ``trust_remote_code=True``: nomic-bert, jina-bert, gte "new", ...): BERT subclasses whose forward
changes the outputs, under a ``model_type`` of the caller's choice (one transformers does not know, or
"bert" as jina-embeddings-v2's config says)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

CONFIGURATION = """
from transformers import BertConfig


class TinyConfig(BertConfig):
    model_type = "MODEL_TYPE"
"""
MODELING = """
import torch
from transformers import BertForMaskedLM, BertForSequenceClassification, BertModel

from .configuration_tiny import TinyConfig


class TinyModel(BertModel):
    config_class = TinyConfig

    def forward(self, *args, **kwargs):
        out = super().forward(*args, **kwargs)
        out.last_hidden_state = torch.tanh(out.last_hidden_state) * 3.0
        return out


class TinyForSequenceClassification(BertForSequenceClassification):
    config_class = TinyConfig

    def forward(self, *args, **kwargs):
        out = super().forward(*args, **kwargs)
        out.logits = torch.tanh(out.logits * 10.0)
        return out


class TinyForMaskedLM(BertForMaskedLM):
    config_class = TinyConfig

    def forward(self, *args, **kwargs):
        out = super().forward(*args, **kwargs)
        out.logits = out.logits * 4.0 + 0.5
        return out
"""
AUTO_MAP = {
    "AutoConfig": "configuration_tiny.TinyConfig",
    "AutoModel": "modeling_tiny.TinyModel",
    "AutoModelForSequenceClassification": "modeling_tiny.TinyForSequenceClassification",
    "AutoModelForMaskedLM": "modeling_tiny.TinyForMaskedLM",
}


def write_custom_folder(base: Path, folder: Path, model_type: str, architecture: str) -> dict:
    """``base``'s files (weights, tokenizer) in ``folder`` under the custom classes, ``architecture`` (one of
    ``MODELING``'s classes) named in its config.json; returns that config."""
    folder.mkdir(parents=True)
    (folder / "configuration_tiny.py").write_text(CONFIGURATION.replace("MODEL_TYPE", model_type))
    (folder / "modeling_tiny.py").write_text(MODELING)
    config = json.loads((base / "config.json").read_text())
    config |= {"model_type": model_type, "auto_map": AUTO_MAP, "architectures": [architecture]}
    for path in base.iterdir():
        if path.is_file() and path.name != "config.json":
            shutil.copy(path, folder / path.name)
    (folder / "config.json").write_text(json.dumps(config))
    return config
