"""sentence-transformers' notices reach code that configures its loggers by name: each flow's warning
records go out on the logger sentence-transformers 6.3 uses for them (same name, same level), so a handler on
that module's logger sees them and ``logging.getLogger("sentence_transformers").setLevel(logging.ERROR)``
quiets them, with sbert as with sentence-transformers."""

from __future__ import annotations

import logging
import warnings

import pytest
from conftest import build_tiny_classifier

import sbert


class Records(logging.Handler):
    """Every record from sentence-transformers' and sbert's loggers that reaches where it is attached."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.name.split(".")[0] in ("sentence_transformers", "sbert"):
            self.records.append(record)


@pytest.fixture(scope="module")
def folders(tiny_st_factory, tmp_path_factory):
    from conftest import classic_pooling

    return {
        "st": tiny_st_factory(classic_pooling(32, "mean")),
        "ce": build_tiny_classifier(tmp_path_factory.mktemp("loggers") / "ce"),
        "out": tmp_path_factory.mktemp("loggers-out"),
    }


def _trainer_with_compute_metrics(lib, folders):
    import importlib

    import datasets

    losses = importlib.import_module(f"{lib.__name__}.losses")
    model = lib.SentenceTransformer(str(folders["st"]), device="cpu")
    data = datasets.Dataset.from_dict({"anchor": ["a", "b"], "positive": ["b", "a"]})
    args = lib.SentenceTransformerTrainingArguments(output_dir=str(folders["out"]), report_to="none")
    loss = losses.MultipleNegativesRankingLoss(model)
    lib.SentenceTransformerTrainer(model, args, data, loss=loss, compute_metrics=lambda p: {})


# flow -> what it does with a library (sentence_transformers or sbert) and the test's folders
FLOWS = {
    "prompt_and_prompt_name": lambda lib, f: lib.SentenceTransformer(str(f["st"]), device="cpu").encode(
        ["a cat"], prompt="x: ", prompt_name="query"
    ),
    "tokenize": lambda lib, f: lib.SentenceTransformer(str(f["st"]), device="cpu").tokenize(["a cat"]),
    "cross_encoder_of_a_sentence_transformer": lambda lib, f: lib.CrossEncoder(str(f["st"]), device="cpu"),
    "activation_fct": lambda lib, f: lib.CrossEncoder(str(f["ce"]), device="cpu").predict(
        [("a", "b")], activation_fct=None
    ),
    "tokenizer_args": lambda lib, f: lib.CrossEncoder(str(f["ce"]), device="cpu", tokenizer_args={}),
    "warmup_ratio": lambda lib, f: lib.SentenceTransformerTrainingArguments(
        output_dir=str(f["out"]), warmup_ratio=0.1, report_to="none"
    ),
    "compute_metrics": _trainer_with_compute_metrics,
}


def _run(flow, lib, folders, monkeypatch, *, on: str = "", level: int | None = None) -> list:
    """The records of ``flow`` at WARNING and above that reach a handler on logger ``on`` ("" the root),
    with the "sentence_transformers" logger's level set to ``level`` for the call."""
    monkeypatch.setattr("sbert._errors._LOGGED", set())  # once per process, as its warning_once
    logging.Logger.warning_once.cache_clear()  # sentence-transformers' (transformers') once-per-process cache
    handler, target = Records(), logging.getLogger(on or None)
    st_root = logging.getLogger("sentence_transformers")
    before = st_root.level
    target.addHandler(handler)
    if level is not None:
        st_root.setLevel(level)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            FLOWS[flow](lib, folders)
    finally:
        target.removeHandler(handler)
        st_root.setLevel(before)
    return sorted({(r.name, r.levelname) for r in handler.records if r.levelno >= logging.WARNING})


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_notices_go_out_on_sentence_transformers_logger_names(flow, folders, monkeypatch):
    """The (logger name, level) of each warning record equal sentence-transformers' own."""
    import sentence_transformers

    theirs = _run(flow, sentence_transformers, folders, monkeypatch)
    assert theirs, f"{flow}: sentence-transformers logs a notice here"
    assert _run(flow, sbert, folders, monkeypatch) == theirs


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_logger_settings_by_name_apply_as_there(flow, folders, monkeypatch):
    """A handler on the notice's own logger receives it, and setting the "sentence_transformers" logger to
    ERROR silences it, in both libraries."""
    import sentence_transformers

    ((name, _level),) = _run(flow, sentence_transformers, folders, monkeypatch)
    for lib in (sentence_transformers, sbert):
        assert _run(flow, lib, folders, monkeypatch, on=name) != [], (lib.__name__, name)
        assert _run(flow, lib, folders, monkeypatch, level=logging.ERROR) == [], lib.__name__
