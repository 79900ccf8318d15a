"""More Hugging Face ``Trainer`` behaviour of sentence-transformers' trainers that a subclass or a user sees
(session 40, second pass): a subclass's ``evaluate`` during a run with a dict of eval datasets, the folder a
``_save`` override gets and the files a checkpoint holds, the ``greedy`` schedule, an epoch without batches,
and the eval loss with ``dataloader_drop_last``. Each runs on sbert and on sentence-transformers, same seed
and dropout-free model: the same calls, records and files."""

from __future__ import annotations

import json
import os

import pytest
import torch
from test_trainer_hooks_s40 import EVAL, OTHER, _own_evaluate, _records, _run_compare, _wrapped_loader
from trainer_subclass_probe import SETTINGS, WORDS, kind, library


def test_a_runs_evaluation_of_a_dict_calls_evaluate_for_each(dropout_free_st, tmp_path):
    """Hugging Face's ``train()`` calls ``self.evaluate(ignore_keys=None)``, whose ``super()`` calls
    ``self.evaluate`` again for each dataset of a dict (its name, ``metric_key_prefix="eval_<name>"``): a
    subclass's override sees all three calls, and each dataset's record is logged inside its own."""
    _run_compare(
        _own_evaluate, dropout_free_st, tmp_path, {"a": EVAL, "b": OTHER}, eval_strategy="steps", eval_steps=2
    )


def _checkpoint_saves(name, folder, out, subclass) -> dict:
    """A run saving a checkpoint each of 2 steps (a limit of 1, the best kept) with a subclass of the trainer
    made by ``subclass(trainer_class, calls, out)``, then ``save_model`` to ``final`` and to the output
    folder: the calls, and each folder's files but the trainer's own resume state (Hugging Face's
    ``optimizer.pt``, ... and sbert's ``state.json``, ...) and sbert's ``metrics.jsonl``."""
    from datasets import Dataset

    module, losses = library(name)
    calls: list = []
    model = module.SentenceTransformer(str(folder), device="cpu")
    options = {"max_steps": 2, "save_strategy": "steps", "save_steps": 1, "save_total_limit": 1}
    options |= {"eval_strategy": "steps", "eval_steps": 1, "load_best_model_at_end": True}
    args = module.SentenceTransformerTrainingArguments(str(out), **{**SETTINGS, **options})
    trainer = subclass(module.SentenceTransformerTrainer, calls, out)(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:12]}),
        eval_dataset=Dataset.from_dict(EVAL),
        loss=losses.MultipleNegativesRankingLoss(model),
    )
    trainer.train()
    trainer.save_model(str(out / "final"))
    trainer.save_model()
    resume = {
        "optimizer.pt",
        "scheduler.pt",
        "rng_state.pth",
        "state.json",
        "training_state.pt",
        "metrics.jsonl",
    }
    files = {
        os.path.relpath(root, out): sorted(set(names) - resume) for root, _, names in sorted(os.walk(out))
    }
    pickled = out / "final" / "training_args.bin"
    saved = torch.load(pickled, weights_only=False) if pickled.is_file() else None
    return {"calls": calls, "files": files, "args": saved}


def _own_save(trainer_class, calls, out):
    class Trainer(
        trainer_class
    ):  # the folder each _save gets, whether it is there yet, and what is beside it
        def _save(self, output_dir=None, state_dict=None):
            there = sorted(p for p in os.listdir(out) if p != "metrics.jsonl")
            path = os.path.relpath(output_dir, out)
            calls.append(
                ("_save", self.state.global_step, path, kind(state_dict), os.path.isdir(output_dir), there)
            )
            super()._save(output_dir, state_dict)
            calls.append(("saved", sorted(p for p in os.listdir(output_dir) if p != "metrics.jsonl")))

    return Trainer


def _plain(trainer_class, calls, out):
    return trainer_class


