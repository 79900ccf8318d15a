"""The records sentence-transformers 6.3's trainers give at INFO in a short run with evaluation and a
checkpoint each step: the evaluator's heading with the epoch and step it runs at, "Saving model checkpoint
to ..." before each checkpoint and, with ``load_best_model_at_end``, "Loading best model from ... (score:
...)". Each run is made with both libraries; the model's own save and load records are left out (older sbert
checkpoints kept the model in a ``model/`` folder), and checkpoint numbers are compared without sbert's zero
padding."""

from __future__ import annotations

import importlib
import logging
import re

import pytest
from conftest import build_tiny_classifier, without_dropout

S1 = ["a sunny day outside", "the cat sat on the mat", "a man plays guitar", "the dog runs fast"]
S2 = ["it is sunny", "a cat on a mat", "someone plays music", "a slow dog"]


def _arguments(lib, module: str, cls: str, out, **extra):
    settings = {"output_dir": str(out), "max_steps": 2, "per_device_train_batch_size": 2}
    settings["per_device_eval_batch_size"] = 2
    settings.update(eval_strategy="steps", eval_steps=1, save_steps=1, logging_steps=1, report_to="none")
    settings.update(seed=1, disable_tqdm=True, **extra)
    return getattr(importlib.import_module(f"{lib.__name__}.{module}"), cls)(**settings)


def embedding_run(lib, folders, out):
    from datasets import Dataset

    model = lib.SentenceTransformer(str(folders["st"]), device="cpu")
    pairs = Dataset.from_dict({"anchor": S1, "positive": S2})
    evaluation = importlib.import_module(f"{lib.__name__}.sentence_transformer.evaluation")
    losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")
    lib.SentenceTransformerTrainer(
        model=model,
        args=_arguments(
            lib,
            "sentence_transformer",
            "SentenceTransformerTrainingArguments",
            out,
            load_best_model_at_end=True,
        ),
        train_dataset=pairs,
        eval_dataset=pairs,
        loss=losses.MultipleNegativesRankingLoss(model),
        evaluator=evaluation.TripletEvaluator(S1, S2, S2[::-1], name="tri"),
    ).train()


def cross_encoder_run(lib, folders, out):
    from datasets import Dataset

    scored = Dataset.from_dict({"s1": S1, "s2": S2, "label": [1.0, 0.0, 1.0, 0.0]})
    lib.CrossEncoderTrainer(
        model=lib.CrossEncoder(str(folders["ce"]), device="cpu"),
        args=_arguments(lib, "cross_encoder", "CrossEncoderTrainingArguments", out),
        train_dataset=scored,
        eval_dataset=scored,
    ).train()


@pytest.fixture(scope="module")
def folders(dropout_free_st, tmp_path_factory):
    return {
        "st": dropout_free_st,
        "ce": without_dropout(build_tiny_classifier(tmp_path_factory.mktemp("ce") / "ce")),
    }


def records(run, lib, folders, out) -> list[tuple[str, int, str]]:
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            if record.name.startswith(("sentence_transformers.", "sbert")) and record.name != (
                "sentence_transformers.base.model"
            ):
                text = record.getMessage().replace(str(out), "OUT")
                text = re.sub(r"checkpoint-0*(\d)", r"checkpoint-\1", text)
                text = re.sub(
                    r"score: (\d\.\d{4})\d*", r"score: \1", text
                )  # the loss summed in another order
                seen.append((record.name, record.levelno, text))

    root, handler = logging.getLogger(), Keep(logging.INFO)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        run(lib, folders, out)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return seen


@pytest.mark.parametrize("run", [embedding_run, cross_encoder_run])
def test_training_records_are_sentence_transformers(run, folders, tmp_path):
    import sentence_transformers

    import sbert

    theirs = records(run, sentence_transformers, folders, tmp_path / "st")
    assert any("Saving model checkpoint" in text for _, _, text in theirs)
    assert records(run, sbert, folders, tmp_path / "sbert") == theirs
    # the evaluator's CSV during training: <output_dir>/eval, one row per evaluation, as there
    csvs = eval_csvs(tmp_path / "st")
    assert bool(csvs) == (run is embedding_run)  # the cross-encoder run has no evaluator
    assert eval_csvs(tmp_path / "sbert") == csvs


def eval_csvs(out) -> dict[str, tuple[str, int]]:
    """Each CSV under ``out/eval``: its header and number of rows."""
    found = {}
    for path in sorted((out / "eval").glob("*.csv")):
        lines = path.read_text().splitlines()
        found[path.name] = (lines[0], len(lines) - 1)
    return found
