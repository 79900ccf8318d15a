"""sentence-transformers' multilingual-distillation example (``make_multilingual`` with the classic
``ParallelSentencesDataset`` and ``fit``): the dataset hands out the same examples, in the same order, as
sentence-transformers' for a seed of Python's ``random``, files mixed by their ``weight``, so the same
script trains the same student."""

from __future__ import annotations

import gzip
import importlib
import random

import numpy as np
import pytest
import sentence_transformers as st
from conftest import build_tiny_bert

import sbert

LINES = [f"sentence number {i} here\tsatz nummer {i} hier\tfrase {i}" for i in range(7)]
LINES += ["sentence number 1 here\tnummer eins", "x" * 200 + "\ty"]
OTHER = [f"other text {i}\tanderer text {i}" for i in range(4)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("parallel") / "tiny")


def _write(path, lines):
    with gzip.open(path, "wt", encoding="utf8") as f:
        f.write("\n".join(lines) + "\n")
    return str(path)


def _drawn(library, folder, files, count):
    """The first ``count`` examples of a ParallelSentencesDataset over ``files`` ((path, weight) pairs)."""
    teacher = library.SentenceTransformer(str(folder), device="cpu")
    data = importlib.import_module(
        library.__name__ + ".sentence_transformer.datasets"
    ).ParallelSentencesDataset(student_model=teacher, teacher_model=teacher, batch_size=4)
    for path, weight in files:
        data.load_data(path, weight=weight, max_sentences=6)
    random.seed(3)
    examples = [data[i] for i in range(count)]
    return len(data), [e.texts for e in examples], np.stack([np.asarray(e.label) for e in examples])


def test_parallel_sentences_draw_as_sentence_transformers(folder, tmp_path):
    files = [(_write(tmp_path / "a.tsv.gz", LINES), 3), (_write(tmp_path / "b.tsv.gz", OTHER), 2)]
    ours = _drawn(sbert, folder, files, 40)
    theirs = _drawn(st, folder, files, 40)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    np.testing.assert_allclose(ours[2], theirs[2], atol=1e-6)


def test_parallel_sentences_fit_trains_the_same_student(folder, tmp_path):
    import torch
    from torch.utils.data import DataLoader

    path = _write(tmp_path / "a.tsv.gz", LINES)
    out = {}
    for library in (st, sbert):
        teacher = library.SentenceTransformer(str(folder), device="cpu")
        student = library.SentenceTransformer(str(folder), device="cpu")
        data = importlib.import_module(
            library.__name__ + ".sentence_transformer.datasets"
        ).ParallelSentencesDataset(student_model=student, teacher_model=teacher)
        data.load_data(path)
        random.seed(0)
        torch.manual_seed(0)
        loader = DataLoader(data, shuffle=True, batch_size=4)
        student.fit(
            train_objectives=[
                (
                    loader,
                    importlib.import_module(library.__name__ + ".sentence_transformer.losses").MSELoss(
                        model=student
                    ),
                )
            ],
            epochs=1,
            warmup_steps=1,
            show_progress_bar=False,
        )
        out[library.__name__] = student.encode(LINES[:3])
    np.testing.assert_allclose(out["sbert"], out["sentence_transformers"], atol=1e-5)
