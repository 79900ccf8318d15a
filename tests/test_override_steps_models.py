"""A user's ``preprocess`` or ``forward`` (in a subclass, or set on the model) is called by CrossEncoder's
``predict``/``rank``, SparseEncoder's ``encode``/``encode_query``/``encode_document`` and MultiVectorEncoder's
``encode`` as sentence-transformers calls it: the same batches, prompt and keywords, the same numbers. Each
test runs sbert and sentence-transformers side by side on one tiny folder; the override records its calls
and changes the result (texts prefixed, or outputs scaled)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert, build_tiny_classifier

pytest.importorskip("sentence_transformers")

PAIRS = [
    ("a man plays music", "a man plays the guitar"),
    ("q", "a much longer document about the red car"),
    ("hello there", "x"),
    ("the dog runs", "a dog is running fast"),
]
QUERY = "a man plays music"
DOCUMENTS = ["a man plays the guitar", "the cat sat", "music is good", "he drove a red car", "a man"]
TEXTS = ["hello world", "a somewhat longer sentence here", "abc", "one two three four", "the cat"]
KINDS = [(step, kind) for step in ("preprocess", "forward") for kind in ("subclass", "instance")]


def _libraries():
    import sentence_transformers

    import sbert

    return {"st": sentence_transformers, "sbert": sbert}


def _prefixed(inputs):
    """The override's change to the texts: "zz " before each text (a pair's first)."""
    return [("zz " + t[0], *t[1:]) if isinstance(t, (tuple, list)) else "zz " + t for t in inputs]


def _overridden(cls, step: str, kind: str, output: str, calls: list, *args, **kwargs):
    """A ``cls`` model whose ``step`` a user replaced (``kind``: in a subclass or on the instance): it
    records each call with its keywords; preprocess puts "zz " before the texts, forward triples
    ``output``."""

    def preprocess(own, inputs, prompt=None, **options):
        calls.append(("preprocess", prompt, list(inputs), sorted(options)))
        return own(_prefixed(inputs), prompt=prompt, **options)

    def forward(own, features, **options):
        calls.append(("forward", len(features["input_ids"]), sorted(options)))
        out = own(features, **options)
        return {**out, output: out[output] * 3}

    if kind == "subclass":

        class Sub(cls):
            if step == "preprocess":

                def preprocess(self, inputs, prompt=None, **options):
                    return preprocess(super().preprocess, inputs, prompt, **options)

            else:

                def forward(self, features, **options):
                    return forward(super().forward, features, **options)

        return Sub(*args, **kwargs)
    model = cls(*args, **kwargs)
    own, replacement = getattr(model, step), preprocess if step == "preprocess" else forward
    setattr(model, step, lambda *a, **k: replacement(own, *a, **k))
    return model


def _run_both(make, call):
    """``call(model)`` on each library's model from ``make(module, calls)``, with the calls recorded."""
    results, calls = {}, {}
    for lib, module in _libraries().items():
        calls[lib] = []
        results[lib] = call(make(module, calls[lib]))
    return results, calls


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("ce-steps") / "labels1")


@pytest.mark.parametrize(("step", "kind"), KINDS)
def test_cross_encoder_predict_and_rank_call_a_users_step_as_sentence_transformers(step, kind, classifier):
    def make(module, calls):
        return _overridden(module.CrossEncoder, step, kind, "scores", calls, str(classifier), device="cpu")

    def call(model):
        scores = model.predict(PAIRS, batch_size=3, prompt="p: ")
        ranked = model.rank(QUERY, DOCUMENTS, batch_size=2)
        return scores, [(r["corpus_id"], r["score"]) for r in ranked]

    results, calls = _run_both(make, call)
    assert calls["sbert"] == calls["st"]
    assert calls["sbert"][0] == (
        ("preprocess", "p: ", [PAIRS[1], PAIRS[0], PAIRS[3]], [])
        if step == "preprocess"
        else ("forward", 3, [])
    )
    (ours, ranked), (theirs, expected) = results["sbert"], results["st"]
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    assert [i for i, _ in ranked] == [i for i, _ in expected]
    np.testing.assert_allclose([s for _, s in ranked], [s for _, s in expected], atol=1e-5, rtol=0)
    plain = _libraries()["sbert"].CrossEncoder(str(classifier), device="cpu")
    assert not np.allclose(ours, plain.predict(PAIRS, prompt="p: "), atol=1e-3)


