"""What fast-sentence-transformers (and other code written for sentence-transformers 6.3) reads off the
package and its modules: ``__MODEL_HUB_ORGANIZATION__``, ``resolve_ids`` at the top, and the modules' older
dimension names (``Pooling(transformer.get_word_embedding_dimension(), "mean")``), which sentence-transformers
6.3 still answers on every module that has ``get_embedding_dimension``, with a FutureWarning at the caller."""

from __future__ import annotations

import os
import warnings

import pytest
import sentence_transformers
import sentence_transformers.sparse_encoder.modules as st_sparse
from sentence_transformers.sentence_transformer import modules as st_modules
from tokenizers import Tokenizer
from transformers import AutoTokenizer

import sbert
from sbert import SentenceTransformer, models
from sbert.sparse_encoder import modules as sparse_modules

OLDER_NAMES = ("get_sentence_embedding_dimension", "get_word_embedding_dimension", "get_embedding_dimension")


def test_top_level_names_of_sentence_transformers():
    assert sbert.__MODEL_HUB_ORGANIZATION__ == sentence_transformers.__MODEL_HUB_ORGANIZATION__
    assert "resolve_ids" in sentence_transformers.__all__ and "resolve_ids" in sbert.__all__
    assert sbert.resolve_ids is sbert.util.resolve_ids


# each module as both packages build it: (name, builder taking the package's modules and the tiny BERT)
MODULES = {
    "Transformer": lambda m, bert: m.Transformer(str(bert)),
    "Pooling": lambda m, bert: m.Pooling(32, "mean"),
    "Dense": lambda m, bert: m.Dense(32, 8),
    "Normalize": lambda m, bert: m.Normalize(),
    "LayerNorm": lambda m, bert: m.LayerNorm(32),
    "Dropout": lambda m, bert: m.Dropout(0.1),
    "WeightedLayerPooling": lambda m, bert: m.WeightedLayerPooling(32, num_hidden_layers=2, layer_start=1),
    "CNN": lambda m, bert: m.CNN(32),
    "LSTM": lambda m, bert: m.LSTM(32, 8),
    "BoW": lambda m, bert: m.BoW(["a", "b"]),
    "WordWeights": lambda m, bert: m.WordWeights(["a", "b"], {"a": 1.0}),
    "StaticEmbedding": lambda m, bert: m.StaticEmbedding(
        Tokenizer.from_file(str(bert / "tokenizer.json")), embedding_dim=8
    ),
    "SpladePooling": lambda m, bert: m.SpladePooling("max", embedding_dimension=40),
    "SparseStaticEmbedding": lambda m, bert: m.SparseStaticEmbedding(AutoTokenizer.from_pretrained(bert)),
}
SPARSE = {"SpladePooling", "SparseStaticEmbedding"}


def dimension_calls(module) -> list:
    """For each name: hasattr, the value called, and the warnings (category, message, file) both raise."""
    rows = []
    for name in OLDER_NAMES:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            present = hasattr(module, name)
            value = getattr(module, name)() if present else None
        rows.append(
            (
                name,
                present,
                value,
                [(w.category, str(w.message), os.path.basename(w.filename)) for w in caught],
            )
        )
    return rows


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_modules_answer_the_older_dimension_names_as_sentence_transformers(kind, tiny_bert):
    ours_pkg, theirs_pkg = (sparse_modules, st_sparse) if kind in SPARSE else (models, st_modules)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MODULES[kind](theirs_pkg, tiny_bert)
    ours = MODULES[kind](ours_pkg, tiny_bert)
    assert dimension_calls(ours) == dimension_calls(theirs)


def test_the_client_pattern_and_sbert_itself_stay_quiet_inside(tiny_bert):
    """fast-sentence-transformers' fallback builds Pooling on the Transformer's older name: one FutureWarning,
    at its line; sbert's own use of the names (building, encoding, the model's width) warns nothing."""
    transformer = models.Transformer(str(tiny_bert))
    with pytest.warns(FutureWarning, match="get_word_embedding_dimension") as caught:
        pooling = models.Pooling(transformer.get_word_embedding_dimension(), "mean")
    assert [os.path.basename(w.filename) for w in caught] == [os.path.basename(__file__)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SentenceTransformer(modules=[transformer, pooling])
        assert model.encode(["a b c"]).shape == (1, 32) and model.get_embedding_dimension() == 32
