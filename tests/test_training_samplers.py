"""The Trainer's batch samplers, gradient accumulation and checkpointing, schedules and optimizers,
TensorBoard events and callbacks, compared with sentence-transformers' and transformers' where they exist."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import classic_pooling, torch_model, train_args

import sbert
from sbert._errors import InputError
from sbert._training import arguments, checkpoint, optim

WORDS = "cat dog bird fish cow horse sheep goat duck frog lion bear wolf fox deer owl".split()


@pytest.fixture(scope="module")
def tiny_path(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


def _pairs(n, offset=0):
    """``n`` distinct (a, b, score) rows."""
    return [
        (
            f"{WORDS[i % 16]} {WORDS[(i // 16 + offset) % 16]} a",
            f"the {WORDS[(i * 7 + offset) % 16]} {i}",
            i / n,
        )
        for i in range(n)
    ]


def _planted():
    """Anchor/positive rows where texts are the anchor of one row and the positive of another, and anchors
    repeat: a plain batch would hold the same text twice."""
    rows = [(f"q{i} {WORDS[i % 16]}", f"doc {WORDS[(i * 3) % 16]} {i}") for i in range(30)]
    rows += [(rows[0][0], f"doc repeated anchor {i}") for i in range(4)]  # "q0 cat" five times
    rows += [(rows[5][0], rows[7][0]), (rows[2][1], rows[1][0]), (rows[9][0], rows[4][1])]  # across columns
    return rows


def _st_dataset(dataset):
    from datasets import Dataset

    columns = dict(dataset.columns)
    if dataset.labels is not None:
        columns["label"] = dataset.labels.tolist()
    return Dataset.from_dict(columns)


def _trainer(path, data, args, loss=None):
    model = torch_model(path)
    return sbert.Trainer(model, data, loss or sbert.MultipleNegativesRankingLoss(model), args=args)


# ------------------------------------------------------------------ samplers


def test_sampler_arguments_take_sentence_transformers_enums_and_check_values(tmp_path):
    from sentence_transformers.base.sampler import BatchSamplers, MultiDatasetBatchSamplers

    assert BatchSamplers.NO_DUPLICATES.value == arguments.BatchSamplers.NO_DUPLICATES.value
    args = train_args(
        tmp_path,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        multi_dataset_batch_sampler=MultiDatasetBatchSamplers.ROUND_ROBIN,
    )
    assert (args.batch_sampler, args.multi_dataset_batch_sampler) == ("no_duplicates", "round_robin")
    assert (
        train_args(tmp_path, batch_sampler=arguments.BatchSamplers.GROUP_BY_LABEL).batch_sampler
        == "group_by_label"
    )
    for bad in (
        {"batch_sampler": "unique"},
        {"multi_dataset_batch_sampler": "random"},
        {"batch_sampler": "group_by_label", "batch_size": 6 - 1},
        {"lr_scheduler_type": "cosine_with_min_lr"},
        {"optim": "adam8bit"},
        {"report_to": ["wandb"]},
        {"gradient_accumulation_steps": 0},
    ):
        with pytest.raises(InputError):
            train_args(tmp_path, **bad)


def test_no_duplicates_batches_hold_each_text_once_and_equal_sentence_transformers(tiny_path, tmp_path):
    from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

    planted = _planted()
    data = sbert.load_dataset({"anchor": [a for a, _ in planted], "positive": [p for _, p in planted]})
    args = train_args(tmp_path, batch_size=8, seed=7, batch_sampler="no_duplicates")
    trainer = _trainer(tiny_path, data, args)
    generator = torch.Generator().manual_seed(7)  # as sentence-transformers' trainer builds its loader
    reference = NoDuplicatesBatchSampler(
        _st_dataset(data), 8, drop_last=False, valid_label_columns=["label"], generator=generator, seed=7
    )
    for epoch in (0, 1):
        batches = trainer.epoch_batches(epoch)
        rows = [int(i) for _, batch in batches for i in batch]
        assert len(rows) == len(set(rows))  # no row twice in an epoch
        for _, batch in batches:
            texts = [text for column in data.texts(batch) for text in column]
            assert len(texts) == len(set(texts)), texts
        reference.set_epoch(epoch)
        # Hugging Face's loop takes the loader's advertised length of the sampler's batches
        assert [[int(i) for i in b] for _, b in batches] == list(reference)[: len(reference)]
    plain = _trainer(tiny_path, data, train_args(tmp_path, batch_size=8, seed=7)).epoch_batches(0)
    assert any(
        len({t for c in data.texts(b) for t in c}) < 2 * len(b) for _, b in plain
    )  # duplicates planted


def test_no_duplicates_epoch_ends_at_the_loader_length_as_sentence_transformers_trainer(tiny_path, tmp_path):
    """An anchor in 6 of 12 rows needs 6 batches of 4 without duplicates; the epoch, as in
    sentence-transformers' trainer, is ceil(12 / 4) = 3 of them and the run's steps count 3 per epoch."""
    from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

    rows = [("same query", f"doc {i}") for i in range(6)] + [(f"q {i}", f"other {i}") for i in range(6)]
    data = sbert.load_dataset(rows)
    args = train_args(tmp_path, batch_size=4, seed=5, batch_sampler="no_duplicates", epochs=2)
    trainer = _trainer(tiny_path, data, args)
    reference = NoDuplicatesBatchSampler(
        _st_dataset(data), 4, drop_last=False, generator=torch.Generator().manual_seed(5), seed=5
    )
    whole = list(reference)
    assert len(whole) >= 6 and len(reference) == 3
    assert [[int(i) for i in b] for _, b in trainer.epoch_batches(0)] == whole[:3]
    assert trainer.total_steps() == 6


def test_group_by_label_equals_sentence_transformers(tiny_path, tmp_path):
    from sentence_transformers.base.sampler import GroupByLabelBatchSampler

    labels = [0] * 9 + [1] * 6 + [2] * 4 + [3] * 3 + [4]  # uneven, odd counts, a label of one row
    rows = [(f"{WORDS[i % 16]} {i}", f"the {i}", label) for i, label in enumerate(labels)]
    data = sbert.load_dataset(rows)
    model = torch_model(tiny_path)
    args = train_args(tmp_path, batch_size=6, seed=3, batch_sampler="group_by_label")
    trainer = sbert.Trainer(model, data, sbert.SoftmaxLoss(model, num_labels=5), args=args)
    generator = torch.Generator().manual_seed(3)
    reference = GroupByLabelBatchSampler(
        _st_dataset(data), 6, drop_last=False, valid_label_columns=["label"], generator=generator, seed=3
    )
    for epoch in (0, 1):
        reference.set_epoch(epoch)
        ours = [[int(i) for i in b] for _, b in trainer.epoch_batches(epoch)]
        assert ours == list(reference)
        for batch in ours:
            counts = [sum(labels[i] == label for i in batch) for label in {labels[i] for i in batch}]
            assert len(counts) >= 2 and min(counts) >= 2
    with pytest.raises(InputError, match="label"):
        _trainer(tiny_path, sbert.load_dataset(_planted()), args)


@pytest.mark.parametrize("multi", ["proportional", "round_robin"])
@pytest.mark.parametrize("sampler", ["batch_sampler", "no_duplicates"])
def test_two_datasets_are_ordered_as_sentence_transformers(tiny_path, tmp_path, multi, sampler):
    from sentence_transformers.base import sampler as st
    from torch.utils.data import ConcatDataset, RandomSampler

    small = sbert.load_dataset([(a, b) for a, b, _ in _pairs(10)], name="small")
    large = sbert.load_dataset(_planted(), name="large")
    args = train_args(tmp_path, seed=11, batch_sampler=sampler, multi_dataset_batch_sampler=multi)
    trainer = _trainer(tiny_path, {"small": small, "large": large}, args)

    generator = torch.Generator().manual_seed(11)  # sentence-transformers' _build_dataloader, DatasetDict
    children = []
    for data in (small, large):
        options = {"drop_last": False, "valid_label_columns": ["label"], "generator": generator, "seed": 11}
        if sampler == "no_duplicates":
            children.append(st.NoDuplicatesBatchSampler(_st_dataset(data), 4, **options))
        else:
            children.append(
                st.DefaultBatchSampler(RandomSampler(_st_dataset(data), generator=generator), 4, **options)
            )
    both = ConcatDataset([_st_dataset(small), _st_dataset(large)])
    kind = st.RoundRobinBatchSampler if multi == "round_robin" else st.ProportionalBatchSampler
    reference = kind(both, children, generator=generator, seed=11)
    for epoch in (0, 1):
        reference.set_epoch(epoch)
        batches = trainer.epoch_batches(epoch)
        ours = [[int(i) + (0 if d == 0 else len(small)) for i in b] for d, b in batches]
        assert ours == list(reference)
        per_dataset = [[b for d, b in batches if d == i] for i in (0, 1)]
        assert len(per_dataset[0]) == 3  # ceil(10 / 4)
        if multi == "round_robin":  # one batch each in turn, until the small one has none left
            assert [d for d, _ in batches] == [0, 1] * 3
        else:  # every row of both
            assert sorted(int(i) for b in per_dataset[1] for i in b) == list(range(len(large)))
    assert trainer.total_steps() == len(trainer.epoch_batches(0))


# ------------------------------------------------------------------ accumulation, checkpointing


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _one_step(path, out, **overrides):
    model = torch_model(path)
    data = sbert.load_dataset(_pairs(64))
    args = train_args(out, max_steps=1, warmup_ratio=0.0, lr_scheduler_type="constant", seed=2, **overrides)
    sbert.Trainer(model, data, sbert.CosineSimilarityLoss(model), args=args).train()
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return _weights(model), log[0]["loss"]


# AdamW's first step is lr * g / (|g| + eps), which blows float noise in near-zero gradients up to the
# learning rate: a small one keeps that under the tolerance. SGD shows a wrong scale of the loss directly.
@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.5), ("adamw_torch", 1e-4)])
def test_four_accumulated_batches_of_16_step_as_one_batch_of_64(dropout_free_st, tmp_path, optimizer, lr):
    # CosineSimilarityLoss is a mean over rows, so the mean of 4 means of 16 is the mean of 64 (MNRL over 16
    # in-batch negatives would be another loss than over 64).
    before = _weights(torch_model(dropout_free_st))
    options = {"optim": optimizer, "learning_rate": lr}
    one, one_loss = _one_step(dropout_free_st, tmp_path / "one", batch_size=64, **options)
    four, four_loss = _one_step(
        dropout_free_st, tmp_path / "four", batch_size=16, gradient_accumulation_steps=4, **options
    )
    assert (one - before).abs().max() > min(lr / 2, 1e-2)  # the step moved the weights
    assert (one - four).abs().max() <= 1e-5
    assert four_loss == pytest.approx(one_loss, abs=1e-6)
    two, _ = _one_step(
        dropout_free_st, tmp_path / "two", batch_size=16, gradient_accumulation_steps=2, **options
    )
    assert (one - two).abs().max() > 1e-5  # half the batch is another step


def test_accumulation_counts_optimizer_steps_with_a_short_last_one(tiny_path, tmp_path):
    data = sbert.load_dataset(_pairs(10))
    args = train_args(
        tmp_path, batch_size=2, gradient_accumulation_steps=2, epochs=2
    )  # 5 batches: 3 steps/epoch
    model = torch_model(tiny_path)
    trainer = sbert.Trainer(model, data, sbert.CosineSimilarityLoss(model), args=args)
    assert trainer.total_steps() == 6
    result = trainer.train()
    assert result.global_step == 6
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [0.4, 0.8, 1.0, 1.4, 1.8, 2.0]


def test_gradient_checkpointing_gives_the_same_step(dropout_free_st, tmp_path):
    plain, _ = _one_step(dropout_free_st, tmp_path / "plain", batch_size=16)
    model = torch_model(dropout_free_st)
    data = sbert.load_dataset(_pairs(64))
    args = train_args(
        tmp_path / "ckpt", batch_size=16, max_steps=1, warmup_ratio=0.0, lr_scheduler_type="constant", seed=2,
        gradient_checkpointing=True,
    )  # fmt: skip
    sbert.Trainer(model, data, sbert.CosineSimilarityLoss(model), args=args).train()
    assert model[0].auto_model.is_gradient_checkpointing
    assert (_weights(model) - plain).abs().max() <= 1e-5


# ------------------------------------------------------------------ schedules and optimizers


@pytest.mark.parametrize(
    "kind", ["linear", "cosine", "cosine_with_restarts", "constant", "constant_with_warmup"]
)
def test_schedules_equal_transformers_get_scheduler(kind):
    from transformers import get_scheduler

    param = torch.nn.Parameter(torch.zeros(1))
    ours_opt, theirs_opt = torch.optim.SGD([param], lr=0.1), torch.optim.SGD([param], lr=0.1)
    ours = optim.scheduler(ours_opt, kind, 3, 17)
    theirs = get_scheduler(kind, theirs_opt, num_warmup_steps=3, num_training_steps=17)
    for _ in range(20):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), abs=1e-12)
        ours_opt.step(), theirs_opt.step()
        ours.step(), theirs.step()


def test_run_follows_the_cosine_schedule_and_builds_the_named_optimizer(tiny_path, tmp_path):
    from transformers import get_scheduler
    from transformers.optimization import Adafactor

    model = torch_model(tiny_path)
    data = sbert.load_dataset(_pairs(24))
    args = train_args(tmp_path, lr_scheduler_type="cosine", warmup_ratio=0.2, optim="sgd")
    trainer = sbert.Trainer(model, data, sbert.CosineSimilarityLoss(model), args=args)
    assert isinstance(trainer._optimizer(), torch.optim.SGD)
    trainer.train()
    logged = [
        json.loads(line)["learning_rate"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()
    ]
    reference = get_scheduler("cosine", torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3), 2, 6)
    expected = []
    for _ in range(6):
        reference.optimizer.step()
        reference.step()
        expected.append(reference.get_last_lr()[0])
    assert logged == pytest.approx(expected, abs=1e-12)
    for name, kind in (("adafactor", Adafactor), ("adamw_torch", torch.optim.AdamW)):
        trainer.args.optim = name
        assert isinstance(trainer._optimizer(), kind)


# ------------------------------------------------------------------ TensorBoard and callbacks


class _Interrupt(Exception):
    pass


class Recorder:
    def __init__(self, stop_at=None):
        self.steps, self.evaluations, self.saves, self.stop_at = [], [], [], stop_at

    def on_step(self, trainer, step, logs):
        assert set(logs) == {"loss", "learning_rate", "epoch"}
        self.steps.append(step)
        if step == self.stop_at:
            raise _Interrupt  # a run killed after this step

    def on_evaluate(self, trainer, step, metrics):
        self.evaluations.append((step, sorted(metrics)))

    def on_save(self, trainer, step, path):
        assert path.is_dir() and path == trainer.output_dir / checkpoint.checkpoint_name(step)
        self.saves.append(step)


def _events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return events


def _run_with_events(path, out, callbacks, **overrides):
    model = torch_model(path)
    data = sbert.load_dataset(_pairs(24))
    dev = sbert.load_dataset(_pairs(8, offset=3))
    evaluator = sbert.EmbeddingSimilarityEvaluator(*dev.columns.values(), dev.labels, name="dev")
    args = train_args(
        out, eval_steps=2, save_steps=2, save_total_limit=None, report_to="tensorboard", **overrides
    )
    trainer = sbert.Trainer(model, data, sbert.CosineSimilarityLoss(model), args=args, evaluator=evaluator)
    for callback in callbacks:
        trainer.add_callback(callback)
    return trainer.train()


def test_tensorboard_events_and_callbacks_follow_the_steps(tiny_path, tmp_path):
    from transformers import TrainerCallback

    class HuggingFaceStyle(TrainerCallback):
        logged, ends = [], []

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.logged.append((state.global_step, sorted(logs)))

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(state.global_step)

    ours, theirs = Recorder(), HuggingFaceStyle()
    _run_with_events(tiny_path, tmp_path, [ours, theirs])
    assert ours.steps == [1, 2, 3, 4, 5, 6] and ours.saves == [2, 4, 6]
    assert [s for s, _ in ours.evaluations] == [2, 4, 6] and "dev_spearman_cosine" in ours.evaluations[0][1]
    assert theirs.ends == [1, 2, 3, 4, 5, 6]
    assert theirs.logged[:2] == [
        (1, ["epoch", "grad_norm", "learning_rate", "loss"]),
        (2, ["epoch", "grad_norm", "learning_rate", "loss"]),
    ]

    log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    losses = [(r["step"], r["loss"], r["learning_rate"], r["grad_norm"]) for r in log if "loss" in r]
    events = _events(tmp_path / "runs")
    tags = {"train/loss", "train/learning_rate", "train/grad_norm", "train/epoch", "eval/dev_spearman_cosine"}
    assert tags <= set(events.Tags()["scalars"])
    for tag, column in (("train/loss", 1), ("train/learning_rate", 2), ("train/grad_norm", 3)):
        scalars = events.Scalars(tag)  # float32 in the event file
        assert [e.step for e in scalars] == [r[0] for r in losses]
        assert [e.value for e in scalars] == pytest.approx([r[column] for r in losses], rel=1e-6, abs=1e-9)
    assert [e.step for e in events.Scalars("eval/dev_spearman_cosine")] == [2, 4, 6]


def test_resumed_run_continues_events_weights_and_sampler(tiny_path, tmp_path, monkeypatch):
    from tensorboard.summary.writer import event_file_writer

    # Event files are named <second>.<host>.<pid>.<writer number in this process> and read in name order:
    # within one second, writer 10 sorts before writer 9 and TensorBoard would read the resumed run's file
    # first. A fresh count keeps this test's writers in order (a real resume starts seconds later).
    monkeypatch.setattr(event_file_writer, "_global_uid", event_file_writer.AtomicCounter(0))
    plan = {"batch_sampler": "no_duplicates", "gradient_accumulation_steps": 2, "batch_size": 2}
    full = _run_with_events(tiny_path, tmp_path / "full", [], epochs=2, **plan)
    with pytest.raises(_Interrupt):
        _run_with_events(tiny_path, tmp_path / "cut", [Recorder(stop_at=5)], epochs=2, **plan)
    assert checkpoint.list_checkpoints(tmp_path / "cut")[-1].name == "checkpoint-4"
    resumed_callback = Recorder()
    resumed = _run_with_events(tiny_path, tmp_path / "cut", [resumed_callback], epochs=2, resume=True, **plan)
    assert resumed_callback.steps == list(range(5, full.global_step + 1))
    assert resumed.training_loss == pytest.approx(full.training_loss, abs=1e-9)
    full_model = torch_model(tmp_path / "full" / checkpoint.checkpoint_name(full.global_step))
    cut_model = torch_model(tmp_path / "cut" / checkpoint.checkpoint_name(full.global_step))
    assert torch.equal(_weights(full_model), _weights(cut_model))
    steps = [e.step for e in _events(tmp_path / "cut" / "runs").Scalars("train/loss")]
    assert steps == list(range(1, full.global_step + 1))  # step 5 of the killed run dropped, once each
    with pytest.raises(InputError, match="batch_sampler"):
        _run_with_events(
            tiny_path,
            tmp_path / "cut",
            [],
            epochs=2,
            resume=True,
            **{**plan, "batch_sampler": "batch_sampler"},
        )
