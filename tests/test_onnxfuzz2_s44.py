"""MultiVectorEncoder(backend="onnx") on settings the other ONNX tests do not build: marker tokens added to
the tokenizer (a resized embedding table) as the prompts, a biased Sigmoid / GELU Dense, "min" query
expansion with its own token and a skiplist on both tasks; token matrices and MaxSim scores within 1e-5 of
sentence-transformers' torch MultiVectorEncoder, for mixed, empty, long and unicode inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert

import sbert

TEXTS = [
    "the cat sat on the mat.",
    "",
    "   ",
    "café 東京 🙂!",
    " ".join(["the weather is lovely today and the dog ran."] * 12),
    "who drove to the stadium?",
]


def _marker_encoder(bert, folder):
    """The tiny BERT with "[Q]" and "[D]" added as special tokens (its embeddings resized)."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(bert)
    model = transformers.AutoModel.from_pretrained(bert)
    tokenizer.add_tokens(["[Q]", "[D]"], special_tokens=True)
    torch.manual_seed(0)
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    root = tmp_path_factory.mktemp("onnxfuzz2")
    bert = build_tiny_bert(root / "bert")
    marker = _marker_encoder(bert, root / "marker-encoder")

    def dense(activation, bias):
        return Dense(32, 16, bias=bias, activation_function=activation, module_input_name="token_embeddings")

    torch.manual_seed(2)
    expansion = {"strategy": "fixed", "length": 12}
    markers = [
        Transformer(str(marker), query_length=12, document_length=20, query_expansion=expansion),
        dense(torch.nn.Sigmoid(), True),
        MultiVectorMask(skiplist_words=["!", "?"]),
        Normalize(module_input_name="token_embeddings"),
    ]
    prompts = {"query": "[Q] ", "document": "[D] "}
    MultiVectorEncoder(modules=markers, device="cpu", prompts=prompts).save(str(root / "marker"))
    expansion = {"strategy": "min", "length": 9, "token": "."}
    minimum = [
        Transformer(str(bert), query_length=14, query_expansion=expansion),
        dense(torch.nn.GELU(), False),
        MultiVectorMask(skiplist_words=["."], skiplist_tasks=["query", "document"]),
    ]
    MultiVectorEncoder(modules=minimum, device="cpu").save(str(root / "min"))
    return {"marker": root / "marker", "min": root / "min"}


@pytest.mark.parametrize("name", ["marker", "min"])
def test_token_matrices_and_scores_match_sentence_transformers(name, folders):
    from sentence_transformers import MultiVectorEncoder as Reference

    reference = Reference(str(folders[name]), device="cpu")
    model = sbert.MultiVectorEncoder(str(folders[name]), backend="onnx")
    for method in ("encode_query", "encode_document"):
        expected = getattr(reference, method)(TEXTS, batch_size=4)
        got = getattr(model, method)(TEXTS, batch_size=4)
        assert [tuple(e.shape) for e in got] == [tuple(e.shape) for e in expected]
        for ours, theirs in zip(got, expected, strict=True):
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-5)
    queries, documents = model.encode_query(TEXTS), model.encode_document(TEXTS)
    expected = reference.similarity(reference.encode_query(TEXTS), reference.encode_document(TEXTS))
    np.testing.assert_allclose(model.similarity(queries, documents).numpy(), expected.numpy(), atol=1e-5)
