"""The ONNX paths of MultiVectorEncoder, SparseEncoder and CrossEncoder without torch: with torch,
transformers and sentence-transformers unimportable they encode, score and save with sentence-transformers'
numbers (1e-5); with torch installed, a MultiVectorEncoder asked for numpy arrays (``convert_to_numpy``)
leaves torch unimported, as SentenceTransformer's and CrossEncoder's numpy outputs do."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import BLOCK_TORCH, build_tiny_classifier
from test_multi_vector_onnx import _reference_save

TOL = 1e-5
QUERIES = ["what is the weather like", "who drove to the stadium?", "a cat"]
DOCUMENTS = [
    "The weather is lovely today. It's so sunny outside!",
    "He drove to the stadium, (fast); the car was red.",
    "a",
]
PAIRS = [(QUERIES[0], DOCUMENTS[0]), (QUERIES[1], DOCUMENTS[1]), (QUERIES[2], DOCUMENTS[2])]


@pytest.fixture(scope="module")
def multi_vector(tiny_bert, tmp_path_factory):
    """sentence-transformers' MultiVectorEncoder save (query expansion, skiplist, token Dense, Normalize)."""
    fixed = {"strategy": "fixed", "length": 10}
    folder = tmp_path_factory.mktemp("torchfree") / "mv"
    return _reference_save(tiny_bert, folder, query_length=16, document_length=12, query_expansion=fixed)


def _probe(body: str, *args: str, block: bool = True) -> str:
    """``body`` run in a fresh interpreter (torch blocked unless ``block`` is false); its last line of
    output: the torch and transformers modules it imported."""
    code = (BLOCK_TORCH if block else "import sys\n") + body
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _assert_arrays(arrays, expected) -> None:
    assert len(arrays) == len(expected)
    for got, want in zip(arrays, expected):
        assert got.dtype == np.float32 and got.shape == tuple(want.shape)
        np.testing.assert_allclose(got, np.asarray(want), atol=TOL, rtol=0)


def test_multi_vector_numpy_encode_leaves_torch_unimported(multi_vector, tmp_path):
    """torch installed: ``encode*(convert_to_numpy=True)`` on ONNX returns arrays without importing torch
    (before: torch imported to cut each batch as tensors), the numbers of sentence-transformers'."""
    from sentence_transformers import MultiVectorEncoder

    out = tmp_path / "out.npz"
    body = (
        "import numpy as np\n"
        "from sbert import MultiVectorEncoder\n"
        "model = MultiVectorEncoder(sys.argv[1], backend='onnx')\n"
        "plain = model.encode(sys.argv[3:], convert_to_numpy=True)\n"
        "queries = model.encode_query(sys.argv[3:], convert_to_numpy=True, truncate_dim=8)\n"
        "docs = model.encode_document(sys.argv[3:], convert_to_numpy=True, normalize_embeddings=True)\n"
        "assert all(type(a) is np.ndarray for a in plain + queries + docs)\n"
        "np.savez(sys.argv[2], *plain, *queries, *docs)\n"
    )
    assert _probe(body, str(multi_vector), str(out), *QUERIES, block=False) == "[]"
    theirs = MultiVectorEncoder(str(multi_vector), device="cpu")
    expected = theirs.encode(QUERIES, convert_to_numpy=True)
    expected += theirs.encode_query(QUERIES, convert_to_numpy=True, truncate_dim=8)
    expected += theirs.encode_document(QUERIES, convert_to_numpy=True, normalize_embeddings=True)
    arrays = np.load(out)
    _assert_arrays([arrays[f"arr_{i}"] for i in range(len(expected))], expected)


