"""Checkpoints of sentence-transformers' trainers, side by side: the resume files in each ``checkpoint-N``
are Hugging Face's (``optimizer.pt``, ``scheduler.pt``, ``rng_state.pth``), so sentence-transformers resumes
a run sbert checkpointed and ends with the weights and records of its own uninterrupted run."""

from __future__ import annotations

import os

import pytest
import torch
from conftest import stop_at
from trainer_subclass_probe import WORDS, library

SETTINGS = {
    "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1, "disable_tqdm": True,
    "seed": 7, "report_to": "none", "save_strategy": "steps", "save_steps": 2, "max_steps": 6,
}  # fmt: skip
# (train_loss: the mean of the steps this train() ran, in both libraries)
# the log records' training values compared (the run summary's averages and counters are not)
COMPARED = ("loss", "grad_norm", "learning_rate", "epoch", "step")


def _trainer(name, folder, out, *, stop=None, **options):
    from datasets import Dataset

    module, losses = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    return module.SentenceTransformerTrainer(
        model=model,
        args=module.SentenceTransformerTrainingArguments(str(out), **{**SETTINGS, **options}),
        train_dataset=Dataset.from_dict({"anchor": WORDS[:10], "positive": WORDS[2:12]}),
        loss=losses.MultipleNegativesRankingLoss(model),
        callbacks=None if stop is None else [stop_at(stop)],
    )


def _result(trainer) -> dict:
    return {
        "history": [{k: v for k, v in r.items() if k in COMPARED} for r in trainer.state.log_history],
        "weights": {n: p.detach().clone() for n, p in trainer.model[0].auto_model.named_parameters()},
    }


def _assert_same_run(ours: dict, theirs: dict) -> None:
    assert [set(r) for r in ours["history"]] == [set(r) for r in theirs["history"]]
    for mine, their in zip(ours["history"], theirs["history"]):
        assert mine == pytest.approx(their, rel=1e-5, abs=1e-5)
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=1e-5, rtol=0, msg=name)


def test_checkpoints_hold_hugging_face_resume_files(dropout_free_st, tmp_path):
    """Every file sentence-transformers writes in a checkpoint is in sbert's (sbert's own state beside)."""
    for name in ("st", "sbert"):
        _trainer(name, dropout_free_st, tmp_path / name, max_steps=2).train()
    theirs = set(os.listdir(tmp_path / "st" / "checkpoint-2"))
    ours = set(os.listdir(tmp_path / "sbert" / "checkpoint-2"))
    assert {"optimizer.pt", "scheduler.pt", "rng_state.pth"} <= theirs
    assert theirs <= ours


@pytest.mark.parametrize("resume", [True, "path"])
def test_sentence_transformers_resumes_a_run_sbert_checkpointed(resume, dropout_free_st, tmp_path):
    """sbert's run stopped at step 2, resumed by sentence-transformers' trainer: the records and weights of
    sentence-transformers' uninterrupted run (a checkpoint without Hugging Face's files trained on from a
    fresh optimizer and schedule, silently off)."""
    reference = _trainer("st", dropout_free_st, tmp_path / "full")
    reference.train()
    out = tmp_path / "run"
    _trainer("sbert", dropout_free_st, out, stop=2).train()
    resumed = _trainer("st", dropout_free_st, out)
    resumed.train(resume_from_checkpoint=True if resume is True else str(out / "checkpoint-2"))
    _assert_same_run(_result(resumed), _result(reference))


def test_sbert_still_resumes_its_own_checkpoint(dropout_free_st, tmp_path):
    """The run stopped at step 2 and resumed by sbert: sentence-transformers' uninterrupted run."""
    reference = _trainer("st", dropout_free_st, tmp_path / "full")
    reference.train()
    out = tmp_path / "run"
    _trainer("sbert", dropout_free_st, out, stop=2).train()
    resumed = _trainer("sbert", dropout_free_st, out)
    resumed.train(resume_from_checkpoint=True)
    _assert_same_run(_result(resumed), _result(reference))


def _fit_checkpoints(name, folder, out) -> dict:
    from torch.utils.data import DataLoader

    module, losses = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    examples = [module.InputExample(texts=[a, b]) for a, b in zip(WORDS[:8], WORDS[4:12])]
    model.fit(
        [(DataLoader(examples, batch_size=4), losses.MultipleNegativesRankingLoss(model))],
        epochs=2,
        checkpoint_path=str(out),
        checkpoint_save_steps=2,
        checkpoint_save_total_limit=1,
        warmup_steps=0,
        show_progress_bar=False,
    )
    mine = {"state.json", "training_state.pt"}  # sbert's own resume state, beside Hugging Face's
    files = {c.name: set(os.listdir(c)) - mine for c in out.glob("checkpoint-*")}
    args = torch.load(out / "checkpoint-4" / "training_args.bin", weights_only=False)
    wanted = (
        "output_dir",
        "save_steps",
        "save_total_limit",
        "num_train_epochs",
        "per_device_train_batch_size",
    )
    return {"files": files, "args": {key: getattr(args, key) for key in wanted}}


def test_fit_checkpoints_hold_the_files_of_sentence_transformers(dropout_free_st, tmp_path):
    """``model.fit(checkpoint_path=...)``'s checkpoints: the files there, training_args.bin (the arguments
    that fit builds) included."""
    theirs = _fit_checkpoints("st", dropout_free_st, tmp_path / "st")
    ours = _fit_checkpoints("sbert", dropout_free_st, tmp_path / "sbert")
    assert ours["files"] == theirs["files"]
    assert ours["args"] == {**theirs["args"], "output_dir": str(tmp_path / "sbert")}


def test_save_total_limit_0_keeps_every_checkpoint_as_sentence_transformers(dropout_free_st, tmp_path):
    """``save_total_limit=0`` (the classic fit's default): no limit, as Hugging Face's trainer reads it."""
    for name in ("st", "sbert"):
        options = {"max_steps": 4, "save_steps": 1, "save_total_limit": 0}
        _trainer(name, dropout_free_st, tmp_path / name, **options).train()
    kept = [sorted(p.name for p in (tmp_path / name).glob("checkpoint-*")) for name in ("st", "sbert")]
    assert kept[1] == kept[0] == [f"checkpoint-{step}" for step in range(1, 5)]
