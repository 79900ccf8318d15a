"""Hard-negative mining: sbert.util.mine_hard_negatives against sentence-transformers', and ``sbert mine``."""

from __future__ import annotations

import json
import logging
import zlib

import numpy as np
import pytest
from conftest import classic_pooling

from sbert import FakeEncoder, InputError, TextDataset
from sbert._cli import main
from sbert.util import mine_hard_negatives

TOPICS = ["cat", "dog", "car", "guitar", "weather", "football", "pizza", "river", "computer", "garden"]
OPENINGS = ["A short", "Another", "A long", "Some", "One more"]
CORPUS = [f"{a} sentence about the {t} number {i}" for t in TOPICS for i, a in enumerate(OPENINGS)]
ANCHORS = [f"what about the {t}?" for t in TOPICS] + ["what about the cat?"]  # the cat has two positives
POSITIVES = [f"A short sentence about the {t} number 0" for t in TOPICS] + [
    "Another sentence about the cat number 1"
]
PAIRS = {"query": ANCHORS, "answer": POSITIVES}

OPTION_SETS = {
    "defaults": {},
    "margin": {"relative_margin": 0.05, "num_negatives": 4},
    "ranks-scores": {"range_min": 2, "range_max": 12, "absolute_margin": 0.01, "output_scores": True},
    "bounds": {"max_score": 0.6, "min_score": 0.2, "output_scores": True},
}


def _flat(values) -> np.ndarray:
    return (
        np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in values]) if values else np.zeros(0)
    )


def assert_same_dataset(mine: dict, reference: dict) -> None:
    assert list(mine) == list(reference)
    for column, values in mine.items():
        if column in ("score", "scores"):
            np.testing.assert_allclose(_flat(values), _flat(reference[column]), atol=1e-5)
        else:
            assert values == reference[column], column


@pytest.fixture(scope="module")
def st_cache(tmp_path_factory) -> str:
    """sentence-transformers' embedding cache: it embeds the texts once for all comparisons."""
    return str(tmp_path_factory.mktemp("st-mining-cache"))


@pytest.mark.parametrize(
    "output_format, options",
    [("triplet", name) for name in OPTION_SETS]
    + [("n-tuple", "margin"), ("labeled-pair", "ranks-scores"), ("labeled-pair", "defaults")]
    + [("labeled-list", "bounds"), ("labeled-list", "defaults")],
)
def test_same_negatives_as_sentence_transformers(
    default_model, st_default_model, st_cache, output_format, options
):
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as reference

    kwargs = {"corpus": CORPUS, "output_format": output_format, **OPTION_SETS[options]}
    mine = mine_hard_negatives(Dataset.from_dict(PAIRS), default_model, **kwargs)
    expected = reference(
        Dataset.from_dict(PAIRS), st_default_model, verbose=False, cache_folder=st_cache, **kwargs
    )
    assert type(mine) is type(expected)  # a datasets.Dataset in, one out
    assert mine.column_names == expected.column_names
    assert len(mine) > 0
    assert_same_dataset(mine.to_dict(), expected.to_dict())


class HashReranker:
    """A stand-in cross-encoder: a deterministic score in [0, 1) per pair (a hash)."""

    def predict(self, pairs, batch_size=32, convert_to_tensor=False, **_):
        scores = np.array([zlib.crc32(f"{q}|{d}".encode()) % 1000 / 1000 for q, d in pairs], np.float32)
        if convert_to_tensor:  # what sentence-transformers asks for
            import torch

            return torch.from_numpy(scores)
        return scores


def test_cross_encoder_filter_as_sentence_transformers(default_model, st_default_model, st_cache):
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as reference

    kwargs = {
        "corpus": CORPUS,
        "cross_encoder": HashReranker(),
        "max_score": 0.5,
        "output_scores": True,
    }
    mine = mine_hard_negatives(Dataset.from_dict(PAIRS), default_model, **kwargs)
    expected = reference(
        Dataset.from_dict(PAIRS), st_default_model, verbose=False, cache_folder=st_cache, **kwargs
    )
    assert_same_dataset(mine.to_dict(), expected.to_dict())
    assert max(s[1] for s in mine["scores"]) <= 0.5  # cross-encoder scores, filtered


@pytest.fixture(scope="module")
def fake():
    return FakeEncoder(32)


