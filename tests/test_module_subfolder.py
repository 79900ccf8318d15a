"""Each module's ``load`` takes sentence-transformers' loading parameters: ``Cls.load(root, subfolder=...)``
(and the first one as ``model_name_or_path=``) reads the module saved in that subfolder of a model folder,
as sentence-transformers 6.3's ``load`` does. Modules saved by sentence-transformers, loaded by both."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch

VOCAB = ["PADDING_TOKEN", "weather", "lovely", "today", "cat", "sat", "mat", "dog", "The", "big", "red"]


def _reference_modules(bert: Path, masked_lm: Path) -> dict:
    """sentence-transformers' modules by class name, one of each kind."""
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask
    from sentence_transformers.sentence_transformer import modules as models
    from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer
    from sentence_transformers.sparse_encoder import modules as sparse
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    torch.manual_seed(0)
    static = models.StaticEmbedding(Tokenizer.from_file(str(bert / "tokenizer.json")), embedding_dim=8)
    found = {
        "Transformer": models.Transformer(str(bert)),
        "Pooling": models.Pooling(32, "mean"),
        "Dense": models.Dense(32, 16),
        "Normalize": models.Normalize(),
        "LayerNorm": models.LayerNorm(32),
        "Dropout": models.Dropout(0.25),
        "CNN": models.CNN(32, 4, [1, 3]),
        "LSTM": models.LSTM(32, 6),
        "WeightedLayerPooling": models.WeightedLayerPooling(32, 2, 1),
        "WordEmbeddings": models.WordEmbeddings(WhitespaceTokenizer(VOCAB), torch.randn(len(VOCAB), 8)),
        "WordWeights": models.WordWeights(VOCAB, {"weather": 2.0, "cat": 0.5}, 0.7),
        "BoW": models.BoW(VOCAB, {"dog": 3.0}),
        "StaticEmbedding": static,
        "Router": models.Router.for_query_document([static], [models.Normalize()]),
        "MLMTransformer": sparse.MLMTransformer(str(masked_lm)),
        "SpladePooling": sparse.SpladePooling("max", "log1p_relu"),
        "SparseAutoEncoder": sparse.SparseAutoEncoder(32, hidden_dim=64, k=4, k_aux=16),
        "SparseStaticEmbedding": sparse.SparseStaticEmbedding(AutoTokenizer.from_pretrained(str(bert))),
        "MultiVectorMask": MultiVectorMask(["cat", "!"]),
    }
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # weights far from their initial values, so a load that drops them shows
        for module in found.values():
            for parameter in module.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return found


SBERT_CLASSES = {  # the module a user imports each class from
    "MLMTransformer": "sbert.sparse_encoder.modules",
    "SpladePooling": "sbert.sparse_encoder.modules",
    "SparseAutoEncoder": "sbert.sparse_encoder.modules",
    "SparseStaticEmbedding": "sbert.sparse_encoder.modules",
    "MultiVectorMask": "sbert.multi_vector_encoder.modules",
}
KINDS = [
    "Transformer", "Pooling", "Dense", "Normalize", "LayerNorm", "Dropout", "CNN", "LSTM",
    "WeightedLayerPooling", "WordEmbeddings", "WordWeights", "BoW", "StaticEmbedding", "Router",
    "MLMTransformer", "SpladePooling", "SparseAutoEncoder", "SparseStaticEmbedding", "MultiVectorMask",
]  # fmt: skip


@pytest.fixture(scope="module")
def saved(tiny_bert, masked_lm, tmp_path_factory):
    """A folder with each reference module saved in its own ``<i>_<Name>`` subfolder, and those modules."""
    root = tmp_path_factory.mktemp("subfolders") / "model"
    modules = _reference_modules(tiny_bert, masked_lm)
    for i, (kind, module) in enumerate(modules.items()):
        (root / f"{i}_{kind}").mkdir(parents=True)
        module.save(str(root / f"{i}_{kind}"))
    return root, {kind: (f"{i}_{kind}", module) for i, (kind, module) in enumerate(modules.items())}


def _sbert_class(kind: str):
    return getattr(importlib.import_module(SBERT_CLASSES.get(kind, "sbert.models")), kind)


def _weights(module) -> list:
    return sorted((tuple(t.shape), t.detach().double().sum().item()) for t in module.state_dict().values())


