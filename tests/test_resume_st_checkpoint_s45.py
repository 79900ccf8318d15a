"""A run sentence-transformers 6.3 checkpointed, resumed by sbert (drop-in: only the import changes), side
by side with sentence-transformers resuming the same checkpoint: the same records (log_history), weights
and, through the per-step losses, batches. sbert refused such a checkpoint (no ``state.json`` of its own):
it now places the run by ``trainer_state.json``'s step and reads Hugging Face's optimizer.pt, scheduler.pt
and rng_state.pth."""

from __future__ import annotations

import importlib
import logging
import shutil

import pytest
import torch
from conftest import build_tiny_classifier, stop_at, without_dropout
from test_checkpoint_fuzz_s45 import _assert_same_run as assert_same_training
from trainer_subclass_probe import WORDS

LIBRARIES = {"st": "sentence_transformers", "sbert": "sbert"}
# (the run's own timings and totals, which no two runs share)
# the log records' training and evaluation values compared (evaluator "d"; the run summary's averages
# and counters are not)
COMPARED = ("loss", "grad_norm", "learning_rate", "epoch", "step", "eval_loss")


def _module(lib: str, name: str = ""):
    return importlib.import_module(LIBRARIES[lib] + name)


def _sentence_trainer(lib, folder, out, settings, stop=None, loss="mnrl"):
    from datasets import Dataset

    torch.manual_seed(0)  # SoftmaxLoss's classifier: built alike in both libraries
    module, losses = _module(lib), _module(lib, ".sentence_transformer.losses")
    model = module.SentenceTransformer(str(folder), device="cpu")
    if loss == "softmax":
        data = Dataset.from_dict({"a": WORDS[:10], "b": WORDS[2:12], "label": [i % 3 for i in range(10)]})
        objective = losses.SoftmaxLoss(model, 32, 3)
        evaluation = _module(lib, ".sentence_transformer.evaluation")
        scores = [0.1, 0.5, 0.9, 0.3, 0.2, 0.8]
        evaluator = evaluation.EmbeddingSimilarityEvaluator(WORDS[:6], WORDS[3:9], scores, name="d")
    else:
        data = Dataset.from_dict({"anchor": WORDS[:10], "positive": WORDS[2:12]})
        objective, evaluator = losses.MultipleNegativesRankingLoss(model), None
    return module.SentenceTransformerTrainer(
        model=model,
        args=module.SentenceTransformerTrainingArguments(str(out), **settings),
        train_dataset=data,
        loss=objective,
        evaluator=evaluator,
        callbacks=None if stop is None else [stop_at(stop)],
    )


def _cross_trainer(lib, folder, out, settings, stop=None, loss=None):
    from datasets import Dataset

    cross = _module(lib, ".cross_encoder")
    model = cross.CrossEncoder(str(folder), device="cpu")
    data = Dataset.from_dict({"q": WORDS[:10], "d": WORDS[2:12], "label": [float(i % 2) for i in range(10)]})
    return cross.CrossEncoderTrainer(
        model=model,
        args=cross.CrossEncoderTrainingArguments(str(out), **settings),
        train_dataset=data,
        loss=_module(lib, ".cross_encoder.losses").BinaryCrossEntropyLoss(model),
        callbacks=None if stop is None else [stop_at(stop)],
    )


def _settings(lib: str, sampler: str, accumulate: int, **more) -> dict:
    return {
        "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1, "disable_tqdm": True,
        "seed": 7, "report_to": "none", "save_strategy": "steps", "save_steps": 1, "num_train_epochs": 2,
        "gradient_accumulation_steps": accumulate, "batch_sampler": sampler, **more,
    }  # fmt: skip


def _result(trainer, network) -> dict:
    history = [
        {k: v for k, v in r.items() if k in COMPARED or k.startswith("eval_d_")}
        for r in trainer.state.log_history
    ]
    best = trainer.state.best_model_checkpoint
    return {
        "history": history,
        "weights": {n: p.detach().clone() for n, p in network(trainer).named_parameters()},
        "best": best and best.rsplit("/", 1)[-1],
        "checkpoints": sorted(p.name for p in trainer.args_output_dir.glob("checkpoint-*")),
    }