@pytest.mark.parametrize(
    "kind",
    ["dict", "dicts", "tuples", "text-dataset"],
)
def test_returns_the_kind_it_was_given(fake, kind):
    rows = list(zip(ANCHORS, POSITIVES))
    given = {
        "dict": PAIRS,
        "dicts": [{"query": a, "answer": p} for a, p in rows],
        "tuples": rows,
        "text-dataset": TextDataset(dict(PAIRS)),
    }[kind]
    reference = mine_hard_negatives(PAIRS, fake, corpus=CORPUS, num_negatives=2)
    mined = mine_hard_negatives(given, fake, corpus=CORPUS, num_negatives=2)
    negatives = reference["negative"]
    if kind == "dict":
        assert list(mined) == ["query", "answer", "negative"]
    elif kind == "dicts":
        assert [row["negative"] for row in mined] == negatives
    elif kind == "tuples":
        assert [row[2] for row in mined] == negatives and len(mined[0]) == 3
    else:
        assert isinstance(mined, TextDataset) and mined.columns["negative"] == negatives
    assert all(n not in POSITIVES for n in negatives)  # positives are never negatives


def test_labeled_pair_text_dataset_carries_labels(fake):
    mined = mine_hard_negatives(TextDataset(dict(PAIRS)), fake, corpus=CORPUS, output_format="labeled-pair")
    assert mined.column_names == ["query", "answer"]
    assert set(mined.labels.tolist()) == {0, 1} and int(mined.labels.sum()) == len(
        set(zip(ANCHORS, POSITIVES))
    )


def test_random_sampling_is_seeded_and_stays_in_range(fake):
    top = mine_hard_negatives(
        PAIRS, fake, corpus=CORPUS, range_max=8, num_negatives=3, output_format="n-tuple"
    )
    first = mine_hard_negatives(
        PAIRS, fake, corpus=CORPUS, range_max=8, sampling_strategy="random", seed=3, output_format="n-tuple"
    )
    again = mine_hard_negatives(
        PAIRS, fake, corpus=CORPUS, range_max=8, sampling_strategy="random", seed=3, output_format="n-tuple"
    )
    assert first == again
    candidates = mine_hard_negatives(
        PAIRS, fake, corpus=CORPUS, range_max=8, num_negatives=8, output_format="n-tuple"
    )
    for row in range(len(first["query"])):
        pool = {candidates[f"negative_{i}"][row] for i in range(1, 9)}
        assert {first[f"negative_{i}"][row] for i in range(1, 4)} <= pool
    assert first != top or len(first["query"]) == 0  # a different sample than the top 3 (seed 3)


def test_unseeded_random_sampling_draws_from_the_global_generator_as_st(
    default_model, st_default_model, st_cache
):
    # sentence-transformers samples with the random module, so random.seed(...) repeats its run (the
    # MS MARCO hard-negative examples seed it at the top); sbert took an unseeded private generator
    import random

    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as reference

    kwargs = {"corpus": CORPUS, "range_min": 1, "range_max": 10, "num_negatives": 2}
    kwargs.update(sampling_strategy="random", output_format="n-tuple", output_scores=True)
    random.seed(5)
    expected = reference(
        Dataset.from_dict(PAIRS), st_default_model, verbose=False, cache_folder=st_cache, **kwargs
    )
    after_st = random.random()
    random.seed(5)
    mine = mine_hard_negatives(Dataset.from_dict(PAIRS), default_model, verbose=False, **kwargs)
    assert_same_dataset(mine.to_dict(), expected.to_dict())
    assert random.random() == after_st  # the same number of draws


def test_faiss_index_gives_the_exact_result(fake):
    exact = mine_hard_negatives(PAIRS, fake, corpus=CORPUS, use_faiss=False, output_scores=True)
    with_faiss = mine_hard_negatives(PAIRS, fake, corpus=CORPUS, use_faiss=True, output_scores=True)
    assert exact["negative"] == with_faiss["negative"]
    np.testing.assert_allclose(_flat(exact["scores"]), _flat(with_faiss["scores"]), atol=1e-5)


def test_faiss_index_with_a_range_past_the_corpus_gives_the_exact_result(fake):
    options = {"range_max": 2**40, "num_negatives": 2}  # the faiss search once padded to (anchors, 2**40)
    exact = mine_hard_negatives(PAIRS, fake, corpus=CORPUS, use_faiss=False, **options)
    assert mine_hard_negatives(PAIRS, fake, corpus=CORPUS, use_faiss=True, **options) == exact


