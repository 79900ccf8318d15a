"""Calls of open-webui (``SentenceTransformer(path, device=DEVICE_TYPE, trust_remote_code=..., backend=...,
model_kwargs=...)``, ``CrossEncoder(..., activation_fn=Sigmoid() or None)``), onyx's model server
(``SentenceTransformer(model_name_or_path=..., trust_remote_code=True)``, then its log line
``"Loaded %s (device=%s, dtype=%s)", ..., model.device, model.dtype``) and khoj
(``device=torch.device("cuda:0")`` from its ``get_device()``), written out here without the libraries.
On a GPU they name the device ``"cuda"``: sentence-transformers' ``model.device`` is then its parameters'
device, ``cuda:0``, as torch places them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, classic_pooling

import sbert

TEXTS = ["a cat sat on the mat", "x"]
PAIRS = [("paris", "Paris is in France"), ("paris", "x")]


@pytest.fixture(scope="module")
def folders(tiny_st_factory, tmp_path_factory, masked_lm):
    return {
        "SparseEncoder": masked_lm,
        "SentenceTransformer": tiny_st_factory(classic_pooling(32, "mean")),
        "CrossEncoder": build_tiny_classifier(tmp_path_factory.mktemp("probes-s37f") / "ce"),
    }


def _where_torch_puts(name: str) -> torch.device:
    """sentence-transformers' ``model.device``: the device of its parameters once moved to ``name``."""
    device = torch.device(name)
    return torch.device(device.type, 0 if device.index is None else device.index)


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder", "SparseEncoder"])
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps"])
def test_a_model_on_a_bare_accelerator_name_reports_its_indexed_device(folders, monkeypatch, kind, name):
    """A model loaded with ``device="cuda"`` reported ``"cuda"``: onyx's log line printed ``device=cuda``
    where sentence-transformers prints ``device=cuda:0``, ``model.device.index`` was None, and
    ``tensor.device == model.device`` was False for the model's own outputs."""
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    model = getattr(sbert, kind)(str(folders[kind]), device="cpu")
    monkeypatch.setattr(model, "_device", name)  # where a GPU machine's load puts it (no GPU here)
    expected = _where_torch_puts(name)
    assert model.device == expected and expected == model.device
    assert f"device={model.device}" == f"device={expected}"
    assert (model.device.type, model.device.index) == (expected.type, expected.index)


def test_encode_on_the_model_s_own_device_spelled_otherwise_runs(folders, monkeypatch):
    """``encode(..., device=torch.device("cuda:0"))`` (khoj's ``compute_embeddings``) on a model loaded
    with ``device="cuda"`` (open-webui's ``DEVICE_TYPE``) is the model's own device: sbert refused it as
    another."""
    import sbert._model

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(sbert._model, "check_device", lambda device: None if device is None else str(device))
    model = sbert.SentenceTransformer(str(folders["SentenceTransformer"]), device="cpu")
    expected = model.encode(TEXTS)
    monkeypatch.setattr(model, "_device", "cuda")  # its runner stays on the CPU: no GPU here
    np.testing.assert_allclose(model.encode(TEXTS, device=torch.device("cuda:0")), expected, atol=1e-6)
