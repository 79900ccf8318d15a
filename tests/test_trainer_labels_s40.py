"""What reaches the loss, and how long the run is, in sentence-transformers 6.3's trainer against sbert's
(session 40's trainer fuzzer, /tmp/s40/labels): a loss that records the features and labels it gets runs
under both trainers on the same data, arguments and seed.

- Labels: sentence-transformers' collator builds them with ``torch.tensor(column values)``: a bool column
  stays ``torch.bool``, a column of equal-length lists is one 2-D tensor (sbert gave int64, and a list of
  1-D tensors, the cross-encoder's shape).
- A no-duplicates batch sampler that yields fewer batches than its ``len()``: Hugging Face's loop sizes the
  run, the schedule and the logged epoch from ``len``; a pass that yields no batch at all runs (and stops),
  where sbert refused it.
- ``router_mapping`` for a model without a Router: the collator still puts ``task`` into the features.
"""

from __future__ import annotations

import pytest
from trainer_subclass_probe import RecordingLoss, library

TEXTS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
TEXTS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]
TIMING = ("_runtime", "_per_second")
SETTINGS = {"report_to": "none", "save_strategy": "no", "disable_tqdm": True, "seed": 7, "logging_steps": 1}


def _run(name, folder, out, data, **options):
    """The records of a run: each batch's features and labels as the loss gets them, the global step and
    the log history (timings left out)."""
    from datasets import Dataset, DatasetDict

    module, _ = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    loss = RecordingLoss(model)
    train = (
        DatasetDict({k: Dataset.from_dict(v) for k, v in data.items()})
        if all(isinstance(v, dict) for v in data.values())
        else Dataset.from_dict(data)
    )
    arguments = module.SentenceTransformerTrainingArguments(str(out / name), **{**SETTINGS, **options})
    trainer = module.SentenceTransformerTrainer(model=model, args=arguments, train_dataset=train, loss=loss)
    trainer.train()
    history = [{k: v for k, v in r.items() if not k.endswith(TIMING)} for r in trainer.state.log_history]
    return loss.seen, trainer.state.global_step, trainer.state.max_steps, history


def _both(folder, tmp_path, data, **options):
    return [_run(name, folder, tmp_path, data, **options) for name in ("st", "sbert")]


def _same_records(ours, theirs):
    """The same records, key for key; losses and gradient norms within float32 rounding (with two threads,
    torch's reductions round differently from run to run), the rest (steps, epochs, rates) exactly."""
    assert [list(r) for r in ours] == [list(r) for r in theirs]
    for mine, their in zip(ours, theirs):
        for key, value in their.items():
            noisy = key in ("loss", "grad_norm", "train_loss")
            assert mine[key] == (pytest.approx(value, rel=1e-6) if noisy else value), key


LABELS = {
    "bool": [True, False, True, True, False, False],
    "float-lists": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.0], [0.0, 0.0], [1.0, 0.5]],
    "int-lists": [[1, 0], [0, 1], [1, 1], [2, 0], [0, 0], [1, 2]],
    "ints": [0, 1, 2, 1, 0, 2],
    "floats": [0.5, 0.25, 1.0, 0.0, 0.75, 0.5],
}


@pytest.mark.parametrize("labels", list(LABELS))
@pytest.mark.parametrize("column", ["label", "scores"])
def test_the_loss_gets_the_labels_sentence_transformers_collator_builds(
    dropout_free_st, tmp_path, labels, column
):
    data = {"sentence1": TEXTS[:6], "sentence2": TEXTS[6:], column: LABELS[labels]}
    theirs, ours = _both(dropout_free_st, tmp_path, data, per_device_train_batch_size=3, max_steps=2)
    assert theirs[0] and ours[0] == theirs[0]


def test_router_mapping_without_a_router_still_gives_the_features_their_task(dropout_free_st, tmp_path):
    data = {"anchor": TEXTS[:6], "positive": TEXTS[6:]}
    options = {"per_device_train_batch_size": 3, "max_steps": 2, "router_mapping": {"anchor": "query"}}
    theirs, ours = _both(dropout_free_st, tmp_path, data, **options)
    assert theirs[0][0][0][0]["task"] == ("str", "query")
    assert ours[0] == theirs[0]


# "dup" yields no batch under no_duplicates with dataloader_drop_last (3 rows of one text), though its len
# says 2: the proportional sampler promises 4 + 2 batches an epoch and yields 4
SHORT = {
    "full": {"anchor": TEXTS, "positive": TEXTS[::-1]},
    "dup": {"anchor": ["same text"] * 6, "positive": ["other text"] * 6},
}
SHORT_ARGS = {
    "per_device_train_batch_size": 3, "batch_sampler": "no_duplicates", "dataloader_drop_last": True,
    "multi_dataset_batch_sampler": "proportional", "learning_rate": 1e-3,
}  # fmt: skip


@pytest.mark.parametrize(
    "length",
    [{"max_steps": 6}, {"num_train_epochs": 3}, {"num_train_epochs": 2, "gradient_accumulation_steps": 2}],
    ids=["max_steps", "epochs", "accumulation"],
)
def test_a_sampler_short_of_its_len_sizes_the_run_as_hugging_face(dropout_free_st, tmp_path, length):
    theirs, ours = _both(dropout_free_st, tmp_path, SHORT, **SHORT_ARGS, **length)
    assert theirs[1] < theirs[2] or length.get("max_steps")  # fewer steps run than the schedule planned
    assert ours[1:3] == theirs[1:3]  # the steps run and planned
    _same_records(ours[3], theirs[3])  # the learning rates and epochs logged
    assert ours[0] == theirs[0]


def test_a_pass_without_a_batch_runs_as_hugging_face(dropout_free_st, tmp_path):
    data = {"anchor": ["same text"] * 6, "positive": ["other text"] * 6}
    options = {k: v for k, v in SHORT_ARGS.items() if k != "multi_dataset_batch_sampler"}
    theirs, ours = _both(dropout_free_st, tmp_path, data, **options, num_train_epochs=2)
    assert theirs[1] == 0 and theirs[2] == 4  # 2 batches promised an epoch, none yielded: no step
    assert ours[1:3] == theirs[1:3]
    _same_records(ours[3], theirs[3])


@pytest.mark.parametrize("loss", ["BatchHardTripletLoss", "OnlineContrastiveLoss", "CoSENTLoss"])
def test_losses_train_on_bool_labels_as_in_sentence_transformers(dropout_free_st, tmp_path, loss):
    from datasets import Dataset

    labels = [True, False, True, True, False, False, True, False]
    data = {"sentence1": TEXTS[:8], "sentence2": TEXTS[4:], "label": labels}
    if loss.startswith("Batch"):  # one text per class label
        data.pop("sentence2")
    losses = []
    for name in ("st", "sbert"):
        module, loss_classes = library(name)
        model = module.SentenceTransformer(str(dropout_free_st), device="cpu")
        arguments = module.SentenceTransformerTrainingArguments(
            str(tmp_path / name), **SETTINGS, per_device_train_batch_size=4, max_steps=2
        )
        trainer = module.SentenceTransformerTrainer(
            model=model,
            args=arguments,
            train_dataset=Dataset.from_dict(data),
            loss=getattr(loss_classes, loss)(model),
        )
        losses.append(trainer.train().training_loss)
    assert losses[1] == pytest.approx(losses[0], abs=1e-6)
