"""What a backend is: the Runner protocol every backend implements and the context it starts from.

A model hands its backend a :class:`BackendContext` (folder, precision, device, what its files say) and
gets back a :class:`Runner`, which maps padded batches of token ids to sentence embeddings. The model
never looks inside a runner, so a new backend is one module plus one entry in ``sbert._backends.BACKENDS``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .._format.encoder_class import runs_folder_code
from .._format.layout import PipelineInfo


class Runner(Protocol):
    """Computes sentence embeddings for one padded batch."""

    device: Any  # where it computes ("cpu", a torch device, ...)
    precision: str  # the precision it really runs ("fp32", "bf16", "fp16", "int8")

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """A batch from ``TextTokenizer.pad_encodings`` (``input_ids``, ``attention_mask``, ...) -> float32
        (B, d)."""
        ...


@dataclass
class BackendContext:
    """Everything a backend may need to start, without reaching into the model."""

    folder: Path | None  # the model's local folder; None for a model built from modules in memory
    precision: str
    device: str | None
    pipeline: PipelineInfo | None  # the saved pipeline, read from files (None without a folder)
    export_meta: dict[str, Any]  # an export-only folder's onnx/sbert_export.json, {} for other folders
    torch_network: Callable[[], Any]  # the torch modules as one nn.Sequential, loaded on first call
    classifier: bool = False  # a cross-encoder: its graph maps pairs to logits
    # what the ONNX readiness check read of the export cache (``onnx_export.CacheLook``), handed on to the
    # backend's start so that one load reads the folder and the cache's metadata once
    cache_look: Any = None
    trust_remote_code: bool = False  # the model was loaded with trust_remote_code=True

    @functools.cached_property
    def folder_code(self) -> bool:
        """Whether the encoder runs code from the model's folder (config.json's ``auto_map``, trusted), which
        only torch runs, or a graph traced from it (read once: the readiness check and the start ask)."""
        encoder = self.pipeline.transformer_path if self.pipeline else None
        task = "sequence-classification" if self.classifier else "feature-extraction"
        return runs_folder_code(encoder, task, trust_remote_code=self.trust_remote_code)

    @property
    def export_only(self) -> bool:
        """A folder written by ``sbert export``: a graph and configs, no torch weights."""
        return bool(self.export_meta.get("export_only")) and self.folder is not None


@dataclass(frozen=True)
class Backend:
    """One registered backend.

    ``needs_torch_modules``: the model loads its torch modules before ``start`` (they are what runs).
    ``is_ready(context)``: it runs this model faithfully and can start now without slow work (an export, a
    graph built in well under a second); ``backend="auto"`` prefers it.
    ``devices``: the device types it runs on (``("cpu",)``); ``None``: every device torch has.
    """

    name: str
    precisions: tuple[str, ...]
    needs_torch_modules: bool
    available: Callable[[], bool]
    is_ready: Callable[[BackendContext], bool]
    start: Callable[[BackendContext], Runner]
    devices: tuple[str, ...] | None = None

    def runs_on(self, device: str | None) -> bool:
        """Whether it runs on ``device`` (``None``: the default device, which it picks itself)."""
        return self.devices is None or device is None or device.split(":", 1)[0] in self.devices