def test_include_positives_keeps_them_in_rank_order(fake):
    pairs = {"query": CORPUS[:3], "answer": CORPUS[:3]}  # each anchor is its positive: score 1, rank 1
    mined = mine_hard_negatives(pairs, fake, corpus=CORPUS, include_positives=True, num_negatives=2)
    assert list(mined) == ["query", "answer", "negative_1", "negative_2"]  # n-tuple, as in ST
    assert mined["negative_1"] == CORPUS[:3]
    assert all(n not in CORPUS[:3] for n in mine_hard_negatives(pairs, fake, corpus=CORPUS)["negative"])


@pytest.mark.parametrize(
    "given, options, message",
    [
        (PAIRS, {"output_format": "quadruplet"}, "output_format"),
        (PAIRS, {"num_negatives": 0}, "num_negatives"),
        (PAIRS, {"range_min": 5, "range_max": 5}, "range_min must be smaller"),
        (PAIRS, {"range_max": 3, "num_negatives": 4}, "Cannot mine 4 negatives"),
        (PAIRS, {"sampling_strategy": "best"}, "sampling_strategy"),
        ({"query": ["a", "b"], "answer": ["x", 3]}, {}, "Row 1: column 'answer' is int"),
        ({"query": [], "answer": []}, {}, "empty"),
        ({"query": ["a"]}, {}, "anchor and a positive"),
        (TextDataset(dict(PAIRS)), {"output_format": "labeled-list"}, "TextDataset"),
        ("pairs.tsv", {}, "Cannot mine negatives for str"),
    ],
)
def test_bad_arguments_are_input_errors(fake, given, options, message):
    with pytest.raises(InputError, match=message):
        mine_hard_negatives(given, fake, corpus=CORPUS, **options)


# ---------------------------------------------------------------------------------------------- sbert mine


