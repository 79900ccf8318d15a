"""``torch.nn.Module``'s hooks, ``compile`` and the other module methods on SentenceTransformer,
SparseEncoder and MultiVectorEncoder (sentence-transformers 6.3's are ``nn.Sequential`` s), and the keyword
names of ``forward`` and ``CrossEncoder.tokenize``: each compared with sentence-transformers on the same tiny
model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, classic_pooling

import sbert

TOL = 1e-5
# distinct lengths in characters: both libraries sort the texts by length, so ties could batch differently
TEXTS = [
    "a",
    "the cat sat on the mat",
    "hello there world",
    "dog",
    "what is the weather like today in the city",
    "two words",
]
PROMPTS = {"query": "query: "}


@pytest.fixture(scope="module")
def folders(tiny_st_factory, tiny_bert, masked_lm, tmp_path_factory):
    """sentence-transformers' own saves of a SPLADE model and a MultiVectorEncoder, and a mean-pooling
    SentenceTransformer folder, all around tiny random BERTs."""
    from sentence_transformers import MultiVectorEncoder, SparseEncoder

    root = tmp_path_factory.mktemp("hooks")
    SparseEncoder(str(masked_lm), device="cpu").save(str(root / "splade"))
    torch.manual_seed(0)
    MultiVectorEncoder(str(tiny_bert), device="cpu").save(str(root / "mve"))
    return {
        "SentenceTransformer": tiny_st_factory(classic_pooling(32, "mean")),
        "SparseEncoder": root / "splade",
        "MultiVectorEncoder": root / "mve",
    }


def _pair(folders, name, **options):
    import sentence_transformers

    folder = str(folders[name])
    ours = getattr(sbert, name)(folder, device="cpu", **options)
    return ours, getattr(sentence_transformers, name)(folder, device="cpu", **options)


def _dense(output):
    """Any encode output as one comparable array (multi-vector: a list of per-text arrays)."""
    if isinstance(output, list):
        return [np.asarray(item) for item in output]
    if getattr(output, "is_sparse", False):
        output = output.to_dense()
    return [np.asarray(output)]


def _recorder(model, into):
    """A forward hook (with keywords) keeping a copy of every call: whether it got the model, the keywords and
    the features dict (which holds the outputs once the modules ran)."""

    def hook(module, args, kwargs, output):
        assert output is args[0]  # the modules add their outputs to the features they were given
        copied = {k: v.detach().clone() if torch.is_tensor(v) else v for k, v in args[0].items()}
        into.append((module is model, len(args), kwargs, copied))

    return hook


def _assert_same_calls(ours, reference):
    assert len(ours) == len(reference)
    for (is_ours, n_ours, kw_ours, f_ours), (is_ref, n_ref, kw_ref, f_ref) in zip(ours, reference):
        assert is_ours and is_ref and n_ours == n_ref == 1 and kw_ours == kw_ref
        assert set(f_ours) == set(f_ref)
        for key, value in f_ref.items():
            if torch.is_tensor(value):
                assert f_ours[key].shape == value.shape, key
                # every position, padding included: the padded forward, as sentence-transformers runs it
                torch.testing.assert_close(f_ours[key].float(), value.float(), atol=TOL, rtol=0)
            else:
                assert type(f_ours[key]) is type(value) and f_ours[key] == value, key


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("SentenceTransformer", "encode"),
        ("SentenceTransformer", "encode_query"),
        ("SparseEncoder", "encode"),
        ("SparseEncoder", "encode_query"),
        ("MultiVectorEncoder", "encode_query"),
        ("MultiVectorEncoder", "encode_document"),
    ],
)
def test_forward_hooks_see_encode_batches_as_sentence_transformers(folders, name, call):
    ours, reference = _pair(folders, name, prompts=PROMPTS)
    seen, reference_seen, before = [], [], []
    handle = ours.register_forward_hook(_recorder(ours, seen), with_kwargs=True)
    pre = ours.register_forward_pre_hook(lambda module, args: before.append(module is ours))
    reference.register_forward_hook(_recorder(reference, reference_seen), with_kwargs=True)
    found = getattr(ours, call)(TEXTS, batch_size=2)
    expected = getattr(reference, call)(TEXTS, batch_size=2)
    for a, b in zip(_dense(found), _dense(expected)):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    assert len(seen) == 3 and before == [True] * 3  # one call per batch of two
    _assert_same_calls(seen, reference_seen)
    handle.remove(), pre.remove()
    getattr(ours, call)(TEXTS, batch_size=2)
    assert len(seen) == 3 and len(before) == 3  # removed hooks see nothing more


def test_sentence_transformer_hook_counts_follow_batch_size_and_token_budget_is_off(folders):
    """Hooked, encode batches ``batch_size`` texts at a time (default 32, as there), whatever the token
    budget: the hook fires as often as sentence-transformers' does."""
    ours, reference = _pair(folders, "SentenceTransformer")
    counts = {"ours": 0, "reference": 0}

    def count(key):
        return lambda *args: counts.__setitem__(key, counts[key] + 1)

    ours.register_forward_pre_hook(count("ours"))
    reference.register_forward_pre_hook(count("reference"))
    texts = [f"text number {i} " + "word " * (i % 7) for i in range(70)]
    found = ours.encode(texts, max_batch_tokens=64)
    np.testing.assert_allclose(found, reference.encode(texts), atol=TOL, rtol=0)
    ours.encode(texts, batch_size=16)
    reference.encode(texts, batch_size=16)
    assert counts["ours"] == counts["reference"] == 3 + 5


