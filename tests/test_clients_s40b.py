"""Call patterns of client libraries, written out here without the libraries (session 40, second probe).

GPL's ``gpl.train`` trains with the classic ``model.fit(..., checkpoint_path=..., checkpoint_save_steps=)``:
the ``trainer_state.json`` of each checkpoint holds the interval fields of Hugging Face's ``TrainerState`` as
sentence-transformers' fit sets them (its ``eval_steps`` is the fit's ``evaluation_steps``, 0 by default).
A classic fit (``SentenceTransformer.fit``, ``CrossEncoder.fit``) asked for ``evaluation_steps`` without an
evaluator raises the ``ValueError`` of sentence-transformers' trainer, before it trains. autotrain-advanced's
trainer: see the comment above its test.
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


# autotrain-advanced's sentence-transformers trainer: SentenceTransformerTrainer with eval_strategy="epoch",
# save_strategy="epoch", logging_steps=1, load_best_model_at_end, an evaluator; then trainer.evaluate() for
# its model card. Hugging Face's TrainerState takes eval_steps from logging_steps only for eval_strategy
# "steps" (else 500 or the eval_steps given), and each evaluate() call runs the evaluator as an evaluation
# during training does: its CSV row in <output_dir>/eval, at the state's epoch and step.


def _trainer_run(library, folder, out: Path, evaluate_before: bool, **options) -> dict:
    import torch
    from datasets import Dataset

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    evaluation = importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")
    rows = {"s1": WORDS, "s2": WORDS[::-1], "score": [i / 5 for i in range(6)]}
    data = Dataset.from_dict(rows)
    model = library.SentenceTransformer(str(folder), device="cpu")
    evaluator = evaluation.EmbeddingSimilarityEvaluator(WORDS[:4], WORDS[2:], [0.1, 0.5, 0.9, 0.3], name="v")
    arguments = dict(
        per_device_train_batch_size=3, num_train_epochs=2, eval_strategy="epoch", logging_steps=1,
        report_to=[], disable_tqdm=True, learning_rate=1e-3, **options,
    )  # fmt: skip
    args = library.SentenceTransformerTrainingArguments(str(out), **arguments)
    torch.manual_seed(0)
    trainer = library.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, eval_dataset=data, loss=losses.CoSENTLoss(model),
        evaluator=evaluator,
    )  # fmt: skip
    if evaluate_before:
        trainer.evaluate()
    trainer.train()
    trainer.evaluate()
    trainer.evaluate()
    csv = [
        line.split(",") for line in (out / "eval" / "similarity_evaluation_v_results.csv").read_text().split()
    ]
    return {"states": _trainer_states(out), "csv": csv}


def _same_rows(theirs: list, ours: list) -> None:
    assert len(ours) == len(theirs)
    assert ours[0] == theirs[0]  # the header
    for mine, reference in zip(ours[1:], theirs[1:]):
        assert mine[:2] == reference[:2]  # epoch, steps
        assert [float(x) for x in mine[2:]] == pytest.approx([float(x) for x in reference[2:]], abs=1e-5)


@pytest.mark.parametrize(
    ("evaluate_before", "options"),
    [
        (False, {"save_strategy": "epoch", "load_best_model_at_end": True}),
        (False, {"save_strategy": "epoch", "eval_steps": 4}),
        (True, {"save_strategy": "no"}),
    ],
    ids=["autotrain", "eval-steps-given", "evaluated-before-training"],
)
def test_trainer_evaluate_writes_the_evaluator_csv_and_state_as_sentence_transformers(
    dropout_free_st, tmp_path, evaluate_before, options
):
    import sentence_transformers

    theirs = _trainer_run(sentence_transformers, dropout_free_st, tmp_path / "st", evaluate_before, **options)
    ours = _trainer_run(sbert, dropout_free_st, tmp_path / "sbert", evaluate_before, **options)
    assert ours["states"] == theirs["states"]
    _same_rows(theirs["csv"], ours["csv"])
