"""Patterns of real subclasses of sentence-transformers' trainers: hooks they override (``create_optimizer``,
``create_scheduler``, ...) and Hugging Face ``Trainer`` helpers they call from inside them
(``compute_loss_context_manager``, ``autocast_smart_context_manager``, ``prepare_loss``, ...). Each runs
on sbert and on sentence-transformers, same seed and dropout-free model: the same hook calls, losses and
weights."""

from __future__ import annotations

import pytest
import torch
from trainer_subclass_probe import WORDS, compare

RUN = {"data": {"anchor": WORDS[:8], "positive": WORDS[4:]}, "pass_losses": True}


def _sgd_optimizer(trainer_class, calls, losses):
    class Trainer(trainer_class):  # an optimizer of one's own, made once, as Hugging Face's create_optimizer
        def create_optimizer(self, model=None):
            calls.append(("create_optimizer", model is None, self.optimizer is None))
            if self.optimizer is None:
                self.optimizer = torch.optim.SGD(self.model.parameters(), lr=self.args.learning_rate * 50)
            return self.optimizer

    return Trainer


def _decaying_schedule(trainer_class, calls, losses):
    class Trainer(trainer_class):  # a schedule of one's own on the trainer's optimizer
        def create_scheduler(self, num_training_steps, optimizer=None):
            calls.append(("create_scheduler", num_training_steps, optimizer is None))
            optimizer = self.optimizer if optimizer is None else optimizer
            if self.lr_scheduler is None:
                self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
            return self.lr_scheduler

    return Trainer


@pytest.mark.parametrize("subclass", [_sgd_optimizer, _decaying_schedule], ids=["optimizer", "scheduler"])
def test_an_overridden_create_optimizer_or_scheduler_is_what_train_uses(subclass, dropout_free_st, tmp_path):
    """Hugging Face's ``train()`` makes the run's optimizer and schedule through ``self.create_optimizer()``
    and ``self.create_scheduler(num_training_steps=max_steps)``: a subclass's own are the ones trained
    with."""
    compare(subclass, dropout_free_st, tmp_path, **RUN)


def _loss_in_context_managers(trainer_class, calls, losses):
    class Trainer(trainer_class):  # Hugging Face's context managers around the default loss
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            inputs = self._prepare_inputs(inputs)
            with self.compute_loss_context_manager(), self.autocast_smart_context_manager():
                loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            calls.append(("compute_loss", sorted(k for k in inputs if not k.endswith("modality"))))
            return loss

    return Trainer


def _prepared_extra_loss(trainer_class, calls, losses):
    class Trainer(trainer_class):  # a second loss made by the trainer's prepare_loss, added to the default
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.extra = self.prepare_loss(losses.MultipleNegativesSymmetricRankingLoss, self.model)
            calls.append(("prepare_loss", type(self.extra).__name__, self.extra.model is self.model))

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            inputs.pop("dataset_name", None)
            features, labels = self.collect_features(inputs)
            loss = self.loss(features, labels) + 0.5 * self.extra(features, labels)
            return (loss, {}) if return_outputs else loss

    return Trainer


@pytest.mark.parametrize(
    "subclass", [_loss_in_context_managers, _prepared_extra_loss], ids=["context_managers", "prepare_loss"]
)
def test_hugging_face_helpers_called_from_a_subclass_as_in_sentence_transformers(
    subclass, dropout_free_st, tmp_path
):
    """``_prepare_inputs``, ``compute_loss_context_manager``, ``autocast_smart_context_manager`` (in a
    ``compute_loss``) and sentence-transformers' ``prepare_loss`` (a loss class or instance, on the model's
    device) exist and train as there."""
    compare(subclass, dropout_free_st, tmp_path, **RUN)