@pytest.mark.parametrize("output_value", ["token_embeddings", None])
def test_hooks_see_the_batches_of_other_output_values(folders, output_value):
    """Token embeddings and the raw feature dicts come from the hooked model too, batch by batch as there."""
    ours, reference = _pair(folders, "SentenceTransformer")
    seen, reference_seen = [], []
    ours.register_forward_hook(_recorder(ours, seen), with_kwargs=True)
    reference.register_forward_hook(_recorder(reference, reference_seen), with_kwargs=True)
    options = {"output_value": output_value, "batch_size": 4, "prompt": "hi "}
    found, expected = ours.encode(TEXTS, **options), reference.encode(TEXTS, **options)
    assert len(seen) == 2
    _assert_same_calls(seen, reference_seen)
    for a, b in zip(found, expected):
        a, b = (a, b) if output_value else (a["sentence_embedding"], b["sentence_embedding"])
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=TOL, rtol=0)


@pytest.mark.parametrize("name", ["SentenceTransformer", "SparseEncoder", "MultiVectorEncoder"])
def test_compiled_modules_encode_as_sentence_transformers(folders, name):
    ours, reference = _pair(folders, name)
    compiled = []

    def backend(graph, example_inputs):  # torch.compile's eager run, counting what it compiled
        compiled.append(graph)
        return graph.forward

    ours.compile(backend=backend)
    texts = TEXTS[:3]  # sentence-transformers uncompiled: torch.compile's eager backend gives its numbers
    for a, b in zip(_dense(ours.encode(texts)), _dense(reference.encode(texts))):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    assert compiled  # encode ran the compiled modules


def test_auto_moves_to_the_torch_modules_and_onnx_refuses_by_name(folders):
    from sbert import InputError

    auto = sbert.SentenceTransformer(str(folders["SentenceTransformer"]), device="cpu")
    assert auto.get_backend() == "onnx"  # "auto" chose the graph it built
    auto.register_forward_pre_hook(lambda *args: None)
    assert auto.get_backend() == "torch"  # as the CrossEncoder: hooks move "auto" to the modules
    for name in ("SentenceTransformer", "SparseEncoder", "MultiVectorEncoder"):
        model = getattr(sbert, name)(str(folders[name]), backend="onnx")
        with pytest.raises(InputError, match="backend='torch'"):
            model.register_forward_hook(lambda *args: None)
        with pytest.raises(InputError, match="backend='torch'"):
            model.compile()
        with pytest.raises(InputError, match="backend='torch'"):
            model.register_buffer("extra", torch.ones(2))


