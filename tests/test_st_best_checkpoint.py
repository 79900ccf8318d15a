"""With ``load_best_model_at_end`` and a best-model metric, sentence-transformers 6.3's trainer (Hugging
Face's underneath) names the best checkpoint in ``trainer.state.best_model_checkpoint``, never deletes it when
rotating checkpoints (with ``save_total_limit=1`` only it remains at the end), logs "Loading best model
from ..." after the run's summary and loads that checkpoint's weights, with no evaluation after the last
step and no folder of its own; a resumed run restores the best checkpoint from the checkpoint's
``trainer_state.json``. Its arguments refuse saves that miss evaluations. Each run is made with both
libraries, with an evaluator whose best step is not the last."""

from __future__ import annotations

import importlib
import logging
import os
import shutil

import numpy as np
import pytest
import torch
from transformers import TrainerCallback

SCORES = [0.5, 0.9, 0.3, 0.2, 0.1]  # best at step 2 of 5
WORDS = ["a b", "c d", "e f", "g h", "i j", "k l", "m n", "o p"]


def run(lib, folder, out, limit, scores=SCORES, resume=None, seen=None):
    """A run of 5 steps, evaluated and saved at each (from checkpoint ``resume``); ``seen`` gets the best
    checkpoint as the callbacks see it at the run's start and at each evaluation."""
    from datasets import Dataset

    evaluation = importlib.import_module(f"{lib.__name__}.sentence_transformer.evaluation")
    losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")

    class Scripted(evaluation.SentenceEvaluator):
        """The next of SCORES at each call."""

        def __init__(self):
            super().__init__()
            self.calls, self.primary_metric, self.greater_is_better = 0, "score", True

        def __call__(self, model, output_path=None, epoch=-1, steps=-1):
            self.calls += 1
            return {"scripted_score": scores[min(self.calls, len(scores)) - 1]}

    events = []

    class Logs(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            events.append("summary" if "train_runtime" in logs else "log")

        def on_train_begin(self, args, state, control, **kwargs):
            self.on_evaluate(args, state, control)

        def on_evaluate(self, args, state, control, **kwargs):
            best = state.best_model_checkpoint
            if seen is not None:
                seen.append((state.global_step, state.best_metric, best and os.path.relpath(best, out)))

    class Records(logging.Handler):
        def emit(self, record):
            if record.getMessage().startswith(("Loading best model from", "Loading SentenceTransformer")):
                events.append(record.getMessage().replace(str(out), "OUT"))

    model, evaluator = lib.SentenceTransformer(str(folder), device="cpu"), Scripted()
    events.clear()  # (the model's own loading record)
    args = lib.SentenceTransformerTrainingArguments(
        output_dir=str(out), max_steps=5, per_device_train_batch_size=2, eval_strategy="steps", eval_steps=1,
        save_steps=1, logging_steps=1, report_to="none", seed=1, disable_tqdm=True,
        load_best_model_at_end=True, metric_for_best_model="scripted_score", save_total_limit=limit,
    )  # fmt: skip
    trainer = lib.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict({"anchor": WORDS, "positive": WORDS[::-1]}),
        loss=losses.MultipleNegativesRankingLoss(model),
        evaluator=evaluator,
        callbacks=[Logs()],
    )
    root, handler = logging.getLogger(), Records(logging.INFO)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        trainer.train(resume_from_checkpoint=resume and str(out / resume))
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    best = trainer.state.best_model_checkpoint
    return {
        "best_model_checkpoint": best and os.path.relpath(best, out),
        "best_metric": trainer.state.best_metric,
        "checkpoints": sorted(p.name for p in out.iterdir() if p.name.startswith("checkpoint-")),
        "events": [e for e in events if e != "log"],
        "evaluations": evaluator.calls,
        # sbert's own log of the run (metrics.jsonl) aside, what the run leaves in output_dir
        "output_dir": sorted(p.name for p in out.iterdir() if p.name != "metrics.jsonl"),
        "embeddings": model.encode(WORDS),
    }


