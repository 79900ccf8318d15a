"""sentence-transformers' classic ``model.fit(train_objectives=[(DataLoader, loss)], ...)`` gives its weights:
its defaults (seed 42, 10000 warm-up steps), its schedule length and schedulers, and the order a shuffling
DataLoader yields the examples in."""

from __future__ import annotations

import functools
import importlib

import numpy as np
import pytest
import torch

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


@pytest.fixture
def folder(dropout_free_st):
    return dropout_free_st


def fitted(library, folder, tmp_path, **options):
    from torch.utils.data import DataLoader

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    model = library.SentenceTransformer(str(folder), device="cpu")
    examples = [library.InputExample(texts=[WORDS[i], WORDS[(i + 3) % 12]]) for i in range(12)]
    scored = [library.InputExample(texts=[WORDS[i], WORDS[-i - 1]], label=i / 11) for i in range(12)]
    torch.manual_seed(0)  # the shuffling loaders draw their order from torch's global generator
    objectives = [
        (
            DataLoader(examples, shuffle=True, batch_size=4),
            losses.MultipleNegativesRankingLoss(model),
        ),
        (DataLoader(scored, shuffle=True, batch_size=4), losses.CosineSimilarityLoss(model)),
    ]
    model.fit(train_objectives=objectives, epochs=2, show_progress_bar=False, **options)
    return model.encode(WORDS)


@pytest.mark.parametrize(
    "options",
    [
        {"optimizer_params": {"lr": 1e-3}},  # the default warm-up: 10000 steps
        {"optimizer_params": {"lr": 1e-3}, "warmup_steps": 2},
        {"optimizer_params": {"lr": 1e-3}, "warmup_steps": 2, "scheduler": "WarmupCosine"},
        # AdamW's other settings (beir's TrainRetriever passes eps); without lr, torch's default 1e-3
        {"optimizer_params": {"eps": 1e-3, "betas": (0.5, 0.9), "weight_decay": 0.5}, "warmup_steps": 2},
    ],
    ids=["defaults", "warmup", "cosine", "adamw-settings"],
)
def test_classic_fit_gives_sentence_transformers_weights(folder, tmp_path, options, recwarn):
    import sentence_transformers

    before = sentence_transformers.SentenceTransformer(str(folder), device="cpu").encode(WORDS)
    theirs = fitted(sentence_transformers, folder, tmp_path, **options)
    ours = fitted(sbert, folder, tmp_path, **options)
    assert np.abs(theirs - before).max() > (1e-4 if "warmup_steps" not in options else 1e-2)  # it trained
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


def test_classic_fit_optimizer_params_adamw_does_not_take_raise_its_type_error(folder, tmp_path):
    """beir's TrainRetriever.fit passes ``correct_bias`` (transformers' old AdamW's): torch's AdamW refuses it
    with a TypeError in sentence-transformers' fit, and so does sbert's."""
    import sentence_transformers

    errors = []
    for library in (sentence_transformers, sbert):
        with pytest.raises(TypeError) as caught:
            fitted(
                library, folder, tmp_path, optimizer_params={"lr": 1e-3, "eps": 1e-6, "correct_bias": False}
            )
        errors.append(str(caught.value))
    assert errors[1] == errors[0]


def record(calls, score, epoch, steps):
    calls.append((round(float(score), 5), round(epoch, 4), steps))


