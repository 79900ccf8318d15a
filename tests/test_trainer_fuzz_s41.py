"""Cases session 41's differential trainer fuzzer found (/tmp/s41/trainfuzz: gradient accumulation, max_steps
with epochs, warm-up ratios, schedules and optimizers, best-model arguments, prompts, dicts of datasets): the
same dropout-free tiny model trained with the same arguments by sentence-transformers 6.3 and by sbert logs
the same records and ends with the same weights (SGD, so that no Adam-style normalisation magnifies float
noise).

- A no-duplicates sampler that yields fewer batches than its ``len`` under gradient accumulation: Hugging
  Face's loop steps the optimizer after a batch that completes ``gradient_accumulation_steps`` or is the
  epoch's last by that ``len``, so an epoch's last group of fewer batches takes no step; its gradients and
  loss go into the next epoch's first step (and nowhere after the last epoch). sbert took a step on it.
  Their loss counts in ``train_loss``, which Hugging Face divides by ``max(steps, 0.001)``.
"""

from __future__ import annotations

import pytest
from trainer_subclass_probe import WORDS, library

TIMING = ("_runtime", "_per_second")
SETTINGS = {
    "report_to": "none", "save_strategy": "no", "disable_tqdm": True, "seed": 7, "optim": "sgd",
    "learning_rate": 0.05, "per_device_train_batch_size": 3, "batch_sampler": "no_duplicates",
    "dataloader_drop_last": True,
}  # fmt: skip
# "dup" yields no batch under no_duplicates with drop_last (its rows hold one text), though its len says 2:
# the proportional sampler promises 4 + 2 batches an epoch and yields 4; round robin yields 2 of its 4
SHORT = {
    "full": {"anchor": WORDS, "positive": WORDS[::-1]},
    "dup": {"anchor": ["same text"] * 6, "positive": ["other text"] * 6},
}


def _run(name, folder, out, **options):
    from datasets import Dataset, DatasetDict

    module, losses = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    arguments = module.SentenceTransformerTrainingArguments(str(out / name), **{**SETTINGS, **options})
    trainer = module.SentenceTransformerTrainer(
        model=model,
        args=arguments,
        train_dataset=DatasetDict({k: Dataset.from_dict(v) for k, v in SHORT.items()}),
        loss=losses.MultipleNegativesRankingLoss(model),
    )
    output = trainer.train()
    history = [{k: v for k, v in r.items() if not k.endswith(TIMING)} for r in trainer.state.log_history]
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    return trainer.state.global_step, trainer.state.max_steps, output.training_loss, history, weights


@pytest.mark.parametrize(
    "options",
    [
        {"gradient_accumulation_steps": 3, "num_train_epochs": 2, "logging_steps": 1},
        {"gradient_accumulation_steps": 3, "num_train_epochs": 3, "logging_steps": 2},
        {"gradient_accumulation_steps": 3, "max_steps": 5, "logging_steps": 1},
        {"gradient_accumulation_steps": 3, "num_train_epochs": 3, "logging_strategy": "epoch"},
        {"gradient_accumulation_steps": 5, "num_train_epochs": 2, "logging_steps": 1},
    ],
    ids=["ga3-2-epochs", "ga3-log-every-2", "ga3-max-steps", "ga3-log-each-epoch", "ga5-never-a-step"],
)
def test_a_short_sampler_last_batches_wait_for_the_next_step_as_in_hugging_face(
    dropout_free_st, tmp_path, options
):
    options = {"multi_dataset_batch_sampler": "proportional", **options}
    theirs, ours = (_run(name, dropout_free_st, tmp_path, **options) for name in ("st", "sbert"))
    assert theirs[0] < theirs[1]  # fewer steps taken than planned
    assert ours[:2] == theirs[:2]  # the steps taken, and planned
    # the batches that never got a step count in train_loss; none at all: divided by 0.001 steps, as there
    assert ours[2] == pytest.approx(theirs[2], rel=1e-6)
    assert [sorted(r) for r in ours[3]] == [sorted(r) for r in theirs[3]]
    for record, expected in zip(ours[3], theirs[3]):
        assert record == pytest.approx(expected, rel=1e-6, abs=1e-5)
    worst = max(float((ours[4][n] - theirs[4][n]).abs().max()) for n in theirs[4])
    assert worst < 1e-5
