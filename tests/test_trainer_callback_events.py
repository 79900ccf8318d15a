"""Hugging Face ``TrainerCallback`` s see sbert's trainers as they see sentence-transformers' (Hugging Face
``Trainer`` subclasses): the same events in the same order, with the same state, control flags and keywords,
and what a callback sets in the control (a stop, a save) is done as there. Each run is made twice, with
sentence-transformers and with sbert, and the recordings compared."""

from __future__ import annotations

import importlib

import pytest
from conftest import build_tiny_classifier, without_dropout

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]
STATE = ["global_step", "max_steps", "num_train_epochs", "logging_steps", "eval_steps", "save_steps"]
STATE += ["train_batch_size", "best_global_step", "num_input_tokens_seen", "is_world_process_zero"]
FLAGS = ["should_training_stop", "should_epoch_stop", "should_save", "should_evaluate", "should_log"]
TIMINGS = ("_runtime", "_per_second")


def recorder(actions: dict | None = None):
    """A callback recording every event (and, at ``actions[(event, step)]``, setting control flags)."""
    import torch
    from transformers import TrainerCallback

    class Recorder(TrainerCallback):
        def __init__(self):
            self.events = []

        def __getattribute__(self, name):
            if not name.startswith("on_"):
                return super().__getattribute__(name)
            return lambda args, state, control, **kwargs: self.record(name, state, control, kwargs)

        def record(self, event, state, control, kwargs):
            entry = {"event": event, "epoch": round(float(state.epoch), 4)}
            entry.update({name: getattr(state, name) for name in STATE})
            entry["best_metric"] = state.best_metric
            entry["flos"] = type(state.total_flos).__name__
            entry["stateful"] = type(state.stateful_callbacks).__name__
            entry["history"] = len(state.log_history)
            entry.update({flag: getattr(control, flag) for flag in FLAGS})
            entry["kwargs"] = sorted(k for k, v in kwargs.items() if v is not None)
            loaders = [kwargs.get(k) for k in ("train_dataloader", "eval_dataloader")]
            entry["loaders"] = [isinstance(v, torch.utils.data.DataLoader) for v in loaders]
            entry["optimizer"] = isinstance(kwargs.get("optimizer"), torch.optim.Optimizer)
            for name in ("logs", "metrics"):
                if name in kwargs:
                    entry[name] = sorted(kwargs[name])
                    timings = [v for k, v in kwargs[name].items() if k.endswith(TIMINGS)]
                    assert all(isinstance(v, float) for v in timings), (event, kwargs[name])
            self.events.append(entry)
            for flag in (actions or {}).get((event, state.global_step), ()):
                setattr(control, flag, True)

    return Recorder()


def _names(lib: str, kind: str) -> dict:
    """The classes a sentence-transformers script of ``kind`` imports, from ``lib``."""
    root = "sentence_transformers" if lib == "st" else "sbert"
    package = {"st": "sentence_transformer", "cross": "cross_encoder", "sparse": "sparse_encoder"}[kind]
    module = importlib.import_module(f"{root}.{package}")
    prefix = {"st": "SentenceTransformer", "cross": "CrossEncoder", "sparse": "SparseEncoder"}[kind]
    return {
        "model": getattr(module, prefix),
        "trainer": getattr(module, f"{prefix}Trainer"),
        "args": getattr(module, f"{prefix}TrainingArguments"),
        "losses": importlib.import_module(f"{root}.{package}.losses"),
        "evaluation": importlib.import_module(f"{root}.{package}.evaluation"),
    }


def run(lib: str, kind: str, folder, out, callbacks, **arguments) -> dict:
    """A tiny run of ``kind`` ('st', 'cross', 'sparse') with ``lib`` ('st' or 'sbert'): the trainer, its
    output and the callbacks' recordings."""
    from datasets import Dataset

    names = _names(lib, kind)
    model = names["model"](str(folder), device="cpu")
    losses, evaluation = names["losses"], names["evaluation"]
    scores = [0.1, 0.9, 0.4, 0.5, 0.2, 0.7]
    columns = {"s1": WORDS[:8], "s2": WORDS[2:10]}  # 2 steps of 4 rows an epoch
    if kind == "st":
        loss = losses.CoSENTLoss(model)
        evaluator = evaluation.EmbeddingSimilarityEvaluator(WORDS[:6], WORDS[6:], scores, name="dev")
        columns["score"] = [i / 7 for i in range(8)]
    elif kind == "cross":
        loss = losses.BinaryCrossEntropyLoss(model)
        pairs = list(zip(WORDS[:6], WORDS[6:]))
        evaluator = evaluation.CrossEncoderCorrelationEvaluator(pairs, scores, name="dev")
        columns["label"] = [float(i % 2) for i in range(8)]
    else:
        inner = losses.SparseMultipleNegativesRankingLoss(model)
        loss = losses.SpladeLoss(
            model, inner, query_regularizer_weight=5e-5, document_regularizer_weight=3e-5
        )
        evaluator = None
    train = Dataset.from_dict(columns)
    settings = {"output_dir": str(out), "per_device_train_batch_size": 4, "per_device_eval_batch_size": 4}
    settings.update(num_train_epochs=2, logging_steps=2, eval_strategy="steps", eval_steps=2)
    settings.update(save_strategy="steps", save_steps=3, seed=42, disable_tqdm=True, report_to="none")
    args = names["args"](**{**settings, **arguments})
    trainer = names["trainer"](
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=train.select(range(4)),
        loss=loss,
        evaluator=evaluator,
        callbacks=callbacks,
    )
    output = trainer.train()
    return {"trainer": trainer, "output": output}


