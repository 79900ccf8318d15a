"""text-embeddings-inference's POST /embed_sparse: a served SPLADE SparseEncoder (ONNX Runtime), in-process
(FastAPI's TestClient) on a tiny random masked-LM, with the bodies haystack's HuggingFaceTEISparseTextEmbedder
and HuggingFaceTEISparseDocumentEmbedder send; every nonzero entry compared with sbert's and
sentence-transformers' SparseEncoder.encode on the same folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sbert import FakeEncoder, InputError, SparseEncoder, create_app

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

ATOL = 1e-5
PROMPTS = {"query": "query: ", "document": "passage: "}
TEXTS = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
QUERY = "How is the weather?"
LONG = "the cat sat on the mat and the dog ran in the house " * 20  # over the model's limit


@pytest.fixture(scope="module")
def folder(masked_lm, tmp_path_factory) -> Path:
    """sentence-transformers' save of a SPLADE model around the tiny masked-LM, with prompts."""
    from sentence_transformers import SparseEncoder as StSparseEncoder

    root = tmp_path_factory.mktemp("server-sparse")
    plain = shutil.copytree(masked_lm, root / "plain")
    StSparseEncoder(str(plain), device="cpu", prompts=PROMPTS).save(str(root / "splade"))
    return root / "splade"


def _client(models, **options):
    from fastapi.testclient import TestClient

    return TestClient(create_app(models, **options))


@pytest.fixture(scope="module")
def client(folder):
    sparse = {"splade": SparseEncoder(folder, backend="onnx")}
    with _client(None, sparse_models=sparse) as started:  # a SPLADE server, as TEI runs one
        yield started


def _dense(answer: list[dict], width: int) -> np.ndarray:
    row = np.zeros(width)
    for entry in answer:
        assert set(entry) == {"index", "value"} and isinstance(entry["index"], int)
        row[entry["index"]] = entry["value"]
    return row


def _assert_encodes_as(answer: list[list[dict]], expected) -> None:
    """Per input the same nonzero indices, ascending, with values within ATOL of ``expected`` (n, V)."""
    expected = np.asarray(expected.to_dense() if hasattr(expected, "to_dense") else expected)
    assert len(answer) == len(expected)
    for got, row in zip(answer, expected):
        indices = [entry["index"] for entry in got]
        assert indices == sorted(indices) and indices == np.flatnonzero(row).tolist()
        np.testing.assert_allclose(_dense(got, row.shape[0]), row, atol=ATOL, rtol=0)


def test_embed_sparse_is_sparse_encoder_encode_for_haystacks_bodies(client, folder):
    from sentence_transformers import SparseEncoder as StSparseEncoder

    reference = StSparseEncoder(str(folder), device="cpu")
    ours = SparseEncoder(folder, backend="onnx")
    # HuggingFaceTEISparseTextEmbedder: {"inputs": text}; the document embedder: {"inputs": [texts]}
    one = client.post("/embed_sparse", json={"inputs": QUERY})
    assert one.status_code == 200, one.text
    _assert_encodes_as(one.json(), reference.encode([QUERY]))
    batch = client.post("/embed_sparse", json={"inputs": TEXTS}).json()
    _assert_encodes_as(batch, reference.encode(TEXTS))
    _assert_encodes_as(batch, ours.encode(TEXTS))
    # prompt_name and model, as TEI's body names them
    prompted = client.post("/embed_sparse", json={"inputs": TEXTS, "prompt_name": "query", "model": "splade"})
    _assert_encodes_as(prompted.json(), reference.encode(TEXTS, prompt_name="query"))
    # truncate: true cuts on the right, as encode does
    cut = client.post("/embed_sparse", json={"inputs": [LONG, QUERY], "truncate": True}).json()
    _assert_encodes_as(cut, reference.encode([LONG, QUERY]))


def test_embed_sparse_limits_and_errors(client, folder):
    long = client.post("/embed_sparse", json={"inputs": [QUERY, LONG]})
    assert long.status_code == 413 and "input 1" in long.json()["error"]
    assert "sparse model 'splade'" in long.json()["error"]
    unknown = client.post("/embed_sparse", json={"inputs": QUERY, "model": "nope"})
    assert unknown.status_code == 404 and "'splade'" in unknown.json()["error"]
    assert client.post("/embed_sparse", json={"inputs": []}).status_code == 400
    assert client.post("/embed_sparse", json={"inputs": 3}).status_code == 422
    for chunked in ({"chunk_tokens": 8}, {"chunk_overlap": 2}):  # /embed's windows are not served here
        refused = client.post("/embed_sparse", json={"inputs": [LONG], **chunked})
        assert refused.status_code == 422 and "leave chunk_tokens and chunk_overlap out" in refused.text
    bad_prompt = client.post("/embed_sparse", json={"inputs": QUERY, "prompt_name": "nope"})
    assert bad_prompt.status_code == 422 and "'query'" in bad_prompt.json()["error"]
    dense = client.post("/embed", json={"inputs": QUERY})  # a sparse-only server has no dense model
    assert dense.status_code == 404 and "--model" in dense.json()["error"]
    sparse = {"splade": SparseEncoder(folder, backend="onnx")}
    with _client(FakeEncoder(8), sparse_models=sparse, max_input_items=2, auto_truncate=True) as small:
        assert small.post("/embed_sparse", json={"inputs": TEXTS}).status_code == 413
        assert small.post("/embed_sparse", json={"inputs": [LONG]}).status_code == 200
        assert small.post("/embed_sparse", json={"inputs": [LONG], "truncate": False}).status_code == 413
        assert small.get("/info").json()["model_type"] == {"embedding": {"pooling": "mean"}}
    with _client(FakeEncoder(8)) as plain:
        missing = plain.post("/embed_sparse", json={"inputs": QUERY})
    assert missing.status_code == 404 and "--sparse" in missing.json()["error"]
    with pytest.raises(InputError, match="both named 'fake'"):
        create_app({"fake": FakeEncoder(8)}, sparse_models={"fake": SparseEncoder(folder, backend="onnx")})
    with pytest.raises(InputError, match="not a SparseEncoder"):
        create_app(None, sparse_models={"dense": FakeEncoder(8)})