def _resume_both(make, network, folder, tmp_path, stop, resume, settings, **options) -> tuple[dict, dict]:
    """sentence-transformers' run stopped after ``stop`` steps, then its checkpoint resumed by each library
    (each in its own copy of the output folder)."""
    make("st", folder, tmp_path / "run", settings("st"), stop=stop, **options).train()
    results = {}
    for lib in ("st", "sbert"):
        out = tmp_path / lib
        shutil.copytree(tmp_path / "run", out)
        trainer = make(lib, folder, out, settings(lib), **options)
        trainer.train(resume_from_checkpoint=True if resume is True else str(out / f"checkpoint-{stop}"))
        trainer.args_output_dir = out
        results[lib] = _result(trainer, network)
    return results["sbert"], results["st"]


def _assert_same_run(ours: dict, theirs: dict) -> None:
    assert_same_training(ours, theirs)
    assert (ours["best"], ours["checkpoints"]) == (theirs["best"], theirs["checkpoints"])


@pytest.fixture(scope="module")
def dropout_free_classifier(tmp_path_factory):
    return without_dropout(build_tiny_classifier(tmp_path_factory.mktemp("resume-ce") / "ce", num_labels=1))


# 10 rows in batches of 4: 3 batches an epoch, so 3 steps (accumulating 2: 2 steps, the last of one batch)
@pytest.mark.parametrize(
    ("sampler", "accumulate", "stop", "resume"),
    [
        ("batch_sampler", 1, 1, True),  # inside the first epoch
        ("no_duplicates", 2, 2, "path"),  # at the first epoch's end
        ("no_duplicates", 1, 3, True),  # at the first epoch's end
    ],
)
def test_sentence_transformer_trainer_resumes_a_sentence_transformers_checkpoint(
    sampler, accumulate, stop, resume, dropout_free_st, tmp_path
):
    ours, theirs = _resume_both(
        _sentence_trainer,
        lambda t: t.model[0].auto_model,
        dropout_free_st,
        tmp_path,
        stop,
        resume,
        lambda lib: _settings(lib, sampler, accumulate),
    )
    _assert_same_run(ours, theirs)


@pytest.mark.parametrize(
    ("sampler", "accumulate", "stop", "resume"),
    [("batch_sampler", 2, 1, True), ("no_duplicates", 1, 3, "path")],
)
def test_cross_encoder_trainer_resumes_a_sentence_transformers_checkpoint(
    sampler, accumulate, stop, resume, dropout_free_classifier, tmp_path
):
    ours, theirs = _resume_both(
        _cross_trainer,
        lambda t: t.model.model,
        dropout_free_classifier,
        tmp_path,
        stop,
        resume,
        lambda lib: _settings(lib, sampler, accumulate),
    )
    _assert_same_run(ours, theirs)


def test_a_loss_s_own_weights_start_as_built_with_a_warning(dropout_free_st, tmp_path, caplog):
    """sentence-transformers' checkpoint keeps no SoftmaxLoss classifier: both libraries resume it as built
    (sbert says so), and the evaluations, best checkpoint and rotation (save_total_limit) go on alike."""
    more = {
        "eval_strategy": "steps", "eval_steps": 1, "save_total_limit": 2, "load_best_model_at_end": True,
        "metric_for_best_model": "eval_d_spearman_cosine",
    }  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="sbert"):
        ours, theirs = _resume_both(
            _sentence_trainer,
            lambda t: t.model[0].auto_model,
            dropout_free_st,
            tmp_path,
            2,
            True,
            lambda lib: _settings(lib, "batch_sampler", 1, **more),
            loss="softmax",
        )
    _assert_same_run(ours, theirs)
    warned = [r.getMessage() for r in caplog.records if r.name.startswith("sbert")]
    assert any("SoftmaxLoss" in m and "checkpoint-2" in m for m in warned), warned
