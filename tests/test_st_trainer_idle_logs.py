"""What sentence-transformers 6.3's trainers (Hugging Face's trainer) log and tell callbacks when
``evaluate()`` or ``predict()`` runs outside a training run, before or after ``train()``: each evaluation is
logged (``state.log_history``, ``on_log`` with the epoch, printed with ``disable_tqdm``) and then told to
``on_evaluate``, after an ``on_prediction_step`` per batch; ``predict()`` logs nothing and calls
``on_predict``. Each run is made with both libraries and the recordings compared (timings by key only)."""

from __future__ import annotations

import ast

import pytest
from test_trainer_callback_events import TIMINGS, WORDS, _names, assert_same_events, recorder

PREPARATION = "_model_preparation_time"  # a timing there, 0.0 in sbert (no model to prepare)


def _data():
    from datasets import Dataset

    return Dataset.from_dict({"s1": WORDS[:8], "s2": WORDS[2:10], "score": [i / 7 for i in range(8)]})


def _calls(lib, folder, out, *, train: bool, evaluator: bool = False) -> dict:
    """evaluate() (the trainer's data, another under another prefix, a dict of two) and predict(), before
    or after a 2-step run with ``lib``: the results, the history and the callback's recording from there."""
    names = _names(lib, "st")
    model = names["model"](str(folder), device="cpu")
    data = _data()
    scorer = None
    if evaluator:
        scores = [0.1, 0.9, 0.4, 0.5, 0.2, 0.7]
        scorer = names["evaluation"].EmbeddingSimilarityEvaluator(WORDS[:6], WORDS[6:], scores, name="dev")
    settings = {"output_dir": str(out), "per_device_train_batch_size": 4, "per_device_eval_batch_size": 4}
    settings.update(max_steps=2, logging_steps=1, save_strategy="no", disable_tqdm=True, report_to="none")
    recording = recorder()
    trainer = names["trainer"](
        model=model,
        args=names["args"](**settings),
        train_dataset=data,
        eval_dataset=None if evaluator else data.select(range(4)),
        loss=names["losses"].CoSENTLoss(model),
        evaluator=scorer,
        callbacks=[recording],
    )
    if train:
        trainer.train()
    seen, logged = len(recording.events), len(trainer.state.log_history)
    results = [trainer.evaluate()]
    if not evaluator:
        results.append(trainer.evaluate(eval_dataset=data.select(range(4, 8)), metric_key_prefix="test"))
        results.append(
            trainer.evaluate(eval_dataset={"x": data.select(range(2)), "y": data.select(range(3))})
        )
        results.append(trainer.predict(data.select(range(5))).metrics)
    events = recording.events[seen:]
    return {"results": results, "history": trainer.state.log_history[logged:], "events": events}


def _assert_same(mine: list[dict], theirs: list[dict]) -> None:
    """The same keys in the same order; values within 1e-5, timings floats only."""
    assert [list(r) for r in mine] == [list(r) for r in theirs]
    for record, reference in zip(mine, theirs):
        for key, value in reference.items():
            if key.endswith((*TIMINGS, PREPARATION)):
                assert isinstance(record[key], float), key
            else:
                assert record[key] == pytest.approx(value, rel=1e-5, abs=1e-5), key


@pytest.mark.parametrize("train", [False, True], ids=["before-train", "after-train"])
def test_evaluate_outside_a_run_is_logged_and_told_to_callbacks(dropout_free_st, tmp_path, capsys, train):
    theirs = _calls("st", dropout_free_st, tmp_path / "st", train=train)
    printed_theirs = capsys.readouterr().out
    ours = _calls("sbert", dropout_free_st, tmp_path / "sbert", train=train)
    printed_ours = capsys.readouterr().out
    _assert_same(ours["results"], theirs["results"])
    _assert_same(ours["history"], theirs["history"])
    assert [r["epoch"] for r in ours["history"]] == [1.0 if train else 0] * 4
    assert_same_events(theirs, ours)
    names = [e["event"] for e in ours["events"]]
    assert names.count("on_log") == names.count("on_evaluate") == 4 and names[-1] == "on_predict"
    # each evaluation printed as the run's records are (4 significant digits), the epoch last
    shown = [
        [ast.literal_eval(line) for line in text.splitlines() if line.startswith("{")]
        for text in (printed_ours, printed_theirs)
    ]
    assert [list(r) for r in shown[0]] == [list(r) for r in shown[1]]
    assert [list(r)[-1] for r in shown[0][-4:]] == ["epoch"] * 4


def test_evaluator_only_evaluate_returns_the_epoch_it_logs(dropout_free_st, tmp_path):
    theirs = _calls("st", dropout_free_st, tmp_path / "st", train=False, evaluator=True)
    ours = _calls("sbert", dropout_free_st, tmp_path / "sbert", train=False, evaluator=True)
    _assert_same(ours["results"], theirs["results"])
    _assert_same(ours["history"], theirs["history"])
    assert_same_events(theirs, ours)