def test_multi_vector_encodes_with_torch_blocked(multi_vector, tmp_path):
    """torch blocked: ``encode`` (no task), ``encode_query``, ``encode_document``, ``similarity`` and
    ``save`` on ONNX; the numbers of sentence-transformers' MultiVectorEncoder and of sbert's torch one."""
    from sentence_transformers import MultiVectorEncoder

    import sbert

    out = tmp_path / "out.npz"
    body = (
        "import numpy as np\n"
        "from sbert import MultiVectorEncoder\n"
        "model = MultiVectorEncoder(sys.argv[1], backend='onnx')\n"
        "plain = model.encode(sys.argv[3:6])\n"
        "queries, docs = model.encode_query(sys.argv[3:6]), model.encode_document(sys.argv[6:])\n"
        "scores = model.similarity(queries, docs)\n"
        "model.save(sys.argv[2] + '.saved')\n"
        "np.savez(sys.argv[2], *plain, *queries, *docs, scores=scores)\n"
    )
    assert _probe(body, str(multi_vector), str(out), *QUERIES, *DOCUMENTS) == "[]"
    arrays = np.load(out)
    for reference in (
        MultiVectorEncoder(str(multi_vector), device="cpu"),
        sbert.MultiVectorEncoder(str(multi_vector), backend="torch", device="cpu"),
        sbert.MultiVectorEncoder(str(out) + ".saved", backend="torch", device="cpu"),
    ):
        queries, docs = reference.encode_query(QUERIES), reference.encode_document(DOCUMENTS)
        expected = reference.encode(QUERIES) + queries + docs
        _assert_arrays([arrays[f"arr_{i}"] for i in range(len(expected))], expected)
        np.testing.assert_allclose(arrays["scores"], reference.similarity(queries, docs).numpy(), atol=TOL)


def test_sparse_and_cross_encoder_score_with_torch_blocked(masked_lm, tmp_path_factory, tmp_path):
    """torch blocked: a SparseEncoder's ``encode_query`` / ``encode_document`` / ``similarity`` /
    ``decode`` / ``sparsity`` and a CrossEncoder's ``predict`` / ``rank`` on ONNX, as sentence-transformers'
    (the classes' other no-torch tests: tests/test_sparse_onnx.py, tests/test_cross_encoder.py)."""
    from sentence_transformers import CrossEncoder, SparseEncoder

    sparse = tmp_path_factory.mktemp("torchfree-sparse") / "st"
    SparseEncoder(str(masked_lm), device="cpu").save(str(sparse))
    classifier = build_tiny_classifier(tmp_path_factory.mktemp("torchfree-ce") / "ce")
    out = tmp_path / "out.npz"
    body = (
        "import json, numpy as np\n"
        "from sbert import CrossEncoder, SparseEncoder\n"
        "model = SparseEncoder(sys.argv[1], backend='onnx')\n"
        "queries, docs = model.encode_query(sys.argv[4:7]), model.encode_document(sys.argv[7:])\n"
        "scores = model.similarity(queries, docs)\n"
        "decoded = [[t for t, _ in row] for row in model.decode(docs, top_k=3)]\n"
        "ranker = CrossEncoder(sys.argv[2], backend='onnx')\n"
        "predicted = ranker.predict(list(zip(sys.argv[4:7], sys.argv[7:])))\n"
        "ranked = [hit['corpus_id'] for hit in ranker.rank(sys.argv[4], sys.argv[7:])]\n"
        "np.savez(sys.argv[3], queries=queries, docs=docs, scores=scores, predicted=predicted)\n"
        "print(json.dumps([decoded, ranked, model.sparsity(docs)]))\n"
    )
    args = (str(sparse), str(classifier), str(out), *QUERIES, *DOCUMENTS)
    code = BLOCK_TORCH + body
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    decoded, ranked, sparsity = json.loads(done.stdout.strip().splitlines()[-1])
    arrays = np.load(out)
    theirs = SparseEncoder(str(sparse), device="cpu")
    queries, docs = theirs.encode_query(QUERIES), theirs.encode_document(DOCUMENTS)
    np.testing.assert_allclose(arrays["queries"], queries.to_dense().numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(arrays["docs"], docs.to_dense().numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(arrays["scores"], theirs.similarity(queries, docs).numpy(), atol=TOL)
    assert decoded == [[t for t, _ in row] for row in theirs.decode(docs, top_k=3)]
    assert sparsity == pytest.approx(theirs.sparsity(docs))
    reranker = CrossEncoder(str(classifier), device="cpu")
    np.testing.assert_allclose(arrays["predicted"], reranker.predict(PAIRS), atol=TOL, rtol=0)
    assert ranked == [hit["corpus_id"] for hit in reranker.rank(QUERIES[0], DOCUMENTS)]
