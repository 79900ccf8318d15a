"""An epoch of no batches: ``dataloader_drop_last=True`` with a batch larger than what the batch sampler can
fill (here ``batch_sampler="group_by_label"`` on a few rows of 2 labels). Hugging Face's trainer under
sentence-transformers 6.3 takes the loader of length 0 for one without a length: with ``max_steps`` it runs
no step (a summary of step 0), without it refuses with its ValueError. sbert divided by the zero steps of an
epoch (ZeroDivisionError) in the first case and ran an empty epoch in the second."""

from __future__ import annotations

import sys

import pytest
from trainer_subclass_probe import WORDS, library

ROWS = {"text": WORDS[:6], "label": [0, 0, 0, 1, 1, 1]}
SETTINGS = {
    "per_device_train_batch_size": 8, "dataloader_drop_last": True, "batch_sampler": "group_by_label",
    "logging_steps": 1, "save_strategy": "no", "disable_tqdm": True, "report_to": "none", "seed": 7,
}  # fmt: skip


def _trainer(name, folder, out, **options):
    from datasets import Dataset

    module, losses = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    evaluation = options.pop("evaluation", None)
    return module.SentenceTransformerTrainer(
        model=model,
        args=module.SentenceTransformerTrainingArguments(str(out), **{**SETTINGS, **options}),
        train_dataset=Dataset.from_dict(ROWS),
        eval_dataset=evaluation,
        loss=losses.BatchAllTripletLoss(model),
    )


TIMING = ("_runtime", "_per_second")


def test_max_steps_over_empty_epochs_runs_no_step(dropout_free_st, tmp_path):
    runs = {}
    for name in ("st", "sbert"):
        trainer = _trainer(name, dropout_free_st, tmp_path / name, max_steps=2)
        output = trainer.train()
        state = trainer.state
        # the timings' values are the clock's: their names are compared, not their values
        history = [{k: v for k, v in r.items() if not k.endswith(TIMING)} for r in state.log_history]
        names = [sorted(r) for r in state.log_history]
        runs[name] = (output.global_step, output.training_loss, state.global_step, history, names)
        assert state.num_train_epochs == sys.maxsize  # no length: as many epochs as it takes
    assert runs["sbert"] == runs["st"]
    summary = {"total_flos": 0, "train_loss": 0.0, "epoch": 0, "step": 0}
    assert runs["st"][3] == [summary]
    timings = ["train_runtime", "train_samples_per_second", "train_steps_per_second"]
    assert runs["st"][4] == [sorted([*summary, *timings])]


@pytest.mark.parametrize("evaluates", [False, True], ids=["train", "with-eval"])
def test_epochs_over_an_empty_epoch_are_refused(dropout_free_st, tmp_path, evaluates):
    from datasets import Dataset

    errors = []
    for name in ("st", "sbert"):
        options = {"evaluation": Dataset.from_dict(ROWS), "eval_strategy": "steps", "eval_steps": 1}
        trainer = _trainer(name, dropout_free_st, tmp_path / name, **(options if evaluates else {}))
        with pytest.raises(ValueError) as caught:
            trainer.train()
        errors.append(caught.value)
    theirs, ours = map(str, errors)
    assert ours.startswith(theirs)  # Hugging Face's message, then what to do
    assert "dataloader_drop_last" in ours
