"""Torch's global random stream after loading a model is sentence-transformers': code that seeds, loads,
then draws (a new head, a DataLoader shuffle) gets the same numbers. sentence-transformers' constructors of
Dense, CNN, LSTM, WordEmbeddings, ... draw before the saved weights replace what they drew; sbert makes the
same draws on every backend at load, and none when it builds its torch modules later."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import sbert

VOCAB = "the cat sat on mat dog".split()


def _reference_modules(kind: str, bert: Path) -> list:
    from sentence_transformers.sentence_transformer import modules as models
    from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

    def words(update: bool) -> models.WordEmbeddings:
        return models.WordEmbeddings(WhitespaceTokenizer(VOCAB), torch.randn(len(VOCAB), 8), update)

    transformer = models.Transformer(str(bert))
    pooling = models.Pooling(32, "mean")
    return {
        "Dense": lambda: [transformer, pooling, models.Dense(32, 16)],
        "Dense-residual": lambda: [transformer, pooling, models.Dense(32, 16, use_residual=True)],
        "CNN": lambda: [transformer, models.CNN(32, 4, [1, 3]), models.Pooling(8, "mean")],
        "LayerNorm": lambda: [transformer, pooling, models.LayerNorm(32), models.Dropout(0.1)],
        "LSTM": lambda: [words(True), models.LSTM(8, 6), models.Pooling(12, "mean")],
        "WordWeights": lambda: [
            words(False),
            models.WordWeights(VOCAB, {"cat": 2.0}),
            models.Pooling(8, "mean"),
        ],
        "plain": lambda: [transformer, pooling],
    }[kind]()


@pytest.fixture(scope="module")
def folders(tiny_bert, tmp_path_factory) -> dict:
    from sentence_transformers import SentenceTransformer as Reference

    made = {}

    def folder(kind: str) -> Path:
        if kind not in made:
            torch.manual_seed(1)
            made[kind] = tmp_path_factory.mktemp("rng") / kind
            Reference(modules=_reference_modules(kind, tiny_bert), device="cpu").save(str(made[kind]))
        return made[kind]

    return folder


def _draws_after_load(load, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    load()
    return torch.rand(8)


ON_GRAPHS = ["Dense", "Dense-residual", "CNN", "LayerNorm", "plain"]  # the ONNX backend runs these
CASES = [(kind, backend) for kind in ON_GRAPHS for backend in ("auto", "onnx", "torch")] + [
    (kind, backend) for kind in ("LSTM", "WordWeights") for backend in ("auto", "torch")
]


@pytest.mark.parametrize(("kind", "backend"), CASES)
def test_the_stream_after_loading_is_sentence_transformers(kind, backend, folders):
    from sentence_transformers import SentenceTransformer as Reference

    path = str(folders(kind))
    reference = _draws_after_load(lambda: Reference(path, device="cpu"))
    ours = _draws_after_load(lambda: sbert.SentenceTransformer(path, device="cpu", backend=backend))
    torch.testing.assert_close(ours, reference, rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["Dense", "plain"])
def test_building_the_torch_modules_later_draws_nothing(kind, folders):
    """sentence-transformers built them at load; sbert on ONNX builds them at parameters(), off the stream."""
    model = sbert.SentenceTransformer(str(folders(kind)), device="cpu", backend="onnx")
    expected = _draws_after_load(lambda: None, seed=5)
    torch.manual_seed(5)
    assert len(list(model.parameters())) > 0
    torch.testing.assert_close(torch.rand(8), expected, rtol=0, atol=0)


def test_a_new_head_after_loading_gets_sentence_transformers_weights(folders):
    from sentence_transformers import SentenceTransformer as Reference

    path = str(folders("Dense"))

    def head(load) -> torch.Tensor:
        torch.manual_seed(0)
        load()
        return torch.nn.Linear(16, 2).weight.detach()

    torch.testing.assert_close(head(lambda: sbert.SentenceTransformer(path)), head(lambda: Reference(path)))


def test_loading_on_onnx_without_torch_imported_does_not_import_it(folders):
    probe = (
        "import sys, sbert; m = sbert.SentenceTransformer(sys.argv[1], backend='onnx'); m.encode(['a cat']); "
        "print(m.backend, 'torch' in sys.modules)"
    )
    path = str(folders("Dense"))
    result = subprocess.run([sys.executable, "-c", probe, path], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["onnx", "False"]
