"""Hooks on a model's submodules (``model[0]``, ``model[1]``, the encoder's layers, a CrossEncoder's module 0
and its classifier) and torch's global module hooks, on SentenceTransformer, CrossEncoder, SparseEncoder and
MultiVectorEncoder: each fires as in sentence-transformers 6.3 (one call per batch, its inputs and outputs,
its changes reaching the results), compared with sentence-transformers on the same tiny models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, classic_pooling
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

import sbert

TOL = 1e-6
# distinct lengths in characters: both libraries sort by length, so ties could batch differently
TEXTS = ["a", "the cat sat on the mat", "hello there", "dog", "what is the weather like today", "two words"]
PAIRS = [(TEXTS[i], TEXTS[-1 - i]) for i in range(len(TEXTS))]
LAYER = ("auto_model", "encoder", "layer", 0)


@pytest.fixture(scope="module")
def pairs(tiny_st_factory, tiny_bert, masked_lm, tmp_path_factory):
    """(sbert, sentence-transformers) models of each class on the same tiny folders, loaded once."""
    import sentence_transformers

    root = tmp_path_factory.mktemp("subhooks")
    sentence_transformers.SparseEncoder(str(masked_lm), device="cpu").save(str(root / "splade"))
    torch.manual_seed(0)
    sentence_transformers.MultiVectorEncoder(str(tiny_bert), device="cpu").save(str(root / "mve"))
    folders = {
        "SentenceTransformer": tiny_st_factory(classic_pooling(32, "mean")),
        "CrossEncoder": build_tiny_classifier(root / "ce"),
        "SparseEncoder": root / "splade",
        "MultiVectorEncoder": root / "mve",
    }
    load = {name: (getattr(sbert, name), getattr(sentence_transformers, name)) for name in folders}
    return {name: tuple(cls(str(f), device="cpu") for cls in load[name]) for name, f in folders.items()}


def _run(model, name):
    if name == "CrossEncoder":
        return [np.asarray(model.predict(PAIRS, batch_size=4))]
    out = model.encode(TEXTS, batch_size=4)
    if name == "SparseEncoder":
        return [out.to_dense().numpy()]
    return [np.asarray(x) for x in out] if name == "MultiVectorEncoder" else [np.asarray(out)]


def _submodule(model, path):
    for step in path:
        model = model[step] if isinstance(step, int) else getattr(model, step)
    return model


def _copy(value):
    """What a hook saw, kept: tensors cloned, mappings (a dict or a BatchEncoding) as a dict of copies."""
    if torch.is_tensor(value):
        return value.detach().clone()
    if hasattr(value, "keys") and hasattr(value, "items"):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_copy(v) for v in value]
    return value


def _assert_same(ours, theirs):
    if torch.is_tensor(theirs):
        assert torch.is_tensor(ours) and ours.shape == theirs.shape and ours.dtype == theirs.dtype
        torch.testing.assert_close(ours.float(), theirs.float(), atol=1e-5, rtol=0)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs)  # keys in sentence-transformers' order
        for key in theirs:
            _assert_same(ours[key], theirs[key])
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b)
    else:
        assert ours == theirs


def _hook(kind, target, seen):
    """Register a ``kind`` hook on ``target`` recording what it sees; its handle."""
    if kind == "forward":
        return target.register_forward_hook(lambda m, args, out: seen.append(_copy([args, out])))
    if kind == "pre":
        return target.register_forward_pre_hook(lambda m, args: seen.append(_copy(args)))
    if kind == "kwargs":

        def with_kwargs(m, args, kwargs, out):
            seen.append(_copy([args, kwargs, out]))

        return target.register_forward_hook(with_kwargs, with_kwargs=True)
    if kind == "global":  # torch's hook for every module, kept where it is given the target
        return register_module_forward_hook(lambda m, a, o: seen.append(_copy(o)) if m is target else None)
    if kind == "global_pre":
        return register_module_forward_pre_hook(lambda m, a: seen.append(_copy(a)) if m is target else None)
    if kind == "doubles":  # changes what the module gives: sentence-transformers' results change with it

        def doubles(m, args, out):
            seen.append(1)
            if torch.is_tensor(out):
                return out * 2
            if isinstance(out, tuple):
                return (out[0] * 2, *out[1:])
            name = {"scores", "sentence_embedding", "token_embeddings"} & set(out)
            return {**out, **{k: out[k] * 2 for k in name}}

        return target.register_forward_hook(doubles)
    raise AssertionError(kind)


TARGETS = [
    ("SentenceTransformer", (0,)),
    ("SentenceTransformer", (1,)),
    ("SentenceTransformer", (0, "auto_model")),
    ("SentenceTransformer", (0, *LAYER)),
    ("SentenceTransformer", (0, "auto_model", "embeddings")),
    ("CrossEncoder", (0,)),
    ("CrossEncoder", ("model",)),
    ("CrossEncoder", ("model", "bert", "encoder", "layer", 1)),
    ("CrossEncoder", ("model", "classifier")),
    ("SparseEncoder", (0,)),
    ("SparseEncoder", (0, "auto_model", "bert", "encoder", "layer", 0)),
    ("MultiVectorEncoder", (0,)),
    ("MultiVectorEncoder", (1,)),
    ("MultiVectorEncoder", (0, *LAYER)),
]


def _case_id(value):
    return value if isinstance(value, str) else ".".join(map(str, value))


KINDS = ["forward", "pre", "kwargs", "global", "global_pre", "doubles"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "path"), TARGETS, ids=_case_id)
def test_submodule_hooks_fire_as_in_sentence_transformers(pairs, name, path, kind):
    ours, theirs = pairs[name]
    seen, their_seen = [], []
    handles = [_hook(kind, _submodule(ours, path), seen), _hook(kind, _submodule(theirs, path), their_seen)]
    try:
        found, expected = _run(ours, name), _run(theirs, name)
    finally:
        for handle in handles:
            handle.remove()
    for a, b in zip(found, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    assert len(seen) == len(their_seen)  # one call per batch, as there
    _assert_same(seen, their_seen)


@pytest.mark.parametrize("name", ["SentenceTransformer", "CrossEncoder", "MultiVectorEncoder"])
def test_removed_hooks_leave_results_and_later_hooks_fire(pairs, name):
    """A hook removed changes nothing more; one added after an unhooked call fires on the next."""
    ours, theirs = pairs[name]
    path = (0, *LAYER) if name != "CrossEncoder" else ("model", "bert", "encoder", "layer", 0)
    handle = _hook("doubles", _submodule(ours, path), [])
    handle.remove()
    plain = _run(ours, name)
    for a, b in zip(plain, _run(theirs, name), strict=True):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    seen = []
    handle = _hook("pre", _submodule(ours, path), seen)
    try:
        _run(ours, name)
    finally:
        handle.remove()
    assert len(seen) == 2
