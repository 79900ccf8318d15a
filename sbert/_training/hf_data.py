"""Hugging Face ``Trainer`` methods around batches that scripts call on sentence-transformers' trainers:
``get_train_dataloader`` / ``get_eval_dataloader`` / ``get_test_dataloader`` (torch DataLoaders of the
batches sentence-transformers' data collator makes), ``predict``, ``prediction_step``, ``training_step`` and
the FLOs bookkeeping.

sbert's training loop builds its own batches; these loaders only read the same plan: the training loader
gives, epoch by epoch (``set_epoch``), the rows the loop trains on, in its order, collated as
sentence-transformers' trainer collates them. Where a subclass overrides ``get_train_dataloader`` or
``get_eval_dataloader``, the run trains (evaluates the loss) on the batches its loader gives instead
(:class:`LoaderEpochs`, :meth:`HuggingFaceData.loader_loss`), as Hugging Face's trainer does.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .._errors import InputError
from .batch_plan import EpochPlans
from .collate import Collate
from .data import TextDataset


class PredictionOutput(NamedTuple):
    """Hugging Face's ``PredictionOutput``: the losses give no predictions or labels, only metrics."""

    predictions: Any
    label_ids: Any
    metrics: dict[str, float]


class PlannedRows(Dataset):
    """Several datasets' rows, concatenated (as a ``ConcatDataset``), read as the collator gets them."""

    def __init__(
        self, datasets: Sequence[TextDataset], names: Sequence[str | None], collate: Collate
    ) -> None:
        self.datasets, self.names, self.collate = list(datasets), list(names), collate
        self.ends = np.cumsum([len(d) for d in self.datasets])

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        rows = np.asarray(indices, dtype=np.int64)
        owner = int(np.searchsorted(self.ends, rows[0], side="right"))  # a batch is one dataset's rows
        start = int(self.ends[owner - 1]) if owner else 0
        return self.collate.rows(self.datasets[owner], rows - start, self.names[owner])


class PlannedBatchSampler(Sampler):
    """The batches of a plan (``plan(epoch)``: ``(dataset, rows)`` pairs) as indices into
    :class:`PlannedRows`;
    ``set_epoch`` picks the epoch, as a data loader's sampler."""

    def __init__(self, plan: Any, ends: np.ndarray) -> None:
        self.plan, self.epoch = plan, 0
        self.starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Any:
        for owner, rows in self.plan(self.epoch):
            yield (self.starts[owner] + rows).tolist()

    def __len__(self) -> int:
        return len(self.plan(self.epoch))


class LoaderPass:
    """One epoch of a data loader as the training loop reads it: ``(0, batch)`` pairs, indexed (or sliced)
    in increasing order, each batch read from a pass over the loader begun at the first read (the loader's
    ``set_epoch`` called first, as Hugging Face's trainer); a later start skips the batches before it."""

    def __init__(self, loader: Any, epoch: int) -> None:
        self.loader, self.epoch, self.length = loader, epoch, len(loader)
        self.batches: Any = None  # the pass, once begun
        self.read: dict[int, Any] = {}  # the batches read and not yet passed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            wanted = range(*index.indices(self.length))
            out = [self._batch(i) for i in wanted]
            self.read = {i: b for i, b in self.read.items() if i >= wanted.stop}
            return out
        return self._batch(index)

    def _batch(self, index: int) -> tuple[int, Any]:
        if self.batches is None:
            for owner in (self.loader, getattr(self.loader, "batch_sampler", None)):
                if hasattr(owner, "set_epoch"):
                    owner.set_epoch(self.epoch)
            self.batches, self.count = iter(self.loader), 0
        while self.count <= index:
            self.read[self.count] = next(self.batches)
            self.count += 1
        return 0, self.read[index]


