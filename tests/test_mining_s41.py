"""mine_hard_negatives against sentence-transformers' on what a seeded differential fuzzer found (session 41):
the anchor column named as the positive column, and include_positives' warnings and its order against the
older output_format="n-tuple-scores"."""

from __future__ import annotations

import logging

import pytest
from test_mining import ANCHORS, CORPUS, PAIRS, POSITIVES, assert_same_dataset

from sbert import InputError
from sbert.util import mine_hard_negatives


@pytest.fixture(scope="module")
def st_cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("st-mining-cache-s41"))


@pytest.mark.parametrize("output_format", ["triplet", "n-tuple", "labeled-pair", "labeled-list"])
def test_anchor_column_as_positive_column_is_an_input_error(default_model, st_default_model, output_format):
    # sentence-transformers fails with a KeyError (its groupby drops the column); sbert wrote a
    # one-column dataset, or failed inside pyarrow, by format
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as reference

    kwargs = {"anchor_column_name": "answer", "positive_column_name": "answer"}
    kwargs["output_format"] = output_format
    with pytest.raises(KeyError):
        reference(Dataset.from_dict(PAIRS), st_default_model, corpus=CORPUS, verbose=False, **kwargs)
    with pytest.raises(InputError, match="'answer' is both the anchor and the positive column"):
        mine_hard_negatives(Dataset.from_dict(PAIRS), default_model, corpus=CORPUS, verbose=False, **kwargs)


def _warnings(caplog, prefix: str) -> list[str]:
    records = [r for r in caplog.records if r.name.startswith(prefix) and r.levelno == logging.WARNING]
    return [r.getMessage() for r in records]


@pytest.mark.parametrize(
    "options",
    [
        {"output_format": "triplet"},
        {"output_format": "n-tuple", "range_max": 8},
        {"output_format": "labeled-list", "relative_margin": 0.05},
        {"output_format": "n-tuple-scores"},  # sentence-transformers makes it "n-tuple" first: no scores
        {"output_format": "n-tuple-scores", "output_scores": True},
        {"output_format": "quadruplet"},  # replaced before it is checked, as there
        {"as_triplets": True, "sampling_strategy": "random", "range_max": 9},
    ],
)
def test_include_positives_logs_and_formats_as_st(default_model, st_default_model, st_cache, caplog, options):
    import random

    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as reference

    kwargs = {"corpus": CORPUS, "include_positives": True, "num_negatives": 2, "verbose": False, **options}
    pairs = {"query": ANCHORS + CORPUS[:2], "answer": POSITIVES + CORPUS[:2]}  # two anchors are positives
    random.seed(7)
    with caplog.at_level(logging.WARNING):
        expected = reference(Dataset.from_dict(pairs), st_default_model, cache_folder=st_cache, **kwargs)
    theirs = [m for m in _warnings(caplog, "sentence_transformers") if "include_positives" in m]
    caplog.clear()
    random.seed(7)
    with caplog.at_level(logging.WARNING):
        mine = mine_hard_negatives(Dataset.from_dict(pairs), default_model, **kwargs)
    ours = [m for m in _warnings(caplog, "sbert") if "include_positives" in m]
    assert ours == theirs
    assert mine.column_names == expected.column_names
    assert_same_dataset(mine.to_dict(), expected.to_dict())
