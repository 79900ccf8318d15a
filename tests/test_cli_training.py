"""`sbert eval` and `sbert train`: headline metric on the last line, every recipe runs, errors exit 2."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, classic_pooling

import sbert
from sbert._cli import main


@pytest.fixture(scope="module")
def tiny_path(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


def _last_line(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.mark.slow
def test_eval_sts_default_model_prints_spearman_last(capsys):
    assert main(["eval", "sts", str(DATA / "stsb" / "test.tsv")]) == 0
    assert _last_line(capsys) == "spearman=82.03"


def test_eval_sts_plot_and_json(tiny_path, tmp_path, capsys):
    data = tmp_path / "sts.tsv"
    data.write_text(
        "sentence1\tsentence2\tscore\n"
        + "".join(
            f"{a}\t{b}\t{s}\n"
            for a, b, s in [
                ("a cat", "a dog", 1.0),
                ("a man plays guitar", "a woman plays music", 4.0),
                ("the red car", "the blue car", 3.0),
                ("she is happy", "they eat food", 0.0),
            ]
        )
    )
    code = main(
        [
            "eval",
            "sts",
            str(data),
            "--model",
            str(tiny_path),
            "--plot",
            str(tmp_path / "sts.png"),
            "--json",
            str(tmp_path / "sts.json"),
        ]
    )
    assert code == 0
    last = _last_line(capsys)
    results = json.loads((tmp_path / "sts.json").read_text())
    assert last == f"spearman={results['spearman_cosine']:.2f}"
    assert (tmp_path / "sts.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_retrieval_prints_ndcg_last(tiny_path, tmp_path, capsys):
    (tmp_path / "corpus.tsv").write_text(
        "_id\ttitle\ttext\nd1\tCats\tthe cat sat on the mat\nd2\t\ta man plays guitar\n"
        "d3\t\tthe red car is fast\n"
    )
    (tmp_path / "queries.tsv").write_text("_id\ttext\nq1\ta cat\nq2\tguitar music\nq3\tno judgements\n")
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\nq2\td3\t0\n")
    args = [
        "eval",
        "retrieval",
        "--corpus",
        str(tmp_path / "corpus.tsv"),
        "--queries",
        str(tmp_path / "queries.tsv"),
        "--qrels",
        str(tmp_path / "qrels.tsv"),
        "--model",
        str(tiny_path),
    ]
    assert main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("ndcg@10=") and any(line.startswith("mrr@10=") for line in lines)
    value = float(lines[-1].split("=")[1])
    model = sbert.SentenceTransformer(tiny_path)
    expected = sbert.InformationRetrievalEvaluator(
        {"q1": "a cat", "q2": "guitar music"},
        {"d1": "Cats the cat sat on the mat", "d2": "a man plays guitar", "d3": "the red car is fast"},
        {"q1": {"d1"}, "q2": {"d2"}},
    )(model)["ndcg@10"]
    assert value == pytest.approx(expected, abs=0.006)


def test_eval_classify_prints_accuracy_last(tiny_path, tmp_path, capsys):
    rows = [(f"the {w} plays music", "music") for w in ("man", "woman", "cat", "dog")] * 3 + [
        (f"a {w} car is fast", "car") for w in ("red", "blue", "big", "small")
    ] * 3
    (tmp_path / "train.tsv").write_text("text\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in rows))
    (tmp_path / "test.tsv").write_text("text\tlabel\nthe man plays music\tmusic\na red car is fast\tcar\n")
    assert (
        main(["eval", "classify", str(tmp_path / "train.tsv"), "--folds", "3", "--model", str(tiny_path)])
        == 0
    )
    assert _last_line(capsys) == "accuracy=100.00"
    assert (
        main(
            [
                "eval",
                "classify",
                str(tmp_path / "train.tsv"),
                "--test",
                str(tmp_path / "test.tsv"),
                "--model",
                str(tiny_path),
            ]
        )
        == 0
    )
    assert _last_line(capsys) == "accuracy=100.00"


def test_eval_errors_exit_2(tiny_path, tmp_path, capsys):
    (tmp_path / "bad.tsv").write_text("s1\ts2\tscore\na\tb\t1\n")
    assert main(["eval", "sts", str(tmp_path / "bad.tsv"), "--model", str(tiny_path)]) == 2
    assert "bad.tsv:2: no column 'sentence1'" in capsys.readouterr().err


RECIPES = {
    "sts": "recipe: sts\ntrain: {file: sts.tsv}\neval: {sts: sts.tsv}\n",
    "nli": "recipe: nli\ntrain: nli.tsv\n",
    "pairs": (
        "recipe: pairs\ntrain: {file: nli.tsv, columns: [sentence1, sentence2]}\nmatryoshka_dims: [32, 16]\n"
    ),
    "distill": "recipe: distill\nteacher: MODEL\ntrain: {file: nli.tsv, columns: [sentence1]}\n",
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_train_recipes(recipe, tiny_path, tmp_path, capsys):
    (tmp_path / "sts.tsv").write_text(
        "sentence1\tsentence2\tscore\n" + "a cat\ta dog\t1.0\na man plays\ta woman plays\t4.5\n" * 4
    )
    (tmp_path / "nli.tsv").write_text(
        "sentence1\tsentence2\tlabel\n" + "a cat\ta dog\tcontradiction\n"
        "a man plays guitar\ta man makes music\tentailment\nshe is\the is\tneutral\n" * 3
    )
    config = RECIPES[recipe].replace("MODEL", str(tiny_path)) + (
        f"model: {tiny_path}\noutput_dir: run\n"
        "arguments: {batch_size: 4, max_steps: 2, learning_rate: 0.001, "
        "show_progress_bar: false, plot: false}\n"
    )
    (tmp_path / "config.yaml").write_text(config)
    assert main(["train", str(tmp_path / "config.yaml")]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "steps=2" in out and f"model={tmp_path / 'run' / 'final'}" in out
    card = (tmp_path / "run" / "final" / "README.md").read_text()
    loss = {
        "sts": "CosineSimilarityLoss",
        "nli": "SoftmaxLoss",
        "pairs": "MatryoshkaLoss",
        "distill": "MSELoss",
    }[recipe]
    assert loss in card
    if recipe == "nli":
        assert json.loads((tmp_path / "run" / "label_mapping.json").read_text()) == {
            "nli": {"contradiction": 0, "entailment": 1, "neutral": 2}
        }
    if recipe == "sts":
        assert "spearman_cosine=" in out


def test_train_bad_config_exits_2_before_training(tiny_path, tmp_path, capsys):
    (tmp_path / "sts.tsv").write_text("sentence1\tsentence2\tscore\na\tb\t7\n")
    (tmp_path / "config.yaml").write_text(
        f"recipe: sts\ntrain: sts.tsv\nmodel: {tiny_path}\noutput_dir: run\n"
    )
    assert main(["train", str(tmp_path / "config.yaml")]) == 2
    assert "sts.tsv:2: column 'score': score 7 is outside [0, 5]" in capsys.readouterr().err
    (tmp_path / "config.yaml").write_text("recipe: nope\ntrain: sts.tsv\noutput_dir: run\n")
    assert main(["train", str(tmp_path / "config.yaml")]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
