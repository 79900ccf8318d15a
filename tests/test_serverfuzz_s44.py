"""Fuzzing the server's routes in-process (FastAPI's TestClient) with a tiny embedding model, reranker and
classifier: every bad body gets a 4xx in its route family's error shape, naming the field and the fix; never
a 500. A sweep of wrong JSON types over every field of every POST route, and the cases it found."""

from __future__ import annotations

import json

import pytest
from conftest import build_tiny_classifier, classic_pooling

from sbert import CrossEncoder, SentenceTransformer, create_app

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TEXT = "the cat sat on the mat"
LIMIT = 4  # --max-input-items
# A valid body of each POST route (the ones a server without index and sparse model serves).
BODIES = {
    "/v1/embeddings": {"input": [TEXT], "encoding_format": "float", "dimensions": 8, "input_type": "query"},
    "/": {"inputs": TEXT, "truncate": True, "parameters": {"truncation_direction": "left"}},
    "/embed": {"inputs": [TEXT], "normalize": True, "dimensions": 8, "chunk_tokens": 8, "chunk_overlap": 1},
    "/embed_all": {"inputs": [TEXT], "truncate": True},
    "/similarity": {"inputs": {"source_sentence": TEXT, "sentences": ["a dog"]}},
    "/rerank": {"query": TEXT, "texts": ["a dog", "the cat"], "return_text": True, "raw_scores": False},
    "/predict": {"inputs": [[TEXT, "a dog"], [TEXT]], "raw_scores": True},
    "/tokenize": {"inputs": [TEXT], "add_special_tokens": False},
    "/decode": {"ids": [[2, 10, 11, 3]], "skip_special_tokens": False},
    "/v1/rerank": {"query": TEXT, "documents": ["a", {"text": "x"}], "top_n": 1, "return_documents": True},
    "/v2/embed": {"texts": [TEXT], "input_type": "search_query", "embedding_types": ["float", "base64"]},
    "/similarity/matrix": {"inputs": [TEXT, "a dog"]},
}
WRONG = [None, 0, -1, 10**30, 1.5, True, "", "x", [], [None], [[]], [1, 2], [10**12], {}, {"a": 1}, [[["x"]]]]


@pytest.fixture(scope="module")
def client(tiny_st_factory, tmp_path_factory):
    from fastapi.testclient import TestClient

    root = tmp_path_factory.mktemp("serverfuzz")
    model = SentenceTransformer(tiny_st_factory(classic_pooling(32, "mean")), backend="torch")
    reranker = CrossEncoder(build_tiny_classifier(root / "rr"), backend="torch")
    app = create_app({"emb": model}, rerankers={"rr": reranker}, max_input_items=LIMIT)
    with TestClient(app, raise_server_exceptions=False) as started:
        yield started


def error_of(response) -> str:
    """The message of an error response, checked to be in its family's shape (OpenAI's under /v1/)."""
    body = response.json()
    if response.url.path.startswith("/v1/"):
        assert set(body) == {"error"} and {"message", "type", "code"} <= set(body["error"]), body
        return body["error"]["message"]
    assert set(body) == {"error", "error_type"} and isinstance(body["error"], str), body
    return body["error"]


def test_every_field_of_every_route_refuses_wrong_json_types_with_a_4xx(client):
    for path, base in BODIES.items():
        assert client.post(path, json=base).status_code == 200, path
        for field in base:
            for value in WRONG:
                response = client.post(path, content=json.dumps({**base, field: value}))
                where = f"{path} {field}={value!r:.30}"
                assert response.status_code < 500, (where, response.text)
                if response.status_code >= 400:
                    error_of(response)


@pytest.mark.parametrize("ids", [[10**12], [[2, 3], [2**40]], [2**64]])
def test_decode_refuses_token_ids_beyond_the_vocabulary(client, ids):
    # an id over 2**32 used to crash the tokenizer (500); within 2**32 it silently decoded to ""
    for row in (ids, [99999]):
        response = client.post("/decode", json={"ids": row})
        assert response.status_code == 400, response.text
        message = error_of(response)
        assert "outside the vocabulary of model 'emb'" in message and "ids 0 to" in message


def test_decode_of_a_rerankers_ids_checks_its_vocabulary(client):
    response = client.post("/decode", json={"ids": [0, 5000], "model": "rr"})
    assert response.status_code == 400 and "outside the vocabulary of reranker 'rr'" in error_of(response)


def test_decode_counts_its_inputs_against_the_input_limit(client):
    assert client.post("/decode", json={"ids": [[2, 3]] * LIMIT}).status_code == 200
    response = client.post("/decode", json={"ids": [[2, 3]] * (LIMIT + 1)})
    assert response.status_code == 413 and "--max-input-items" in error_of(response)


@pytest.mark.parametrize("path", ["/v1/embed", "/v2/embed"])
@pytest.mark.parametrize("value", [0, -3, 99])
def test_cohere_output_dimension_is_named_in_its_error(client, path, value):
    response = client.post(path, json={"texts": [TEXT], "output_dimension": value})
    assert response.status_code == 422
    message = error_of(response)
    assert message.startswith("output_dimension must be between 1 and 32"), message


def test_openai_and_tei_name_their_own_dimensions_field(client):
    for path, body in (("/v1/embeddings", {"input": TEXT}), ("/embed", {"inputs": TEXT})):
        response = client.post(path, json={**body, "dimensions": 33})
        assert response.status_code == 422 and error_of(response).startswith("dimensions must be between")


def test_head_answers_as_get_without_a_body(client):
    # text-embeddings-inference (axum) answers HEAD on its GET routes; load balancers probe with it
    for path in ("/health", "/info", "/v1/models"):
        response = client.head(path)
        assert response.status_code == 200 and response.content == b"", path
    assert client.head("/embed").status_code == 405
