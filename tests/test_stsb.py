"""STS Benchmark test: the default model's cosine Spearman is 82.03 (x100), as published."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import DATA
from scipy.stats import spearmanr


def read_sts(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return (
        [r["sentence1"] for r in rows],
        [r["sentence2"] for r in rows],
        np.array([float(r["score"]) for r in rows]),
    )


@pytest.mark.slow
def test_default_model_stsb_test_spearman(stsb_embedded):
    first, second, gold = read_sts(DATA / "stsb" / "test.tsv")
    assert len(gold) == 1379
    # The default model's encode of each distinct sentence, made once per run (conftest.py) and shared
    # with the other modules that search or compare these vectors.
    vectors = stsb_embedded("test")
    a, b = (np.stack([vectors[text] for text in texts]) for texts in (first, second))
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    spearman = 100 * spearmanr(cosine, gold).statistic
    assert abs(spearman - 82.03) <= 0.05, spearman
