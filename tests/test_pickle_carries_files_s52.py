"""A pickled model carries its files, as sentence-transformers' pickles carry the weights: unpickled after
another model was saved over its folder, or where the folder is gone (another machine: a fitted scikit-learn
pipeline dumped with joblib), it encodes and scores as it did when pickled. (It carried only the folder's
path: the first case encoded with the new weights, silently; the second failed.)"""

from __future__ import annotations

import pickle
import shutil

import numpy as np
from conftest import SENTENCES, build_tiny_classifier, classic_pooling, write_st_folder

import sbert

PAIRS = [("a cat sat on the mat", "the dog ran"), ("good music", "the weather is lovely today")]


def _other_weights(folder, seed):
    """``folder``'s encoder with its weights redrawn (same architecture and files)."""
    import torch
    from safetensors.torch import load_file, save_file

    weights = load_file(folder / "model.safetensors")
    generator = torch.Generator().manual_seed(seed)
    save_file({k: torch.randn(v.shape, generator=generator) * 0.05 for k, v in weights.items()}, folder / "x")
    (folder / "x").replace(folder / "model.safetensors")  # another model saved over it


def test_an_unpickled_sentence_transformer_encodes_as_when_pickled(tiny_bert, tmp_path):
    folder = write_st_folder(tiny_bert, tmp_path / "model", classic_pooling(32, "mean"))
    model = sbert.SentenceTransformer(str(folder))
    expected = model.encode(SENTENCES)
    data = pickle.dumps(model)
    _other_weights(folder, 1)
    assert np.abs(sbert.SentenceTransformer(str(folder)).encode(SENTENCES) - expected).max() > 1e-3
    np.testing.assert_allclose(pickle.loads(data).encode(SENTENCES), expected, atol=1e-6)
    shutil.rmtree(folder)
    np.testing.assert_allclose(pickle.loads(data).encode(SENTENCES), expected, atol=1e-6)


def test_an_unpickled_cross_encoder_scores_as_when_pickled(tmp_path):
    folder = build_tiny_classifier(tmp_path / "ce")
    model = sbert.CrossEncoder(str(folder))
    expected = model.predict(PAIRS)
    data = pickle.dumps(model)
    shutil.rmtree(folder)
    np.testing.assert_allclose(pickle.loads(data).predict(PAIRS), expected, atol=1e-6)
