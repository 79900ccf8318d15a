"""Hugging Face Trainer / TrainingArguments methods that scripts and Hugging Face's own callbacks call on
sentence-transformers' trainers (dataloaders, predict, push_to_hub, the arguments' process layout, JSON
forms and grouped setters, the state and keywords callbacks get), compared with sentence-transformers 6.3."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from conftest import classic_pooling

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


@pytest.fixture(scope="module")
def path(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


def _libraries():
    import sentence_transformers as st
    import sentence_transformers.sentence_transformer.losses

    return {"st": st, "sbert": sbert}


def _trainer(lib, path, out, callbacks=None, **overrides):
    """A trainer of ``lib`` (sentence-transformers or sbert) on 10 pairs, MNRL, batches of 4."""
    from datasets import Dataset

    module = _libraries()[lib]
    model = module.SentenceTransformer(str(path), device="cpu")
    data = Dataset.from_dict({"anchor": WORDS[:10], "positive": WORDS[2:12]})
    values = {"num_train_epochs": 1, "per_device_train_batch_size": 4, "disable_tqdm": True}
    values.update(save_strategy="no", report_to="none", **overrides)
    args = module.SentenceTransformerTrainingArguments(output_dir=str(out), **values)
    losses = module.sentence_transformer.losses if lib == "st" else module.losses
    loss = losses.MultipleNegativesRankingLoss(model)
    return module.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, eval_dataset=data, loss=loss, callbacks=callbacks
    )


def test_training_arguments_process_layout_and_json_forms_match_sentence_transformers(tmp_path):
    from sentence_transformers import SentenceTransformerTrainingArguments as Reference

    values = {"per_device_train_batch_size": 4, "per_device_eval_batch_size": 6, "warmup_steps": 0.1}
    theirs = Reference(str(tmp_path), **values)
    ours = sbert.SentenceTransformerTrainingArguments(str(tmp_path), **values)
    names = ["train_batch_size", "eval_batch_size", "world_size", "process_index", "local_process_index"]
    names += ["n_gpu", "device", "parallel_mode", "should_log", "should_save", "place_model_on_device"]
    names += ["default_optim", "ddp_timeout_delta"]
    for name in names:
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.get_process_log_level() == theirs.get_process_log_level()
    assert ours.get_warmup_steps(95) == theirs.get_warmup_steps(95) == 10
    with ours.main_process_first(desc="map"):
        pass
    assert json.loads(ours.to_json_string()) == ours.to_dict()
    sanitized = ours.to_sanitized_dict()
    assert sanitized["train_batch_size"] == 4 and sanitized["eval_batch_size"] == 6
    assert all(type(v) in (bool, int, float, str) for v in sanitized.values())
    for key in ("per_device_train_batch_size", "learning_rate", "warmup_steps", "lr_scheduler_kwargs"):
        assert sanitized[key] == theirs.to_sanitized_dict()[key], key


def test_grouped_setters_set_what_sentence_transformers_sets(tmp_path):
    from sentence_transformers import SentenceTransformerTrainingArguments as Reference

    def configure(args):
        out = args.set_training(learning_rate=1e-4, batch_size=16, num_epochs=2, seed=7)
        assert out is args
        args.set_evaluate(strategy="steps", steps=50, batch_size=32)
        args.set_save(strategy="epoch", total_limit=2)
        args.set_logging(strategy="steps", steps=10, first_step=True)
        args.set_optimizer(name="adamw_torch", beta1=0.8, weight_decay=0.01)
        args.set_lr_scheduler(name="cosine", warmup_steps=0.05, num_epochs=2)
        args.set_dataloader(train_batch_size=12, eval_batch_size=24, drop_last=True, sampler_seed=3)
        args.set_testing(batch_size=20)
        return args

    theirs = configure(Reference(str(tmp_path)))
    ours = configure(sbert.SentenceTransformerTrainingArguments(str(tmp_path)))
    names = [
        "learning_rate",
        "per_device_train_batch_size",
        "per_device_eval_batch_size",
        "seed",
        "eval_steps",
    ]
    names += ["save_total_limit", "logging_steps", "logging_first_step", "adam_beta1", "weight_decay"]
    names += ["warmup_steps", "dataloader_drop_last", "data_seed", "do_train", "do_eval", "do_predict"]
    names += ["eval_strategy", "save_strategy", "logging_strategy", "optim", "lr_scheduler_type"]
    for name in names:
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.num_train_epochs == theirs.num_train_epochs == 2
    # the values sbert's trainer runs with follow
    mapped = ours.to_sbert(steps_per_epoch=10)
    assert (mapped.batch_size, mapped.lr_scheduler_type, mapped.eval_steps) == (12, "cosine", 50)
    with pytest.raises(sbert.InputError, match="push_to_hub"):
        ours.set_push_to_hub("me/model")


class Seen:
    """What a Hugging Face callback written as Hugging Face's integrations read sees at train begin."""

    def __init__(self):
        from transformers import TrainerCallback

        seen = self.seen = {}

        class Probe(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                seen["args"] = json.loads(args.to_json_string())["per_device_train_batch_size"]
                seen["sanitized"] = args.to_sanitized_dict()["train_batch_size"]
                seen["world"] = (args.world_size, args.process_index, args.n_gpu, args.should_log)
                keys = ["is_world_process_zero", "is_local_process_zero", "is_hyper_param_search"]
                keys += ["trial_name", "total_flos", "max_steps", "logging_steps", "train_batch_size"]
                keys += ["num_train_epochs", "global_step"]
                seen["state"] = {k: getattr(state, k) for k in keys}
                seen["kwargs"] = sorted(k for k in kwargs if kwargs[k] is not None)
                seen["model"] = type(kwargs["model"]).__name__
                seen["optimizer"] = isinstance(kwargs["optimizer"], torch.optim.Optimizer)

            def on_log(self, args, state, control, logs=None, **kwargs):
                seen.setdefault("logged_at", []).append(state.global_step)

        self.callback = Probe()


def test_hugging_face_callbacks_get_the_arguments_state_and_keywords_of_sentence_transformers(path, tmp_path):
    from transformers.integrations import TensorBoardCallback

    results = {}
    for lib in ("st", "sbert"):
        probe = Seen()
        board = TensorBoardCallback()
        board.logging_dir = str(tmp_path / f"{lib}-runs")  # as TENSORBOARD_LOGGING_DIR sets it
        trainer = _trainer(lib, path, tmp_path / lib, [probe.callback, board], logging_steps=1, max_steps=2)
        trainer.train()
        results[lib] = probe.seen
        assert list((tmp_path / f"{lib}-runs").glob("events.out.tfevents.*")), lib
    ours, theirs = results["sbert"], results["st"]
    assert ours["args"] == theirs["args"] == 4
    assert ours["sanitized"] == theirs["sanitized"] == 4
    assert ours["world"] == theirs["world"]
    assert ours["state"] == theirs["state"]
    expected = {"model", "optimizer", "lr_scheduler", "processing_class"}
    assert expected <= set(ours["kwargs"]) and expected <= set(theirs["kwargs"])
    assert (
        ours["model"] == theirs["model"] == "SentenceTransformer"
        and ours["optimizer"]
        and theirs["optimizer"]
    )
    # the logging steps, and the run's summary at its end, as Hugging Face's trainer logs it
    assert ours["logged_at"] == theirs["logged_at"] == [1, 2, 2]


def _input_ids(loader, column="anchor"):
    return [batch[f"{column}_input_ids"].tolist() for batch in loader]


def test_dataloaders_give_sentence_transformers_batches_in_the_training_order(path, tmp_path):
    from datasets import Dataset

    theirs = _trainer("st", path, tmp_path / "st", batch_sampler="no_duplicates")
    ours = _trainer("sbert", path, tmp_path / "sbert", batch_sampler="no_duplicates")
    loader = ours.get_train_dataloader()
    assert len(loader) == len(theirs.get_train_dataloader()) == 3
    assert len(loader.dataset) == 10
    for column in ("anchor", "positive"):
        assert _input_ids(loader, column) == _input_ids(theirs.get_train_dataloader(), column)
    first = next(iter(loader))
    assert (
        first["anchor_attention_mask"].tolist()
        == next(iter(theirs.get_train_dataloader()))["anchor_attention_mask"].tolist()
    )
    # the rows the training loop runs, in its order, epoch by epoch
    for epoch in (0, 1):
        loader.batch_sampler.set_epoch(epoch)
        rows = [rows.tolist() for _, rows in ours.epoch_batches(epoch)]
        assert [len(ids) for ids in _input_ids(loader)] == [len(r) for r in rows]
    assert _input_ids(ours.get_eval_dataloader()) == _input_ids(theirs.get_eval_dataloader())
    test = Dataset.from_dict({"anchor": WORDS[3:9], "positive": WORDS[:6]})
    assert _input_ids(ours.get_test_dataloader(test)) == _input_ids(theirs.get_test_dataloader(test))


def test_predict_and_steps_as_sentence_transformers(path, tmp_path):
    from datasets import Dataset

    theirs = _trainer("st", path, tmp_path / "st")
    ours = _trainer("sbert", path, tmp_path / "sbert")
    theirs.model.eval()
    test = Dataset.from_dict({"anchor": WORDS[3:9], "positive": WORDS[:6]})
    expected, got = theirs.predict(test), ours.predict(test)
    assert got.predictions is None and got.label_ids is None
    assert set(got.metrics) == set(expected.metrics)
    assert got.metrics["test_loss"] == pytest.approx(expected.metrics["test_loss"], abs=1e-4)
    batch = next(iter(ours.get_eval_dataloader()))
    loss, logits, labels = ours.prediction_step(ours.model, batch, prediction_loss_only=False)
    assert loss.ndim == 0 and not loss.requires_grad and (logits, labels) == ((), ())
    reference = theirs.prediction_step(theirs.model, next(iter(theirs.get_eval_dataloader())), False)
    assert float(loss) == pytest.approx(float(reference[0]), abs=1e-4)
    assert ours.prediction_step(ours.model, batch, prediction_loss_only=True)[1:] == (None, None)
    step_loss = ours.training_step(ours.model, next(iter(ours.get_train_dataloader())))
    assert step_loss.ndim == 0 and not step_loss.requires_grad
    assert any(p.grad is not None for p in ours.model.parameters())


def test_trainer_helpers_and_state_after_training(path, tmp_path):
    theirs = _trainer("st", path, tmp_path / "st")
    ours = _trainer("sbert", path, tmp_path / "sbert")
    assert ours.get_num_trainable_parameters() == theirs.get_num_trainable_parameters()
    assert ours.get_decay_parameter_names(ours.model) == theirs.get_decay_parameter_names(theirs.model)
    assert ours.floating_point_ops(next(iter(ours.get_train_dataloader()))) == 0
    assert type(ours.get_default_loss(ours.model)).__name__ == "CoSENTLoss"
    collator = ours.get_data_collator(model=ours.model, args=ours.st_args)
    assert type(collator).__name__ == type(theirs.data_collator).__name__
    assert ours.training_args_class is sbert.SentenceTransformerTrainingArguments
    assert ours.data_collator_class.__name__ == theirs.data_collator_class.__name__
    assert ours.model_card_data_class.__name__ == theirs.model_card_data_class.__name__
    with pytest.raises(ValueError, match="optimizer is None"):
        ours.get_learning_rates()
    ours.create_optimizer()
    assert len(ours.get_learning_rates()) == len(ours.get_optimizer_group()) == 2
    ours.optimizer = None
    keys = ["max_steps", "logging_steps", "train_batch_size", "num_train_epochs", "total_flos"]
    before = {k: getattr(ours.state, k) for k in keys}
    assert before == {k: getattr(theirs.state, k) for k in keys}
    theirs.train()
    ours.train()
    ours.store_flos()
    assert {k: getattr(ours.state, k) for k in keys} == {k: getattr(theirs.state, k) for k in keys}


def _fake_api(calls, uploaded):
    """huggingface_hub's HfApi without the network: what is asked of it recorded, the folder listed."""
    import os

    class FakeApi:
        def __init__(self, *args, **kwargs):
            pass

        def create_repo(self, repo_id, **options):
            calls.append(("create_repo", repo_id, options))
            return SimpleNamespace(repo_id=f"someone/{repo_id.split('/')[-1]}")

        def upload_folder(self, **options):
            calls.append(("upload_folder", options.pop("repo_id"), {**options, "folder_path": None}))
            uploaded.update(os.listdir(options["folder_path"]))
            return SimpleNamespace(commit_url="https://hub/commit/1")

    return FakeApi


def test_push_to_hub_makes_the_repository_and_upload_calls_of_sentence_transformers(
    path, tmp_path, monkeypatch
):
    import huggingface_hub
    import transformers.utils.hub

    results = {}
    for lib in ("st", "sbert"):
        calls, uploaded = [], set()
        api = _fake_api(calls, uploaded)
        if lib == "st":  # Hugging Face's trainer goes through transformers' shared HfApi
            monkeypatch.setattr(transformers.utils.hub, "_hf_api", api())
        else:
            monkeypatch.setattr(huggingface_hub, "HfApi", api)
        out = tmp_path / lib / "my-run"
        trainer = _trainer(lib, path, out, hub_model_id="me/my-model")
        (out / "checkpoint-5").mkdir(parents=True)
        result = trainer.push_to_hub(commit_message="done", token="t0k", license="apache-2.0")
        results[lib] = (calls, uploaded, result, trainer.hub_model_id)
    (ours, our_files, our_result, our_id), (theirs, their_files, _, their_id) = (
        results["sbert"],
        results["st"],
    )
    assert ours == theirs
    assert our_id == their_id == "someone/my-model"
    assert our_result.commit_url == "https://hub/commit/1"
    model_files = {"README.md", "modules.json", "config.json", "model.safetensors", "tokenizer.json"}
    assert model_files <= our_files and model_files <= their_files
    assert "checkpoint-5" in our_files  # listed in the folder; left out by the ignore patterns, as there
    card = (tmp_path / "sbert" / "my-run" / "README.md").read_text()
    assert "apache-2.0" in card


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder"])
def test_a_new_trainer_records_its_datasets_and_losses_in_the_card_data(path, tmp_path, kind):
    """Made, not yet trained, the bi-encoder's and the cross-encoder's trainers have written the datasets
    (name, split, size, columns, first examples) and the tags generated_from_trainer, dataset_size and
    loss:<name> into model.model_card_data, as sentence-transformers' model card callback does."""
    from datasets import Dataset

    keys = ("name", "split", "size", "columns", "examples")
    seen = []
    for lib, module in _libraries().items():
        if kind == "CrossEncoder":
            model = module.CrossEncoder(str(path), num_labels=1, device="cpu")
            data = Dataset.from_dict({"a": WORDS[:6], "b": WORDS[1:7], "label": [1.0, 0.0] * 3})
            losses = module.cross_encoder.losses
            loss = losses.BinaryCrossEntropyLoss(model)
            trainer_class = module.cross_encoder.CrossEncoderTrainer
            args_class = module.cross_encoder.CrossEncoderTrainingArguments
        else:
            model = module.SentenceTransformer(str(path), device="cpu")
            data = Dataset.from_dict({"anchor": WORDS[:6], "positive": WORDS[1:7]})
            loss = module.sentence_transformer.losses.MultipleNegativesRankingLoss(model)
            trainer_class, args_class = (
                module.SentenceTransformerTrainer,
                module.SentenceTransformerTrainingArguments,
            )
        args = args_class(output_dir=str(tmp_path / lib), report_to="none")
        trainer_class(
            model=model, args=args, train_dataset=data, eval_dataset=data.select(range(2)), loss=loss
        )
        card = model.model_card_data
        seen.append(
            (
                [{k: d.get(k) for k in keys} for d in card.train_datasets],
                [{k: d.get(k) for k in keys} for d in card.eval_datasets],
                [t for t in card.tags if t.startswith(("generated_from", "dataset_size", "loss:"))],
            )
        )
    assert seen[1] == seen[0]
    assert seen[0][2]  # the tags are there to compare
