"""Static backend: encode StaticEmbedding models with numpy and tokenizers only (no torch, no ONNX).

A static model's vector is a mean of table rows, so there is nothing to compile or export: this backend
reads the module's folder itself and runs whenever the pipeline is a StaticEmbedding, optionally followed
by Normalize (the two steps it reproduces exactly). Other pipelines run on torch.
"""

from __future__ import annotations

import numpy as np

from .._errors import InputError
from .._format.layout import PipelineInfo
from .._modules.static_vectors import WEIGHTS_FILE, mean_embeddings, read_static_folder
from .._numeric import normalize
from .base import Backend, BackendContext

# Modules this backend computes after the StaticEmbedding (in numpy, with torch's numbers).
_AFTER_STATIC = {"Normalize"}


class StaticRunner:
    """Maps padded batches of token ids to the mean of their rows of the embedding table."""

    device = "cpu"
    precision = "fp32"

    def __init__(self, info: PipelineInfo) -> None:
        # The model takes this tokenizer as its own (no special tokens, as the torch module tokenizes).
        self.tokenizer, self.table = read_static_folder(info.transformer_path)
        self.normalize = any(entry.kind == "Normalize" for entry in info.entries[1:])

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        out = mean_embeddings(self.table, batch["input_ids"], batch["attention_mask"])  # (B, d)
        if not self.normalize:
            return out
        # a float16 table's means are normalized in float32 and rounded back, as the torch Normalize does
        return normalize(out.astype(np.promote_types(out.dtype, np.float32))).astype(out.dtype)


def _runs(context: BackendContext) -> bool:
    """A saved StaticEmbedding pipeline of modules this backend computes, with safetensors weights."""
    info = context.pipeline
    return (
        context.folder is not None
        and info is not None
        and info.input_kind == "StaticEmbedding"
        and all(entry.kind in _AFTER_STATIC for entry in info.entries[1:])
        and (info.transformer_path / WEIGHTS_FILE).is_file()
    )


def _start(context: BackendContext) -> StaticRunner:
    if not _runs(context):
        raise InputError(
            "backend='static' runs saved StaticEmbedding models (optionally followed by Normalize) only; "
            "use backend='torch' (or 'auto') for this model."
        )
    return StaticRunner(context.pipeline)  # type: ignore[arg-type]  # _runs checked it is there


BACKEND = Backend(
    name="static",
    precisions=("fp32",),
    needs_torch_modules=False,
    available=lambda: True,
    is_ready=_runs,
    start=_start,
    devices=("cpu",),
)