def test_info_describes_a_splade_model_as_tei(client):
    info = client.get("/info").json()
    assert info["model_id"] == "splade"
    assert info["model_type"] == {"embedding": {"pooling": "splade"}}
    assert info["max_input_length"] == 64 and info["sparse_models"][0]["prompts"] == ["document", "query"]


def test_cli_serve_sparse(folder, built_apps, capsys):
    from sbert._cli import main

    apps = built_apps
    assert main(["serve", "--sparse", f"sp={folder}"]) == 0
    assert "serving sp on" in capsys.readouterr().err
    state = apps[0].state.sbert
    assert list(state.sparse_models) == ["sp"] and state.models == {}
    assert state.sparse_models["sp"].backend == "onnx"
    assert main(["serve", "--model", "fake", "--sparse", str(folder)]) == 0
    state = apps[1].state.sbert
    assert list(state.models) == ["fake"] and list(state.sparse_models) == ["splade"]


# ------------------------------------------------------------------ inference-free SPLADE (a Router)


@pytest.fixture(scope="module")
def inference_free(masked_lm, tmp_path_factory) -> Path:
    """sentence-transformers' save of an inference-free SPLADE model: a Router of a SparseStaticEmbedding
    (random token weights) for queries and the masked-LM with SpladePooling for documents, with prompts."""
    import torch
    from sentence_transformers import SparseEncoder as StSparseEncoder
    from sentence_transformers.base.modules import Router, Transformer
    from sentence_transformers.sparse_encoder.modules import SparseStaticEmbedding, SpladePooling

    document = Transformer(str(masked_lm), transformer_task="fill-mask")
    torch.manual_seed(0)
    weight = torch.rand(len(document.tokenizer.get_vocab()))
    query = SparseStaticEmbedding(tokenizer=document.tokenizer, weight=weight, frozen=True)
    router = Router.for_query_document([query], [document, SpladePooling("max")])
    folder = tmp_path_factory.mktemp("server-sparse") / "inference-free"
    StSparseEncoder(modules=[router], device="cpu", prompts=PROMPTS).save(str(folder))
    return folder


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_inference_free_splade_routes_as_sparse_encoder(inference_free, backend):
    """No task: the default (document) route, as encode and as TEI, which runs the masked-LM on every input;
    prompt_name "query" / "document": encode_query / encode_document (the query route adds no special
    tokens and runs no encoder). Both tasks in one server, batched apart."""
    from sentence_transformers import SparseEncoder as StSparseEncoder

    reference = StSparseEncoder(str(inference_free), device="cpu")
    sparse = {"if": SparseEncoder(inference_free, backend=backend)}
    with _client(None, sparse_models=sparse) as client:
        plain = client.post("/embed_sparse", json={"inputs": TEXTS})
        assert plain.status_code == 200, plain.text
        _assert_encodes_as(plain.json(), reference.encode(TEXTS))
        queries = client.post("/embed_sparse", json={"inputs": TEXTS, "prompt_name": "query"}).json()
        _assert_encodes_as(queries, reference.encode_query(TEXTS))
        documents = client.post("/embed_sparse", json={"inputs": TEXTS, "prompt_name": "document"}).json()
        _assert_encodes_as(documents, reference.encode_document(TEXTS))
        assert queries != documents  # the routes differ: the query route is the token weights alone
        # a long query is cut at the tokenizer's limit without special tokens, as SparseStaticEmbedding cuts
        cut = client.post("/embed_sparse", json={"inputs": [LONG], "prompt_name": "query", "truncate": True})
        _assert_encodes_as(cut.json(), reference.encode_query([LONG]))
        info = client.get("/info").json()
        assert info["sparse_models"][0]["tasks"] == ["query", "document"]
        assert info["model_type"] == {"embedding": {"pooling": "splade"}}


def test_v1_models_lists_sparse_models_rerankers_and_classifiers(folder, tmp_path):
    """OpenAI's client.models.list() / retrieve(name): every model served, of every kind."""
    from conftest import build_tiny_classifier

    from sbert import CrossEncoder

    reranker = CrossEncoder(build_tiny_classifier(tmp_path / "rr", num_labels=1), backend="torch")
    classifier = CrossEncoder(build_tiny_classifier(tmp_path / "nli", num_labels=3), backend="torch")
    options = {
        "sparse_models": {"splade": SparseEncoder(folder, backend="onnx")},
        "rerankers": {"rr": reranker},
        "classifiers": {"nli": classifier},
    }
    with _client({"dense": FakeEncoder(8)}, **options) as client:
        listed = client.get("/v1/models").json()
        assert listed["object"] == "list"
        assert [(m["id"], m["capabilities"]) for m in listed["data"]] == [
            ("dense", ["embed"]),
            ("splade", ["embed_sparse"]),
            ("rr", ["rerank"]),
            ("nli", ["classify"]),
        ]
        for entry in listed["data"]:
            assert entry["object"] == "model" and client.get(f"/v1/models/{entry['id']}").json() == entry
        missing = client.get("/v1/models/nope")
        assert missing.status_code == 404 and "'splade'" in missing.json()["error"]["message"]
