"""Which token features a CrossEncoder and a SparseEncoder feed their encoder, against sentence-transformers
6.3: ``token_type_ids`` only where the model's forward takes them and transformers 5's tokenizer of the
folder's saved class makes them (a BERT folder saved with ``PreTrainedTokenizerFast`` / ``TokenizersBackend``
gets none, so its pairs read as one segment), on torch and ONNX, for pairs, single texts and the features
``preprocess`` / ``tokenize`` give."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, build_tiny_masked_lm, with_tokenizer_class

import sbert

PAIRS = [("a cat sits", "the dog runs far away"), ("hello", "world is big")]
TEXTS = ["a cat sits on the mat", "hello world"]
# the saved tokenizer class (None: tokenizer_config.json names none, so the model's forward decides)
CLASSES = ["BertTokenizer", "PreTrainedTokenizerFast", "TokenizersBackend", None]


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokentypes-ce")
    return {name: with_tokenizer_class(build_tiny_classifier(root / f"ce-{name}"), name) for name in CLASSES}


@pytest.fixture(scope="module")
def masked_lms(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokentypes-mlm")
    return {name: with_tokenizer_class(build_tiny_masked_lm(root / f"mlm-{name}"), name) for name in CLASSES}


def _keys(features) -> list[str]:
    return [key for key in features if key != "modality"]


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_cross_encoder_scores_and_features(classifiers, name, backend):
    from sentence_transformers import CrossEncoder

    folder = str(classifiers[name])
    reference = CrossEncoder(folder)
    ours = sbert.CrossEncoder(folder, backend=backend)
    np.testing.assert_allclose(ours.predict(PAIRS), reference.predict(PAIRS), atol=1e-5)
    np.testing.assert_allclose(ours.predict(TEXTS[0]), reference.predict(TEXTS[0]), atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tokenize's deprecation notice
        assert _keys(ours.preprocess(PAIRS)) == _keys(reference.preprocess(PAIRS))
    if backend == "torch":  # the features feed the model as sentence-transformers' do
        with torch.no_grad():
            mine = ours.model(**{k: v for k, v in ours.preprocess(PAIRS).items() if k != "modality"}).logits
            theirs = reference.model(
                **{k: v for k, v in reference.preprocess(PAIRS).items() if k != "modality"}
            ).logits
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_sparse_encoder_features(masked_lms, name, backend):
    from sentence_transformers import SparseEncoder

    folder = str(masked_lms[name])
    reference = SparseEncoder(folder)
    ours = sbert.SparseEncoder(folder, backend=backend)
    expected = reference.encode(TEXTS, convert_to_tensor=True).to_dense().numpy()
    got = ours.encode(TEXTS, convert_to_tensor=True).to_dense().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _keys(ours.tokenize(TEXTS)) == _keys(reference.tokenize(TEXTS))
        assert _keys(ours.preprocess(TEXTS)) == _keys(reference.preprocess(TEXTS))
