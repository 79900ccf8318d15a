"""Hugging Face's learning-rate schedules beyond the classic five (session 39): sentence-transformers 6.3's
trainer takes every ``lr_scheduler_type`` transformers 5 has, with its ``lr_scheduler_kwargs``; sbert's logs
the same learning rates per step, the same losses, and ends with the same weights."""

from __future__ import annotations

import warnings

import pytest
import torch
from test_trainer_fuzz_cases_s39 import PAIRS, both, run
from trainer_subclass_probe import library

SCHEDULES = {
    "wsd-default": ("warmup_stable_decay", {"num_decay_steps": 3}),
    "wsd-linear": (
        "warmup_stable_decay", {"num_decay_steps": 3, "decay_type": "linear", "min_lr_ratio": 0.1}
    ),
    "wsd-sqrt": (
        "warmup_stable_decay", {"num_decay_steps": 4, "decay_type": "1-sqrt", "warmup_type": "1-sqrt"}
    ),
    "wsd-cosine-warmup": (
        "warmup_stable_decay", {"num_decay_steps": 3, "warmup_type": "cosine", "num_cycles": 0.7}
    ),
    "wsd-stable": (
        "warmup_stable_decay", {"num_decay_steps": 2, "num_stable_steps": 1, "min_lr_ratio": 0.3}
    ),
    "polynomial": ("polynomial", None),
    "polynomial-power": ("polynomial", {"power": 2.0, "lr_end": 1e-5}),
    "inverse_sqrt": ("inverse_sqrt", None),
    "inverse_sqrt-timescale": ("inverse_sqrt", {"timescale": 3}),
    "cosine_with_min_lr": ("cosine_with_min_lr", {"min_lr": 1e-4}),
    "cosine_with_min_lr-rate": ("cosine_with_min_lr", {"min_lr_rate": 0.2, "num_cycles": 0.7}),
    "cosine_warmup_with_min_lr": ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1}),
    "cosine_warmup_with_min_lr-warmup": (
        "cosine_warmup_with_min_lr", {"min_lr": 2e-4, "warmup_lr_rate": 0.05}
    ),
    "constant_with_warmup-ignored": ("constant_with_warmup", {"num_cycles": 3}),
}  # fmt: skip


def assert_same(ours: dict, theirs: dict) -> None:
    """The same records (gradient norms, some over 10, to float32's relative precision) and weights."""
    assert [sorted(r) for r in ours["records"]] == [sorted(r) for r in theirs["records"]]
    for mine, reference in zip(ours["records"], theirs["records"]):
        assert mine == pytest.approx(reference, rel=1e-6, abs=1e-5)
    for name, value in theirs["weights"].items():
        torch.testing.assert_close(ours["weights"][name], value, atol=1e-5, rtol=0, msg=name)


@pytest.mark.parametrize("warmup", [0, 2])
@pytest.mark.parametrize("case", sorted(SCHEDULES))
def test_schedule_learning_rates(dropout_free_st, tmp_path, case, warmup):
    """Each step's learning rate is transformers' schedule's, over 7 steps (3.5 epochs)."""
    kind, options = SCHEDULES[case]
    notice = "num_stable_steps" in (options or {})  # transformers warns that it wins over the run's length
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours, theirs = both(
            dropout_free_st,
            tmp_path,
            max_steps=7,
            warmup_steps=warmup,
            lr_scheduler_type=kind,
            lr_scheduler_kwargs=options,
        )
    said = [str(w.message) for w in caught if "num_stable_steps will be used" in str(w.message)]
    assert len(said) == (2 if notice else 0)  # once by each library
    rates = [r["learning_rate"] for r in theirs["records"] if "loss" in r]
    assert len(set(rates)) > (0 if kind.startswith("constant") else 2)  # the schedule moves
    assert_same(ours, theirs)


