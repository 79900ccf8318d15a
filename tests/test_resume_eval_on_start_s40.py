"""``eval_on_start`` when a run is resumed: Hugging Face's trainer (sentence-transformers') evaluates as every
``train()`` starts, a resumed one too, at the checkpoint's step; sbert's sentence-transformers trainers do the
same (sbert's own ``Trainer`` evaluates only before step 1). Found by the cross-encoder / sparse trainer
fuzzer (a sparse run resumed at step 2 logged one evaluation fewer than sentence-transformers')."""

from __future__ import annotations

import pytest
from conftest import stop_at
from test_resume_parity_s39 import PAIRS, SETTINGS
from trainer_subclass_probe import library


def _run(name, folder, out, stop=None, resume=False):
    from datasets import Dataset

    module, losses = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    options = {
        "max_steps": 6,
        "save_steps": 2,
        "eval_strategy": "steps",
        "eval_steps": 3,
        "eval_on_start": True,
    }
    trainer = module.SentenceTransformerTrainer(
        model=model,
        args=module.SentenceTransformerTrainingArguments(str(out), **{**SETTINGS, **options}),
        train_dataset=Dataset.from_dict(PAIRS),
        eval_dataset=Dataset.from_dict(PAIRS),
        loss=losses.MultipleNegativesRankingLoss(model),
        callbacks=None if stop is None else [stop_at(stop)],
    )
    trainer.train(resume_from_checkpoint=str(out / "checkpoint-2") if resume else None)
    return [r for r in trainer.state.log_history if "eval_loss" in r]


def test_a_resumed_run_evaluates_on_start_as_sentence_transformers(dropout_free_st, tmp_path):
    records = {}
    for name in ("st", "sbert"):
        _run(name, dropout_free_st, tmp_path / name, stop=2)
        records[name] = _run(name, dropout_free_st, tmp_path / name, resume=True)
    # the first run's start (the checkpoint's history), the resumed run's start, then every 3 steps
    assert [r["step"] for r in records["st"]] == [0, 2, 3, 6]
    assert [r["step"] for r in records["sbert"]] == [r["step"] for r in records["st"]]
    for ours, theirs in zip(records["sbert"], records["st"]):
        assert ours["eval_loss"] == pytest.approx(theirs["eval_loss"], rel=1e-5)
        assert ours["epoch"] == pytest.approx(theirs["epoch"])
