"""`sbert serve` as the clients of the servers it imitates call it (session 41): the bodies LiteLLM's
``openai/`` provider, infinity's generated ``infinity_client`` and TEI clients send, spoken here as plain
HTTP (FastAPI's TestClient, in-process) and compared with sentence-transformers' encode of the same texts.

- LiteLLM's ``embedding(model="openai/...", api_base=...)`` sends ``"encoding_format": null`` when the caller
  names none; the OpenAI API reads null as its default, float.
- ``infinity_client``'s ``OpenAIEmbeddingInputText`` always sends ``"dimensions": 0``, infinity's "all
  dimensions", to ``POST /embeddings``.
- ``--sparse`` with ``--backend torch``: a plain SPLADE SparseEncoder on torch is served on /embed_sparse.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import numpy as np
import pytest

from sbert import SentenceTransformer, SparseEncoder, create_app

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TEXTS = ["The weather is lovely today.", "It's so sunny outside! ☀️", "Ünïcödé 中文 テキスト"]
COSINE = 0.99999


def _client(*args, **options):
    from fastapi.testclient import TestClient

    return TestClient(create_app(*args, **options))


@pytest.fixture(scope="module")
def reference(default_model_path):
    from sentence_transformers import SentenceTransformer as StSentenceTransformer

    return StSentenceTransformer(str(default_model_path), device="cpu")


@pytest.fixture(scope="module")
def client(default_model_path):
    model = SentenceTransformer(default_model_path, backend="torch")
    with _client({"all-MiniLM-L6-v2": model}) as started:  # as `sbert serve` names the default
        yield started


def _expected(reference, texts: list[str], dimensions: int | None = None) -> np.ndarray:
    vectors = reference.encode(texts, convert_to_numpy=True)[:, :dimensions]
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _assert_same(rows, expected: np.ndarray) -> None:
    got = np.asarray(rows, dtype=np.float64)
    assert got.shape == expected.shape
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() >= COSINE
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)  # normalized, as the API says
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("path", ["/v1/embeddings", "/embeddings"])
def test_encoding_format_null_is_float_as_litellm_sends_it(client, reference, path):
    # litellm.embedding(model="openai/<name>", api_base=...) sends exactly this body
    body = {"model": "all-MiniLM-L6-v2", "input": TEXTS, "encoding_format": None}
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [item["index"] for item in data] == [0, 1, 2]
    _assert_same([item["embedding"] for item in data], _expected(reference, TEXTS))


def test_dimensions_zero_is_every_dimension_as_infinity_client_sends_it(client, reference):
    # infinity_client's OpenAIEmbeddingInputText(input_=..., model=...).to_dict()
    body = {"input": TEXTS, "model": "all-MiniLM-L6-v2", "dimensions": 0, "modality": "text"}
    for format_ in ("float", "base64"):
        response = client.post("/embeddings", json={**body, "encoding_format": format_})
        assert response.status_code == 200, response.text
        rows = [item["embedding"] for item in response.json()["data"]]
        if format_ == "base64":
            rows = [np.frombuffer(base64.b64decode(row), "<f4") for row in rows]
        _assert_same(rows, _expected(reference, TEXTS))
    # a Matryoshka width still truncates and re-normalizes; a negative one is still refused
    short = client.post("/embeddings", json={**body, "dimensions": 64}).json()["data"]
    _assert_same([item["embedding"] for item in short], _expected(reference, TEXTS, 64))
    refused = client.post("/embeddings", json={**body, "dimensions": -1})
    assert refused.status_code == 422
    assert "between 1 and 384" in refused.json()["error"]


@pytest.fixture(scope="module")
def splade_folder(masked_lm, tmp_path_factory) -> Path:
    from sentence_transformers import SparseEncoder as StSparseEncoder

    root = tmp_path_factory.mktemp("clients-splade")
    plain = shutil.copytree(masked_lm, root / "plain")
    StSparseEncoder(str(plain), device="cpu").save(str(root / "splade"))
    return root / "splade"


def test_plain_splade_on_torch_is_served_as_sparse_encoder_encode(splade_folder):
    from sentence_transformers import SparseEncoder as StSparseEncoder

    expected = StSparseEncoder(str(splade_folder), device="cpu").encode(TEXTS).to_dense().numpy()
    sparse = {"splade": SparseEncoder(splade_folder, backend="torch")}
    with _client(None, sparse_models=sparse) as client:  # `sbert serve --sparse M --backend torch`
        response = client.post("/embed_sparse", json={"inputs": TEXTS})
    assert response.status_code == 200, response.text
    for answer, row in zip(response.json(), expected):
        assert [entry["index"] for entry in answer] == np.flatnonzero(row).tolist()
        got = np.array([entry["value"] for entry in answer])
        np.testing.assert_allclose(got, row[np.flatnonzero(row)], atol=1e-5, rtol=0)
