"""The log records sentence-transformers 6.3's trainers show on the console, as Hugging Face's trainer shows
them: each loss record, evaluation and the run's summary as a dict of 4-digit strings, printed with
``disable_tqdm=True``, else written above the training bar (``tqdm.write``, to stdout); a long string is
elided above the bar only, and ``total_flos`` never shown (printed, it leaves ``train()``'s metrics too). Each
run is made with both libraries on a dropout-free tiny model; timings are compared by key only. sbert's own
Trainer shows none of these (its records are in ``metrics.jsonl``)."""

from __future__ import annotations

import ast
import importlib
import math
import re

import pytest
from conftest import classic_pooling, torch_model, train_args

import sbert

S1 = ["a sunny day outside", "the cat sat on the mat", "a man plays guitar", "the dog runs fast"]
S2 = ["it is sunny", "a cat on a mat", "someone plays music", "a slow dog"]
NOTE = "n" * 120  # longer than the progress bar's max_str_len (100)


def run(lib, folder, out, *, disable_tqdm: bool | None) -> dict:
    """Two logged steps, an evaluation at the last; a callback adds a long string to each record
    (``disable_tqdm=None``: not given, the default)."""
    from datasets import Dataset
    from transformers import TrainerCallback

    class Note(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs["note"] = NOTE

    model = lib.SentenceTransformer(str(folder), device="cpu")
    pairs = Dataset.from_dict({"anchor": S1, "positive": S2})
    losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")
    args = lib.SentenceTransformerTrainingArguments(
        output_dir=str(out),
        max_steps=2,
        per_device_train_batch_size=2,
        per_device_eval_batch_size=2,
        logging_steps=1,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="no",
        report_to="none",
        seed=1,
        **({} if disable_tqdm is None else {"disable_tqdm": disable_tqdm}),
    )
    trainer = lib.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=pairs,
        eval_dataset=pairs,
        loss=losses.MultipleNegativesRankingLoss(model),
        callbacks=[Note()],
    )
    return trainer.train().metrics


def shown(text: str) -> list[dict]:
    return [ast.literal_eval(line) for line in text.splitlines() if line.startswith("{")]


def assert_same_records(ours: list[dict], theirs: list[dict]) -> None:
    assert [list(r) for r in ours] == [list(r) for r in theirs]
    for mine, ref in zip(ours, theirs):
        for key, value in ref.items():
            if key.endswith(("_runtime", "_per_second")):
                continue
            if isinstance(value, str) and value[:1].isdigit():  # a float, 4 significant digits
                assert math.isclose(float(mine[key]), float(value), rel_tol=1e-3), key
            else:
                assert mine[key] == value, key


@pytest.mark.parametrize("disable_tqdm", [True, False], ids=["printed", "above-bar"])
def test_records_shown_as_sentence_transformers(dropout_free_st, tmp_path, capsys, disable_tqdm):
    import sentence_transformers

    theirs_metrics = run(sentence_transformers, dropout_free_st, tmp_path / "st", disable_tqdm=disable_tqdm)
    theirs = capsys.readouterr()
    ours_metrics = run(sbert, dropout_free_st, tmp_path / "sbert", disable_tqdm=disable_tqdm)
    ours = capsys.readouterr()
    records = shown(theirs.out)
    # two loss records, the evaluation and the summary, each with the callback's note
    assert [next(iter(r)) for r in records] == ["loss", "loss", "eval_loss", "train_runtime"]
    elided = "[String too long to display, length: 120 > 100. Consider increasing `max_str_len` if needed.]"
    assert {r["note"] for r in records} == {NOTE if disable_tqdm else elided}
    assert_same_records(shown(ours.out), records)
    assert not shown(ours.err) and not shown(theirs.err)  # the bar goes to stderr, the records do not
    if not disable_tqdm:
        assert "2/2" in ours.err and "2/2" in theirs.err  # the bar was shown
    assert list(ours_metrics) == list(theirs_metrics)  # total_flos: kept above a bar only


