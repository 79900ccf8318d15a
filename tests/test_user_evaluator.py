"""An evaluator the user wrote against sentence-transformers' ``SentenceEvaluator`` (``primary_metric`` set in
``__init__``, ``prefix_name_to_metrics``, ``store_metrics_in_model_card_data``) runs in sbert's trainer as in
sentence-transformers': the same evaluation records, the best step picked by its primary metric."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def evaluator_class(base):
    class MeanCosine(base):
        """Mean cosine of aligned pairs; greater is better."""

        def __init__(self, left, right, name="pairs"):
            super().__init__()
            self.left, self.right, self.name = left, right, name
            self.primary_metric = "mean_cosine"

        def __call__(self, model, output_path=None, epoch=-1, steps=-1):
            a, b = model.encode(self.left), model.encode(self.right)
            cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
            metrics = self.prefix_name_to_metrics({"mean_cosine": cosine.mean(), "rows": len(a)}, self.name)
            self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
            return metrics

    return MeanCosine


@pytest.fixture
def folder(dropout_free_st):
    return dropout_free_st


def train(library, folder, out):
    from datasets import Dataset

    evaluation, losses = (
        importlib.import_module(f"{library.__name__}.sentence_transformer.{m}")
        for m in ("evaluation", "losses")
    )
    model = library.SentenceTransformer(str(folder), device="cpu")
    evaluator = evaluator_class(evaluation.SentenceEvaluator)(WORDS[:6], WORDS[6:])
    data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:12]})
    args = library.SentenceTransformerTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=4, learning_rate=1e-3, seed=3, report_to="none",
        eval_strategy="steps", eval_steps=1, save_strategy="steps", save_steps=1, load_best_model_at_end=True,
        metric_for_best_model="eval_pairs_mean_cosine",
        disable_tqdm=True,
    )  # fmt: skip
    loss = losses.MultipleNegativesRankingLoss(model)
    trainer = library.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, loss=loss, evaluator=evaluator
    )
    trainer.train()
    records = [
        {k: v for k, v in r.items() if k.startswith("eval_pairs")}
        for r in trainer.state.log_history
        if "eval_pairs_mean_cosine" in r
    ]
    return evaluator, records, model.encode(WORDS), model


def test_a_users_evaluator_runs_in_the_trainer_as_in_sentence_transformers(folder, tmp_path):
    import sentence_transformers

    ours, our_records, our_embeddings, model = train(sbert, folder, tmp_path / "ours")
    theirs, their_records, their_embeddings, _ = train(sentence_transformers, folder, tmp_path / "theirs")
    assert len(our_records) == len(their_records) == 6  # 2 steps an epoch, 3 epochs
    for mine, reference in zip(our_records, their_records):
        assert mine.keys() == reference.keys() == {"eval_pairs_mean_cosine", "eval_pairs_rows"}
        assert abs(mine["eval_pairs_mean_cosine"] - reference["eval_pairs_mean_cosine"]) < 1e-5
    assert ours.primary_metric == theirs.primary_metric == "pairs_mean_cosine"
    np.testing.assert_allclose(our_embeddings, their_embeddings, atol=1e-5, rtol=0)  # the same best step
    assert "pairs_mean_cosine" in model.model_card_data["evaluation"]


def test_the_base_class_helpers_match_sentence_transformers():
    from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator as Reference

    from sbert.evaluation import BinaryClassificationEvaluator, SentenceEvaluator

    ours, theirs = evaluator_class(SentenceEvaluator)([], []), evaluator_class(Reference)([], [])
    metrics = {"accuracy": np.float32(0.5), "note": "text"}
    assert ours.prefix_name_to_metrics(metrics, "dev") == theirs.prefix_name_to_metrics(metrics, "dev")
    assert ours.primary_metric == theirs.primary_metric == "dev_mean_cosine"
    ours.prefix_name_to_metrics(metrics, "dev")  # already prefixed: left as it is, as there
    assert ours.primary_metric == "dev_mean_cosine"
    assert ours.prefix_name_to_metrics(metrics, "") == theirs.prefix_name_to_metrics(metrics, "")
    assert ours.description == theirs.description == "Mean Cosine"
    binary = BinaryClassificationEvaluator(["a"], ["b"], [1], name="x")
    assert binary.description == "Binary Classification" and binary.primary_key == "x_cosine_ap"
    assert binary.primary_metric is None  # until a call works it out, as sentence-transformers' (session 39)
