"""Hugging Face ``Trainer`` hooks that ``train()`` calls and subclasses of sentence-transformers' trainers
override: ``training_step`` (adversarial or scaled steps), ``evaluate`` (at each evaluation), ``_save`` (for
each checkpoint), ``log`` (each record, before Hugging Face's ``log`` adds the epoch). Each subclass runs on
sbert and on sentence-transformers, same seed and dropout-free model, evaluating and saving every 2 steps:
the same hook calls, losses, weights and files."""

from __future__ import annotations

import os

import pytest
import torch
from trainer_subclass_probe import WORDS, compare, kind

# evaluation (eval loss) and a checkpoint every 2 steps
RUN = {
    "data": {"anchor": WORDS[:8], "positive": WORDS[4:]},
    "evaluation": {"anchor": WORDS[6:10], "positive": WORDS[2:6]},
    "eval_strategy": "steps", "eval_steps": 2, "save_strategy": "steps", "save_steps": 2,
}  # fmt: skip


def _compare(subclass, folder, tmp_path, **options) -> tuple[dict, dict]:
    return compare(subclass, folder, tmp_path, **{**RUN, **options})


# ------------------------------------------------------------------ training_step


def _scaled_step(trainer_class, calls):
    class Trainer(trainer_class):  # wraps the default step: its loss, scaled for the log
        def training_step(self, model, inputs, num_items_in_batch=None):
            calls.append(("training_step", model is self.model, kind(inputs), kind(num_items_in_batch)))
            loss = super().training_step(model, inputs, num_items_in_batch)
            calls.append(("loss", kind(loss), loss.requires_grad))
            return loss * 2

    return Trainer


def _adversarial_step(trainer_class, calls):
    class Trainer(
        trainer_class
    ):  # FGM: a second backward with the word embeddings pushed along their gradient
        def training_step(self, model, inputs, num_items_in_batch=None):
            model.train()
            inputs = self._prepare_inputs(inputs)
            loss = self.compute_loss(model, dict(inputs), num_items_in_batch=num_items_in_batch)
            loss.backward()
            embeddings = model[0].auto_model.embeddings.word_embeddings.weight
            delta = 1e-2 * embeddings.grad / (embeddings.grad.norm() + 1e-12)
            embeddings.data.add_(delta)
            adversarial = self.compute_loss(model, dict(inputs), num_items_in_batch=num_items_in_batch)
            adversarial.backward()
            embeddings.data.sub_(delta)
            calls.append(("training_step", self.state.global_step, kind(inputs)))
            return loss.detach()

    return Trainer


@pytest.mark.parametrize("subclass", [_scaled_step, _adversarial_step], ids=["scaled", "adversarial"])
def test_an_overridden_training_step_runs_each_batch(subclass, dropout_free_st, tmp_path):
    """Hugging Face's ``train()`` runs each batch through ``self.training_step(model, inputs,
    num_items_in_batch)``; its returned loss is what is logged."""
    _compare(subclass, dropout_free_st, tmp_path)


def test_training_step_with_gradient_accumulation(dropout_free_st, tmp_path):
    """With 2 batches a step, the default step divides each batch's loss by them, as there."""
    options = {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 2}
    _compare(_scaled_step, dropout_free_st, tmp_path, **options)


# ------------------------------------------------------------------ evaluate, _save, log


def _own_evaluate(trainer_class, calls):
    class Trainer(trainer_class):  # sees each evaluation and adds a metric to its results
        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            metrics = super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
            calls.append(
                ("evaluate", self.state.global_step, kind(eval_dataset), ignore_keys, metric_key_prefix)
            )
            calls.append(
                ("metrics", sorted(k for k in metrics if "runtime" not in k and "per_second" not in k))
            )
            return metrics

    return Trainer


def _own_save(trainer_class, calls):
    class Trainer(trainer_class):  # each checkpoint: the model as the default saves it, and a file of its own
        def _save(self, output_dir=None, state_dict=None):
            calls.append(("_save", self.state.global_step, kind(state_dict)))
            super()._save(output_dir, state_dict)
            with open(os.path.join(output_dir, "extra.txt"), "w") as f:
                f.write(str(self.state.global_step))

    return Trainer


def _own_log(trainer_class, calls):
    class Trainer(trainer_class):  # each record as the override gets it (no epoch yet)
        def log(self, logs, start_time=None):
            keys = sorted(
                k for k in logs if "runtime" not in k and "per_second" not in k and k != "total_flos"
            )
            calls.append(("log", self.state.global_step, keys))  # (start_time: the clock's, not compared)
            super().log(logs, start_time)

    return Trainer


def _own_prediction_step(trainer_class, calls):
    class Trainer(trainer_class):  # each eval batch's loss, doubled
        def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
            loss, logits, labels = super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)
            kinds = (kind(inputs), prediction_loss_only, ignore_keys, kind(logits), kind(labels))
            calls.append(("prediction_step", self.state.global_step, model.training, *kinds))
            return loss * 2, logits, labels

    return Trainer


def test_an_overridden_prediction_step_gives_the_eval_loss(dropout_free_st, tmp_path):
    """Hugging Face's evaluation loop takes each eval batch's loss from ``self.prediction_step(model,
    inputs, prediction_loss_only=True, ignore_keys=None)``."""
    _compare(_own_prediction_step, dropout_free_st, tmp_path, per_device_eval_batch_size=2)


@pytest.mark.parametrize("eval_on_start", [False, True])
def test_an_overridden_evaluate_is_called_at_each_evaluation(eval_on_start, dropout_free_st, tmp_path):
    """Hugging Face's ``train()`` evaluates through ``self.evaluate(ignore_keys=None)``, the evaluation
    before the first step (``eval_on_start``) included."""
    _compare(_own_evaluate, dropout_free_st, tmp_path, eval_on_start=eval_on_start)


def test_an_overridden_save_writes_each_checkpoint(dropout_free_st, tmp_path):
    """Hugging Face's checkpoints write the model through ``self._save(output_dir)``: a file the override
    writes is in each checkpoint, and the checkpoint loads as a model."""
    ours, theirs = _compare(_own_save, dropout_free_st, tmp_path)
    for library in ("st", "ours"):
        for step in (2, 4):
            folder = tmp_path / library / f"checkpoint-{step}"
            assert (folder / "extra.txt").read_text() == str(step)
    from sbert import SentenceTransformer

    saved = SentenceTransformer(str(tmp_path / "ours" / "checkpoint-4"), device="cpu")
    for name, value in saved[0].auto_model.named_parameters():
        torch.testing.assert_close(value, ours["weights"][name], atol=0, rtol=0)


def test_an_overridden_log_gets_each_record_before_the_epoch_is_added(dropout_free_st, tmp_path):
    """A subclass's ``log`` gets the loss records, the evaluations' and the run's summary, without
    ``epoch`` (Hugging Face's ``log`` adds it)."""
    _compare(_own_log, dropout_free_st, tmp_path)
