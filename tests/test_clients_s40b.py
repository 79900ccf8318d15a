"""Call patterns of client libraries, written out here without the libraries (session 40, second probe).

GPL's ``gpl.train`` trains with the classic ``model.fit(..., checkpoint_path=..., checkpoint_save_steps=)``:
the ``trainer_state.json`` of each checkpoint holds the interval fields of Hugging Face's ``TrainerState`` as
sentence-transformers' fit sets them (its ``eval_steps`` is the fit's ``evaluation_steps``, 0 by default).
A classic fit (``SentenceTransformer.fit``, ``CrossEncoder.fit``) asked for ``evaluation_steps`` without an
evaluator raises the ``ValueError`` of sentence-transformers' trainer, before it trains.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from conftest import build_tiny_classifier

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
INTERVALS = ("logging_steps", "eval_steps", "save_steps", "train_batch_size", "num_train_epochs", "max_steps")


def _trainer_states(folder: Path) -> dict:
    """Each checkpoint's interval fields of its ``trainer_state.json``."""
    states = {}
    for path in sorted(folder.glob("checkpoint-*/trainer_state.json")):
        state = json.loads(path.read_text())
        states[path.parent.name] = {name: state.get(name) for name in INTERVALS}
    return states


def _fit(library, folder, out: Path, evaluated: bool, **options) -> dict:
    import torch
    from torch.utils.data import DataLoader

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    evaluation = importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")
    model = library.SentenceTransformer(str(folder), device="cpu")
    examples = [library.InputExample(texts=[w, WORDS[-i - 1]], label=i / 5) for i, w in enumerate(WORDS)]
    if evaluated:
        options["evaluator"] = evaluation.EmbeddingSimilarityEvaluator(WORDS[:3], WORDS[3:], [0.1, 0.5, 0.9])
    torch.manual_seed(0)
    model.fit(
        train_objectives=[(DataLoader(examples, batch_size=2), losses.CosineSimilarityLoss(model))],
        epochs=1, warmup_steps=1, checkpoint_path=str(out), checkpoint_save_steps=2, show_progress_bar=False,
        **options,
    )  # fmt: skip
    return _trainer_states(out)


@pytest.mark.parametrize(
    ("evaluated", "options"),
    [(False, {}), (True, {}), (True, {"evaluation_steps": 2}), (True, {"evaluation_steps": 0.5})],
    ids=["gpl-defaults", "evaluator-at-epochs", "evaluator-every-2", "evaluator-every-half"],
)
def test_classic_fit_checkpoints_hold_sentence_transformers_trainer_state(
    dropout_free_st, tmp_path, evaluated, options
):
    import sentence_transformers

    theirs = _fit(sentence_transformers, dropout_free_st, tmp_path / "st", evaluated, **options)
    ours = _fit(sbert, dropout_free_st, tmp_path / "sbert", evaluated, **options)
    assert theirs  # the checkpoints were written
    assert ours == theirs


def _refusal(library, folder, cross: bool) -> Exception:
    from torch.utils.data import DataLoader

    examples = [library.InputExample(texts=[w, WORDS[-i - 1]], label=i / 5) for i, w in enumerate(WORDS)]
    loader = DataLoader(examples, batch_size=2)
    with pytest.raises(Exception) as excinfo:
        if cross:
            library.CrossEncoder(str(folder), device="cpu").fit(
                loader, evaluation_steps=3, show_progress_bar=False
            )
        else:
            losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
            model = library.SentenceTransformer(str(folder), device="cpu")
            objectives = [(loader, losses.CosineSimilarityLoss(model))]
            model.fit(objectives, evaluation_steps=3, warmup_steps=1, show_progress_bar=False)
    return excinfo.value


@pytest.mark.parametrize("cross", [False, True], ids=["SentenceTransformer", "CrossEncoder"])
def test_classic_fit_refuses_evaluation_steps_without_an_evaluator(dropout_free_st, tmp_path, cross):
    import sentence_transformers

    folder = build_tiny_classifier(tmp_path / "ce") if cross else dropout_free_st
    theirs = _refusal(sentence_transformers, folder, cross)
    ours = _refusal(sbert, folder, cross)
    assert isinstance(theirs, ValueError) and isinstance(ours, ValueError)
    trainer = "CrossEncoderTrainer" if cross else "SentenceTransformerTrainer"
    for message in (str(theirs), str(ours)):
        assert "you didn't provide an `eval_dataset` or an `evaluator`" in message
        assert f"an `evaluator` to `{trainer}`" in message
