"""What the classic ``model.fit(...)`` shows, as sentence-transformers 6.3's fit (Hugging Face's trainer
underneath) shows it: each step-based evaluation's ``eval_`` metrics and the run's summary as dicts on stdout
(above the bar, or printed without one), and the same log records in the same order: the evaluator's lines
with the unrounded epoch, "Saving model checkpoint to ..." on its trainer's logger before each checkpoint's
"Saving model to ...", the epoch-end evaluation after that step's checkpoint. Both libraries run in each
test on dropout-free tiny models; timings are compared by key only."""

from __future__ import annotations

import ast
import importlib
import logging
import math
from pathlib import Path

import pytest
from conftest import build_tiny_classifier, without_dropout

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]
GOLD = [0.1, 0.9, 0.4, 0.5, 0.2, 0.7]


@pytest.fixture(scope="module")
def cross_folder(tmp_path_factory) -> Path:
    return without_dropout(build_tiny_classifier(tmp_path_factory.mktemp("fit-console") / "ce"))


def fit_st(library, folder, out: Path, bar: bool) -> None:
    import torch
    from torch.utils.data import DataLoader

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    evaluation = importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")
    model = library.SentenceTransformer(str(folder), device="cpu")
    examples = [library.InputExample(texts=[WORDS[i], WORDS[-i - 1]], label=i / 11) for i in range(12)]
    evaluator = evaluation.EmbeddingSimilarityEvaluator(WORDS[:6], WORDS[6:], GOLD, name="dev")
    torch.manual_seed(0)
    loader = DataLoader(examples, shuffle=True, batch_size=4)
    model.fit(
        train_objectives=[(loader, losses.CosineSimilarityLoss(model))],
        evaluator=evaluator, epochs=2, evaluation_steps=2, warmup_steps=1, output_path=str(out / "model"),
        checkpoint_path=str(out / "checkpoints"), checkpoint_save_steps=3, show_progress_bar=bar,
    )  # fmt: skip


def fit_cross(library, folder, out: Path, bar: bool) -> None:
    import torch
    from torch.utils.data import DataLoader

    evaluation = importlib.import_module(f"{library.__name__}.cross_encoder.evaluation")
    model = library.CrossEncoder(str(folder), device="cpu")
    examples = [library.InputExample(texts=[WORDS[i], WORDS[-i - 1]], label=float(i % 2)) for i in range(12)]
    pairs = [[WORDS[i], WORDS[i + 6]] for i in range(6)]
    evaluator = evaluation.CrossEncoderCorrelationEvaluator(pairs, GOLD, name="dev")
    torch.manual_seed(0)
    model.fit(
        train_dataloader=DataLoader(examples, shuffle=True, batch_size=4), evaluator=evaluator, epochs=2,
        evaluation_steps=2, warmup_steps=1, output_path=str(out / "model"), show_progress_bar=bar,
    )  # fmt: skip


def shown(text: str) -> list[dict]:
    return [ast.literal_eval(line) for line in text.splitlines() if line.startswith("{")]


def run(fit, library, folder, tmp_path, capsys, caplog, bar: bool) -> tuple[list[dict], list[tuple]]:
    """The dicts ``fit`` shows on stdout and its log records, the run's folder written as ``<out>``."""
    out = tmp_path / library.__name__
    caplog.clear()
    fit(library, folder, out, bar)
    records = [(r.name, r.levelname, r.getMessage().replace(str(out), "<out>")) for r in caplog.records]
    captured = capsys.readouterr()
    assert not shown(captured.err)  # the bar (and nothing else shown as a dict) is on stderr
    return shown(captured.out), records


def assert_same_dicts(ours: list[dict], theirs: list[dict]) -> None:
    assert [list(d) for d in ours] == [list(d) for d in theirs]
    for mine, ref in zip(ours, theirs):
        for key, value in ref.items():
            if not key.endswith(("_runtime", "_per_second")):  # timings: by key only
                assert math.isclose(float(mine[key]), float(value), rel_tol=1e-3, abs_tol=1e-4), key