class LoaderEpochs:
    """A subclass's training data loader as the run's epochs (``loader_epochs`` of sbert's trainer): epoch
    ``e`` is a new :class:`LoaderPass` over it, the latest kept."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.current: LoaderPass | None = None

    def __getitem__(self, epoch: int) -> LoaderPass:
        if self.current is None or self.current.epoch != epoch:
            self.current = LoaderPass(self.loader, epoch)
        return self.current


class HuggingFaceData:
    """The methods, mixed into sentence-transformers' trainers (which give ``hf_collate``, ``epoch_batches``,
    ``datasets``, ``names``, ``eval_data``, ``dataset_loss``, ``losses_for``, ``evaluation_begins``,
    ``preparation_time`` and ``event_callbacks``)."""

    current_flos: float = 0

    def follow_changes(self) -> None:
        """Set up again from what a user changed since (the trainer's own)."""

    def get_train_dataloader(self) -> DataLoader:
        """The training batches, collated, in the order the training loop runs them (epoch 0 first)."""
        self.follow_changes()
        if not self.trains:
            raise InputError(f"Training requires specifying a train_dataset to the {type(self).__name__}.")
        self.check_training_data()
        return self._loader(self.datasets, self.names, self.epoch_batches)

    def start_loader_run(self) -> None:
        """Before a run: where a subclass overrides ``get_train_dataloader``, its loader (asked once, as
        Hugging Face's ``train()`` asks) gives the run's batches, each run through ``training_step``, and
        its length the steps of an epoch; else the trainer's planned batches."""
        self.loader_epochs = None
        if not self.overrides_hook("get_train_dataloader"):
            return
        loader = self.loaders["train"] = self.get_train_dataloader()
        self.loader_epochs = LoaderEpochs(loader)
        self.batch_step = self._training_step_batch
        steps = -(-len(loader) // self.st_args.gradient_accumulation_steps)
        resume = self.run_args.resume
        self.run_args = dataclasses.replace(self._sbert_args(self.st_args, steps), resume=resume)

    def loader_loss(self, source: Any) -> tuple[list[float], dict[str, float], int | None]:
        """The eval loss over the batches of a subclass's ``get_eval_dataloader`` given ``source`` (a dataset,
        or a name in the trainer's dict of them, as Hugging Face's ``evaluate`` passes it): each batch's loss
        (``prediction_step``'s where overridden, else ``compute_loss``'s), the named parts' sums, and the rows
        of the loader where it is this trainer's own (Hugging Face's, prepared by accelerate, counts its last
        batch for those rows only), else None."""
        loader = self.get_eval_dataloader(source)
        if self.current_run is not None:
            self.loaders["eval"] = loader
        totals, parts = [], {}
        for batch in self._predicted(loader):
            batch = self._prepare_inputs(dict(batch))
            if self.overrides_hook("prediction_step"):
                loss, seen = self.prediction_step(self.model, batch, True, ignore_keys=None)[0].mean(), None
            else:
                loss, seen = self.call_compute_loss(batch, evaluating=True)
            for key, part in (seen or {}).items():
                parts[key] = parts.get(key, 0.0) + float(part)
            totals.append(float(loss))
        rows = getattr(loader, "dataset", None)
        own = isinstance(rows, PlannedRows) and all(getattr(d, "passes", None) is None for d in rows.datasets)
        return totals, parts, len(rows) if own else None

    def get_eval_dataloader(self, eval_dataset: Any = None) -> DataLoader:
        """The evaluation batches (``per_device_eval_batch_size`` rows) of ``eval_dataset``: the trainer's
        (a name picks one of a dict of them), or one given."""
        self.follow_changes()
        if eval_dataset is None and self.eval_data is None:
            if self.user_evaluator is not None:
                return DataLoader([])
            raise InputError(f"Evaluation requires specifying an eval_dataset to the {type(self).__name__}.")
        if isinstance(eval_dataset, str):
            data = {eval_dataset: self.eval_data[eval_dataset]}
        elif eval_dataset is None:
            data = self.eval_data
        else:
            data = self._text_data(eval_dataset, "eval_dataset")
        return self._eval_loader(data)

    def get_test_dataloader(self, test_dataset: Any) -> DataLoader:
        return self._eval_loader(self._text_data(test_dataset, "test_dataset"))

    def predict(
        self, test_dataset: Any, ignore_keys: list[str] | None = None, metric_key_prefix: str = "test"
    ) -> PredictionOutput:
        """The loss of ``test_dataset`` (and the evaluator's results) as ``{prefix}_loss``, ... metrics, with
        no
        predictions or labels, as sentence-transformers' trainer gives them."""
        started = time.perf_counter()
        data = self._text_data(test_dataset, "test_dataset")
        self.evaluation_begins(data)
        metrics = self.dataset_loss(data, self.losses_for(data), metric_key_prefix)
        metrics.update(self.preparation_time())
        if self.user_evaluator is not None:
            metrics.update(self.user_evaluator(self.model))
        metrics.update(self.speed_metrics(data, time.perf_counter() - started))
        prefix = f"{metric_key_prefix}_"
        metrics = {k if k.startswith(prefix) else prefix + k: v for k, v in metrics.items()}
        self.event_callbacks().predict(metrics)  # on_predict; nothing is logged, as there
        return PredictionOutput(None, None, metrics)

    def prediction_step(
        self,
        model: Any,
        inputs: dict[str, Any],
        prediction_loss_only: bool,
        ignore_keys: list[str] | None = None,
    ) -> tuple[Any, Any, Any]:
        """The loss of a collated batch without gradients: ``(loss, None, None)`` with
        ``prediction_loss_only``, else ``(loss, (), ())`` (the losses give no logits or labels)."""
        with torch.no_grad():
            loss, _ = self.call_compute_loss(dict(inputs), evaluating=True)
        loss = loss.detach()
        return (loss, None, None) if prediction_loss_only else (loss, (), ())

    def floating_point_ops(self, inputs: dict[str, Any]) -> int:
        """Hugging Face's FLOs estimate of a batch: 0 for a model without ``num_parameters``."""
        main = getattr(self.model, "main_input_name", "input_ids")
        if main in inputs and hasattr(self.model, "num_parameters"):
            return 6 * inputs[main].numel() * self.model.num_parameters(exclude_embeddings=True)
        return 0

    def store_flos(self) -> None:
        """FLOs counted since the last call into the state's ``total_flos`` (sbert counts none)."""
        self.current_flos = 0

    def speed_metrics(self, data: Any, seconds: float) -> dict[str, float]:
        """Hugging Face's timing keys of a pass over ``data``: ``runtime``, ``samples_per_second`` and
        ``steps_per_second`` (its ``per_device_eval_batch_size`` batches)."""
        sets = list(data.values()) if isinstance(data, Mapping) else [data] if data is not None else []
        rows = sum(len(dataset) for dataset in sets)
        steps = sum(-(-len(d) // self.st_args.per_device_eval_batch_size) for d in sets)
        seconds = max(seconds, 1e-9)
        metrics = {"runtime": round(seconds, 4), "samples_per_second": round(rows / seconds, 3)}
        metrics["steps_per_second"] = round(steps / seconds, 3)
        return metrics

    def _eval_loader(self, data: Any) -> DataLoader:
        """The evaluation batches of ``data`` (a dataset or a dict of them), as the evaluation loss reads
        them: the training sampler's first pass, ``per_device_eval_batch_size`` rows at a time."""
        named = list(data.items()) if isinstance(data, Mapping) else [(None, data)]
        args = self.run_args
        plans = EpochPlans(
            [d for _, d in named],
            self.st_args.per_device_eval_batch_size,
            args.seed,
            args.batch_sampler,
            args.multi_dataset_batch_sampler,
            whole_pass=True,
            drop_last=args.drop_last,
            data_seed=args.data_seed,
        )
        if plans.refusal:  # a dict of eval datasets with a stream: there evaluate() reads each alone
            raise InputError(plans.refusal)
        return self._loader([d for _, d in named], [n for n, _ in named], lambda epoch: plans[epoch])

    def _loader(self, datasets: Sequence[TextDataset], names: Sequence[str | None], plan: Any) -> DataLoader:
        collate = self.hf_collate()
        rows = PlannedRows(datasets, names, collate)
        sampler = PlannedBatchSampler(plan, rows.ends)
        return DataLoader(rows, batch_sampler=sampler, collate_fn=collate.collated)
