"""Torch's global random stream as sentence-transformers leaves it when it loads a model.

sentence-transformers builds a pipeline's torch modules when it loads it, and some constructors draw from
torch's global generator before the saved weights replace what they drew (``Dense``'s ``nn.Linear``, ``CNN``'s
convolutions, ``LSTM``, the ``nn.Embedding`` of ``WordEmbeddings`` / ``WordWeights``, ``SparseAutoEncoder``'s
encoder). sbert's classes draw as those constructors do, so a pipeline built at load (backend="torch")
leaves the stream where sentence-transformers does. Two places differ, and this module holds both:

- a model on a backend without torch modules (ONNX, static) draws nothing at load: ``draw_as_loaded``
  makes the same draws, by building those modules and dropping them, when torch is already imported
  (code that seeds, loads and draws, e.g. a new head or a shuffle, gets sentence-transformers' numbers);
- the torch modules such a model builds later (``parameters()``, saving, an export) are built under
  ``keeping_global_rng``, which restores the stream, as sentence-transformers draws nothing at that point.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The module kinds whose sentence-transformers constructors draw from torch's global generator.
DRAWING_KINDS = frozenset({"Dense", "CNN", "LSTM", "WordEmbeddings", "WordWeights", "SparseAutoEncoder"})


def draw_as_loaded(folder: Path, entries: Iterable[Any], *, allow_pickle: bool = False) -> None:
    """Advance torch's global generator as sentence-transformers' constructors of ``entries`` (modules.json
    entries of ``folder``) do, by building the drawing ones from their configs, without their weights;
    nothing where torch is not imported. ``allow_pickle``: a WordEmbeddings table saved as a pickle may be
    looked at (its shape only)."""
    if sys.modules.get("torch") is None:
        return
    from . import module_class
    from .config_module import build_from_config

    for entry in entries:
        if entry.kind not in DRAWING_KINDS:
            continue
        module = folder / entry.path
        if entry.kind == "WordEmbeddings":  # a table of the saved one's shape (config.json has none)
            _draw_embedding(module, allow_pickle)
        elif entry.kind == "Dense":
            module_class("Dense").from_config(module)
        else:  # CNN, LSTM, WordWeights, SparseAutoEncoder: their configs are their constructors' arguments
            build_from_config(module_class(entry.kind), module)


def _draw_embedding(folder: Path, allow_pickle: bool) -> None:
    """An ``nn.Embedding`` of the shape of ``folder``'s saved ``emb_layer.weight``, read from the safetensors
    header (a pickle: memory-mapped), as sentence-transformers' WordEmbeddings builds it before the copy."""
    import torch
    from torch import nn

    from .._format.weights import check_encoder_weights

    path = check_encoder_weights(folder, allow_pickle=allow_pickle)
    if path.suffix == ".safetensors":
        shape = _saved_shape(path, "emb_layer.weight")
    else:
        shape = torch.load(path, map_location="cpu", weights_only=True, mmap=True)["emb_layer.weight"].shape
    nn.Embedding(*shape)


def draw_as_linear(weights: Path, name: str, *, bias: bool) -> None:
    """Advance torch's global generator as the ``nn.Linear`` sentence-transformers builds for the projection
    saved as ``name`` (``(out, in)``) in the safetensors file ``weights`` does (a Stanford-NLP ColBERT
    checkpoint's); nothing where torch is not imported."""
    if sys.modules.get("torch") is None:
        return
    from torch import nn

    out_features, in_features = _saved_shape(weights, name)
    nn.Linear(in_features, out_features, bias=bias)


def _saved_shape(weights: Path, name: str) -> list[int]:
    """The shape of tensor ``name`` in the safetensors file ``weights``, from its header (nothing read)."""
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as f:
        return f.get_slice(name).get_shape()


@contextmanager
def keeping_global_rng() -> Iterator[None]:
    """Torch's global CPU generator as it was before the block (modules built after loading)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        yield
