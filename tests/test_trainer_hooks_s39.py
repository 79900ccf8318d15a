"""Hugging Face ``Trainer`` hooks that ``train()`` calls and subclasses of sentence-transformers' trainers
override: ``training_step`` (adversarial or scaled steps), ``evaluate`` (at each evaluation), ``_save`` (for
each checkpoint), ``log`` (each record, before Hugging Face's ``log`` adds the epoch). Each subclass runs on
sbert and on sentence-transformers, same seed and dropout-free model, evaluating and saving every 2 steps:
the same hook calls, losses, weights and files."""

from __future__ import annotations

import os

import pytest
import torch

pytest.importorskip("sentence_transformers")

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _library(name: str):
    if name == "st":
        import sentence_transformers as module
        from sentence_transformers.sentence_transformer import losses
    else:
        import sbert as module
        from sbert.sentence_transformer import losses
    return module, losses


def _kind(value) -> str:
    """What a hook got, by kind: a tensor, a dict's sorted keys, None, a type name."""
    if isinstance(value, torch.Tensor):
        return f"tensor{tuple(value.shape)}"
    if isinstance(value, dict):
        return "dict:" + ",".join(sorted(k for k in value if not k.endswith("modality")))
    return "None" if value is None else type(value).__name__


def _timing(key: str) -> bool:
    return "runtime" in key or "per_second" in key


def _train(name: str, folder, out, subclass, **options) -> dict:
    """``subclass(trainer_class, calls)``'s trainer, 4 steps of MultipleNegativesRankingLoss, a loss record
    each step, evaluation (eval loss) and a checkpoint every 2 steps."""
    from datasets import Dataset

    module, losses = _library(name)
    calls: list = []
    trainer_class = subclass(module.SentenceTransformerTrainer, calls)
    model = module.SentenceTransformer(str(folder), device="cpu")
    settings = {
        "max_steps": 4, "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1,
        "eval_strategy": "steps", "eval_steps": 2, "save_strategy": "steps", "save_steps": 2,
        "disable_tqdm": True, "seed": 7, "report_to": "none",
    }  # fmt: skip
    args = module.SentenceTransformerTrainingArguments(str(out), **{**settings, **options})
    data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:]})
    evaluation = Dataset.from_dict({"anchor": WORDS[6:10], "positive": WORDS[2:6]})
    loss = losses.MultipleNegativesRankingLoss(model)
    trainer = trainer_class(model=model, args=args, train_dataset=data, eval_dataset=evaluation, loss=loss)
    trainer.train()
    history = trainer.state.log_history
    return {
        "calls": calls,
        "losses": [r["loss"] for r in history if "loss" in r],
        "eval_losses": [r["eval_loss"] for r in history if "eval_loss" in r],
        "weights": {n: p.detach().clone() for n, p in model[0].auto_model.named_parameters()},
        "checkpoints": sorted(p for p in os.listdir(out) if p.startswith("checkpoint-")),
    }


def _assert_same_training(ours: dict, theirs: dict) -> None:
    assert len(ours["losses"]) == len(theirs["losses"]) == 4
    assert ours["losses"] == pytest.approx(theirs["losses"], abs=1e-5)
    assert ours["eval_losses"] == pytest.approx(theirs["eval_losses"], abs=1e-5)
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=1e-5, rtol=0, msg=name)
    assert ours["checkpoints"] == theirs["checkpoints"]


def _compare(subclass, folder, tmp_path, **options) -> tuple[dict, dict]:
    theirs = _train("st", folder, tmp_path / "st", subclass, **options)
    ours = _train("sbert", folder, tmp_path / "ours", subclass, **options)
    assert theirs["calls"]
    assert ours["calls"] == theirs["calls"]
    _assert_same_training(ours, theirs)
    return ours, theirs


# ------------------------------------------------------------------ training_step


def _scaled_step(trainer_class, calls):
    class Trainer(trainer_class):  # wraps the default step: its loss, scaled for the log
        def training_step(self, model, inputs, num_items_in_batch=None):
            calls.append(("training_step", model is self.model, _kind(inputs), _kind(num_items_in_batch)))
            loss = super().training_step(model, inputs, num_items_in_batch)
            calls.append(("loss", _kind(loss), loss.requires_grad))
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
            calls.append(("training_step", self.state.global_step, _kind(inputs)))
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
                ("evaluate", self.state.global_step, _kind(eval_dataset), ignore_keys, metric_key_prefix)
            )
            calls.append(
                ("metrics", sorted(k for k in metrics if "runtime" not in k and "per_second" not in k))
            )
            return metrics

    return Trainer


def _own_save(trainer_class, calls):
    class Trainer(trainer_class):  # each checkpoint: the model as the default saves it, and a file of its own
        def _save(self, output_dir=None, state_dict=None):
            calls.append(("_save", self.state.global_step, _kind(state_dict)))
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
            calls.append(("log", self.state.global_step, keys, start_time is None))
            super().log(logs, start_time)

    return Trainer


def _own_prediction_step(trainer_class, calls):
    class Trainer(trainer_class):  # each eval batch's loss, doubled
        def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
            loss, logits, labels = super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)
            kinds = (_kind(inputs), prediction_loss_only, ignore_keys, _kind(logits), _kind(labels))
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