@pytest.mark.parametrize("subclass", [_own_save, _plain], ids=["own_save", "plain"])
def test_checkpoint_folders_and_files_as_hugging_faces(subclass, dropout_free_st, tmp_path):
    """Hugging Face's checkpoint calls ``save_model(<output_dir>/checkpoint-<step>, _internal_call=True)``,
    whose ``_save`` gets that folder (not made yet); its default ``_save`` adds ``training_args.bin`` (the
    arguments, pickled) to each checkpoint and each ``save_model`` folder. Without an evaluator the
    trainer makes no ``eval/`` folder."""
    theirs = _checkpoint_saves("st", dropout_free_st, tmp_path / "st", subclass)
    ours = _checkpoint_saves("sbert", dropout_free_st, tmp_path / "ours", subclass)
    assert ours["calls"] == theirs["calls"]
    assert ours["files"] == theirs["files"]
    assert "training_args.bin" in theirs["files"]["checkpoint-2"]
    assert type(ours["args"]).__name__ == type(theirs["args"]).__name__
    for key in ("learning_rate", "max_steps", "save_total_limit", "seed"):
        assert getattr(ours["args"], key) == getattr(theirs["args"], key), key


def _run(name, folder, out, data, evaluation=None, **options) -> dict:
    """A plain trainer's run on ``data`` (and ``evaluation``, a dict of columns): its log records (timings
    left out), the state's numbers, the final weights and the warnings logged by transformers' trainer."""
    import logging

    from datasets import Dataset

    module, losses = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    args = module.SentenceTransformerTrainingArguments(str(out), **{**SETTINGS, **options})
    trainer = module.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict(data),
        eval_dataset=None if evaluation is None else Dataset.from_dict(evaluation),
        loss=losses.MultipleNegativesRankingLoss(model),
    )
    warned: list = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warned.append((record.name, record.levelname, record.getMessage()))
    logger = logging.getLogger("transformers.trainer")
    logger.addHandler(handler)
    try:
        output = trainer.train()
    finally:
        logger.removeHandler(handler)
    state = trainer.state
    return {
        "records": _records(state.log_history),
        "state": [state.global_step, state.epoch, state.max_steps, state.num_train_epochs],
        "output": [output.global_step, output.training_loss],
        "weights": {n: p.detach().clone() for n, p in model[0].auto_model.named_parameters()},
        "warnings": warned,
    }


def _assert_same_run(ours: dict, theirs: dict) -> None:
    assert ours["state"] == theirs["state"]
    assert ours["output"] == pytest.approx(theirs["output"], abs=1e-5, nan_ok=True)
    assert [sorted(r) for r in ours["records"]] == [sorted(r) for r in theirs["records"]]
    for mine, reference in zip(ours["records"], theirs["records"]):
        # relative for large values: sbert's trainer runs a dropout-free model's rows in length groups, not
        # in sentence-transformers' padded batches, so kernels sum in another order (AVX2: grad_norm ~4 off
        # by 1.1e-5); a real difference (a rate, a clipped norm, a loss) is far above 1e-5 of the value
        assert mine == pytest.approx(reference, rel=1e-5, abs=1e-5), reference
        assert [type(v) for v in mine.values()] == [type(reference[k]) for k in mine], reference
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=1e-5, rtol=0, msg=name)


@pytest.mark.parametrize(
    "kwargs", [None, {"patience": 0, "factor": 0.5, "min_lr": 1e-4}], ids=["default", "moving"]
)
def test_greedy_schedule_steps_on_the_evaluations_metric(kwargs, dropout_free_st, tmp_path):
    """transformers 5's ``lr_scheduler_type="greedy"`` (``GreedyLR``): stepped on each evaluation's
    ``metric_for_best_model`` (``"loss"`` by default), the learning rate raised while it improves and cut
    when it stalls; each step's logged rate the optimizer's, as there."""
    run = {"data": {"anchor": WORDS[:8], "positive": WORDS[4:12]}, "evaluation": EVAL}
    options = {"lr_scheduler_type": "greedy", "lr_scheduler_kwargs": kwargs, "max_steps": 6}
    options |= {"eval_strategy": "steps", "eval_steps": 1}
    theirs = _run("st", dropout_free_st, tmp_path / "st", **run, **options)
    ours = _run("sbert", dropout_free_st, tmp_path / "ours", **run, **options)
    _assert_same_run(ours, theirs)
    if kwargs:
        assert len({r["learning_rate"] for r in theirs["records"] if "learning_rate" in r}) > 2


