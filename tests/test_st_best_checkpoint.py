"""With ``load_best_model_at_end`` and a best-model metric, sentence-transformers 6.3's trainer (Hugging
Face's underneath) names the best checkpoint in ``trainer.state.best_model_checkpoint``, never deletes it when
rotating checkpoints (with ``save_total_limit=1`` only it remains at the end), and logs "Loading best model
from ..." after the run's summary. Each run is made with both libraries, with an evaluator whose best step is
not the last."""

from __future__ import annotations

import importlib
import logging
import os

import pytest
from transformers import TrainerCallback

SCORES = [0.5, 0.9, 0.3, 0.2, 0.1]  # best at step 2 of 5
WORDS = ["a b", "c d", "e f", "g h", "i j", "k l", "m n", "o p"]


def run(lib, folder, out, limit):
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
            return {"scripted_score": SCORES[min(self.calls, len(SCORES)) - 1]}

    events = []

    class Logs(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            events.append("summary" if "train_runtime" in logs else "log")

    class Records(logging.Handler):
        def emit(self, record):
            if record.getMessage().startswith("Loading best model from"):
                events.append(record.getMessage().replace(str(out), "OUT"))

    model = lib.SentenceTransformer(str(folder), device="cpu")
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
        evaluator=Scripted(),
        callbacks=[Logs()],
    )
    root, handler = logging.getLogger(), Records(logging.INFO)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        trainer.train()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    best = trainer.state.best_model_checkpoint
    return {
        "best_model_checkpoint": best and os.path.relpath(best, out),
        "best_metric": trainer.state.best_metric,
        "checkpoints": sorted(p.name for p in out.iterdir() if p.name.startswith("checkpoint-")),
        "events": [e for e in events if e != "log"],
    }


@pytest.mark.parametrize("limit", [1, 2])
def test_best_checkpoint_as_sentence_transformers(limit, dropout_free_st, tmp_path):
    import sentence_transformers

    import sbert

    theirs = run(sentence_transformers, dropout_free_st, tmp_path / "st", limit)
    assert theirs["best_model_checkpoint"] == "checkpoint-2"
    assert theirs["events"] == ["summary", "Loading best model from OUT/checkpoint-2 (score: 0.9)."]
    assert run(sbert, dropout_free_st, tmp_path / "sbert", limit) == theirs
