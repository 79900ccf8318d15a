"""Custom modules written as sentence-transformers documents them (subclasses of ``models.Module`` with
``config_keys``, ``forward`` and ``save``): they run in a pipeline, save under their class path, and load back
(with ``trust_remote_code=True`` only) in sbert and in sentence-transformers, with the same embeddings."""

from __future__ import annotations

import shutil
import sys
import textwrap

import numpy as np
import pytest

import sbert

TEXTS = ["a man plays guitar", "the weather is lovely today", "cats sit", "he drove to the big stadium"]

# The module a user writes, once against each library's base class (the import line differs).
SOURCE = '''
import torch
from {package}.base.modules import Module


class DecayMeanPooling(Module):
    """Token embeddings averaged with weights decay ** position, and a learned scale for each dimension."""

    config_keys = ["dimension", "decay"]

    def __init__(self, dimension: int, decay: float = 0.95, **kwargs) -> None:
        super().__init__()
        self.dimension = dimension
        self.decay = decay
        self.scale = torch.nn.Parameter(torch.linspace(0.5, 1.5, dimension))

    def forward(self, features, **kwargs):
        tokens = features["token_embeddings"]
        mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        weights = self.decay ** torch.arange(tokens.shape[1], device=tokens.device).to(tokens.dtype)
        weights = weights[None, :, None] * mask
        features["sentence_embedding"] = (tokens * weights).sum(1) / weights.sum(1) * self.scale
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def save(self, output_path, *args, safe_serialization=True, **kwargs) -> None:
        self.save_config(output_path)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)

    @classmethod
    def load(cls, model_name_or_path, subfolder="", **kwargs):
        module = cls(**cls.load_config(model_name_or_path, subfolder=subfolder))
        cls.load_torch_weights(model_name_or_path, subfolder=subfolder, model=module)
        return module
'''


@pytest.fixture
def custom_classes(tmp_path, monkeypatch):
    """The user's module as sbert's and as sentence-transformers' subclass, importable as ``ours_pool`` and
    ``theirs_pool``."""
    (tmp_path / "ours_pool.py").write_text(textwrap.dedent(SOURCE.format(package="sbert")))
    (tmp_path / "theirs_pool.py").write_text(textwrap.dedent(SOURCE.format(package="sentence_transformers")))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("ours_pool", "theirs_pool"):
        sys.modules.pop(name, None)
    import ours_pool
    import theirs_pool

    yield ours_pool.DecayMeanPooling, theirs_pool.DecayMeanPooling
    for name in ("ours_pool", "theirs_pool"):
        sys.modules.pop(name, None)


def test_a_custom_module_runs_saves_and_loads_as_in_sentence_transformers(
    tiny_bert, custom_classes, tmp_path
):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.base import modules as st_models

    ours_class, theirs_class = custom_classes
    ours = sbert.SentenceTransformer(modules=[sbert.models.Transformer(str(tiny_bert)), ours_class(32, 0.8)])
    theirs = Reference(modules=[st_models.Transformer(str(tiny_bert)), theirs_class(32, 0.8)], device="cpu")
    expected = theirs.encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5, rtol=0)
    assert ours.get_embedding_dimension() == 32
    assert "DecayMeanPooling({'dimension': 32, 'decay': 0.8})" in repr(ours)

    ours.save(tmp_path / "ours")
    theirs.save(str(tmp_path / "theirs"))
    assert '"type": "ours_pool.DecayMeanPooling"' in (tmp_path / "ours" / "modules.json").read_text()
    with pytest.raises(sbert.ModelLoadError, match=r"ours_pool.DecayMeanPooling.*trust_remote_code=True"):
        sbert.SentenceTransformer(tmp_path / "ours")
    for folder in ("ours", "theirs"):  # each library's folder, loaded back by sbert (on torch)
        again = sbert.SentenceTransformer(tmp_path / folder, trust_remote_code=True)
        assert again.backend == "torch" and type(again[1]).__name__ == "DecayMeanPooling"
        np.testing.assert_allclose(again.encode(TEXTS), expected, atol=1e-5, rtol=0)
    st_again = Reference(str(tmp_path / "ours"), device="cpu", trust_remote_code=True)  # sbert's, by ST
    np.testing.assert_allclose(st_again.encode(TEXTS, convert_to_numpy=True), expected, atol=1e-5, rtol=0)


def test_a_custom_module_shipped_as_a_file_of_the_model_folder(tiny_bert, custom_classes, tmp_path):
    """A model folder that carries its module's code (as a hub repository does) loads it from there."""
    ours_class, _ = custom_classes
    model = sbert.SentenceTransformer(modules=[sbert.models.Transformer(str(tiny_bert)), ours_class(32, 0.5)])
    expected = model.encode(TEXTS)
    model.save(tmp_path / "model")
    shutil.copyfile(tmp_path / "ours_pool.py", tmp_path / "model" / "shipped_pool.py")
    modules_file = tmp_path / "model" / "modules.json"
    modules_file.write_text(modules_file.read_text().replace("ours_pool.", "shipped_pool."))
    again = sbert.SentenceTransformer(tmp_path / "model", trust_remote_code=True)
    np.testing.assert_allclose(again.encode(TEXTS), expected, atol=1e-6, rtol=0)
    modules_file.write_text(modules_file.read_text().replace("shipped_pool.", "missing_pool."))
    with pytest.raises(sbert.ModelLoadError, match="cannot import 'missing_pool'.*missing_pool.py"):
        sbert.SentenceTransformer(tmp_path / "model", trust_remote_code=True)


def test_a_module_without_save_is_refused_by_name(tiny_bert, tmp_path):
    import torch

    class Halve(torch.nn.Module):
        def forward(self, features):
            features["sentence_embedding"] = features["sentence_embedding"] / 2
            return features

    model = sbert.SentenceTransformer(
        modules=[sbert.models.Transformer(str(tiny_bert)), sbert.models.Pooling(32), Halve()]
    )
    assert model.encode(TEXTS).shape == (4, 32)
    with pytest.raises(sbert.InputError, match=r"Module 2 \(Halve\) cannot be saved.*sbert.models.Module"):
        model.save(tmp_path / "halve")
    assert not (tmp_path / "halve").exists()  # nothing half-written


def test_a_first_module_that_does_not_tokenize_is_refused_by_name():
    """sbert tokenizes with its own input modules or a module's own ``tokenize`` / ``preprocess`` (as
    sentence-transformers asks it): a first module with neither is an InputError naming the fix, not an
    AttributeError while encoding."""

    class HashedWords(sbert.models.Module):
        def forward(self, features):
            return features

        def save(self, output_path, *args, **kwargs):  # abstract in Module, as in sentence-transformers
            pass

    with pytest.raises(sbert.InputError, match="HashedWords cannot be the first module.*after one of them"):
        sbert.SentenceTransformer(modules=[HashedWords(), sbert.models.Pooling(8)])
