"""Client libraries' own test suites subclass ``SentenceTransformer`` with doubles that skip its ``__init__``
(mteb's ``MockSentenceTransformer`` sets ``self._modules = {}`` and overrides ``encode``); mteb then copies,
prints and pickles them. Such a double must behave as it does on sentence-transformers' class."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import sentence_transformers

import sbert


def _fixed_embeddings(sentences):
    return np.random.RandomState(42).randn(len(sentences), 10)


class STDouble(sentence_transformers.SentenceTransformer):
    prompts: dict = {}

    def __init__(self):
        self._modules = {}

    def encode(self, sentences, **kwargs):
        return _fixed_embeddings(sentences)


class SbertDouble(sbert.SentenceTransformer):
    prompts: dict = {}

    def __init__(self):
        self._modules = {}

    def encode(self, sentences, **kwargs):
        return _fixed_embeddings(sentences)


def _behaviour(double):
    copied, restored = copy.deepcopy(double), pickle.loads(pickle.dumps(double))
    return {
        "modules": double._modules,
        "repr": repr(double).replace(type(double).__name__, "Double"),
        "copy_encodes": copied.encode(["a", "b"]).tolist(),
        "pickle_encodes": restored.encode(["a"]).tolist(),
        "copy_modules": copied._modules,
    }


def test_double_that_skips_init_behaves_like_sentence_transformers():
    assert _behaviour(SbertDouble()) == _behaviour(STDouble())