@pytest.mark.parametrize(("step", "kind"), KINDS)
def test_sparse_encoder_encodes_through_a_users_step_as_sentence_transformers(step, kind, masked_lm):
    def make(module, calls):
        return _overridden(
            module.SparseEncoder, step, kind, "sentence_embedding", calls, str(masked_lm), device="cpu"
        )

    def call(model):
        dense = {"convert_to_sparse_tensor": False, "batch_size": 3}
        return [
            model.encode(TEXTS, prompt="p: ", **dense),
            model.encode_query(TEXTS, max_active_dims=5, **dense),
            model.encode_document(TEXTS[0]).to_dense(),
        ]

    results, calls = _run_both(make, call)
    assert calls["sbert"] == calls["st"]
    if step == "forward":
        assert [c for c in calls["sbert"] if c[2]][0] == ("forward", 3, ["max_active_dims", "task"])
    else:
        assert calls["sbert"][2] == ("preprocess", "", [TEXTS[1], TEXTS[3], TEXTS[0]], ["task"])
    for ours, theirs in zip(results["sbert"], results["st"]):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-5, rtol=0)
    plain = _libraries()["sbert"].SparseEncoder(str(masked_lm), device="cpu")
    expected = plain.encode(TEXTS, prompt="p: ", convert_to_sparse_tensor=False).numpy()
    assert not np.allclose(results["sbert"][0].numpy(), expected, atol=1e-3)


@pytest.fixture(scope="module")
def multi_vector(tmp_path_factory):
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("mv-steps")
    torch.manual_seed(0)
    MultiVectorEncoder(str(build_tiny_bert(root / "bert")), device="cpu").save(str(root / "model"))
    return root / "model"


@pytest.mark.parametrize(("step", "kind"), KINDS)
def test_multi_vector_encoder_encodes_through_a_users_step_as_sentence_transformers(step, kind, multi_vector):
    def make(module, calls):
        return _overridden(
            module.MultiVectorEncoder, step, kind, "token_embeddings", calls, str(multi_vector), device="cpu"
        )

    def call(model):
        return model.encode_query(TEXTS, batch_size=2) + model.encode_document(TEXTS, batch_size=3)

    results, calls = _run_both(make, call)
    assert calls["sbert"] == calls["st"]
    assert calls["sbert"][0][2 if step == "forward" else 3] == ["task"]
    for ours, theirs in zip(results["sbert"], results["st"], strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-5, rtol=0)
    plain = _libraries()["sbert"].MultiVectorEncoder(str(multi_vector), device="cpu")
    expected = plain.encode_query(TEXTS)
    assert not all(
        ours.shape == mine.shape and np.allclose(ours.numpy(), mine.numpy(), atol=1e-3)
        for ours, mine in zip(results["sbert"], expected)
    )


@pytest.mark.parametrize(("step", "kind"), KINDS)
def test_cross_encoder_losses_call_a_users_step_as_sentence_transformers(step, kind, classifier):
    """sentence-transformers' cross-encoder losses score pairs with ``model(model.preprocess(pairs,
    prompt=..., task=...))``: sbert's call a user's step so too, with the same loss value and gradients."""
    columns = [[q for q, _ in PAIRS], [d for _, d in PAIRS]]
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0])
    values, gradients, calls = {}, {}, {}
    for lib, module in _libraries().items():
        calls[lib] = []
        model = _overridden(
            module.CrossEncoder, step, kind, "scores", calls[lib], str(classifier), device="cpu"
        )
        model.model.eval()  # no dropout: both compute one function
        losses = __import__(f"{module.__name__}.cross_encoder.losses", fromlist=["losses"])
        value = losses.BinaryCrossEntropyLoss(model)(columns, labels)
        value.backward()
        values[lib] = value.item()
        gradients[lib] = {n: p.grad for n, p in model.model.named_parameters() if p.grad is not None}
    assert calls["sbert"] == calls["st"]
    assert calls["sbert"][0] == (
        ("preprocess", None, PAIRS, ["task"]) if step == "preprocess" else ("forward", 4, [])
    )
    assert abs(values["sbert"] - values["st"]) <= 1e-5
    assert gradients["sbert"].keys() == gradients["st"].keys()
    for name, gradient in gradients["sbert"].items():
        np.testing.assert_allclose(gradient.numpy(), gradients["st"][name].numpy(), atol=1e-5, rtol=0)


def test_sberts_own_forward_set_on_the_model_is_not_a_users(dropout_free_st):
    """The trainer sets the compiled forward on the model for ``torch_compile=True`` (its evaluators' encode
    runs sbert's own batches then); a function a user sets there is theirs."""
    from sbert import SentenceTransformer
    from sbert._compat import overrides_encode_steps
    from sbert._training.run_settings import compiled

    model = SentenceTransformer(str(dropout_free_st), device="cpu", backend="torch")
    with compiled(model, backend="eager"):
        assert "forward" in vars(model) and not overrides_encode_steps(model)
    own = model.forward
    model.forward = lambda features, **kwargs: own(features, **kwargs)
    assert overrides_encode_steps(model)