@pytest.mark.parametrize(
    "options", [{"patience": 0, "factor": 0.5}, {"patience": 1, "factor": 0.3, "mode": "max"}]
)
def test_reduce_lr_on_plateau(dropout_free_st, tmp_path, options):
    """reduce_lr_on_plateau steps on the eval loss (metric_for_best_model's default) after each evaluation,
    not after each step; eval_on_start's evaluation does not step it."""
    evaluation = {k: v[:4] for k, v in PAIRS.items()}
    ours, theirs = both(
        dropout_free_st,
        tmp_path,
        evaluation=evaluation,
        max_steps=8,
        eval_strategy="steps",
        eval_steps=1,
        eval_on_start=True,
        lr_scheduler_type="reduce_lr_on_plateau",
        lr_scheduler_kwargs=options,
    )
    rates = [r["learning_rate"] for r in theirs["records"] if "loss" in r]
    assert len(set(rates)) > 1  # the rate was cut
    assert_same(ours, theirs)


def test_reduce_lr_on_plateau_needs_an_eval_strategy(tmp_path):
    import sentence_transformers

    import sbert

    for module in (sentence_transformers, sbert):
        with pytest.raises(ValueError, match="requires an eval strategy"):
            module.SentenceTransformerTrainingArguments(
                str(tmp_path), lr_scheduler_type="reduce_lr_on_plateau", report_to="none"
            )


@pytest.mark.parametrize(
    ("kind", "options", "words"),
    [
        ("cosine_with_min_lr", None, "One of min_lr or min_lr_rate should be set"),
        (
            "cosine_warmup_with_min_lr",
            {"min_lr": 1e-4, "min_lr_rate": 0.1},
            "Only one of min_lr or min_lr_rate",
        ),
        ("polynomial", {"lr_end": 1e-2}, r"lr_end \(0.01\) must be smaller than initial lr \(0.001\)"),
        ("warmup_stable_decay", {"num_decay_steps": 2, "decay_type": "exp"}, "Unknown decay type: exp"),
    ],
)
def test_schedule_options_refused(dropout_free_st, tmp_path, kind, options, words):
    """Options transformers' get_scheduler refuses: a ValueError with its words from both libraries
    (sbert's as the arguments are made, sentence-transformers' as the run starts)."""
    for name in ("st", "sbert"):
        with pytest.raises(ValueError, match=words):
            run(
                name,
                dropout_free_st,
                tmp_path / name,
                max_steps=2,
                lr_scheduler_type=kind,
                lr_scheduler_kwargs=options,
            )


def test_best_metric_missing_is_a_key_error(dropout_free_st, tmp_path):
    """metric_for_best_model="eval_loss" with eval datasets by name (their losses are eval_<name>_loss):
    sentence-transformers' trainer raises a KeyError at the first evaluation; sbert's error is one too."""
    from datasets import Dataset

    for name in ("st", "sbert"):
        module, losses = library(name)
        model = module.SentenceTransformer(str(dropout_free_st), device="cpu")
        args = module.SentenceTransformerTrainingArguments(
            str(tmp_path / name), disable_tqdm=True, report_to="none", seed=7, max_steps=2,
            per_device_train_batch_size=4, eval_strategy="steps", eval_steps=1, save_strategy="no",
            metric_for_best_model="eval_loss",
        )  # fmt: skip
        evaluation = Dataset.from_dict({k: v[:4] for k, v in PAIRS.items()})
        trainer = module.SentenceTransformerTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_dict(PAIRS),
            eval_dataset={"first": evaluation, "second": evaluation},
            loss=losses.MultipleNegativesRankingLoss(model),
        )
        with pytest.raises(KeyError, match="eval_loss"):
            trainer.train()


def test_drop_last_eval_set_under_one_batch(dropout_free_st, tmp_path):
    """dataloader_drop_last with an eval set smaller than one eval batch: no eval batch, so Hugging Face's
    trainer logs no eval_loss (only the timings), and sbert's logs none either (not 0.0)."""
    evaluation = {k: v[:3] for k, v in PAIRS.items()}
    ours, theirs = both(
        dropout_free_st,
        tmp_path,
        evaluation=evaluation,
        max_steps=2,
        eval_strategy="steps",
        eval_steps=1,
        per_device_eval_batch_size=4,
        dataloader_drop_last=True,
    )
    assert not any("eval_loss" in r for r in theirs["records"])
    assert_same(ours, theirs)
