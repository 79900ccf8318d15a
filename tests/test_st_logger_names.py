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
    # the embedding-quantization docs' scalar quantization of a few embeddings without calibration
    "quantize_few_embeddings": lambda lib, f: lib.quantize_embeddings(
        lib.SentenceTransformer(str(f["st"]), device="cpu").encode(["a cat", "a dog"]), precision="int8"
    ),
    "encode_uint8": lambda lib, f: lib.SentenceTransformer(str(f["st"]), device="cpu").encode(
        ["a cat", "a dog"], precision="uint8"
    ),
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


# --- sentence-transformers' INFO notices a user sees in a run: the save, the trainers' defaults, the
# evaluators' results. Each flow is (setup, act): setup builds what the notice needs from a library, act is
# the call whose records are compared, so the records of loading a model are not part of the comparison.


def _modules(lib, *names):
    import importlib

    return [importlib.import_module(f"{lib.__name__}.{name}") for name in names]


def _pairs_data(scored: bool = False):
    import datasets

    data = {"anchor": ["a cat", "a dog"], "positive": ["the cat", "the dog"]}
    return datasets.Dataset.from_dict(data | ({"score": [0.9, 0.1]} if scored else {}))


def _save(kind, folder):
    def setup(lib, f):
        model = getattr(lib, kind)(str(f[folder]), device="cpu")
        return lambda: model.save(str(f["out"] / kind))

    return setup


def _trainer_without(what):
    def setup(lib, f):
        (losses,) = _modules(lib, "losses")
        model = lib.SentenceTransformer(str(f["st"]), device="cpu")
        args = lib.SentenceTransformerTrainingArguments(output_dir=str(f["out"] / "args"), report_to="none")
        options = {"args": args} if what == "loss" else {"loss": losses.MultipleNegativesRankingLoss(model)}
        data = _pairs_data(scored=what == "loss")
        return lambda: lib.SentenceTransformerTrainer(model=model, train_dataset=data, **options)

    return setup


def _cross_encoder_trainer_without_loss(lib, f):
    import datasets

    (cross_encoder,) = _modules(lib, "cross_encoder")
    model = cross_encoder.CrossEncoder(str(f["ce"]), device="cpu")
    data = datasets.Dataset.from_dict({"q": ["a", "b"], "d": ["c", "d"], "label": [1.0, 0.0]})
    args = cross_encoder.CrossEncoderTrainingArguments(output_dir=str(f["out"] / "ce-args"), report_to="none")
    return lambda: cross_encoder.CrossEncoderTrainer(model=model, args=args, train_dataset=data)


def _compute_metrics(lib, f):
    return lambda: _trainer_with_compute_metrics(lib, f)


def _sts_evaluation(lib, f):
    (evaluation,) = _modules(lib, "sentence_transformer.evaluation")
    model = lib.SentenceTransformer(str(f["st"]), device="cpu")
    texts = ["a cat sits", "a dog runs", "the sun is out", "rain again"]
    evaluator = evaluation.EmbeddingSimilarityEvaluator(
        texts[:3], texts[1:], [0.2, 0.5, 0.9], name="sts-dev", similarity_fn_names=["cosine", "dot"]
    )
    return lambda: evaluator(model, epoch=1, steps=4)


def _correlation_evaluation(lib, f):
    (evaluation,) = _modules(lib, "cross_encoder.evaluation")
    model = lib.CrossEncoder(str(f["ce"]), device="cpu")
    pairs = [("a cat", "the cat"), ("a dog", "rain"), ("sun", "the sun is out")]
    evaluator = evaluation.CrossEncoderCorrelationEvaluator(pairs, [0.9, 0.1, 0.6], name="ce-dev")
    return lambda: evaluator(model)


INFO_FLOWS = {
    "save_sentence_transformer": _save("SentenceTransformer", "st"),
    "save_cross_encoder": _save("CrossEncoder", "ce"),
    "save_sparse_encoder": _save("SparseEncoder", "sparse"),
    "trainer_without_args": _trainer_without("args"),
    "trainer_without_loss": _trainer_without("loss"),
    "cross_encoder_trainer_without_loss": _cross_encoder_trainer_without_loss,
    "compute_metrics": _compute_metrics,
    "sts_evaluation": _sts_evaluation,
    "cross_encoder_correlation_evaluation": _correlation_evaluation,
}


@pytest.fixture(scope="module")
def info_folders(folders, tmp_path_factory):
    import sentence_transformers
    from conftest import build_tiny_masked_lm

    sparse = tmp_path_factory.mktemp("loggers-sparse") / "sparse"
    # a sparse-encoder folder (modules.json), so loading it is the same in both libraries
    mlm = build_tiny_masked_lm(sparse.with_name("mlm"))
    sentence_transformers.SparseEncoder(str(mlm), device="cpu").save(str(sparse))
    return {**folders, "sparse": sparse}


def _info_records(flow, lib, folders, monkeypatch) -> list:
    """(logger name, level, message) of each record at INFO and above on sentence-transformers' and sbert's
    loggers during the flow's act."""
    monkeypatch.setattr("sbert._errors._LOGGED", set())
    logging.Logger.warning_once.cache_clear()
    act = INFO_FLOWS[flow](lib, folders)
    handler, st_root = Records(), logging.getLogger("sentence_transformers")
    before = st_root.level
    st_root.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            act()
    finally:
        logging.getLogger().removeHandler(handler)
        st_root.setLevel(before)
    return [(r.name, r.levelname, r.getMessage()) for r in handler.records if r.levelno >= logging.INFO]


@pytest.mark.parametrize("flow", sorted(INFO_FLOWS))
def test_info_notices_are_sentence_transformers_records(flow, info_folders, monkeypatch):
    """The records sentence-transformers logs for a save, a trainer's default arguments or loss, and an
    evaluator's results: sbert logs the same ones, same logger, level and words, in the same order."""
    import sentence_transformers

    theirs = _info_records(flow, sentence_transformers, info_folders, monkeypatch)
    assert theirs, f"{flow}: sentence-transformers logs a notice here"
    assert _info_records(flow, sbert, info_folders, monkeypatch) == theirs