def test_sentence_transformer_fit_shows_what_sentence_transformers_shows(
    dropout_free_st, tmp_path, capsys, caplog
):
    """With the bar, at INFO: the dicts written above it."""
    import sentence_transformers

    bar = True

    caplog.set_level(logging.INFO)
    theirs, their_records = run(fit_st, sentence_transformers, dropout_free_st, tmp_path, capsys, caplog, bar)
    ours, records = run(fit_st, sbert, dropout_free_st, tmp_path, capsys, caplog, bar)
    # the evaluations every 2 steps (the epochs' ends are not logged), then the summary
    assert [d["epoch"] for d in theirs] == ["0.6667", "1.333", "2", "2"]
    assert list(theirs[-1]) == [
        "train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "epoch"
    ]  # fmt: skip
    assert_same_dicts(ours, theirs)
    saves = [m for _, _, m in their_records if m.startswith("Saving model checkpoint")]
    assert saves == ["Saving model checkpoint to <out>/checkpoints/checkpoint-3", saves[0][:-1] + "6"]
    assert "in epoch 0.6666666666666666 after 2 steps" in their_records[1][2]
    assert records == their_records


def test_cross_encoder_fit_shows_what_sentence_transformers_shows(cross_folder, tmp_path, capsys, caplog):
    """At the default WARNING level: no records, the dicts printed all the same (no bar)."""
    import sentence_transformers

    theirs, their_records = run(
        fit_cross, sentence_transformers, cross_folder, tmp_path, capsys, caplog, False
    )
    ours, records = run(fit_cross, sbert, cross_folder, tmp_path, capsys, caplog, False)
    assert [next(iter(d)) for d in theirs] == ["eval_dev_pearson"] * 3 + ["train_runtime"]
    assert_same_dicts(ours, theirs)
    assert records == their_records == []


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING])
@pytest.mark.parametrize("kind", ["CrossEncoderCorrelationEvaluator", "CrossEncoderClassificationEvaluator"])
def test_cross_encoder_evaluator_bar_follows_its_logger_level(kind, level):
    """``show_progress_bar=None`` (the default): a bar while the evaluator's logger shows INFO records, as
    sentence-transformers decides it when the evaluator is made (a fit at INFO shows its scoring bars)."""
    import sentence_transformers.cross_encoder.evaluation as theirs

    from sbert.cross_encoder import evaluation as ours

    pairs, gold = [["a cat", "a dog"], ["a man", "a car"]], [1, 0]
    root = logging.getLogger()
    before = root.level
    root.setLevel(level)
    try:
        shown = [getattr(lib, kind)(pairs, gold, name="dev").show_progress_bar for lib in (ours, theirs)]
    finally:
        root.setLevel(before)
    assert shown[0] is shown[1] is (level == logging.INFO)


def test_fit_training_bar_is_hugging_faces(dropout_free_st, tmp_path, capsys):
    """The fit's training bar is Hugging Face's (sentence-transformers' fit runs its trainer): no description,
    tqdm's ``it`` unit, no loss on it; six steps (12 pairs in batches of 4, two epochs). Which frames in
    between are drawn depends on timing (tqdm's refresh interval), so their form is compared, with the first
    and the last."""
    import sentence_transformers
    from test_st_trainer_console import bar_frames

    seen = []
    for library in (sentence_transformers, sbert):
        capsys.readouterr()
        fit_st(library, dropout_free_st, tmp_path / library.__name__, True)
        seen.append([f for f in bar_frames(capsys.readouterr().err) if f[1].endswith("/6")])
    theirs, ours = seen
    assert theirs[0] == ("", "0/6", "it", "") and theirs[-1] == ("", "6/6", "it", "")
    assert (ours[0], ours[-1]) == (theirs[0], theirs[-1])
    assert {(d, u, p) for d, _, u, p in ours} == {(d, u, p) for d, _, u, p in theirs}
