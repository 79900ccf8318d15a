"""Resuming an interrupted run of sentence-transformers' trainer, on both libraries: the run stopped at step
``k`` by a callback (a checkpoint saved there), then a new trainer with the same arguments calling
``train(resume_from_checkpoint=...)``. The resumed runs log, train and report the same; a checkpoint sbert
cannot resume from (none, a missing folder) is refused as clearly as there (sentence-transformers' own
resume: tests/test_resume_st_checkpoint_s45.py)."""

from __future__ import annotations

import os

import pytest
import torch
from conftest import stop_at
from trainer_subclass_probe import WORDS, library

SETTINGS = {
    "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1, "disable_tqdm": True,
    "seed": 7, "report_to": "none", "save_strategy": "steps",
}  # fmt: skip
PAIRS = {"anchor": WORDS[:10], "positive": WORDS[2:12]}  # 3 batches of 4 an epoch


def _trainer(name, folder, out, *, datasets=False, stop=None, **options):
    from datasets import Dataset

    module, losses = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    if datasets:
        data = {
            "a": Dataset.from_dict(PAIRS),
            "b": Dataset.from_dict({"anchor": WORDS[5:], "positive": WORDS[:7]}),
        }
        loss = {key: losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=2) for key in data}
    else:
        data, loss = Dataset.from_dict(PAIRS), losses.MultipleNegativesRankingLoss(model)
    return module.SentenceTransformerTrainer(
        model=model,
        args=module.SentenceTransformerTrainingArguments(str(out), **{**SETTINGS, **options}),
        train_dataset=data,
        loss=loss,
        callbacks=None if stop is None else [stop_at(stop)],
    )


def _resumed(name, folder, out, k, resume, **options) -> dict:
    """The run stopped at step ``k`` (saved there), then resumed by a new trainer (``resume``: True, or
    "path" for the checkpoint's folder): what the resumed run logged, reported and trained."""
    _trainer(name, folder, out, stop=k, save_steps=k, **options).train()
    trainer = _trainer(name, folder, out, save_steps=k, **options)
    output = trainer.train(resume_from_checkpoint=str(out / f"checkpoint-{k}") if resume == "path" else True)
    volatile = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos")
    return {
        "history": [{k: v for k, v in r.items() if k not in volatile} for r in trainer.state.log_history],
        "state": (trainer.state.global_step, trainer.state.epoch),
        "output": (output.global_step, output.training_loss, output.metrics["train_loss"]),
        "weights": {n: p.detach().clone() for n, p in trainer.model[0].auto_model.named_parameters()},
        "checkpoints": sorted(p for p in os.listdir(out) if p.startswith("checkpoint-")),
    }


@pytest.mark.parametrize(
    ("k", "resume", "options"),
    [
        (3, True, {"max_steps": 6}),  # at an epoch's end
        (
            3,
            "path",
            {"num_train_epochs": 2, "gradient_accumulation_steps": 2, "per_device_train_batch_size": 2},
        ),
        (4, True, {"max_steps": 6, "datasets": True, "multi_dataset_batch_sampler": "proportional"}),
    ],
    ids=["epoch-end", "accumulation-epoch-2", "datasets-cached"],
)
def test_a_resumed_run_logs_trains_and_reports_as_sentence_transformers(
    k, resume, options, dropout_free_st, tmp_path
):
    """The records after step ``k``, the learning rates, the final weights, the state, and the run's
    ``train_loss`` (Hugging Face's: the mean loss of the steps this ``train()`` ran, not of the whole run)."""
    theirs = _resumed("st", dropout_free_st, tmp_path / "st", k, resume, **options)
    ours = _resumed("sbert", dropout_free_st, tmp_path / "ours", k, resume, **options)
    assert [set(r) for r in ours["history"]] == [set(r) for r in theirs["history"]]
    for mine, their in zip(ours["history"], theirs["history"]):
        assert mine == pytest.approx(their, rel=1e-5, abs=1e-5)  # (grad_norm: 10.1)
    assert ours["state"] == pytest.approx(theirs["state"], abs=1e-9)
    assert ours["output"] == pytest.approx(theirs["output"], abs=1e-5)
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=1e-5, rtol=0, msg=name)
    assert ours["checkpoints"] == theirs["checkpoints"]


def _error(call) -> BaseException:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def test_resuming_from_an_empty_output_dir_fails_as_sentence_transformers(dropout_free_st, tmp_path):
    """``resume_from_checkpoint=True`` with no checkpoint in ``output_dir``: Hugging Face's ValueError (sbert
    started a new run)."""
    errors = [
        _error(
            lambda name=name: _trainer(name, dropout_free_st, tmp_path / name, max_steps=2).train(
                resume_from_checkpoint=True
            )
        )
        for name in ("st", "sbert")
    ]
    assert isinstance(errors[1], ValueError)
    assert str(errors[1]) == str(errors[0]).replace(str(tmp_path / "st"), str(tmp_path / "sbert"))


def test_resuming_from_a_missing_folder_fails_as_sentence_transformers(dropout_free_st, tmp_path):
    """A checkpoint path that does not exist: a FileNotFoundError naming it, as there."""
    missing = tmp_path / "nowhere" / "checkpoint-3"
    errors = [
        _error(
            lambda name=name: _trainer(name, dropout_free_st, tmp_path / name, max_steps=2).train(
                resume_from_checkpoint=str(missing)
            )
        )
        for name in ("st", "sbert")
    ]
    assert isinstance(errors[0], FileNotFoundError) and isinstance(errors[1], FileNotFoundError)
    assert str(missing) in str(errors[1])
