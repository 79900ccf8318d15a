"""`sbert rerank`: the ranking it prints (table, JSON lines, file) equals `CrossEncoder.rank`; bad input is a
one-line `sbert: error: ...` with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import classic_pooling
from test_server_rerank import build_reranker

from sbert._cli import main

QUERY = "a man plays music"
DOCUMENTS = ["a man plays the guitar", "the cat sat on the mat", "music is good", "he drove a red car", "dog"]


@pytest.fixture(scope="module")
def reranker(tmp_path_factory):
    return build_reranker(tmp_path_factory.mktemp("cli-rerank") / "rr")


@pytest.fixture(scope="module")
def expected(reranker):
    from sbert import CrossEncoder

    return CrossEncoder(reranker).rank(QUERY, DOCUMENTS, return_documents=True)


@pytest.fixture
def docs_file(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(DOCUMENTS) + "\n", encoding="utf-8")
    return path


def rerank(*args: str) -> list[str]:
    return ["rerank", "--query", QUERY, *args]


def test_prints_the_ranking_of_cross_encoder_rank(reranker, expected, docs_file, capsys):
    assert main(rerank("-i", str(docs_file), "--model", str(reranker))) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split("\t") for line in lines]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    assert [int(r[2]) for r in rows] == [hit["corpus_id"] for hit in expected]
    assert [r[3] for r in rows] == [hit["text"] for hit in expected]
    np.testing.assert_allclose([float(r[1]) for r in rows], [hit["score"] for hit in expected], atol=1e-4)
    assert np.ptp([hit["score"] for hit in expected]) > 0.01  # distinct scores: the order is a real check


def test_top_k_json_and_output_file(reranker, expected, docs_file, tmp_path, capsys):
    assert main(rerank("-i", str(docs_file), "-m", str(reranker), "--top-k", "2", "--json")) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["rank"], r["index"], r["text"]) for r in records] == [
        (rank, hit["corpus_id"], hit["text"]) for rank, hit in enumerate(expected[:2], start=1)
    ]
    np.testing.assert_allclose([r["score"] for r in records], [h["score"] for h in expected[:2]], atol=1e-5)
    out = tmp_path / "ranked.jsonl"
    assert main(rerank("-i", str(docs_file), "-m", str(reranker), "-o", str(out))) == 0
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["index"] for r in written] == [hit["corpus_id"] for hit in expected]
    assert capsys.readouterr().out == ""  # the ranking went to the file


def test_documents_from_a_table_column(reranker, expected, tmp_path, capsys):
    table = tmp_path / "docs.jsonl"
    table.write_text("".join(json.dumps({"id": i, "body": d}) + "\n" for i, d in enumerate(DOCUMENTS)))
    assert main(rerank("-i", str(table), "--column", "body", "-m", str(reranker), "--json")) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["index"] for r in records] == [hit["corpus_id"] for hit in expected]


def test_an_empty_documents_file_prints_nothing(reranker, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(rerank("-i", str(empty), "-m", str(reranker))) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing file", ["nope.txt", "No such file"]),
        ("embedding model", ["SentenceTransformer"]),
        ("three labels", ["one-label", "3 labels"]),
        ("empty query", ["--query is empty"]),
        ("missing column", ["--column", "body"]),
        ("output folder missing", ["missing"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    case, words, reranker, docs_file, tmp_path, tiny_st_factory, capsys
):
    model, docs, extra, query = str(reranker), str(docs_file), [], QUERY
    if case == "missing file":
        docs = str(tmp_path / "nope.txt")
    elif case == "embedding model":
        model = str(tiny_st_factory(classic_pooling(32, "mean")))
    elif case == "three labels":
        model = str(build_reranker(tmp_path / "three", num_labels=3))
    elif case == "empty query":
        query = "  "
    elif case == "missing column":
        extra = ["--column", "body"]
        docs = str(tmp_path / "t.jsonl")
        (tmp_path / "t.jsonl").write_text('{"text": "a"}\n')
    else:
        extra = ["-o", str(tmp_path / "missing" / "out.jsonl")]
    capsys.readouterr()  # building the models above may have printed progress bars
    assert main(["rerank", "--query", query, "-i", docs, "-m", model, *extra]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("sbert: error:") and "\n" not in err and "Traceback" not in err
    assert captured.out == ""
    for word in words:
        assert word in err, err


def test_model_is_required_and_listed_in_help(capsys):
    assert main(["rerank", "--query", QUERY, "-i", "docs.txt"]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "rerank" in capsys.readouterr().out
