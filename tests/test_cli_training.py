"""`sbert eval` and `sbert train`: headline metric on the last line, every recipe runs, errors exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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
def test_eval_sts_default_model_prints_spearman_last(default_model, tmp_path, capsys):
    """The default model's Spearman on STSb test pairs, as its evaluator computes it (on all pairs, 82.03:
    test_evaluation.py, evaluates the full set once); the first 300 pairs here."""
    rows = (DATA / "stsb" / "test.tsv").read_text(encoding="utf-8").splitlines()[:301]
    data = tmp_path / "sts.tsv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    pairs = [row.split("\t") for row in rows[1:]]
    header = rows[0].split("\t")
    first, second, score = (header.index(name) for name in ("sentence1", "sentence2", "score"))
    evaluator = sbert.EmbeddingSimilarityEvaluator(
        [r[first] for r in pairs], [r[second] for r in pairs], [float(r[score]) for r in pairs]
    )
    expected = evaluator(default_model)[evaluator.primary_metric]
    assert main(["eval", "sts", str(data)]) == 0
    assert _last_line(capsys) == f"spearman={100 * expected:.2f}"


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
    assert last == f"spearman={100 * results['spearman_cosine']:.2f}"  # printed ×100, saved as a fraction
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
    )(model)["cosine_ndcg@10"]
    assert value == pytest.approx(100 * expected, abs=0.006)  # printed ×100


def _retrieval_files(tmp_path, corpus: str, queries: str, qrels: str) -> list[str]:
    args = ["eval", "retrieval"]
    for name, text in (("corpus", corpus), ("queries", queries), ("qrels", qrels)):
        (tmp_path / f"{name}.tsv").write_text(text)
        args += [f"--{name}", str(tmp_path / f"{name}.tsv")]
    return args


CORPUS = "_id\ttext\nd1\tthe cat sat on the mat\nd2\ta man plays guitar\nd3\tthe red car is fast\n"
QUERIES = "_id\ttext\nq1\ta cat\nq2\tguitar music\n"
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n"


@pytest.mark.parametrize(
    "corpus, queries, message",
    [
        (CORPUS + "d1\ta dog\n", QUERIES, "corpus.tsv:5: id 'd1' is also on line 2"),
        (CORPUS, QUERIES + "q2\tmusic\n", "queries.tsv:4: id 'q2' is also on line 3"),
    ],
)
def test_eval_retrieval_refuses_an_id_given_twice(corpus, queries, message, model_loads, tmp_path, capsys):
    for task in (["retrieval"], ["rerank", "--reranker", "x"]):
        args = _retrieval_files(tmp_path, corpus, queries, QRELS)
        assert main(["eval", *task, *args[2:]]) == 2
        err = _one_line_error(capsys)
        assert message in err and "must be unique" in err
    assert model_loads == []


def test_eval_retrieval_warns_of_judged_queries_the_queries_file_lacks(tiny_path, tmp_path, capsys):
    args = _retrieval_files(tmp_path, CORPUS, QUERIES, QRELS + "q9\td3\t1\n")
    assert main([*args, "--model", str(tiny_path)]) == 0
    captured = capsys.readouterr()
    assert (
        "sbert: warning:" in captured.err
        and "1 of 3 judged queries" in captured.err
        and "'q9'" in captured.err
    )
    assert captured.out.splitlines()[-1].startswith("ndcg@10=")


@pytest.mark.parametrize("folds", ["1", "0"])
def test_eval_classify_needs_two_folds_or_more(folds, model_loads, tmp_path, capsys):
    (tmp_path / "train.tsv").write_text("text\tlabel\na\tx\nb\ty\n")
    assert main(["eval", "classify", str(tmp_path / "train.tsv"), "--folds", folds]) == 2
    err = capsys.readouterr().err
    assert f"argument --folds: expected an integer >= 2, got '{folds}'" in err and "Traceback" not in err
    assert model_loads == []


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


# ---------------------------------------------------------------------------------------------- checks first


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err.count("\n") == 1 and captured.err.startswith("sbert: error: "), captured.err
    assert captured.out == ""  # no metrics printed before the error
    return captured.err


def _sts_file(folder):
    path = folder / "sts.tsv"
    path.write_text(
        "sentence1\tsentence2\tscore\n"
        "a cat\ta dog\t1.0\na man plays guitar\ta woman plays music\t4.0\nthe red car\tthe blue car\t3.0\n"
    )
    return path


def test_eval_sts_plot_without_matplotlib_fails_before_the_model_loads(
    model_loads, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    plot = tmp_path / "sts.png"
    assert main(["eval", "sts", str(_sts_file(tmp_path)), "--plot", str(plot)]) == 2
    assert "pip install 'sbert[train]'" in _one_line_error(capsys)
    assert model_loads == [] and not plot.exists()


def test_eval_classify_without_sklearn_fails_before_the_model_loads(
    model_loads, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    (tmp_path / "train.tsv").write_text("text\tlabel\na\tx\nb\ty\nc\tx\nd\ty\n")
    assert main(["eval", "classify", str(tmp_path / "train.tsv"), "--folds", "2"]) == 2
    assert "pip install 'sbert[train]'" in _one_line_error(capsys)
    assert model_loads == []


@pytest.mark.parametrize(
    "plot, expected",
    [
        ("nope/sts.png", "'nope' does not exist"),  # a missing folder is an error, not a new folder
        ("sts.txt", ".png, "),  # a format matplotlib does not write: refused, the formats listed
        ("sts", ".pdf, "),
        ("out", "it is a folder"),
    ],
)
def test_eval_plot_path_is_checked_before_the_model_loads(
    plot, expected, model_loads, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    data = _sts_file(tmp_path)
    assert main(["eval", "sts", str(data), "--plot", plot, "--json", "results.json"]) == 2
    err = _one_line_error(capsys)
    assert expected in err and repr(plot) in err
    assert model_loads == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "sts.tsv"]


def test_eval_json_in_a_missing_folder_fails_before_the_model_loads(model_loads, tmp_path, capsys):
    data = _sts_file(tmp_path)
    assert main(["eval", "sts", str(data), "--json", str(tmp_path / "nope" / "r.json")]) == 2
    assert "does not exist" in _one_line_error(capsys)
    assert model_loads == [] and not (tmp_path / "nope").exists()


@pytest.mark.parametrize("extension, magic", [("svg", b"<svg"), ("pdf", b"%PDF"), ("jpg", b"\xff\xd8\xff")])
def test_eval_plot_format_follows_the_extension(extension, magic, tiny_path, tmp_path, capsys):
    plot = tmp_path / f"sts.{extension.upper()}"
    assert (
        main(["eval", "sts", str(_sts_file(tmp_path)), "--model", str(tiny_path), "--plot", str(plot)]) == 0
    )
    data = plot.read_bytes()
    assert magic in data[:400] and b"PNG" not in data[:8]


# ------------------------------------------------------------------------------------------ train: output_dir

STS_RECIPE = "recipe: sts\ntrain: sts.tsv\neval: {sts: sts.tsv}\nmodel: MODEL\noutput_dir: run\n"


def _train_setup(folder, tiny_path, arguments: str = "") -> str:
    (folder / "sts.tsv").write_text(
        "sentence1\tsentence2\tscore\n" + "a cat\ta dog\t1.0\na man plays\ta woman plays\t4.5\n" * 4
    )
    config = folder / "config.yaml"
    config.write_text(
        STS_RECIPE.replace("MODEL", str(tiny_path))
        + "arguments: {batch_size: 2, max_steps: 2, learning_rate: 0.001, show_progress_bar: false"
        + arguments
        + "}\n"
    )
    return str(config)


def test_train_refuses_an_earlier_run_unless_overwrite(tiny_path, tmp_path, monkeypatch, capsys):
    config = _train_setup(tmp_path, tiny_path, ", plot: false, save_steps: 1, save_total_limit: 5")
    run = tmp_path / "run"
    assert main(["train", config]) == 0, capsys.readouterr().err
    capsys.readouterr()
    first = sorted(p.name for p in run.iterdir())
    assert "checkpoint-2" in first and "metrics.jsonl" in first
    import sbert._model

    with monkeypatch.context() as patch:  # the refusal comes before any model loads
        patch.setattr(sbert._model, "SentenceTransformer", None)
        assert main(["train", config]) == 2
        err = _one_line_error(capsys)
    assert str(run) in err and "--overwrite" in err and "--resume" in err
    assert sorted(p.name for p in run.iterdir()) == first  # nothing touched
    # --overwrite: the earlier run's files are gone, none survives beside the new run's
    (run / "checkpoint-000007").mkdir()  # an older sbert's name, removed too
    (run / "checkpoint-000007" / "state.json").write_text("{}")
    (run / "training_curve.png").write_bytes(b"an old picture")
    assert main(["train", config, "--overwrite", "--output-dir", str(run)]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == first
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 2  # one run's log, not two appended
    capsys.readouterr()
    # a folder holding other files is never a run to replace
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["train", config, "--overwrite", "--output-dir", str(tmp_path / "mine")]) == 2
    assert "notes.txt" in _one_line_error(capsys)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_train_without_matplotlib_says_so_once_and_leaves_no_old_curve(
    tiny_path, tmp_path, monkeypatch, capsys
):
    config = _train_setup(tmp_path, tiny_path)
    run = tmp_path / "run"
    assert main(["train", config]) == 0, capsys.readouterr().err
    assert (run / "training_curve.png").is_file() and (run / "final" / "training_curve.png").is_file()
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    assert main(["train", config, "--resume"]) == 0  # the run is complete: only its end is done again
    err = capsys.readouterr().err
    assert err.count("training_curve.png") == 1 and "pip install 'sbert[train]'" in err, err
    assert not (run / "training_curve.png").exists() and not (run / "final" / "training_curve.png").exists()
    assert "training curve" not in (run / "final" / "README.md").read_text()


def test_train_paths_are_relative_to_the_yaml_and_output_dir_to_the_current_folder(
    tiny_path, tmp_path, monkeypatch, capsys
):
    assert main(["train", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "relative to the folder of the YAML file" in help_text and "--overwrite" in help_text
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    config = _train_setup(recipes, tiny_path, ", plot: false")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["train", config]) == 0, capsys.readouterr().err  # sts.tsv and run/ beside the YAML
    assert (recipes / "run" / "final").is_dir()
    assert main(["train", config, "--output-dir", "cli-run"]) == 0, capsys.readouterr().err
    assert (elsewhere / "cli-run" / "final").is_dir() and not (recipes / "cli-run").exists()


# --------------------------------------------------------------------------------------- train: metrics.jsonl


def test_metrics_epoch_is_the_progress_through_the_epochs(tiny_path, tmp_path, capsys):
    # 8 pairs in batches of 2: 4 steps an epoch; stop at step 3 (0.75 epoch) with a loss window still open
    config = _train_setup(tmp_path, tiny_path, ", plot: false, logging_steps: 2, eval_steps: 3")
    config_text = Path(config).read_text().replace("max_steps: 2", "max_steps: 3")
    Path(config).write_text(config_text)
    assert main(["train", config]) == 0, capsys.readouterr().err
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [(r["step"], r["epoch"]) for r in records if "loss" in r]
    evals = [(r["step"], r["epoch"]) for r in records if "loss" not in r]
    assert losses == [(2, 0.5), (3, 0.75)]
    assert evals == [(3, 0.75)]
    # over two epochs: the record at an epoch's end says 1.0, the next ones carry on from there
    config_text = config_text.replace("max_steps: 3", "epochs: 2").replace("eval_steps: 3", "eval_steps: 4")
    Path(config).write_text(config_text)
    assert main(["train", config, "--overwrite"]) == 0, capsys.readouterr().err
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["epoch"]) for r in records if "loss" in r] == [
        (2, 0.5),
        (4, 1.0),
        (6, 1.5),
        (8, 2.0),
    ]
    assert [(r["step"], r["epoch"]) for r in records if "loss" not in r] == [(4, 1.0), (8, 2.0)]


def test_eval_sts_with_one_score_for_every_pair_is_refused(model_loads, tmp_path, capsys):
    """Spearman of constant gold scores is undefined: it printed spearman=nan with exit status 0."""
    path = tmp_path / "constant.tsv"
    path.write_text("sentence1\tsentence2\tscore\na\tb\t3.0\nc\td\t3.0\n")
    assert main(["eval", "sts", str(path)]) == 2
    err = capsys.readouterr().err
    assert "every pair has the same score, so no correlation can be measured" in err
    assert model_loads == []