def test_classic_fit_evaluates_calls_back_and_saves_as_sentence_transformers(folder, tmp_path):
    """An evaluator every 2 steps and after each epoch, ``callback(score, epoch, steps)`` after each, the
    best model saved to output_path (with the evaluator's CSV files in output_path/eval), checkpoints in
    checkpoint_path: as sentence-transformers' fit."""
    import sentence_transformers
    from torch.utils.data import DataLoader

    runs = {}
    for library in (sbert, sentence_transformers):
        losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
        evaluation = importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")
        model = library.SentenceTransformer(str(folder), device="cpu")
        scored = [library.InputExample(texts=[WORDS[i], WORDS[-i - 1]], label=i / 11) for i in range(12)]
        evaluator = evaluation.EmbeddingSimilarityEvaluator(
            WORDS[:6], WORDS[6:], [0.1, 0.9, 0.4, 0.5, 0.2, 0.7], name="dev"
        )
        calls: list = []
        out = tmp_path / library.__name__
        torch.manual_seed(0)
        loader = DataLoader(scored, shuffle=True, batch_size=4)
        model.fit(
            train_objectives=[(loader, losses.CosineSimilarityLoss(model))],
            evaluator=evaluator, epochs=2, evaluation_steps=2, warmup_steps=1, optimizer_params={"lr": 1e-3},
            output_path=str(out / "model"), checkpoint_path=str(out / "checkpoints"), checkpoint_save_steps=3,
            callback=functools.partial(record, calls), show_progress_bar=False,
        )  # fmt: skip
        saved = library.SentenceTransformer(str(out / "model"), device="cpu").encode(WORDS)
        checkpoints = sorted(
            p.name for p in (out / "checkpoints").iterdir() if p.name.startswith("checkpoint")
        )
        runs[library.__name__] = (calls, saved, model.encode(WORDS), checkpoints, out)
    (calls, saved, last, checkpoints, out), (their_calls, their_saved, their_last, theirs, _) = runs.values()
    assert [c[1:] for c in calls] == [c[1:] for c in their_calls] == [
        (0.6667, 2), (1.0, 3), (1.3333, 4), (2.0, 6), (2.0, 6)
    ]  # fmt: skip
    assert [c[0] for c in calls] == pytest.approx([c[0] for c in their_calls], abs=1e-4)
    np.testing.assert_allclose(saved, their_saved, atol=1e-5, rtol=0)  # the same best model in output_path
    np.testing.assert_allclose(last, their_last, atol=1e-5, rtol=0)  # and the last weights in memory
    assert len(checkpoints) == len(theirs) == 2
    assert (out / "model" / "eval" / "similarity_evaluation_dev_results.csv").is_file()


def test_classic_fit_steps_per_epoch_with_epochs_is_logged_as_sentence_transformers(folder, caplog):
    """fit(steps_per_epoch=, epochs>1): sentence-transformers logs that it ignores steps_per_epoch (a record
    on its fit module's logger), it does not warn, so ``-W error`` does not stop the fit."""
    import warnings

    import sentence_transformers
    from torch.utils.data import DataLoader

    def notices(library):
        losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
        model = library.SentenceTransformer(str(folder), device="cpu")
        examples = [library.InputExample(texts=[WORDS[i], WORDS[i + 1]]) for i in range(4)]
        loader = DataLoader(examples, batch_size=2)
        caplog.clear()
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*steps_per_epoch")
            model.fit(
                train_objectives=[(loader, losses.MultipleNegativesRankingLoss(model))],
                epochs=2,
                steps_per_epoch=1,
                warmup_steps=1,
                show_progress_bar=False,
            )
        return [
            (r.name, r.levelname, r.getMessage())
            for r in caplog.records
            if "steps_per_epoch" in r.getMessage()
        ]

    theirs = notices(sentence_transformers)
    assert theirs and notices(sbert) == theirs


def test_classic_fit_checkpoint_path_holds_no_event_files_or_plot(folder, tmp_path):
    # sentence-transformers' fit reports to nothing: no TensorBoard events (tensorboard is installed here)
    # and no training curve next to the checkpoints, where sbert's own TrainingArguments would write both
    import sentence_transformers

    top = {}
    for library in (sentence_transformers, sbert):
        path = tmp_path / library.__name__
        fitted(library, folder, tmp_path, warmup_steps=2, checkpoint_path=str(path), checkpoint_save_steps=3)
        top[library.__name__] = {p.name for p in path.iterdir() if not p.name.startswith("checkpoint-")}
    assert not {"runs", "training_curve.png"} & top["sentence_transformers"]
    assert not {"runs", "training_curve.png"} & top["sbert"]
