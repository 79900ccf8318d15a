"""Hugging Face Trainer methods that scripts for sentence-transformers' trainers override or call: a
subclass's ``compute_loss`` (with ``super().compute_loss`` and ``collect_features``), ``log``,
``log_metrics``, ``save_metrics``, ``save_state``, ``pop_callback``,
the process checks; each against sentence-transformers."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import record_compute_loss_inputs

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _libraries(name: str):
    if name == "st":
        from sentence_transformers import (
            SentenceTransformer,
            SentenceTransformerTrainer,
            SentenceTransformerTrainingArguments,
        )
        from sentence_transformers.sentence_transformer import losses
    else:
        from sbert.sentence_transformer import (
            SentenceTransformer,
            SentenceTransformerTrainer,
            SentenceTransformerTrainingArguments,
            losses,
        )
    return SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments, losses


def _weighted_run(name: str, folder, out) -> dict:
    """A subclass overriding compute_loss (half the default loss, its parts logged), trained 3 steps on a
    DatasetDict with a loss per dataset, then evaluated."""
    from datasets import Dataset, DatasetDict
    from transformers import TrainerCallback

    model_class, trainer_class, arguments, losses = _libraries(name)
    seen: dict = {"loss": [], "columns": [], "labels": [], "logged": [], "eval": []}

    class Weighted(trainer_class):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            record_compute_loss_inputs(seen, self, inputs)
            out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            loss = out[0] if return_outputs else out
            value = loss.detach().item()
            seen["eval" if return_outputs else "loss"].append(value)
            self.log({"default_loss": value})
            return (loss * 0.5, {}) if return_outputs else loss * 0.5

    class Record(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if "default_loss" in logs:
                seen["logged"].append((state.global_step, logs["default_loss"]))

    model = model_class(str(folder), device="cpu")
    pairs = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:]})
    scores = [i / 5 for i in range(6)]
    sts = Dataset.from_dict({"sentence1": WORDS[:6], "sentence2": WORDS[6:], "score": scores})
    data = DatasetDict({"pairs": pairs, "sts": sts})
    loss = {"pairs": losses.MultipleNegativesRankingLoss(model), "sts": losses.CoSENTLoss(model)}
    args = arguments(
        str(out), max_steps=3, per_device_train_batch_size=4, per_device_eval_batch_size=4,
        learning_rate=1e-3, logging_steps=1, save_strategy="no", disable_tqdm=True, seed=7, report_to="none",
    )  # fmt: skip
    trainer = Weighted(model=model, args=args, train_dataset=data, eval_dataset=data, loss=loss)
    trainer.add_callback(Record())
    trainer.train()
    seen["history"] = [(r["step"], r["loss"]) for r in trainer.state.log_history if "loss" in r]
    history = trainer.state.log_history
    seen["user_history"] = [(r["step"], r["default_loss"]) for r in history if "default_loss" in r]
    seen["evaluated"] = trainer.evaluate()
    seen["weights"] = {n: p.detach().clone() for n, p in model[0].auto_model.named_parameters()}
    return seen


def test_compute_loss_override_trains_and_evaluates_as_in_sentence_transformers(dropout_free_st, tmp_path):
    theirs = _weighted_run("st", dropout_free_st, tmp_path / "st")
    ours = _weighted_run("sbert", dropout_free_st, tmp_path / "ours")
    # each batch reached the override in sentence-transformers' format, with its dataset's name and labels
    assert ours["columns"] == theirs["columns"]
    assert len(ours["loss"]) == 3
    assert ours["labels"] == theirs["labels"]
    assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-5)
    # the returned (halved) loss is what is back-propagated and logged
    assert [s for s, _ in ours["history"]] == [1, 2, 3]
    assert [v for _, v in ours["history"]] == pytest.approx([v for _, v in theirs["history"]], abs=1e-5)
    assert [v for _, v in ours["history"]] == pytest.approx([v / 2 for v in ours["loss"]], abs=1e-6)
    # self.log() inside compute_loss: the callbacks' on_log and the history, at the steps Hugging Face's gives
    assert [s for s, _ in ours["logged"][:3]] == [s for s, _ in theirs["logged"][:3]] == [0, 1, 2]
    assert [s for s, _ in ours["user_history"][:3]] == [0, 1, 2]
    # evaluation calls it with return_outputs=True: the same eval loss (halved), from the same batches
    assert ours["eval"] == pytest.approx(theirs["eval"], abs=1e-5)
    for key in ("eval_pairs_loss", "eval_sts_loss"):
        assert ours["evaluated"][key] == pytest.approx(theirs["evaluated"][key], abs=1e-5)
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=1e-5, rtol=0, msg=name)


def _small_methods_run(name: str, folder, out, capsys) -> dict:
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback

    model_class, trainer_class, arguments, losses = _libraries(name)
    seen: dict = {"on_log": []}

    class Record(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            seen["on_log"].append(dict(logs))

    model = model_class(str(folder), device="cpu")
    data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:]})
    args = arguments(
        str(out), max_steps=2, per_device_train_batch_size=4, logging_steps=1, save_strategy="no",
        disable_tqdm=True, report_to="none",
    )  # fmt: skip
    record = Record()
    trainer = trainer_class(
        model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model)
    )
    trainer.add_callback(record)
    seen["processes"] = (trainer.is_world_process_zero(), trainer.is_local_process_zero())
    logs = {"x": 2.5}
    trainer.log(logs)
    seen["logs"], seen["history"] = logs, list(trainer.state.log_history)
    seen["popped"] = trainer.pop_callback(Record) is record
    seen["popped_again"] = trainer.pop_callback(Record)
    trainer.add_callback(record)
    trainer.remove_callback(record)
    seen["removed"] = trainer.pop_callback(record)
    trainer.remove_callback(PrinterCallback)  # absent (or one of Hugging Face's own): no error
    metrics = {"train_runtime": 3723.456, "train_loss": 0.123456789, "epoch": 2.0, "train_samples": 8}
    capsys.readouterr()
    trainer.log_metrics("train", metrics)
    seen["printed"] = capsys.readouterr().out
    trainer.save_metrics("train", metrics)
    trainer.save_metrics("eval", {"eval_loss": 0.5, "epoch": 2.0})
    trainer.save_metrics("test", {"test_loss": 0.25}, combined=False)
    seen["files"] = {
        f: json.loads((out / f).read_text())
        for f in ("train_results.json", "eval_results.json", "all_results.json")
    }
    seen["test_file"] = (out / "test_results.json").read_text()
    trainer.train()
    trainer.save_state()
    seen["state"] = json.loads((out / "trainer_state.json").read_text())
    return seen


def test_small_hugging_face_methods_as_in_sentence_transformers(dropout_free_st, tmp_path, capsys):
    theirs = _small_methods_run("st", dropout_free_st, tmp_path / "st", capsys)
    ours = _small_methods_run("sbert", dropout_free_st, tmp_path / "ours", capsys)
    assert ours["processes"] == theirs["processes"] == (True, True)
    # log(): epoch added to the dict itself, a record with the step in the history, the callbacks' on_log
    assert ours["logs"] == theirs["logs"] == {"x": 2.5, "epoch": 0}
    assert ours["history"] == theirs["history"] == [{"x": 2.5, "epoch": 0, "step": 0}]
    assert ours["on_log"][0] == theirs["on_log"][0] == {"x": 2.5, "epoch": 0}
    assert len(ours["on_log"]) == len(theirs["on_log"]) == 1  # removed before training
    assert (ours["popped"], ours["popped_again"], ours["removed"]) == (True, None, None)
    assert (theirs["popped"], theirs["popped_again"], theirs["removed"]) == (True, None, None)
    assert ours["printed"] == theirs["printed"]
    assert ours["files"] == theirs["files"]
    assert ours["test_file"] == theirs["test_file"]
    # trainer_state.json: the run's numbers as Hugging Face's (sbert logs no FLOs, hence no total_flos)
    keys = ("global_step", "epoch", "max_steps", "logging_steps", "save_steps", "train_batch_size")
    keys += ("num_train_epochs", "best_metric", "best_global_step", "is_world_process_zero")
    assert {k: ours["state"][k] for k in keys} == {k: theirs["state"][k] for k in keys}
    assert [r["step"] for r in ours["state"]["log_history"]] == [
        r["step"] for r in theirs["state"]["log_history"]
    ]
    for mine, reference in zip(ours["state"]["log_history"], theirs["state"]["log_history"]):
        if "loss" in reference:
            assert mine["loss"] == pytest.approx(reference["loss"], abs=1e-5)


def _cross_run(name: str, folder, out) -> dict:
    from datasets import Dataset

    if name == "st":
        from sentence_transformers.cross_encoder import (
            CrossEncoder,
            CrossEncoderTrainer,
            CrossEncoderTrainingArguments,
        )
    else:
        from sbert.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    seen: dict = {"loss": [], "batches": [], "eval": []}

    class Weighted(CrossEncoderTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            seen["batches"].append(sorted(inputs))
            out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            loss = out[0] if return_outputs else out
            seen["eval" if return_outputs else "loss"].append(loss.detach().item())
            return (loss * 2, {}) if return_outputs else loss * 2

    model = CrossEncoder(str(folder), device="cpu")
    data = Dataset.from_dict({"query": WORDS[:8], "document": WORDS[4:], "label": [1, 0] * 4})
    args = CrossEncoderTrainingArguments(
        str(out), max_steps=2, per_device_train_batch_size=4, per_device_eval_batch_size=4,
        learning_rate=1e-3, save_strategy="no", disable_tqdm=True, report_to="none",
    )  # fmt: skip
    trainer = Weighted(model=model, args=args, train_dataset=data, eval_dataset=data)
    trainer.train()
    seen["evaluated"] = trainer.evaluate()["eval_loss"]
    seen["weights"] = {n: p.detach().clone() for n, p in model.model.named_parameters()}
    return seen


def test_cross_encoder_compute_loss_override_as_in_sentence_transformers(tmp_path):
    from conftest import build_tiny_classifier, without_dropout

    folder = without_dropout(build_tiny_classifier(tmp_path / "ce"))
    theirs = _cross_run("st", folder, tmp_path / "st")
    ours = _cross_run("sbert", folder, tmp_path / "ours")
    assert ours["batches"] == theirs["batches"]  # the text columns and label, as the collator gives them
    assert len(ours["loss"]) == 2
    assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-5)
    assert ours["eval"] == pytest.approx(theirs["eval"], abs=1e-5)
    assert ours["evaluated"] == pytest.approx(theirs["evaluated"], abs=1e-5)
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=1e-5, rtol=0, msg=name)


def _optimizer_run(name: str, folder, out) -> dict:
    from datasets import Dataset

    model_class, trainer_class, arguments, losses = _libraries(name)
    model = model_class(str(folder), device="cpu")
    labels = [0, 1, 2, 0, 1, 2, 0, 1]
    data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:], "label": labels})
    args = arguments(
        str(out), max_steps=3, per_device_train_batch_size=4, learning_rate=1e-3, weight_decay=0.1,
        warmup_steps=1, save_strategy="no", disable_tqdm=True, report_to="none",
    )  # fmt: skip
    torch.manual_seed(3)
    loss = losses.SoftmaxLoss(model, 32, 3)  # a loss with weights of its own (the same, seeded)
    trainer = trainer_class(model=model, args=args, train_dataset=data, loss=loss)
    optimizer = trainer.create_optimizer()
    scheduler = trainer.create_scheduler(6, optimizer)  # train() makes its own schedule, as there
    seen = {
        "classes": (type(optimizer), type(scheduler)),
        "same": (trainer.create_optimizer() is optimizer, trainer.create_scheduler(9) is scheduler),
        "groups": [
            (g["lr"], g["weight_decay"], [tuple(p.shape) for p in g["params"]])
            for g in optimizer.param_groups
        ],
        "factors": [f(step) for step in range(8) for f in scheduler.lr_lambdas],
    }
    trainer.train()
    seen["weights"] = {n: p.detach().clone() for n, p in model[0].auto_model.named_parameters()}
    return seen


def test_create_optimizer_and_scheduler_as_in_sentence_transformers(dropout_free_st, tmp_path):
    theirs = _optimizer_run("st", dropout_free_st, tmp_path / "st")
    ours = _optimizer_run("sbert", dropout_free_st, tmp_path / "ours")
    assert ours["classes"] == theirs["classes"]
    assert ours["same"] == theirs["same"] == (True, True)
    assert ours["groups"] == theirs["groups"]
    assert ours["factors"] == pytest.approx(theirs["factors"])
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=1e-5, rtol=0, msg=name)


def _instance_hooks_run(name: str, folder, out) -> dict:
    """``trainer.compute_loss`` replaced on the trainer once made, and ``model.preprocess`` on the model
    before, with a prompt for every column: what each one is given while training and evaluating."""
    from datasets import Dataset

    model_class, trainer_class, arguments, losses = _libraries(name)
    model = model_class(str(folder), device="cpu")
    seen: dict = {"texts": [], "columns": [], "labels": [], "loss": []}
    preprocess = model.preprocess

    def watched_preprocess(texts, prompt=None, **kwargs):
        seen["texts"].extend((prompt or "") + text for text in texts)
        return preprocess(texts, prompt=prompt, **kwargs)

    model.preprocess = watched_preprocess
    pairs = Dataset.from_dict({"anchor": WORDS[:4], "positive": WORDS[4:8]})
    args = arguments(
        str(out), max_steps=2, per_device_train_batch_size=2, per_device_eval_batch_size=2, prompts="P: ",
        eval_strategy="steps", eval_steps=2, save_strategy="no", disable_tqdm=True, seed=7, report_to="none",
    )  # fmt: skip
    eval_pairs = Dataset.from_dict({"anchor": WORDS[8:10], "positive": WORDS[10:12]})
    loss = losses.MultipleNegativesRankingLoss(model)
    trainer = trainer_class(model=model, args=args, train_dataset=pairs, eval_dataset=eval_pairs, loss=loss)
    seen["texts"].clear()
    default = trainer.compute_loss

    def tracker(model, inputs, **kwargs):
        record_compute_loss_inputs(seen, trainer, inputs)
        result = default(model, inputs, **kwargs)
        seen["loss"].append((result[0] if isinstance(result, tuple) else result).item())
        return result

    trainer.compute_loss = tracker
    trainer.train()
    return seen


def test_compute_loss_and_preprocess_set_on_instances_see_batches_as_in_sentence_transformers(
    dropout_free_st, tmp_path
):
    """Scripts (and sentence-transformers' own tests) watch training by replacing ``trainer.compute_loss``
    once the trainer is made and ``model.preprocess``: the replacement gets every collated batch, training
    and evaluation, and preprocess only the prompted texts, as there."""
    theirs = _instance_hooks_run("st", dropout_free_st, tmp_path / "st")
    ours = _instance_hooks_run("sbert", dropout_free_st, tmp_path / "ours")
    assert len(theirs["columns"]) == 3  # two training steps, one evaluation batch
    assert ours["columns"] == theirs["columns"]
    assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-5)
    assert sorted(ours["texts"]) == sorted(theirs["texts"])
    assert set(theirs["texts"]) == {"P: " + text for text in WORDS[:12]}
