"""What callbacks and the log history hold in two trainer runs, sbert against sentence-transformers 6.3 on the
same dropout-free tiny model (timings left out):

- ``SparseEncoderTrainer`` with ``SpladeLoss`` and an evaluator but no eval dataset: sentence-transformers'
  ``log()`` passes an evaluator's record on to ``on_log`` in place, so what the regularizer-weight schedule's
  ``on_log`` adds (``document_regularizer_weight``, ``query_regularizer_weight``) reaches ``on_evaluate``
  too (sbert's ``on_evaluate`` lacked both).
- A run resumed from a checkpoint with a larger ``max_steps`` than it was saved with: Hugging Face's trainer
  takes the history up to the checkpoint from its ``trainer_state.json`` and the scheduler's state from the
  checkpoint, so the first resumed step runs with (and logs) the saved scheduler's last rate, 0.0 where
  the shorter run's schedule had ended; sbert logged the longer run's schedule for every step, the
  checkpoint's steps included.
"""

from __future__ import annotations

import importlib
import shutil

import pytest
from conftest import without_dropout
from datasets import Dataset
from transformers import TrainerCallback

TIMING = ("_runtime", "_per_second")
WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _untimed(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.endswith(TIMING)}


class _Seen(TrainerCallback):
    """What ``on_log`` and ``on_evaluate`` get, in order, timings left out."""

    def __init__(self):
        self.events = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.events.append(("log", state.global_step, _untimed(logs)))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.events.append(("evaluate", state.global_step, _untimed(metrics)))


@pytest.fixture(scope="module")
def splade(masked_lm, tmp_path_factory):
    return without_dropout(shutil.copytree(masked_lm, tmp_path_factory.mktemp("splade") / "mlm"))


def _sparse_events(name, folder, out, with_eval_dataset):
    library = importlib.import_module(name)
    losses = importlib.import_module(f"{name}.sparse_encoder.losses")
    evaluation = importlib.import_module(f"{name}.sparse_encoder.evaluation")
    model = library.SparseEncoder(str(folder), device="cpu")
    data = Dataset.from_dict({"anchor": WORDS[:6], "positive": WORDS[6:]})
    evaluator = evaluation.SparseEmbeddingSimilarityEvaluator(
        WORDS[:4], WORDS[4:8], [0.1, 0.9, 0.3, 0.5], name="sts-dev"
    )
    args = library.SparseEncoderTrainingArguments(
        str(out / name), per_device_train_batch_size=3, per_device_eval_batch_size=3, num_train_epochs=1,
        eval_strategy="steps", eval_steps=1, logging_steps=1, save_strategy="no", disable_tqdm=True, seed=7,
        report_to="none", optim="sgd", learning_rate=0.05,
    )  # fmt: skip
    loss = losses.SpladeLoss(
        model, losses.SparseMultipleNegativesRankingLoss(model), query_regularizer_weight=5e-1,
        document_regularizer_weight=3e-1,
    )  # fmt: skip
    seen = _Seen()
    library.SparseEncoderTrainer(
        model=model, args=args, train_dataset=data, eval_dataset=data if with_eval_dataset else None,
        loss=loss, evaluator=evaluator, callbacks=[seen],
    ).train()  # fmt: skip
    return seen.events


def _assert_same_events(ours, theirs):
    assert [(kind, step, list(record)) for kind, step, record in ours] == [
        (kind, step, list(record)) for kind, step, record in theirs
    ]
    for (_, _, mine), (_, _, reference) in zip(ours, theirs):
        assert mine == pytest.approx(reference, abs=1e-4)


@pytest.mark.parametrize("with_eval_dataset", [False, True], ids=["evaluator-alone", "with-eval-loss"])
def test_sparse_on_evaluate_gets_the_regularizer_weights_as_sentence_transformers(
    splade, tmp_path, with_eval_dataset
):
    theirs = _sparse_events("sentence_transformers", splade, tmp_path, with_eval_dataset)
    ours = _sparse_events("sbert", splade, tmp_path, with_eval_dataset)
    assert [kind for kind, _, _ in theirs].count("evaluate") == 2
    _assert_same_events(ours, theirs)


def _resumed_history(name, folder, out):
    import json

    library = importlib.import_module(name)
    losses = importlib.import_module(f"{name}.sentence_transformer.losses")
    data = Dataset.from_dict({"anchor": WORDS[:6], "positive": WORDS[6:]})
    for steps, resume in ((2, None), (5, True)):
        model = library.SentenceTransformer(str(folder), device="cpu")
        args = library.SentenceTransformerTrainingArguments(
            str(out / name), per_device_train_batch_size=3, max_steps=steps, learning_rate=0.002, optim="sgd",
            logging_steps=1, save_strategy="steps", save_steps=1, disable_tqdm=True, seed=7, report_to="none",
        )  # fmt: skip
        trainer = library.SentenceTransformerTrainer(
            model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model)
        )
        trainer.train(resume_from_checkpoint=resume)
    saved = json.loads((out / name / "checkpoint-3" / "trainer_state.json").read_text())["log_history"]
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    return [_untimed(r) for r in trainer.state.log_history], [_untimed(r) for r in saved], weights


def test_resume_with_more_steps_logs_the_rates_as_sentence_transformers(dropout_free_st, tmp_path):
    theirs, their_saved, their_weights = _resumed_history("sentence_transformers", dropout_free_st, tmp_path)
    ours, our_saved, our_weights = _resumed_history("sbert", dropout_free_st, tmp_path)
    rates = [r["learning_rate"] for r in theirs if "learning_rate" in r]
    assert rates[2] == 0.0 and len(rates) == 5  # the saved schedule's last rate (sanity)
    assert [sorted(r) for r in ours] == [sorted(r) for r in theirs]
    assert ours == [pytest.approx(r, rel=1e-5, abs=1e-5) for r in theirs]
    assert our_saved == [pytest.approx(r, rel=1e-5, abs=1e-5) for r in their_saved]
    for key, value in their_weights.items():
        assert (our_weights[key] - value).abs().max().item() < 1e-5, key


@pytest.mark.parametrize("epochs", [2, 1.5])
def test_training_arguments_keep_the_epochs_as_given_as_hugging_face(tmp_path, epochs):
    """transformers 5 keeps ``num_train_epochs`` as given (an int stays one), and the model card's
    hyperparameters list it so: ``2``, not ``2.0``."""
    import sentence_transformers

    import sbert

    theirs, ours = (
        library.SentenceTransformerTrainingArguments(str(tmp_path), num_train_epochs=epochs)
        for library in (sentence_transformers, sbert)
    )
    assert repr(ours.num_train_epochs) == repr(theirs.num_train_epochs)
    assert repr(ours.to_dict()["num_train_epochs"]) == repr(theirs.to_dict()["num_train_epochs"])