def test_no_bars_by_default_when_transformers_logs_errors_only(dropout_free_st, tmp_path, capsys):
    """``disable_tqdm`` not given: Hugging Face's default, no bars (records printed) when transformers'
    logging is set above warnings (``transformers.logging.set_verbosity_error()``)."""
    import sentence_transformers
    import transformers

    before = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        arguments = [
            lib.SentenceTransformerTrainingArguments(str(tmp_path)) for lib in (sentence_transformers, sbert)
        ]
        run(sentence_transformers, dropout_free_st, tmp_path / "st", disable_tqdm=None)
        theirs = capsys.readouterr()
        run(sbert, dropout_free_st, tmp_path / "sbert", disable_tqdm=None)
        ours = capsys.readouterr()
    finally:
        transformers.logging.set_verbosity(before)
    assert arguments[1].disable_tqdm is arguments[0].disable_tqdm is True
    assert len(shown(theirs.out)) == 4  # the records printed, as with disable_tqdm=True
    assert_same_records(shown(ours.out), shown(theirs.out))
    assert "2/2" not in ours.err and "2/2" not in theirs.err  # no bar


# a tqdm frame: description, percent, bar, n/total, then [elapsed<remaining, rate unit, postfix]
FRAME = re.compile(
    r"(?P<desc>[^\r\n]*?)\s*\d+%\|[^|]*\| (?P<count>\d+/\d+) \[[^,\]]*, *(?P<rate>[^,\]]*)(?P<post>[^\]]*)\]"
)


def bar_frames(err: str) -> list[tuple[str, str, str, str]]:
    """The training bar's frames, timings left out: description, count, unit, postfix (a rate reads
    ``?it/s``, ``1.2it/s`` or ``3.4s/it``: the unit is the same)."""
    frames = []
    for found in FRAME.finditer(err):
        unit = re.sub(r"[\d.?]+", "", found["rate"]).replace("s/", "/s").removeprefix("/s").removesuffix("/s")
        frame = (found["desc"].strip(), found["count"], unit, found["post"].strip(" ,"))
        if not frames or frames[-1] != frame:
            frames.append(frame)
    return frames


def test_training_bar_as_hugging_faces(dropout_free_st, tmp_path, capsys):
    """sentence-transformers' trainers show Hugging Face's training bar (``ProgressCallback``): no
    description, tqdm's ``it`` unit, no loss on it (the records are written above it)."""
    from datasets import Dataset

    seen = []
    for lib in (importlib.import_module("sentence_transformers"), sbert):
        model = lib.SentenceTransformer(str(dropout_free_st), device="cpu")
        losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")
        args = lib.SentenceTransformerTrainingArguments(
            str(tmp_path / lib.__name__),
            max_steps=2,
            per_device_train_batch_size=2,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=False,
        )
        pairs = Dataset.from_dict({"anchor": S1, "positive": S2})
        loss = losses.MultipleNegativesRankingLoss(model)
        trainer = lib.SentenceTransformerTrainer(model=model, args=args, train_dataset=pairs, loss=loss)
        capsys.readouterr()  # (the bars of loading and of the card's widget examples)
        trainer.train()
        seen.append(capsys.readouterr())
    theirs, ours = (bar_frames(captured.err) for captured in seen)
    assert theirs[0] == ("", "0/2", "it", "") and theirs[-1][1] == "2/2"
    assert ours == theirs
    assert len(shown(ours_out := seen[1].out)) == len(shown(seen[0].out)) == 3  # two losses, the summary
    assert "loss" not in seen[1].err and "loss" in ours_out


@pytest.mark.parametrize("bar", [False, True])
def test_sbert_trainer_shows_no_records(tiny_st_factory, tmp_path, capsys, bar):
    model = torch_model(tiny_st_factory(classic_pooling(32, "mean")))
    data = sbert.load_dataset(list(zip(S1, S2)), name="pairs")
    args = train_args(tmp_path, batch_size=2, show_progress_bar=bar)
    sbert.Trainer(model, data, sbert.MultipleNegativesRankingLoss(model), args=args).train()
    captured = capsys.readouterr()
    assert (tmp_path / "metrics.jsonl").read_text().count("loss") >= 2
    assert not shown(captured.out) and not shown(captured.err)
    if bar:  # sbert's own bar: named, in steps, with the loss
        frames = bar_frames(captured.err)
        assert frames[0] == ("Training:", "0/2", "step", "")
        assert frames[-1][:3] == ("Training:", "2/2", "step")
        assert frames[-1][3].startswith("loss=")