@pytest.fixture
def files(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("query\tanswer\n" + "".join(f"{a}\t{p}\n" for a, p in zip(ANCHORS, POSITIVES)))
    corpus = tmp_path / "corpus.tsv"
    corpus.write_text("id\ttext\n" + "".join(f"d{i}\t{t}\n" for i, t in enumerate(CORPUS)))
    return pairs, corpus


def test_cli_mine_writes_what_the_library_mines(default_model, files, tmp_path, capsys):
    pairs, corpus = files
    out = tmp_path / "mined.tsv"
    args = ["mine", "-i", str(pairs), "--corpus", str(corpus), "-o", str(out), "--num-negatives", "2"]
    assert main([*args, "--relative-margin", "0.05", "--range-max", "20"]) == 0
    expected = mine_hard_negatives(
        PAIRS, default_model, corpus=CORPUS, num_negatives=2, relative_margin=0.05, range_max=20
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "query\tanswer\tnegative"
    assert [line.split("\t") for line in lines[1:]] == [list(r) for r in zip(*expected.values())]
    assert f"mined {len(lines) - 1} rows (triplet)" in capsys.readouterr().err


def test_cli_mine_labeled_list_as_json_lines(default_model, files, tmp_path):
    pairs, corpus = files
    out = tmp_path / "mined.jsonl"
    args = ["mine", "-i", str(pairs), "--corpus", str(corpus), "-o", str(out), "--format", "labeled-list"]
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert list(rows[0]) == ["query", "answer", "labels"]
    assert all(row["labels"][0] == 1 and len(row["answer"]) == len(row["labels"]) for row in rows)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-o", "{tmp}/mined.txt"], "must be .tsv, .csv or .jsonl"),
        (["-o", "{tmp}/mined.tsv", "--format", "labeled-list"], "write a .jsonl file"),
        (["-o", "{tmp}/mined.tsv", "--output-scores"], "write a .jsonl file"),
        (["-o", "{tmp}/missing/mined.tsv"], "does not exist"),
        (["-o", "{tmp}/mined.tsv", "--anchor-column", "query"], "go together"),
        (["-o", "{tmp}/mined.tsv", "--range-min", "-1"], "range_min"),
    ],
)
def test_cli_mine_bad_arguments_fail_before_loading(files, tmp_path, capsys, model_loads, extra, message):
    pairs, _ = files
    argv = ["mine", "-i", str(pairs)] + [a.format(tmp=tmp_path) for a in extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sbert: error: ") and message in err and err.count("\n") == 1
    assert model_loads == []


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--min-score", "0.9", "--max-score", "0.1"], "--min-score 0.9 is not below --max-score 0.1"),
        (["--min-score", "0.5", "--max-score", "0.5"], "--min-score 0.5 is not below --max-score 0.5"),
        (["--max-score", "nan"], "argument --max-score: expected a finite number, got 'nan'"),
        (["--min-score=-inf"], "argument --min-score: expected a finite number, got '-inf'"),
        (["--relative-margin", "-0.05"], "argument --relative-margin: expected a number >= 0, got '-0.05'"),
        (["--absolute-margin", "-1"], "argument --absolute-margin: expected a number >= 0, got '-1'"),
    ],
)
def test_cli_mine_score_bounds_and_margins_are_checked_first(
    files, tmp_path, capsys, model_loads, extra, message
):
    pairs, _ = files
    out = tmp_path / "mined.tsv"
    assert main(["mine", "-i", str(pairs), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists() and model_loads == []


def test_cli_mine_bad_input_file_names_the_line(files, tmp_path, capsys, model_loads):
    pairs, _ = files
    pairs.write_text("query\tanswer\nonly one field\n")
    assert main(["mine", "-i", str(pairs), "-o", str(tmp_path / "out.tsv")]) == 2
    assert f"{pairs}:2:" in capsys.readouterr().err


def test_cli_mine_refuses_an_embedding_model_as_cross_encoder(
    files, tmp_path, tiny_st_factory, capsys, model_loads
):
    pairs, _ = files
    out = tmp_path / "mined.tsv"
    embedding_model = str(tiny_st_factory(classic_pooling(32, "mean")))
    assert main(["mine", "-i", str(pairs), "-o", str(out), "--cross-encoder", embedding_model]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sbert: error: ") and "not a trained cross-encoder" in err
    assert not out.exists() and model_loads == []  # refused before the bi-encoder loads


class _CountingEncoder:
    """FakeEncoder's vectors, counting the encode calls (to see a cache at work)."""

    def __init__(self):
        self.model, self.calls = FakeEncoder(32), 0

    def encode(self, texts, **options):
        self.calls += 1
        return self.model.encode(texts, **options)


def test_older_names_cache_folder_and_worker_processes_as_in_st(fake, default_model, tmp_path, caplog):
    plain = mine_hard_negatives(PAIRS, fake, corpus=CORPUS, absolute_margin=0.0, output_format="n-tuple")
    with caplog.at_level(logging.WARNING, logger="sbert"):  # logged, as sentence-transformers does
        older = mine_hard_negatives(PAIRS, fake, corpus=CORPUS, margin=0.0, as_triplets=False)
    assert "as_triplets= is the older name" in caplog.text and "margin= is the older name" in caplog.text
    assert older == plain
    counting = _CountingEncoder()
    first = mine_hard_negatives(PAIRS, counting, corpus=CORPUS, cache_folder=str(tmp_path / "cache"))
    calls = counting.calls
    again = mine_hard_negatives(PAIRS, counting, corpus=CORPUS, cache_folder=str(tmp_path / "cache"))
    assert again == first and counting.calls == calls == 2  # the second call read both files
    assert len(list((tmp_path / "cache").glob("*_embeddings_*.npy"))) == 2
    pooled = mine_hard_negatives(PAIRS, default_model, corpus=CORPUS, use_multi_process=["cpu"])
    assert pooled == mine_hard_negatives(PAIRS, default_model, corpus=CORPUS)


def test_deprecated_n_tuple_scores_format_is_n_tuple_with_scores(fake, caplog):
    with caplog.at_level(logging.WARNING, logger="sbert"):  # logged, as sentence-transformers does
        old = mine_hard_negatives(PAIRS, fake, corpus=CORPUS, range_max=8, output_format="n-tuple-scores")
    assert "n-tuple-scores" in caplog.text
    assert old == mine_hard_negatives(
        PAIRS, fake, corpus=CORPUS, range_max=8, output_format="n-tuple", output_scores=True
    )


@pytest.mark.parametrize(
    "output_format, options",
    [
        ("triplet", "margin"),
        ("n-tuple", "ranks-scores"),
        ("labeled-pair", "bounds"),
        ("labeled-list", "defaults"),
    ],
)
def test_prints_what_sentence_transformers_prints_by_default(
    default_model, st_default_model, st_cache, capsys, output_format, options
):
    """verbose defaults to True, as there: the derived range_max, the unique queries and positives, the
    statistics table and the candidates each filter skipped, line for line on stdout."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as reference

    kwargs = {"corpus": CORPUS, "output_format": output_format, **OPTION_SETS[options]}
    capsys.readouterr()
    mine_hard_negatives(Dataset.from_dict(PAIRS), default_model, **kwargs)
    mine = capsys.readouterr().out.splitlines()
    reference(Dataset.from_dict(PAIRS), st_default_model, cache_folder=st_cache, **kwargs)
    expected = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("[Cache]")]
    assert "Negative candidates mined, preparing dataset..." in expected
    assert mine == expected