@pytest.mark.parametrize("kind", KINDS)
def test_load_reads_the_subfolder_as_sentence_transformers(kind, saved):
    root, modules = saved
    subfolder, reference = modules[kind]
    cls = _sbert_class(kind)
    by_position = cls.load(str(root), subfolder=subfolder)
    by_keyword = cls.load(model_name_or_path=root, subfolder=subfolder, local_files_only=True)
    direct = cls.load(root / subfolder)
    reloaded = type(reference).load(str(root), subfolder=subfolder)  # sentence-transformers' own load
    for ours in (by_position, by_keyword):
        assert type(ours) is type(direct)
        assert repr(ours) == repr(direct)
        assert _weights(ours) == _weights(direct)
    ours, expected = _weights(by_position), _weights(reloaded)
    assert [shape for shape, _ in ours] == [shape for shape, _ in expected]
    assert [total for _, total in ours] == pytest.approx([total for _, total in expected], rel=1e-6)


FEATURES = {  # inputs of the modules that take another module's features
    "Pooling": "token_embeddings",
    "LayerNorm": "sentence_embedding",
    "Dense": "sentence_embedding",
    "Normalize": "sentence_embedding",
    "CNN": "token_embeddings",
    "LSTM": "token_embeddings",
    "SparseAutoEncoder": "sentence_embedding",
}


@pytest.mark.parametrize("kind", FEATURES)
def test_module_loaded_from_a_subfolder_computes_as_sentence_transformers(kind, saved):
    root, modules = saved
    subfolder, reference = modules[kind]
    ours = _sbert_class(kind).load(str(root), subfolder=subfolder).eval()
    reference = type(reference).load(str(root), subfolder=subfolder).eval()
    generator = torch.Generator().manual_seed(2)
    features = {
        "token_embeddings": torch.randn(2, 5, 32, generator=generator),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
        "sentence_lengths": torch.tensor([5, 3]),
        "sentence_embedding": torch.randn(2, 32, generator=generator),
    }
    with torch.no_grad():
        expected = reference({key: value.clone() for key, value in features.items()})
        got = ours({key: value.clone() for key, value in features.items()})
    for key in ("sentence_embedding", "token_embeddings"):
        torch.testing.assert_close(got[key], expected[key], atol=1e-5, rtol=0)


def test_custom_module_helpers_take_the_subfolder(saved):
    """A user's module written as sentence-transformers' docs show: ``load_config`` / ``load_file_path`` /
    ``load_dir_path`` / ``load_torch_weights`` with ``subfolder``, positionally or by keyword."""
    from sbert.models import Module

    root, modules = saved
    subfolder, reference = modules["Dense"]
    assert Module.load_config(str(root), subfolder)["out_features"] == 16
    assert Module.load_config(model_name_or_path=str(root), subfolder=subfolder, local_files_only=True)
    assert Module.load_file_path(str(root), "config.json", subfolder) == str(root / subfolder / "config.json")
    assert Module.load_dir_path(str(root), subfolder) == str(root / subfolder)
    weights = Module.load_torch_weights(str(root), subfolder, None, None, None, True)
    assert sorted(weights) == sorted(reference.state_dict())
    target = torch.nn.Module()
    target.linear = torch.nn.Linear(32, 16)
    Module.load_torch_weights(model_name_or_path=str(root), subfolder=subfolder, model=target)
    torch.testing.assert_close(target.linear.weight, reference.linear.weight)


def test_transformer_load_takes_init_defaults_where_the_saved_config_wins(saved):
    root, modules = saved
    subfolder, reference = modules["Transformer"]
    defaults = {"max_seq_length": 7, "do_lower_case": True}
    ours = _sbert_class("Transformer").load(str(root), subfolder, init_defaults=defaults)
    expected = type(reference).load(str(root), subfolder, init_defaults=defaults)
    assert (ours.max_seq_length, ours.do_lower_case) == (expected.max_seq_length, expected.do_lower_case)


def test_normalize_load_without_a_path_is_the_default_as_in_sentence_transformers(tmp_path):
    """sentence-transformers' ``Normalize.load()`` keeps its older no-argument form (the default Normalize);
    other modules still need a path, and a path still reads the saved features."""
    import inspect

    from sentence_transformers.sentence_transformer import modules as reference

    from sbert import models

    assert repr(models.Normalize.load()) == repr(reference.Normalize.load())
    assert repr(models.Normalize.load("")) == repr(reference.Normalize.load(""))
    ours, theirs = (inspect.signature(cls.load).parameters for cls in (models.Normalize, reference.Normalize))
    assert [(p.name, p.default) for p in ours.values()][:6] == [(p.name, p.default) for p in theirs.values()][
        :6
    ]
    reference.Normalize("token_embeddings").save(str(tmp_path))
    assert repr(models.Normalize.load(tmp_path)) == repr(reference.Normalize.load(str(tmp_path)))
    assert models.Normalize.load(tmp_path).module_input_name == "token_embeddings"
    with pytest.raises(TypeError):
        models.Pooling.load()
    with pytest.raises(TypeError):
        reference.Pooling.load()
