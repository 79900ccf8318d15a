"""``self.accelerator`` and the data-loader hooks, as subclasses of sentence-transformers' trainers use them:
a ``training_step`` copied from Hugging Face's (``self.accelerator.backward``, ``loss_is_scaled_for_ga``,
``model_accepts_loss_kwargs``, ...), the accelerator's process facts and collectives, and overridden
``get_train_dataloader`` / ``get_eval_dataloader`` (sequential batches, a sampler of one's own), whose
batches the run trains and evaluates on. Each subclass runs on sbert and on sentence-transformers, same seed
and dropout-free model: the same hook calls, losses, eval losses and weights."""

from __future__ import annotations

import pytest
from trainer_subclass_probe import WORDS, compare, kind

# 12 rows, the eval loss every 2 steps
RUN = {
    "data": {"anchor": WORDS, "positive": WORDS[6:] + WORDS[:6]},
    "evaluation": {"anchor": WORDS[6:11], "positive": WORDS[1:6]},
    "eval_strategy": "steps", "eval_steps": 2, "per_device_eval_batch_size": 3,
}  # fmt: skip


def _compare(subclass, folder, tmp_path, **options) -> dict:
    return compare(subclass, folder, tmp_path, **{**RUN, **options})[0]


# ------------------------------------------------------------------ self.accelerator in a training_step


def _hugging_face_step(trainer_class, calls):
    class Trainer(trainer_class):  # Hugging Face's own training_step, as subclasses copy it
        def training_step(self, model, inputs, num_items_in_batch=None):
            model.train()
            if hasattr(self.optimizer, "train") and callable(self.optimizer.train):
                self.optimizer.train()
            inputs = self._prepare_inputs(inputs)
            with self.compute_loss_context_manager():
                loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
            del inputs
            if self.args.torch_empty_cache_steps is not None:
                raise AssertionError("not set")
            kwargs = {}
            if self.args.n_gpu > 1:
                loss = loss.mean()
            if self.loss_is_scaled_for_ga is not None:
                loss_is_scaled_for_ga = self.loss_is_scaled_for_ga
            else:
                loss_is_scaled_for_ga = (
                    self.model_accepts_loss_kwargs and num_items_in_batch is not None
                ) or self.compute_loss_func is not None
            if not loss_is_scaled_for_ga:
                loss = loss / self.current_gradient_accumulation_steps
            if self.accelerator.distributed_type == "DEEPSPEED":
                kwargs["scale_wrt_gas"] = False
            self.accelerator.backward(loss, **kwargs)
            calls.append(("step", self.state.global_step, self.current_gradient_accumulation_steps))
            calls.append(("sync", self.accelerator.sync_gradients, str(self.accelerator.distributed_type)))
            return loss.detach()

    return Trainer


