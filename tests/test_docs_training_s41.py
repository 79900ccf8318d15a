"""Snippets of sentence-transformers' training overviews (dense, cross-encoder, sparse) run on sbert and on
sentence-transformers 6.3 with the same tiny offline model: the same callbacks' view of a run."""

from __future__ import annotations

import importlib

import pytest
from datasets import Dataset
from transformers import TrainerCallback

TEXTS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]


class _Seen(TrainerCallback):
    """The overview's callback example: a ``TrainerCallback`` subclass keeping what ``on_evaluate`` gets."""

    def __init__(self):
        self.metrics = []

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.metrics.append((state.global_step, sorted(metrics)))


def _evaluated(library, folder, out, with_eval_dataset):
    """Two steps of MultipleNegativesRankingLoss, an EmbeddingSimilarityEvaluator after each step, and an
    eval dataset or none: the metric names each ``on_evaluate`` got."""
    model = library.SentenceTransformer(str(folder))
    args = library.SentenceTransformerTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=3, num_train_epochs=1, eval_strategy="steps",
        eval_steps=1, save_strategy="no", disable_tqdm=True, seed=7, report_to="none",
    )  # fmt: skip
    data = Dataset.from_dict({"anchor": TEXTS, "positive": TEXTS[::-1]})
    evaluation = importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")
    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    evaluator = evaluation.EmbeddingSimilarityEvaluator(
        TEXTS[:4], TEXTS[2:6], [0.1, 0.9, 0.3, 0.5], name="sts-dev"
    )
    seen = _Seen()
    library.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model),
        eval_dataset=data if with_eval_dataset else None, evaluator=evaluator, callbacks=[seen],
    ).train()  # fmt: skip
    return seen.metrics


@pytest.mark.parametrize("with_eval_dataset", [False, True])
def test_on_evaluate_metrics_during_training_as_in_sentence_transformers(
    dropout_free_st, tmp_path, with_eval_dataset
):
    """An evaluator alone: sentence-transformers' log() adds the epoch in place to the metrics, so a
    callback's ``on_evaluate`` sees ``epoch`` among them (sbert's lacked it); with an eval loss the record is
    copied first and ``on_evaluate`` gets no epoch, in both."""
    import sentence_transformers

    import sbert

    theirs = _evaluated(sentence_transformers, dropout_free_st, tmp_path / "st", with_eval_dataset)
    ours = _evaluated(sbert, dropout_free_st, tmp_path / "sbert", with_eval_dataset)
    assert len(theirs) == 2
    assert ours == theirs
