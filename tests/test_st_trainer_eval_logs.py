"""What sbert's sentence-transformers trainers log and tell callbacks as sentence-transformers 6.3 (Hugging
Face's trainer) does: a dict of eval datasets evaluated one dataset after the other, each its own record;
``logging_strategy="epoch"`` logging after ``on_epoch_end``; prompts keyed by dataset names refused only when
a single training dataset is trained. Each run is made with both libraries and compared."""

from __future__ import annotations

import pytest
from test_trainer_callback_events import TIMINGS, WORDS, _names, assert_same_events, recorder


def _data():
    from datasets import Dataset

    return Dataset.from_dict({"s1": WORDS[:8], "s2": WORDS[2:10], "score": [i / 7 for i in range(8)]})


def _run(lib, folder, out, eval_dataset, evaluate=False, prompts=None, **arguments):
    """A 4-step run (2 epochs of 2 steps) with ``lib``: the trainer and the callback's recording."""
    names = _names(lib, "st")
    model = names["model"](str(folder), device="cpu")
    evaluator = None
    if evaluate:
        scores = [0.1, 0.9, 0.4, 0.5, 0.2, 0.7]
        evaluator = names["evaluation"].EmbeddingSimilarityEvaluator(WORDS[:6], WORDS[6:], scores, name="dev")
    settings = {"output_dir": str(out), "per_device_train_batch_size": 4, "per_device_eval_batch_size": 4}
    settings.update(num_train_epochs=2, logging_steps=2, eval_strategy="steps", eval_steps=2, seed=42)
    settings.update(save_strategy="no", disable_tqdm=True, report_to="none", prompts=prompts)
    recording = recorder()
    trainer = names["trainer"](
        model=model,
        args=names["args"](**{**settings, **arguments}),
        train_dataset=_data(),
        eval_dataset=eval_dataset,
        loss=names["losses"].CoSENTLoss(model),
        evaluator=evaluator,
        callbacks=[recording],
    )
    trainer.train()
    return {"trainer": trainer, "events": recording.events}


def _both(folder, tmp_path, eval_dataset, **options):
    return [_run(lib, folder, tmp_path / lib, eval_dataset, **options) for lib in ("st", "sbert")]


def _assert_same_records(mine: list[dict], theirs: list[dict]) -> None:
    """The same records in the same order, with the same keys; values within 1e-5 (relative for the large
    gradient norm), timings floats only."""
    assert [sorted(r) for r in mine] == [sorted(r) for r in theirs]
    for record, reference in zip(mine, theirs):
        for key, value in reference.items():
            if key.endswith(TIMINGS):
                assert isinstance(record[key], float), key
            else:
                assert record[key] == pytest.approx(value, rel=1e-5, abs=1e-5), key


@pytest.mark.parametrize("kind", ["DatasetDict", "dict"])
def test_each_eval_dataset_of_a_dict_is_logged_and_evaluated_on_its_own(dropout_free_st, tmp_path, kind):
    from datasets import DatasetDict

    data = _data()
    evals = {"a": data.select(range(4)), "b": data.select(range(4, 8))}
    evals = DatasetDict(evals) if kind == "DatasetDict" else evals
    theirs, ours = _both(dropout_free_st, tmp_path, evals, evaluate=kind == "DatasetDict")
    assert_same_events(theirs, ours)
    histories = [run["trainer"].state.log_history for run in (theirs, ours)]
    _assert_same_records(histories[1], histories[0])
    evaluations = [r for r in histories[1] if any(k.startswith("eval_") for k in r)]
    assert ["eval_a_loss" in r for r in evaluations] == [True, False, True, False]
    assert all("eval_b_runtime" in r for r in evaluations[1::2])
    # evaluate() after training: each dataset on its own (with the evaluator, prefixed by its name)
    results = [run["trainer"].evaluate() for run in (theirs, ours)]
    _assert_same_records([results[1]], [results[0]])
    assert "epoch" not in results[1] and "eval_a_runtime" in results[1]


def test_epoch_logging_comes_after_the_epoch_end(dropout_free_st, tmp_path):
    data = _data()
    arguments = {"logging_strategy": "epoch", "eval_strategy": "epoch"}
    theirs, ours = _both(dropout_free_st, tmp_path, data.select(range(4)), **arguments)
    assert_same_events(theirs, ours)
    names = [(e["event"], e["global_step"]) for e in ours["events"]]
    assert names.index(("on_log", 2)) == names.index(("on_epoch_end", 2)) + 1
    histories = [run["trainer"].state.log_history for run in (theirs, ours)]
    _assert_same_records(histories[1], histories[0])
    assert [(r["step"], r["epoch"]) for r in histories[1] if "loss" in r] == [(2, 1.0), (4, 2.0)]
    results = [run["trainer"].evaluate() for run in (theirs, ours)]
    _assert_same_records([results[1]], [results[0]])


def test_prompts_keyed_by_dataset_names_are_refused_when_a_single_dataset_trains(dropout_free_st, tmp_path):
    prompts = {"ds1": {"s1": "P: "}, "ds2": {"s2": "Q: "}}
    errors = []
    for lib in ("st", "sbert"):
        names = _names(lib, "st")
        model = names["model"](str(dropout_free_st), device="cpu")
        args = names["args"](str(tmp_path / lib), prompts=prompts, report_to="none", disable_tqdm=True)
        trainer = names["trainer"](  # made without error, as there
            model=model, args=args, train_dataset=_data(), loss=names["losses"].CoSENTLoss(model)
        )
        with pytest.raises(ValueError, match="are a nested dictionary") as caught:
            trainer.train()
        errors.append(str(caught.value))
    assert errors[1].startswith(errors[0])
