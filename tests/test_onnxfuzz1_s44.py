"""The ONNX paths (backend="auto" and "onnx") against sentence-transformers on torch, for pipelines built
by sentence-transformers itself: each encoder family the graph builder writes, pooling modes, Dense chains,
prompts left out of the pooling, truncate_dim, and every element-wise activation a Dense may save."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import build_tiny_encoder

LONG = "The cat sat on the mat and the dog ran in the house with a big red ball " * 8
TEXTS = [
    "",
    "  \t ",
    "a",
    "The weather is lovely today.",
    LONG,
    "Unknown wörds ünïcode 🙂 and 你好世界 numbers 12345",
    "HELLO World CAT",
]


def _st_modules():
    warnings.simplefilter("ignore", DeprecationWarning)
    from sentence_transformers.sentence_transformer import modules

    return modules


@pytest.fixture(scope="module")
def encoders(tiny_bert, tmp_path_factory):
    cache: dict = {}

    def get(kind):
        if kind not in cache:
            cache[kind] = build_tiny_encoder(kind, tiny_bert, tmp_path_factory.mktemp("enc") / kind)
        return cache[kind]

    return get


def _save_st(encoder, folder, pooling, *, dense=(), normalize=False, max_seq_length=24, include_prompt=True):
    """A sentence-transformers pipeline over ``encoder`` built and saved by sentence-transformers;
    ``dense``: (out_features, bias, activation module, weight scale) per Dense."""
    import sentence_transformers as st
    import torch

    m = _st_modules()
    torch.manual_seed(7)
    transformer = m.Transformer(str(encoder), max_seq_length=max_seq_length)
    pool = m.Pooling(transformer.get_embedding_dimension(), pooling, include_prompt=include_prompt)
    stack = [transformer, pool]
    width = stack[-1].get_embedding_dimension()
    for out, bias, activation, scale in dense:
        weight = torch.randn(out, width) * scale  # wide pre-activations reach each activation's kinks
        stack.append(m.Dense(width, out, bias=bias, activation_function=activation, init_weight=weight))
        width = out
    if normalize:
        stack.append(m.Normalize())
    st.SentenceTransformer(modules=stack, device="cpu").save(str(folder))
    return folder


def _assert_parity(folder, *, expect_backend="onnx", load=None, calls=((TEXTS, {}),)):
    import sentence_transformers as st

    import sbert

    load = load or {}
    reference = st.SentenceTransformer(str(folder), device="cpu", **load)
    for backend in ("auto", "onnx"):
        ours = sbert.SentenceTransformer(str(folder), device="cpu", backend=backend, **load)
        assert ours.backend == expect_backend
        for inputs, options in calls:
            expected, got = reference.encode(inputs, **options), ours.encode(inputs, **options)
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


# A representative cross of encoder family x pipeline: every family, every pooling mode, a Dense chain with
# each of the four common activations (with and without bias), Normalize, texts past max_seq_length.
PIPELINES = [
    ("bert", "lasttoken"),
    ("roberta", "max"),
    ("xlm-roberta", ("cls", "mean_sqrt_len_tokens")),
    ("camembert", "weightedmean"),
    ("distilbert", ("mean", "lasttoken")),
    ("mpnet", "cls"),
]


@pytest.mark.parametrize(("kind", "pooling"), PIPELINES, ids=[kind for kind, _ in PIPELINES])
def test_family_pipelines_match_sentence_transformers(kind, pooling, encoders, tmp_path):
    import torch

    dense = [
        (16, True, torch.nn.Tanh(), 0.3),
        (8, False, torch.nn.Identity(), 0.3),
        (12, True, torch.nn.GELU(), 0.3),
        (6, True, torch.nn.ReLU(), 0.3),
    ]
    folder = _save_st(encoders(kind), tmp_path / "m", pooling, dense=dense, normalize=True, max_seq_length=20)
    _assert_parity(folder, calls=((TEXTS, {}), ("Hello world 🙂", {}), (TEXTS * 5, {"batch_size": 4})))


@pytest.mark.parametrize("kind", ["bert", "mpnet"])
def test_prompt_left_out_and_truncate_dim_match(kind, encoders, tmp_path):
    folder = _save_st(encoders(kind), tmp_path / "m", "mean", include_prompt=False, max_seq_length=32)
    prompts = {"q": "query: ", "d": "passage: the cat "}
    load = {"prompts": prompts, "default_prompt_name": "q", "truncate_dim": 5}
    calls = ((TEXTS, {}), (TEXTS, {"prompt_name": "d"}), (TEXTS, {"prompt": ""}), ("x", {"prompt": "a b: "}))
    _assert_parity(folder, load=load, calls=calls)


# torch's element-wise activations that sentence-transformers rebuilds from a Dense's saved import path (its
# config.json names the class only): sbert refused all but six of them, on every backend, at load.
MORE_ACTIVATIONS = [
    "ELU",
    "CELU",
    "SELU",
    "LeakyReLU",
    "ReLU6",
    "Softplus",
    "Softsign",
    "Mish",
    "Hardtanh",
    "Hardswish",
    "Hardsigmoid",
    "LogSigmoid",
    "Tanhshrink",
    "Softshrink",
    "Hardshrink",
]


@pytest.mark.parametrize("activation", MORE_ACTIVATIONS)
def test_dense_activations_load_and_match(activation, encoders, tmp_path):
    import torch

    act = getattr(torch.nn, activation)()
    # weight scale 4: pre-activations of -10..10, past ReLU6's 6, Hardtanh's 1 and the shrinks' 0.5
    folder = _save_st(encoders("bert"), tmp_path / "m", "mean", dense=[(24, True, act, 4.0)])
    _assert_parity(folder, calls=((TEXTS, {}),))

    import sentence_transformers as st

    import sbert

    ours = sbert.SentenceTransformer(str(folder), device="cpu", backend="torch")
    expected = st.SentenceTransformer(str(folder), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5, rtol=1e-5)