@pytest.mark.parametrize("limit", [1, 2])
def test_best_checkpoint_as_sentence_transformers(limit, dropout_free_st, tmp_path):
    import sentence_transformers

    import sbert

    theirs = run(sentence_transformers, dropout_free_st, tmp_path / "st", limit)
    ours = run(sbert, dropout_free_st, tmp_path / "sbert", limit)
    assert theirs["best_model_checkpoint"] == "checkpoint-2"
    assert theirs["events"] == [
        "summary",
        "Loading best model from OUT/checkpoint-2 (score: 0.9).",
        "Loading SentenceTransformer model from OUT/checkpoint-2.",
    ]
    # the best checkpoint's weights, loaded from it: no evaluation after the steps, no best/ copy
    np.testing.assert_allclose(ours.pop("embeddings"), theirs.pop("embeddings"), atol=1e-5)
    assert theirs["evaluations"] == 5 and theirs["output_dir"][-1] == "eval"
    assert ours == theirs


def test_resumed_run_keeps_the_best_checkpoint_as_sentence_transformers(dropout_free_st, tmp_path):
    """Resumed from checkpoint-3 (of a run whose best is checkpoint-2), with lower scores after it: the
    callbacks see the restored best from the start, and the run ends with checkpoint-2's weights."""
    import sentence_transformers

    import sbert

    runs = {}
    for lib in (sentence_transformers, sbert):
        out, seen = tmp_path / lib.__name__, []
        run(lib, dropout_free_st, out, None)
        for step in (4, 5):
            shutil.rmtree(out / f"checkpoint-{step}")
        runs[lib] = run(lib, dropout_free_st, out, None, scores=[0.4, 0.3], resume="checkpoint-3", seen=seen)
        runs[lib]["seen"] = seen
    theirs, ours = runs[sentence_transformers], runs[sbert]
    assert theirs["seen"] == [(step, 0.9, "checkpoint-2") for step in (3, 4, 5)]
    np.testing.assert_allclose(ours.pop("embeddings"), theirs.pop("embeddings"), atol=1e-5)
    assert ours == theirs


@pytest.mark.parametrize(
    "options",
    [
        {"eval_strategy": "steps", "save_strategy": "epoch"},
        {"eval_strategy": "no"},  # saving at steps (the default)
        {"eval_strategy": "epoch", "save_strategy": "no"},
        {"eval_strategy": "steps", "eval_steps": 2, "save_steps": 3},
        {"eval_strategy": "steps", "logging_steps": 4.0, "save_steps": 6.0},
        {"eval_strategy": "steps", "eval_steps": 0.2, "save_steps": 0.3},
        {"eval_strategy": "steps", "eval_steps": 0.1, "save_steps": 3},
        {"eval_strategy": "steps", "eval_steps": 2, "save_steps": 4},  # accepted by both
        {"eval_strategy": "steps", "eval_steps": 0.1, "save_steps": 0.3},
    ],
)
def test_saves_that_miss_evaluations_are_refused_as_in_sentence_transformers(options, tmp_path):
    import sentence_transformers

    import sbert

    refusals = []
    for lib in (sentence_transformers, sbert):
        try:
            lib.SentenceTransformerTrainingArguments(str(tmp_path), load_best_model_at_end=True, **options)
            refusals.append(None)
        except ValueError as refusal:  # sbert's InputError is one
            refusals.append(str(refusal))
    assert refusals[1] == refusals[0]


def test_override_model_in_loss_as_in_sentence_transformers(dropout_free_st, tmp_path):
    """The model inside a loss and inside the loss it wraps is replaced; a model without the methods that
    losses call on it (a wrapper) gets the old model's."""
    import sentence_transformers
    from datasets import Dataset

    import sbert

    found = []
    for lib in (sentence_transformers, sbert):
        losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")
        old, new = (lib.SentenceTransformer(str(dropout_free_st), device="cpu") for _ in range(2))
        inner = losses.MultipleNegativesRankingLoss(old)
        loss = losses.MatryoshkaLoss(old, inner, [32, 16])
        args = lib.SentenceTransformerTrainingArguments(str(tmp_path / lib.__name__), report_to="none")
        data = Dataset.from_dict({"anchor": WORDS[:2], "positive": WORDS[2:4]})
        trainer = lib.SentenceTransformerTrainer(model=old, args=args, train_dataset=data, loss=loss)
        wrapper = torch.nn.Module()
        replaced = trainer.override_model_in_loss(losses.CoSENTLoss(old), wrapper)
        found.append(
            (
                trainer.override_model_in_loss(loss, new) is loss,
                loss.model is new and inner.model is new and loss.loss is inner,
                replaced.model is wrapper,
                wrapper.get_embedding_dimension() == 32 and callable(wrapper.preprocess),
            )
        )
    assert found[1] == found[0] == (True,) * 4