def both(kind, folder, tmp_path, actions=None, extra=(), **arguments) -> tuple[dict, dict]:
    """The same run with sentence-transformers and with sbert: (theirs, ours), each with its recordings."""
    runs = []
    for lib in ("st", "sbert"):
        recording = recorder(actions)
        callbacks = [recording, *(make() for make in extra)]
        runs.append(run(lib, kind, folder, tmp_path / lib, callbacks, **arguments))
        runs[-1]["events"] = recording.events
    return runs[0], runs[1]


def assert_same_events(theirs: dict, ours: dict) -> None:
    order = [[(e["event"], e["global_step"], e["epoch"]) for e in run["events"]] for run in (theirs, ours)]
    assert order[1] == order[0]
    for mine, reference in zip(ours["events"], theirs["events"]):
        best = [e.pop("best_metric") for e in (mine, reference)]
        assert mine == reference, mine["event"]
        assert (best[0] is None) == (best[1] is None) and best[0] == pytest.approx(best[1], rel=1e-4)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, dropout_free_st, masked_lm):
    classifier = build_tiny_classifier(tmp_path_factory.mktemp("callback-events") / "classifier")
    return {"st": dropout_free_st, "cross": without_dropout(classifier), "sparse": masked_lm}


@pytest.mark.parametrize("kind", ["st", "cross", "sparse"])
def test_callbacks_get_the_events_state_and_keywords_of_sentence_transformers(folders, tmp_path, kind):
    theirs, ours = both(kind, folders[kind], tmp_path)
    assert_same_events(theirs, ours)
    names = [e["event"] for e in ours["events"]]
    assert {
        "on_init_end",
        "on_epoch_begin",
        "on_epoch_end",
        "on_optimizer_step",
        "on_prediction_step",
    } <= set(names)
    # the last on_log is the run's summary, which ends the history, before on_train_end
    assert names[-2:] == ["on_log", "on_train_end"]
    summary = ["epoch", "total_flos", "train_loss", "train_runtime", "train_samples_per_second"]
    assert set(summary) <= set(ours["events"][-2]["logs"])
    histories = [[sorted(r) for r in run["trainer"].state.log_history] for run in (theirs, ours)]
    assert histories[1] == histories[0]
    epochs = [[r["epoch"] for r in run["trainer"].state.log_history] for run in (theirs, ours)]
    assert epochs[1] == epochs[0]  # the same floats, not rounded
    # train() returns Hugging Face's TrainOutput(global_step, training_loss, metrics)
    mine, reference = ours["output"], theirs["output"]
    assert type(mine).__name__ == type(reference).__name__ == "TrainOutput"
    assert mine._fields == reference._fields == ("global_step", "training_loss", "metrics")
    assert mine.global_step == reference.global_step == 4 and isinstance(mine.training_loss, float)
    assert sorted(mine.metrics) == sorted(reference.metrics)
    for key, value in mine.metrics.items():
        assert isinstance(value, type(reference.metrics[key])), key
    # after training, the optimizer's learning rates are still there to read
    rates = [run["trainer"].get_learning_rates() for run in (theirs, ours)]
    assert rates[1] == pytest.approx(rates[0])


def test_what_callbacks_set_in_the_control_is_done(folders, tmp_path):
    # a save and an evaluation asked for at step 1, which cuts its epoch short (of 2 steps), the run stopped
    # at step 3; with gradient accumulation (on_substep_end between a step's batches)
    actions = {
        ("on_step_end", 1): ["should_save", "should_evaluate", "should_epoch_stop"],
        ("on_step_end", 3): ["should_training_stop"],
    }
    arguments = {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "num_train_epochs": 3}
    theirs, ours = both("st", folders["st"], tmp_path, actions, **arguments)
    assert_same_events(theirs, ours)
    names = [e["event"] for e in ours["events"]]
    assert "on_substep_end" in names and names.count("on_epoch_begin") == 2
    assert ours["output"].global_step == theirs["output"].global_step == 3
    saved = [e["global_step"] for e in ours["events"] if e["event"] == "on_save"]
    assert saved[0] == 1


def test_early_stopping_stops_where_sentence_transformers_stops(folders, tmp_path):
    from transformers import EarlyStoppingCallback

    # a falling eval loss counted as worse (greater_is_better): no improvement after the first evaluation
    arguments = {
        "eval_steps": 1,
        "save_steps": 1,
        "load_best_model_at_end": True,
        "metric_for_best_model": "eval_loss",
        "greater_is_better": True,
    }
    early = [lambda: EarlyStoppingCallback(early_stopping_patience=1)]
    theirs, ours = both("st", folders["st"], tmp_path, extra=early, **arguments)
    assert_same_events(theirs, ours)
    assert ours["output"].global_step == theirs["output"].global_step == 2  # the second evaluation is worse
    best = [run["trainer"].state.best_metric for run in (theirs, ours)]
    assert best[1] == pytest.approx(best[0], rel=1e-4)
    assert [run["trainer"].state.best_global_step for run in (theirs, ours)] == [1, 1]
