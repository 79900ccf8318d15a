"""sentence-transformers 6.3 names that code imports beyond the model classes: the argument decorators, a
model's declared version requirements, the shared base classes, the model-card callbacks, ``install_logger``
and the cross-encoder's module path; each compared with sentence-transformers' own."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import shutil

import pytest
from conftest import classic_pooling

import sbert


def _recorder():
    """A function that returns what it was called with, to decorate."""

    def call(self, *args, **kwargs):
        return args, kwargs

    return call


def _both(decorator_name, function):
    ours = getattr(importlib.import_module("sbert.util.decorators"), decorator_name)
    theirs = getattr(importlib.import_module("sentence_transformers.util.decorators"), decorator_name)
    return ours(function), theirs(function)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("name", 2, 128), {}),
        (("name",), {"automodel_args": {"a": 1}, "tokenizer_kwargs": {"b": 2}, "config_args": {"c": 3}}),
        (("name",), {"model_name": "x", "cache_dir": "/c", "default_activation_function": "f"}),
        ((), {"classifier_dropout": 0.3, "config_kwargs": {"d": 4}}),
        (("name", 3), {"num_labels": 5, "tokenizer_args": {"e": 5}, "processor_kwargs": {"f": 6}}),
    ],
)
def test_cross_encoder_init_decorator_passes_on_what_sentence_transformers_does(args, kwargs):
    ours, theirs = _both("cross_encoder_init_args_decorator", _recorder())
    assert ours(None, *args, **kwargs) == theirs(None, *args, **kwargs)


@pytest.mark.parametrize("method", ["predict", "rank"])
def test_predict_and_rank_decorator_renames_and_drops_as_sentence_transformers(method):
    def predict(self, inputs=None, activation_fn=None, convert_to_numpy=True, **kwargs):
        return inputs, activation_fn, convert_to_numpy, kwargs

    def rank(self, query=None, documents=None, activation_fn=None, **kwargs):
        return query, documents, activation_fn, kwargs

    function = {"predict": predict, "rank": rank}[method]
    ours, theirs = _both("cross_encoder_predict_rank_args_decorator", function)
    older = {"activation_fct": "f", "num_workers": 2, "convert_to_numpy": False, "convert_to_tensor": True}
    if method == "predict":
        older["sentences"] = [("a", "b")]
    else:
        older["apply_softmax"] = True
    assert ours(None, **older) == theirs(None, **older)
    assert ours.__name__ == method  # functools.wraps: the method keeps its name


@pytest.mark.parametrize(
    "kwargs",
    [
        {"model_args": {"a": 1}, "tokenizer_args": {"b": 2}, "config_args": {"c": 3}},
        {"cache_dir": "/c", "model_kwargs": {"cache_dir": "/own", "x": 1}},
        {"cache_dir": None, "processor_kwargs": {"y": 2}},
    ],
)
def test_transformer_kwargs_decorator_matches(kwargs):
    ours, theirs = _both("transformer_kwargs_decorator", _recorder())
    assert ours(None, "path", **kwargs) == theirs(None, "path", **kwargs)


def test_deprecated_kwargs_and_save_to_hub_decorators_match():
    from sentence_transformers.util import decorators as reference

    from sbert.util import decorators

    def target(**kwargs):
        return kwargs

    for calls in ({"old": 1}, {"old": 1, "new": 2}, {"other": 3}):
        ours = decorators.deprecated_kwargs(old="new")(target)(**calls)
        assert ours == reference.deprecated_kwargs(old="new")(target)(**calls)
    ours, theirs = _both("save_to_hub_args_decorator", _recorder())
    for args, kwargs in [
        (("repo",), {"repo_name": "r"}),
        (("repo", "org", True), {}),
        ((), {"repo_name": "r"}),
    ]:
        assert ours(None, *args, **kwargs) == theirs(None, *args, **kwargs)
    assert sbert.util.save_to_hub_args_decorator is decorators.save_to_hub_args_decorator
    from sbert.cross_encoder import util

    assert util.cross_encoder_init_args_decorator is decorators.cross_encoder_init_args_decorator


@pytest.mark.parametrize(
    "requirements",
    [
        None,
        {"numpy": ">=1.0"},
        {"numpy": "<1.0", "python": "<3"},
        {"no-such-package-xyz": ">=1"},
        {"numpy": ">>1"},  # unreadable: logged and skipped
        {"numpy": {"specifier": "<1", "reason": "needs the old API"}},
        {"pytorch": ">=1.0"},  # config_sentence_transformers.json's name for torch
        ["numpy"],  # not a mapping: logged and ignored
    ],
)
def test_check_version_requirements_raises_where_sentence_transformers_does(requirements):
    from sentence_transformers.util import check_version_requirements as reference

    def outcome(check):
        try:
            check(requirements, "m")
        except ImportError as e:
            lines = str(e).splitlines()  # "- <package><specifier> ..." per unmet requirement
            return sorted(line[2:].split()[0].rstrip(",") for line in lines if line.startswith("- "))
        return "ok"

    ours = outcome(sbert.util.check_version_requirements)
    assert ours == outcome(reference)
    if ours != "ok":  # each unmet requirement named, with the command that fixes it
        with pytest.raises(ImportError, match=r"(?s)'m'.*pip install -U|python<3"):
            sbert.util.check_version_requirements(requirements, "m")


@pytest.fixture(scope="module")
def tiny_folder(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


def _with_requirements(folder, tmp_path, requirements):
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    config_path = copy / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    config_path.write_text(json.dumps({**config, "requirements": requirements}))
    return copy


def test_a_model_whose_requirements_are_unmet_fails_to_load_as_there(tiny_folder, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference

    folder = _with_requirements(tiny_folder, tmp_path, {"numpy": "<1", "tokenizers": ">=0.1"})
    with pytest.raises(ImportError, match=r'numpy<1.*\n.*pip install -U "numpy<1"'):
        sbert.SentenceTransformer(str(folder), backend="torch")
    with pytest.raises(ImportError, match="numpy<1"):
        Reference(str(folder), device="cpu")
    with pytest.raises(ImportError, match="numpy<1"):
        sbert.CrossEncoder(str(folder), backend="torch")


def test_requirements_on_sentence_transformers_or_absent_packages_do_not_stop_sbert(tiny_folder, tmp_path):
    """sbert stands in for sentence-transformers, and its ONNX path needs neither torch nor transformers:
    a load checks the packages that are installed (sentence-transformers itself would refuse these)."""
    requirements = {"sentence-transformers": ">=99", "no-such-package-xyz": ">=1", "numpy": ">=1"}
    folder = _with_requirements(tiny_folder, tmp_path, requirements)
    model = sbert.SentenceTransformer(str(folder), backend="torch")
    reference = sbert.SentenceTransformer(str(tiny_folder), backend="torch")
    assert (model.encode(["a b c"]) == reference.encode(["a b c"])).all()


def test_shared_base_classes_hold_for_every_model_trainer_and_arguments_class():
    import sentence_transformers as st
    from sentence_transformers import base as st_base

    from sbert import base

    kinds = ["SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder"]
    for library, shared in ((sbert, base), (st, st_base)):  # the same relations in both libraries
        for kind in kinds:
            home = library.multi_vector_encoder if kind == "MultiVectorEncoder" else library
            model = getattr(home, kind)
            trainer = getattr(home, f"{kind}Trainer", None) or getattr(library, f"{kind}Trainer")
            arguments = getattr(home, f"{kind}TrainingArguments", None)
            arguments = arguments or getattr(library, f"{kind}TrainingArguments")
            assert issubclass(model, shared.BaseModel) and issubclass(model, shared.PeftAdapterMixin), kind
            assert issubclass(trainer, shared.BaseTrainer), kind
            assert issubclass(arguments, shared.BaseTrainingArguments), kind
        collator = library.sentence_transformer.SentenceTransformerDataCollator
        assert issubclass(collator, shared.BaseDataCollator)
        assert shared.NoDuplicatesBatchSampler.__name__ == "NoDuplicatesBatchSampler"
    assert importlib.import_module("sbert.base.model").BaseModel is base.BaseModel
    assert importlib.import_module("sbert.base.trainer").BaseTrainer is base.BaseTrainer


def test_model_card_callbacks_are_trainer_callbacks_of_one_base_as_there():
    from transformers import TrainerCallback

    paths = {
        "sentence_transformer.model_card": ["SentenceTransformerModelCardCallback", "ModelCardCallback"],
        "cross_encoder.model_card": ["CrossEncoderModelCardCallback"],
        "sparse_encoder.model_card": ["SparseEncoderModelCardCallback"],
        "multi_vector_encoder.model_card": ["MultiVectorEncoderModelCardCallback"],
    }
    for prefix in ("sbert", "sentence_transformers"):
        base = importlib.import_module(f"{prefix}.base.model_card").BaseModelCardCallback
        assert issubclass(base, TrainerCallback)
        for path, names in paths.items():
            for name in names:
                assert issubclass(getattr(importlib.import_module(f"{prefix}.{path}"), name), base), name
        card = importlib.import_module(f"{prefix}.sentence_transformer.model_card")
        assert issubclass(card.ModelCardCallback, card.SentenceTransformerModelCardCallback)
        assert "default_args_dict" in inspect.signature(base.__init__).parameters
    from sbert.base.model_card import BaseModelCardData

    for card_data in (sbert.CrossEncoderModelCardData, sbert.SparseEncoderModelCardData):
        assert issubclass(card_data, BaseModelCardData)


def test_install_logger_sets_the_level_a_handler_and_a_notice_level(capsys):
    from sbert.util.logging import LoggingHandler, install_logger

    assert LoggingHandler is sbert.LoggingHandler
    logger = logging.getLogger("sbert-test-install-logger")
    install_logger(logger, level=logging.INFO, fmt="%(levelname)s|%(message)s")
    assert logger.level == logging.INFO and logger.handlers
    logger.notice("between info and warning")  # the NOTICE level (25) the function adds
    logger.debug("not shown")
    assert logging.getLevelName(25) == "NOTICE"
    printed = capsys.readouterr().err
    assert "NOTICE|between info and warning" in printed and "not shown" not in printed


def test_cross_encoder_modules_path_holds_the_module_classes():
    from sbert.cross_encoder.modules import Dense, LogitScore, Router, Transformer
    from sbert.cross_encoder.modules.logit_score import LogitScore as by_file

    assert (Dense, Router, Transformer) == (sbert.Dense, sbert.Router, sbert.Transformer)
    assert by_file is LogitScore and LogitScore.__name__ == "LogitScore"
    reference = importlib.import_module("sentence_transformers.cross_encoder.modules")
    assert set(importlib.import_module("sbert.cross_encoder.modules").__all__) == set(reference.__all__)


def test_the_sentence_transformers_logger_settings_reach_sbert_records(caplog):
    """``logging.getLogger("sentence_transformers").setLevel(...)``, as scripts quiet sentence-transformers,
    quiets sbert's records too; its handlers see them."""
    theirs = logging.getLogger("sentence_transformers")
    ours = logging.getLogger("sbert.some_module")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    theirs.addHandler(handler)
    try:
        theirs.setLevel(logging.ERROR)
        ours.warning("quieted")
        theirs.setLevel(logging.INFO)
        ours.info("shown")
    finally:
        theirs.setLevel(logging.NOTSET)
        theirs.removeHandler(handler)
    assert [r.getMessage() for r in records] == ["shown"]
    assert "quieted" not in caplog.text


def test_gradient_checkpointing_on_a_model_without_an_encoder_is_a_no_op_as_there(caplog, monkeypatch):
    """A static-embedding model has nothing to recompute: sentence-transformers' enable does nothing, and so
    does sbert's (logged once), instead of refusing."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding as ReferenceStatic
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "[PAD]": 1, "a": 2, "b": 3}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    Reference(
        modules=[ReferenceStatic(tokenizer, embedding_dim=4)], device="cpu"
    ).gradient_checkpointing_enable()
    ours = sbert.SentenceTransformer(modules=[sbert.models.StaticEmbedding(tokenizer, embedding_dim=4)])
    monkeypatch.setattr(sbert._errors, "_LOGGED", set())  # logged once per process: whatever ran before
    with caplog.at_level(logging.WARNING, logger="sbert"):
        ours.gradient_checkpointing_enable()
        ours.activation_checkpointing_enable()
    assert "no module of this model supports it" in caplog.text