@pytest.mark.parametrize("accumulation", [1, 2])
def test_a_training_step_copied_from_hugging_face_trains_as_there(accumulation, dropout_free_st, tmp_path):
    """``self.accelerator.backward(loss)``, ``distributed_type``, ``sync_gradients`` (the last batch of a
    step), ``loss_is_scaled_for_ga``, ``model_accepts_loss_kwargs``, ``compute_loss_func`` and the
    arguments' ``torch_empty_cache_steps`` / ``n_gpu``, as Hugging Face's own ``training_step`` reads them."""
    options = {"gradient_accumulation_steps": accumulation, "per_device_train_batch_size": 4 // accumulation}
    _compare(_hugging_face_step, dropout_free_st, tmp_path, **options)


def _accelerator_facts(trainer_class, calls):
    class Trainer(trainer_class):  # the members custom steps read off the accelerator
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            acc = self.accelerator
            calls.append(("device", str(acc.device), acc.is_main_process, acc.is_local_main_process))
            calls.append(("processes", acc.num_processes, acc.process_index, acc.local_process_index))
            calls.append(("unwrap", acc.unwrap_model(model) is model, acc.mixed_precision))
            loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            value = loss[0] if return_outputs else loss
            gathered = acc.gather(value.detach().reshape(1))
            for_metrics = acc.gather_for_metrics(value.detach().reshape(1))
            reduced = acc.reduce(value.detach(), reduction="mean")
            calls.append(("gather", kind(gathered), kind(for_metrics), kind(reduced)))
            acc.wait_for_everyone()
            return loss

        def training_step(self, model, inputs, num_items_in_batch=None):
            with self.accelerator.accumulate(model), self.accelerator.autocast():
                with self.accelerator.no_sync(model):
                    loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
                self.accelerator.backward(loss / self.args.gradient_accumulation_steps)
            return loss.detach() / self.args.gradient_accumulation_steps

    return Trainer


def test_the_accelerators_process_facts_and_collectives(dropout_free_st, tmp_path):
    """``device``, ``is_main_process``, ``num_processes``, ``process_index``, ``unwrap_model``, ``gather``,
    ``gather_for_metrics``, ``reduce``, ``wait_for_everyone``, ``accumulate``, ``autocast``, ``no_sync`` on a
    single process, as accelerate gives them there."""
    _compare(_accelerator_facts, dropout_free_st, tmp_path)


# ------------------------------------------------------------------ overridden data loaders


def _sequential_loader(trainer_class, calls):
    from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

    class Trainer(trainer_class):  # the rows in order, as real subclasses write it
        def get_train_dataloader(self):
            calls.append(("get_train_dataloader", self.state.global_step))
            sampler = BatchSampler(
                SequentialSampler(self.train_dataset), self.args.per_device_train_batch_size, drop_last=False
            )
            return DataLoader(self.train_dataset, batch_sampler=sampler, collate_fn=self.data_collator)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            calls.append(("compute_loss", kind(inputs), model.training))
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    return Trainer


def _random_loader(trainer_class, calls):
    from torch.utils.data import DataLoader

    class Trainer(trainer_class):  # shuffled by torch's global generator, each epoch anew
        def get_train_dataloader(self):
            calls.append(("get_train_dataloader",))
            size, collate = self.args.train_batch_size, self.data_collator
            return DataLoader(self.train_dataset, batch_size=size, shuffle=True, collate_fn=collate)

        def training_step(self, model, inputs, num_items_in_batch=None):
            calls.append(("training_step", kind(inputs)))
            return super().training_step(model, inputs, num_items_in_batch)

    return Trainer


@pytest.mark.parametrize(
    ("subclass", "options"),
    [
        (_sequential_loader, {}),
        (_sequential_loader, {"gradient_accumulation_steps": 2, "per_device_train_batch_size": 2}),
        (_random_loader, {"per_device_train_batch_size": 5}),
    ],
    ids=["sequential", "sequential-accumulated", "shuffled"],
)
def test_an_overridden_train_dataloader_gives_the_batches_trained_on(
    subclass, options, dropout_free_st, tmp_path
):
    """Hugging Face's ``train()`` trains on ``self.get_train_dataloader()``'s batches (its epochs: their
    length, a new pass each); logging and evaluation go on as usual."""
    _compare(subclass, dropout_free_st, tmp_path, **options)


def _reversed_eval_loader(trainer_class, calls):
    from torch.utils.data import DataLoader

    class Trainer(trainer_class):  # the eval rows backwards, two at a time
        def get_eval_dataloader(self, eval_dataset=None):
            calls.append(("get_eval_dataloader", kind(eval_dataset), self.state.global_step))
            data = self.eval_dataset if eval_dataset is None else eval_dataset
            order = list(range(len(data)))[::-1]
            batches = [order[i : i + 2] for i in range(0, len(order), 2)]
            return DataLoader(data, batch_sampler=batches, collate_fn=self.data_collator)

    return Trainer


def test_an_overridden_eval_dataloader_gives_the_eval_loss(dropout_free_st, tmp_path):
    """Hugging Face's evaluation loop takes the eval loss from ``self.get_eval_dataloader()``'s batches,
    each batch's loss counted once per row it holds."""
    ours = _compare(_reversed_eval_loader, dropout_free_st, tmp_path)
    assert len(ours["eval_losses"]) == 2
