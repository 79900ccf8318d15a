"""What callbacks and the log history hold in two trainer runs, sbert against sentence-transformers 6.3 on the
same dropout-free tiny model (timings left out):

- ``SparseEncoderTrainer`` with ``SpladeLoss`` and an evaluator but no eval dataset: sentence-transformers'
  ``log()`` passes an evaluator's record on to ``on_log`` in place, so what the regularizer-weight schedule's
  ``on_log`` adds (``document_regularizer_weight``, ``query_regularizer_weight``) reaches ``on_evaluate``
  too (sbert's ``on_evaluate`` lacked both).
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