def test_other_module_methods_reach_the_modules_as_sentence_transformers(folders):
    ours, reference = _pair(folders, "SentenceTransformer")
    for model in (ours, reference):
        seen = []
        model.register_state_dict_post_hook(lambda module, *args, s=seen, m=model: s.append(module is m))
        model.register_buffer("extra", torch.ones(2))
        model.register_parameter("scale", torch.nn.Parameter(torch.zeros(1)))
        assert model.share_memory() is model
        state = model.state_dict()
        assert seen == [True] and state["extra"].tolist() == [1.0, 1.0] and "scale" in state
        with pytest.raises(RuntimeError, match="get_extra_state"):
            model.get_extra_state()
    assert list(ours.state_dict()) == list(reference.state_dict())
    for model in (ours, reference):
        model.set_submodule("1", torch.nn.Identity())
        assert isinstance(model[1], torch.nn.Identity)


def test_forward_input_keyword_as_sentence_transformers(folders, tmp_path):
    from sentence_transformers import CrossEncoder as ReferenceCrossEncoder

    for name in ("SentenceTransformer", "SparseEncoder", "MultiVectorEncoder"):
        ours, reference = _pair(folders, name)
        found = ours.forward(input=ours.preprocess(TEXTS[:2]))
        expected = reference.forward(input=reference.preprocess(TEXTS[:2]))
        key = "token_embeddings" if name == "MultiVectorEncoder" else "sentence_embedding"
        torch.testing.assert_close(found[key], expected[key], atol=TOL, rtol=0)
    path = build_tiny_classifier(tmp_path / "ce")
    pairs = [("a man plays music", "a man plays the guitar"), ("the dog runs", "the red car")]
    ours, reference = sbert.CrossEncoder(str(path)), ReferenceCrossEncoder(str(path), device="cpu")
    features = ours.tokenize(texts=pairs)
    expected = reference.tokenize(texts=pairs)  # its features also name the modality, "text"
    assert list(features) == list(expected) and features["modality"] == expected["modality"] == "text"
    tensors = {k: v.tolist() for k, v in expected.items() if torch.is_tensor(v)}
    assert {k: v.tolist() for k, v in features.items() if torch.is_tensor(v)} == tensors
    with torch.no_grad():
        scores = ours.forward(input=features)["scores"]
        torch.testing.assert_close(scores, reference.forward(input=expected)["scores"], atol=TOL, rtol=0)


def test_cross_encoder_hooks_see_predict_batches_as_sentence_transformers(tmp_path):
    """The CrossEncoder's hooks, from the same shared place: the model as the module, sentence-transformers'
    batches whatever the token budget, and its features (the modality named)."""
    from sentence_transformers import CrossEncoder as ReferenceCrossEncoder

    path = build_tiny_classifier(tmp_path / "ce")
    pairs = [(text, TEXTS[-1 - i]) for i, text in enumerate(TEXTS)]
    ours, reference = sbert.CrossEncoder(str(path)), ReferenceCrossEncoder(str(path), device="cpu")
    seen, reference_seen = [], []
    ours.register_forward_hook(_recorder(ours, seen), with_kwargs=True)
    reference.register_forward_hook(_recorder(reference, reference_seen), with_kwargs=True)
    found = ours.predict(pairs, batch_size=4, max_batch_tokens=16)
    np.testing.assert_allclose(found, reference.predict(pairs, batch_size=4), atol=TOL, rtol=0)
    assert len(seen) == 2
    _assert_same_calls(seen, reference_seen)
