"""Feed-forward activations beyond GELU / ReLU (transformers' ACT2FN names in config.json's ``hidden_act``, or
DistilBERT's ``activation``) in the torch-free graphs, fp32 and int8, against sentence-transformers on torch;
and the int8 graph's calibration run meeting a token id outside an embedding table."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.conftest import build_tiny_encoder

TEXTS = [
    "a",
    "The weather is lovely today.",
    "The cat sat on the mat and the dog ran in the house with a big red ball " * 3,
    "Unknown wörds ünïcode 🙂 numbers 12345",
]
FAMILIES = ["bert", "roberta", "xlm-roberta", "distilbert", "mpnet"]
# Every ACT2FN activation ONNX ops express exactly, each on one family in turn (each family gets several).
ACTIVATIONS = [
    "silu",
    "swish",
    "tanh",
    "quick_gelu",
    "gelu_fast",
    "mish",
    "gelu_10",
    "gelu_python",
    "gelu_python_tanh",
    "gelu_accurate",
    "relu6",
    "leaky_relu",
    "sigmoid",
    "linear",
    "hardswish",
    "relu2",
    "laplace",
    "sqrtsoftplus",
]
CASES = [(act, FAMILIES[i % len(FAMILIES)]) for i, act in enumerate(ACTIVATIONS)]


def _encoder(kind, act, tiny_bert, folder, **options):
    key = "activation" if kind == "distilbert" else "hidden_act"
    # initializer_range 0.5: wide up-projections, past gelu_10's clip and relu6's 6
    return build_tiny_encoder(kind, tiny_bert, folder, initializer_range=0.5, **{key: act}, **options)


def _reference(folder):
    warnings.simplefilter("ignore", DeprecationWarning)
    import sentence_transformers as st

    return st.SentenceTransformer(str(folder), device="cpu")


@pytest.mark.parametrize(("act", "kind"), CASES, ids=[f"{a}-{k}" for a, k in CASES])
def test_feed_forward_activation_runs_on_the_graph_as_on_torch(act, kind, tiny_bert, tmp_path):
    import sbert

    folder = _encoder(kind, act, tiny_bert, tmp_path / "m")
    expected = _reference(folder).encode(TEXTS)
    model = sbert.SentenceTransformer(str(folder), device="cpu", backend="auto")
    assert model.backend == "onnx"  # was torch: the builder refused the activation
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=1e-5, rtol=0)


INT8 = [("silu", "bert"), ("sigmoid", "distilbert"), ("quick_gelu", "mpnet"), ("laplace", "xlm-roberta")]


@pytest.mark.parametrize(("act", "kind"), INT8, ids=[f"{a}-{k}" for a, k in INT8])
def test_int8_graph_of_each_activation_stays_close(act, kind, tiny_bert, tmp_path):
    import sbert

    folder = _encoder(kind, act, tiny_bert, tmp_path / "m")
    expected = _reference(folder).encode(TEXTS)
    got = sbert.SentenceTransformer(str(folder), device="cpu", backend="onnx", precision="int8").encode(TEXTS)
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.mean() >= 0.99


@pytest.mark.parametrize(("act", "splits"), [("silu", True), ("sigmoid", False), ("laplace", False)])
def test_outlier_split_only_for_activations_zero_at_zero(act, splits, tiny_bert, tmp_path):
    """The int8 feed-forward takes calibration's outlier channels out of its int8 matmuls by zeroing their
    up-projection rows: right where act(0) == 0 only, so sigmoid's graph keeps every channel in them."""
    import onnxruntime as ort

    from sbert._backends.graph_builder import calibration_batch, pipeline_graph
    from sbert._backends.graph_builder.ops import Calibration
    from sbert._backends.graph_builder.writer import write_model

    folder = _encoder("bert", act, tiny_bert, tmp_path / "m")
    fp32 = pipeline_graph(folder)
    batch = calibration_batch([folder], pairs=False)
    peaks = {name: np.ones(32, np.float32) for name in fp32.smoothed_inputs}
    forced = Calibration({name: np.array([0, 5], np.int64) for name in fp32.down_inputs}, peaks)
    graph = pipeline_graph(folder, int8=True, calibration=forced)
    assert any("outliers" in node.name for node in graph.nodes) is splits
    write_model(graph, tmp_path / "g" / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "g" / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = {i.name: batch[i.name].astype(np.int64) for i in session.get_inputs()}
    (got,) = session.run(["sentence_embedding"], feeds)
    expected = _reference(folder).encode(list(_calibration_texts()))
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.mean() >= 0.99


def _calibration_texts():
    from sbert._backends.graph_builder.calibration import CALIBRATION_TEXTS

    return CALIBRATION_TEXTS


def test_int8_calibration_meets_a_token_type_past_the_table_as_fp32_does(tiny_bert, tmp_path):
    """An XLM-R cross-encoder with one token type, its tokenizer giving pairs' second texts type 1: torch
    raises IndexError, the fp32 graph TokenIdOutOfRangeError (an IndexError); the int8 graph's calibration
    run raised ONNX Runtime's raw InvalidArgument at load."""
    warnings.simplefilter("ignore", DeprecationWarning)
    import sentence_transformers as st

    import sbert
    from sbert._errors import TokenIdOutOfRangeError

    folder = build_tiny_encoder("xlm-roberta", tiny_bert, tmp_path / "ce", num_labels=1)
    pairs = [("a question", "an answer")]
    with pytest.raises(IndexError):
        st.CrossEncoder(str(folder), device="cpu").predict(pairs)
    from sbert._backends.graph_builder import calibrate, calibration_batch, classifier_graph

    with pytest.raises(TokenIdOutOfRangeError, match="type_vocab_size"):  # the calibration run itself
        calibrate(classifier_graph(folder), calibration_batch([folder], pairs=True))
    for precision in ("fp32", "int8"):
        model = sbert.CrossEncoder(str(folder), backend="onnx", precision=precision)  # loads, as on torch
        with pytest.raises(TokenIdOutOfRangeError, match="type_vocab_size"):
            model.predict(pairs)
