"""A CrossEncoder whose tokenizer pads on the left scores on torch as sentence-transformers does: the
classifier head reads position 0, a pad token's state in a left-padded row, which sbert's padding-free
forward left at zero (the short pair scored 0.5 against 0.337 there)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import build_tiny_classifier
from sentence_transformers import CrossEncoder as ReferenceCrossEncoder

import sbert

PAIRS = [("a query", "some much longer document text here"), ("hi", "yo")]
TEMPLATE = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("left") / "classifier")


@pytest.mark.parametrize("chat", [False, True], ids=["plain", "chat-template"])
def test_left_padding_in_the_folder(tmp_path, classifier, chat):
    folder = shutil.copytree(classifier, tmp_path / "folder")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["padding_side"] = "left"
    if chat:
        config["chat_template"] = TEMPLATE
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    expected = ReferenceCrossEncoder(str(folder)).predict(PAIRS)
    scores = sbert.CrossEncoder(str(folder), backend="torch").predict(PAIRS)
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_left_padding_given_at_load(classifier):
    options = {"processor_kwargs": {"padding_side": "left"}}
    expected = ReferenceCrossEncoder(str(classifier), **options).predict(PAIRS)
    scores = sbert.CrossEncoder(str(classifier), backend="torch", **options).predict(PAIRS)
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_left_padding_per_call(classifier):
    options = {"processing_kwargs": {"text": {"padding_side": "left"}}}
    expected = ReferenceCrossEncoder(str(classifier)).predict(PAIRS, **options)
    scores = sbert.CrossEncoder(str(classifier), backend="torch").predict(PAIRS, **options)
    np.testing.assert_allclose(scores, expected, atol=1e-5)
