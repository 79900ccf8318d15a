"""Scenarios from sentence-transformers' own cross-encoder and sparse-encoder suites, run against it (6.3) on
tiny offline folders: a CrossEncoder loaded in bfloat16 keeps every parameter in that dtype (its classifier
head included), so a plain forward of ``model.model`` runs as there; re-saving a pre-4.0 CrossEncoder folder
drops its old ``sbert_ce_default_activation_function`` key, as there; an ``MLMTransformer`` made by the caller
logs sentence-transformers 6's deprecation notice on its logger, and one loaded from a folder does not."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import sentence_transformers as st
import torch
from conftest import build_tiny_classifier

import sbert

PAIRS = [["a man is eating pasta.", "a man eats food."], ["a girl", "the girl carries a baby."]]
MLM_LOGGER = "sentence_transformers.sparse_encoder.modules.mlm_transformer"


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("stsuite-ce") / "ce", num_labels=1)


def test_bfloat16_cross_encoder_keeps_its_head_in_bfloat16(classifier):
    kwargs = {"model_kwargs": {"torch_dtype": torch.bfloat16}, "device": "cpu"}
    ours, theirs = sbert.CrossEncoder(str(classifier), **kwargs), st.CrossEncoder(str(classifier), **kwargs)
    dtypes = {name: p.dtype for name, p in ours.model.named_parameters()}
    assert dtypes == {name: p.dtype for name, p in theirs.model.named_parameters()}
    features = theirs.tokenizer(*zip(*PAIRS), padding=True, return_tensors="pt")
    with torch.no_grad():  # the forward a training loop or a client runs on the transformers model
        logits = ours.model(**features).logits
        assert torch.equal(logits, theirs.model(**features).logits)
    # within bfloat16's rounding (sbert's CPU path skips the padding)
    np.testing.assert_allclose(ours.predict(PAIRS), theirs.predict(PAIRS), atol=2e-2)


def test_resaving_a_pre_4_cross_encoder_drops_its_old_activation_key(classifier, tmp_path):
    old = tmp_path / "old"
    st.CrossEncoder(str(classifier), device="cpu").save_pretrained(str(old))
    for name in ("config_sentence_transformers.json", "modules.json", "sentence_bert_config.json"):
        (old / name).unlink()  # a plain transformers folder whose config.json names the activation
    config = json.loads((old / "config.json").read_text())
    config["sbert_ce_default_activation_function"] = "torch.nn.modules.activation.Tanh"
    (old / "config.json").write_text(json.dumps(config))
    saved = {}
    for lib in (sbert, st):
        model = lib.CrossEncoder(str(old), device="cpu")
        assert type(model.activation_fn) is torch.nn.Tanh
        model.save_pretrained(str(tmp_path / lib.__name__))
        saved[lib] = json.loads((tmp_path / lib.__name__ / "config.json").read_text())
        activation = json.loads((tmp_path / lib.__name__ / "config_sentence_transformers.json").read_text())
        assert activation["activation_fn"] == "torch.nn.modules.activation.Tanh"
    assert "sbert_ce_default_activation_function" not in saved[st]
    assert "sbert_ce_default_activation_function" not in saved[sbert]


def _notices(caplog, make):
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        make()
    return [(r.name, r.getMessage()) for r in caplog.records if "MLMTransformer" in r.getMessage()]


def test_mlm_transformer_made_by_the_caller_logs_the_deprecation(masked_lm, tmp_path, caplog):
    from sentence_transformers.sparse_encoder.modules import MLMTransformer as Theirs
    from sentence_transformers.sparse_encoder.modules import SpladePooling as TheirPooling

    from sbert.sparse_encoder.modules import MLMTransformer, SpladePooling

    theirs = _notices(caplog, lambda: Theirs(str(masked_lm)))
    assert theirs and theirs[0][0] == MLM_LOGGER
    assert _notices(caplog, lambda: MLMTransformer(str(masked_lm))) == theirs
    assert _notices(caplog, lambda: MLMTransformer(str(masked_lm))) == theirs  # each time, as there
    model = sbert.SparseEncoder(modules=[MLMTransformer(str(masked_lm)), SpladePooling("max")], device="cpu")
    model.save_pretrained(str(tmp_path / "ours"))
    st.SparseEncoder(modules=[Theirs(str(masked_lm)), TheirPooling("max")], device="cpu").save_pretrained(
        str(tmp_path / "theirs")
    )
    for folder in ("ours", "theirs"):  # loading a saved folder is silent in both
        assert _notices(caplog, lambda f=folder: sbert.SparseEncoder(str(tmp_path / f), device="cpu")) == []
        assert _notices(caplog, lambda f=folder: st.SparseEncoder(str(tmp_path / f), device="cpu")) == []
        assert _notices(caplog, lambda f=folder: MLMTransformer.load(str(tmp_path / f))) == []