@pytest.mark.parametrize(
    "options",
    [
        {"eval_strategy": "epoch"},  # evaluated at the epoch's end: the eval loader is empty too
        {"eval_strategy": "epoch", "per_device_eval_batch_size": 4, "save_strategy": "epoch"},
        {"eval_strategy": "steps", "eval_steps": 1, "save_strategy": "epoch"},
    ],
    ids=["evaluated", "evaluated_and_saved", "saved"],
)
def test_an_epoch_without_batches_stops_the_run_at_its_end(options, dropout_free_st, tmp_path):
    """3 rows, batches of 4, ``dataloader_drop_last``: Hugging Face's trainer runs a first epoch of no batch,
    warns on its logger ("There seems not to be a single sample in your epoch_iterator ...") and stops after
    that epoch's end (evaluated and saved as asked); ``state.max_steps`` stays ``max_steps``, and the epoch
    and ``total_flos`` of its records are the state's ints 0."""
    run = {"data": {"anchor": WORDS[:3], "positive": WORDS[4:7]}, "evaluation": EVAL}
    options = {"max_steps": 3, "dataloader_drop_last": True, **options}
    theirs = _run("st", dropout_free_st, tmp_path / "st", **run, **options)
    ours = _run("sbert", dropout_free_st, tmp_path / "ours", **run, **options)
    _assert_same_run(ours, theirs)
    assert ours["warnings"] == theirs["warnings"]
    assert len(theirs["warnings"]) == 1
    checkpoints = [sorted(p.name for p in (tmp_path / n).glob("checkpoint-*")) for n in ("ours", "st")]
    assert checkpoints[0] == checkpoints[1]
    if checkpoints[1]:  # the same trainer_state.json (its records' timings aside)
        ours, theirs = (
            json.loads((tmp_path / n / "checkpoint-0" / "trainer_state.json").read_text())
            for n in ("ours", "st")
        )
        records = _records(ours.pop("log_history")), _records(theirs.pop("log_history"))
        assert ours == theirs
        assert records[0] == [pytest.approx(r, abs=1e-5) for r in records[1]]


def test_evaluation_at_start_logs_the_states_int_epoch(dropout_free_st, tmp_path):
    """``eval_on_start``: Hugging Face's record of step 0 has the state's epoch, an int 0 before any step."""
    run = {"data": {"anchor": WORDS[:8], "positive": WORDS[4:12]}, "evaluation": EVAL}
    options = {"max_steps": 2, "eval_strategy": "steps", "eval_steps": 1, "eval_on_start": True}
    theirs = _run("st", dropout_free_st, tmp_path / "st", **run, **options)
    ours = _run("sbert", dropout_free_st, tmp_path / "ours", **run, **options)
    _assert_same_run(ours, theirs)


@pytest.mark.parametrize("size", [2, 3])
def test_eval_loss_with_drop_last_weighs_the_last_batch_as_hugging_face(size, dropout_free_st, tmp_path):
    """``dataloader_drop_last`` drops the eval loader's last partial batch too; accelerate's
    ``gather_for_metrics`` still cuts the last batch it sees to ``len(dataset) % batch size`` rows, so
    Hugging Face's eval loss weighs that (full) batch less: the same loss, by the default loader and by a
    subclass's ``get_eval_dataloader`` that wraps it."""
    evaluation = {"anchor": WORDS[:7], "positive": WORDS[1:8]}  # 7 rows: batches of 2 + 2 + 2 (+ 1 dropped)
    run = {"data": {"anchor": WORDS[:8], "positive": WORDS[4:12]}, "evaluation": evaluation}
    options = {"per_device_eval_batch_size": size, "dataloader_drop_last": True}
    options |= {"eval_strategy": "steps", "eval_steps": 2}
    theirs = _run("st", dropout_free_st, tmp_path / "st", **run, **options)
    ours = _run("sbert", dropout_free_st, tmp_path / "ours", **run, **options)
    _assert_same_run(ours, theirs)
    assert len([r for r in theirs["records"] if "eval_loss" in r]) == 2
    _run_compare(
        _wrapped_loader, dropout_free_st, tmp_path / "wrapped", {"a": evaluation, "b": OTHER}, **options
    )
