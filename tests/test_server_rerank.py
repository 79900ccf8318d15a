"""`sbert serve --reranker`: TEI's POST /rerank, Cohere's and Jina's POST /v1/rerank and /search with rerank,
against the real server (uvicorn in a subprocess on a free loopback port) called with httpx. Scores and order
must equal `CrossEncoder.predict` / `rank`; bad bodies get 4xx in the error table's format; the playground's
rerank box shows the ranked list in headless Chromium. A few checks of create_app run in-process."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import build_tiny_classifier
from test_server import ARTIFACTS, Server, headless_page, parse_metrics, require_chromium, running

from sbert import FakeEncoder, VectorIndex

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TOL = 1e-5
QUERY = "a man plays music"
DOCUMENTS = [
    "a man plays the guitar",
    "the cat sat on the mat",
    "music is good",
    "he drove a red car",
    "",
    "a woman plays music in the house",
]
# Distinct texts of the tiny vocabulary (no two tokenize alike, so no two rerank scores tie).
CORPUS = [
    f"the {size} {thing} {verb}"
    for size, verb in (("big", "runs"), ("small", "sat"), ("red", "ran fast"), ("happy", "eats food"))
    for thing in ("cat", "dog", "car", "tree", "man")
]


def build_reranker(folder: Path, *, num_labels: int = 1, seed: int = 0) -> Path:
    """A tiny random BertForSequenceClassification with wide weights (scores far apart)."""
    return build_tiny_classifier(folder, num_labels=num_labels, seed=seed, initializer_range=0.5)


@pytest.fixture(scope="module")
def rerankers(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("rerankers")
    return {
        "rr": build_reranker(root / "rr", seed=0),
        "other": build_reranker(root / "other", seed=1),
        "three": build_reranker(root / "three", num_labels=3),
    }


@pytest.fixture(scope="module")
def cross_encoders(rerankers):
    from sbert import CrossEncoder

    return {name: CrossEncoder(rerankers[name], backend="torch") for name in ("rr", "other")}


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rerank-index") / "index"
    VectorIndex.build(path, CORPUS, model=FakeEncoder(16))
    return path


@pytest.fixture(scope="module")
def server(rerankers, fake_index, tmp_path_factory):
    args = ["--model", "fake:16", "--backend", "torch", "--max-input-items", "8", "--max-body-bytes", "20000"]
    args += ["--reranker", f"rr={rerankers['rr']}", "--reranker", f"other={rerankers['other']}"]
    args += ["--index", str(fake_index)]
    with running(args, tmp_path_factory.mktemp("rerank-server")) as started:
        yield started


def post(server: Server, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, timeout=60)


# ---------------------------------------------------------------------------------------------- equality


def test_tei_rerank_equals_predict_and_rank(server, cross_encoders):
    import torch

    model = cross_encoders["rr"]
    expected = model.rank(QUERY, DOCUMENTS)
    response = post(server, "/rerank", {"query": QUERY, "texts": DOCUMENTS, "return_text": True})
    assert response.status_code == 200, response.text
    found = response.json()
    assert [r["index"] for r in found] == [r["corpus_id"] for r in expected]
    assert [r["text"] for r in found] == [DOCUMENTS[r["corpus_id"]] for r in expected]
    np.testing.assert_allclose([r["score"] for r in found], [r["score"] for r in expected], atol=TOL, rtol=0)
    assert np.ptp([r["score"] for r in found]) > 0.01  # the scores differ: the order is a real check
    # raw_scores: the logits (predict without the activation), still best first; no text unless asked
    raw = post(server, "/rerank", {"query": QUERY, "texts": DOCUMENTS, "raw_scores": True}).json()
    logits = model.predict([(QUERY, d) for d in DOCUMENTS], activation_fn=torch.nn.Identity())
    assert [r["index"] for r in raw] == list(np.argsort(-logits, kind="stable"))
    np.testing.assert_allclose([r["score"] for r in raw], np.sort(logits)[::-1], atol=TOL, rtol=0)
    assert all(set(r) == {"index", "score"} for r in raw) and min(logits) < 0  # logits, not probabilities


def test_v1_rerank_equals_rank_with_top_n_and_documents(server, cross_encoders):
    for name in ("rr", "other"):  # "model" picks the reranker; the first is the default
        expected = cross_encoders[name].rank(QUERY, DOCUMENTS, top_k=3, return_documents=True)
        documents = [{"text": d} if i % 2 else d for i, d in enumerate(DOCUMENTS)]  # both of Cohere's forms
        body = {"query": QUERY, "documents": documents, "top_n": 3, "return_documents": True}
        if name != "rr":
            body["model"] = name
        response = post(server, "/v1/rerank", body)
        assert response.status_code == 200, response.text
        payload = response.json()
        assert payload["model"] == name and payload["usage"]["total_tokens"] > len(DOCUMENTS)
        results = payload["results"]
        assert [r["index"] for r in results] == [r["corpus_id"] for r in expected]
        assert [r["document"]["text"] for r in results] == [r["text"] for r in expected]
        np.testing.assert_allclose(
            [r["relevance_score"] for r in results], [r["score"] for r in expected], atol=TOL, rtol=0
        )
    plain = post(server, "/v1/rerank", {"query": QUERY, "documents": DOCUMENTS}).json()["results"]
    assert len(plain) == len(DOCUMENTS) and all("document" not in r for r in plain)  # Cohere's default
    # Cohere's ClientV2 posts the same body (strings only) to /v2/rerank
    v2 = post(server, "/v2/rerank", {"model": "rr", "query": QUERY, "documents": DOCUMENTS, "top_n": 2})
    assert v2.status_code == 200, v2.text
    assert v2.json()["results"] == plain[:2]


def test_tei_rerank_answers_cohere_bodies_as_infinity_does(server, cross_encoders):
    # LiteLLM's infinity/ reranker posts Cohere's body to /rerank, infinity's path, and reads infinity's
    # answer: each document the text itself (a {"text": ...} object fails its validation), usage with
    # prompt_tokens. /v1/rerank keeps Cohere's objects (LiteLLM's hosted_vllm/ with api_base .../v1).
    body = {"model": "other", "query": QUERY, "documents": DOCUMENTS, "top_n": 2, "return_documents": True}
    response = post(server, "/rerank", body)
    assert response.status_code == 200, response.text
    expected = cross_encoders["other"].rank(QUERY, DOCUMENTS, top_k=2, return_documents=True)
    answer = response.json()
    results = answer["results"]
    assert [r["index"] for r in results] == [r["corpus_id"] for r in expected]
    assert [r["document"] for r in results] == [r["text"] for r in expected]
    np.testing.assert_allclose(
        [r["relevance_score"] for r in results], [r["score"] for r in expected], atol=TOL, rtol=0
    )
    assert answer["object"] == "rerank" and answer["model"] == "other"
    assert answer["usage"]["prompt_tokens"] == answer["usage"]["total_tokens"] > 0
    plain = post(server, "/rerank", {"query": QUERY, "documents": DOCUMENTS, "raw_scores": True}).json()
    assert all("document" not in r for r in plain["results"])
    logits = cross_encoders["rr"].predict([(QUERY, d) for d in DOCUMENTS], activation_fn=lambda x: x)
    np.testing.assert_allclose(
        [r["relevance_score"] for r in plain["results"]], sorted(logits, reverse=True), atol=TOL, rtol=0
    )
    cohere = post(server, "/v1/rerank", body).json()["results"]
    assert [r["document"] for r in cohere] == [{"text": r["text"]} for r in expected]
    both = post(server, "/rerank", {"query": QUERY, "texts": DOCUMENTS, "documents": DOCUMENTS})
    neither = post(server, "/rerank", {"query": QUERY})
    for refused in (both, neither):
        assert refused.status_code == 422 and "one of them" in refused.json()["error"], refused.text


def test_two_rerankers_score_differently(server):
    body = {"query": QUERY, "documents": DOCUMENTS}
    first = post(server, "/v1/rerank", body).json()["results"]
    other = post(server, "/v1/rerank", {**body, "model": "other"}).json()["results"]
    by_index = [{r["index"]: r["relevance_score"] for r in rs} for rs in (first, other)]
    assert max(abs(by_index[0][i] - by_index[1][i]) for i in range(len(DOCUMENTS))) > 0.01


def test_concurrent_requests_are_batched_and_each_gets_its_own_scores(server, cross_encoders):
    model = cross_encoders["rr"]
    queries = [f"{word} plays music {i}" for i, word in enumerate(["a man", "the dog", "she", "they"] * 4)]

    def send(query: str) -> list[float]:
        response = post(server, "/rerank", {"query": query, "texts": DOCUMENTS})
        assert response.status_code == 200, response.text
        return [r["score"] for r in sorted(response.json(), key=lambda r: r["index"])]

    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(send, queries))
    for query, scores in zip(queries, found):
        np.testing.assert_allclose(scores, model.predict([(query, d) for d in DOCUMENTS]), atol=TOL, rtol=0)
    metrics = parse_metrics(httpx.get(f"{server.url}/metrics").text)
    assert metrics['sbert_batch_size_count{model="rr"}'] >= 1
    assert metrics['sbert_requests_total{route="/rerank",status="200"}'] >= len(queries)


def test_search_with_rerank_gives_the_rerankers_order(server, cross_encoders):
    queries = ["the cat", "a happy man plays music"]
    plain = post(server, "/search", {"query": queries, "k": 6}).json()
    response = post(server, "/search", {"query": queries, "k": 6, "rerank": True})
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["reranker"] == "rr"
    for query, hits, retrieved in zip(queries, payload["results"], plain["results"]):
        texts = [hit["text"] for hit in retrieved]
        expected = cross_encoders["rr"].rank(query, texts)
        assert [h["text"] for h in hits] == [texts[r["corpus_id"]] for r in expected]
        assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5, 6]
        assert [h["retrieval_rank"] for h in hits] == [r["corpus_id"] + 1 for r in expected]
        np.testing.assert_allclose([h["score"] for h in hits], [r["score"] for r in expected], atol=TOL)
        by_id = {hit["id"]: hit["score"] for hit in retrieved}
        assert all(abs(by_id[h["id"]] - h["retrieval_score"]) < TOL for h in hits)
    other = post(server, "/search", {"query": queries[0], "k": 6, "reranker": "other"}).json()
    assert other["reranker"] == "other"
    assert post(server, "/search", {"query": "x", "k": 6, "reranker": "nope"}).status_code == 404
    assert post(server, "/search", {"query": "x", "k": 9, "rerank": True}).status_code == 413  # 9 > 8 items


def test_search_with_rrf_fusion_orders_by_both_ranks(server):
    queries = ["the cat", "a happy man plays music"]
    reranked = post(server, "/search", {"query": queries, "k": 6, "rerank": True}).json()["results"]
    response = post(server, "/search", {"query": queries, "k": 6, "fusion": "rrf"})  # implies rerank
    assert response.status_code == 200, response.text
    for hits, by_reranker in zip(response.json()["results"], reranked):
        fused = {
            h["id"]: 1 / (60 + h["retrieval_rank"]) + 1 / (60 + rank) for rank, h in enumerate(by_reranker, 1)
        }
        expected = sorted(by_reranker, key=lambda h: (-fused[h["id"]], h["retrieval_rank"]))
        assert [h["id"] for h in hits] == [h["id"] for h in expected]
        assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5, 6]
        np.testing.assert_allclose([h["score"] for h in hits], [fused[h["id"]] for h in expected], rtol=1e-12)
        rerank_scores = [h["rerank_score"] for h in hits]
        np.testing.assert_allclose(rerank_scores, [h["score"] for h in expected], atol=TOL)
    bad = post(server, "/search", {"query": "x", "k": 6, "fusion": "sum"})
    assert bad.status_code == 422 and "fusion" in bad.text


def test_info_and_models_list_the_rerankers(server):
    info = httpx.get(f"{server.url}/info").json()
    assert [r["name"] for r in info["rerankers"]] == ["rr", "other"]
    assert info["rerankers"][0]["activation"] == "Sigmoid" and info["rerankers"][0]["max_input_length"] == 64
    models = [m["id"] for m in httpx.get(f"{server.url}/v1/models").json()["data"]]
    assert models[-2:] == ["rr", "other"]
    assert httpx.get(f"{server.url}/v1/models/other").json()["id"] == "other"


# ---------------------------------------------------------------------------------------------- bad input

LONG = "the cat sat on the mat " * 30


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/rerank", {"query": QUERY, "texts": ["a", 3, "b"]}, 422, ["texts[1]", "number", "not a string"]),
        ("/v1/rerank", {"query": QUERY, "documents": ["a", "b", None]}, 422, ["documents[2]", "null"]),
        ("/v1/rerank", {"query": QUERY, "documents": ["a", {"title": "b"}]}, 422, ["documents[1]", '"text"']),
        ("/rerank", {"query": QUERY, "texts": "one text"}, 422, ["texts", "array"]),
        ("/rerank", {"texts": ["a"]}, 422, ["query"]),
        ("/v1/rerank", {"query": 3, "documents": ["a"]}, 422, ["query"]),
        ("/rerank", {"query": QUERY, "texts": ["a"] * 9}, 413, ["9 documents", "limit is 8"]),
        ("/v1/rerank", {"query": QUERY, "documents": ["a"] * 9}, 413, ["--max-input-items"]),
        ("/rerank", {"query": QUERY, "texts": ["a", LONG]}, 413, ["document 1", "64 tokens", "truncate"]),
        ("/rerank", {"query": QUERY, "texts": ["a"], "model": "nope"}, 404, ["'nope'", "'rr'", "'other'"]),
        ("/v1/rerank", {"query": QUERY, "documents": ["a"], "model": "x"}, 404, ["'x'", "'rr'", "'other'"]),
        ("/v1/rerank", {"query": QUERY, "documents": ["a"], "top_n": 0}, 422, ["top_n"]),
        ("/rerank", {"query": QUERY, "texts": ["a"], "raw_scores": "yes"}, 422, ["raw_scores"]),
    ],
)
def test_bad_bodies_get_4xx_in_the_protocols_error_format(server, path, body, status, words):
    response = post(server, path, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    message = error["message"] if path.startswith("/v1/") else error
    if path.startswith("/v1/"):
        assert error["code"] == status and error["type"]
    else:
        assert response.json()["error_type"]
    for word in words:
        assert word in message, message


def test_empty_documents_give_an_empty_ranking_and_long_ones_are_cut_when_asked(server, cross_encoders):
    assert post(server, "/rerank", {"query": QUERY, "texts": []}).json() == []
    assert post(server, "/v1/rerank", {"query": QUERY, "documents": []}).json()["results"] == []
    cut = post(server, "/rerank", {"query": QUERY, "texts": ["a", LONG], "truncate": True})
    assert cut.status_code == 200, cut.text
    scores = [r["score"] for r in sorted(cut.json(), key=lambda r: r["index"])]
    np.testing.assert_allclose(scores, cross_encoders["rr"].predict([(QUERY, "a"), (QUERY, LONG)]), atol=TOL)
    cohere = post(server, "/v1/rerank", {"query": QUERY, "documents": [LONG]})  # cut, as predict cuts
    assert cohere.status_code == 200, cohere.text
    # the side that is cut: the right one keeps the start of the document, the left one its end
    text = "a man plays music " + LONG
    sides = {}
    for side in ("Right", "Left"):
        body = {"query": QUERY, "texts": [text], "truncate": True, "truncation_direction": side}
        sides[side] = post(server, "/rerank", body).json()[0]["score"]
    assert abs(sides["Right"] - sides["Left"]) > 1e-4
    np.testing.assert_allclose(sides["Right"], cross_encoders["rr"].predict((QUERY, text)), atol=TOL)
    assert httpx.post(f"{server.url}/rerank", content=b"{not json", timeout=30).status_code == 400


def test_a_server_without_reranker_says_how_to_add_one():
    from fastapi.testclient import TestClient

    from sbert import create_app

    with TestClient(create_app(FakeEncoder(8, name="fake"))) as client:
        for path in ("/rerank", "/v1/rerank"):
            response = client.post(path, json={"query": "q", "texts": ["a"], "documents": ["a"]})
            assert response.status_code == 404
            assert "--reranker NAME=MODEL" in response.text
        assert client.get("/info").json()["rerankers"] == []
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/rerank", "/v1/rerank"} <= set(paths)


class Blocking:
    """A cross-encoder whose batches wait for ``release`` once ``armed`` (to hold a request in flight)."""

    def __init__(self, model) -> None:
        self.model, self.armed = model, False
        self.entered, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self.model, name)

    def logits_batch(self, batch):
        if self.armed:
            self.entered.set()
            self.release.wait(60)
        return self.model.logits_batch(batch)


def test_a_full_server_answers_429_to_rerank_requests_and_recovers(cross_encoders):
    from fastapi.testclient import TestClient

    from sbert import create_app

    blocking = Blocking(cross_encoders["rr"])
    app = create_app(FakeEncoder(8, name="fake"), rerankers={"rr": blocking}, max_concurrent_requests=1)
    body = {"query": QUERY, "texts": DOCUMENTS}
    with TestClient(app) as client, ThreadPoolExecutor(1) as pool:
        blocking.armed = True
        first = pool.submit(client.post, "/rerank", json=body)
        assert blocking.entered.wait(60)  # the first request holds the only slot, in the model
        refused = client.post("/v1/rerank", json={"query": QUERY, "documents": DOCUMENTS})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert "--max-concurrent-requests" in refused.json()["error"]["message"]
        blocking.release.set()
        assert first.result(60).status_code == 200
        assert client.post("/rerank", json=body).status_code == 200


def test_create_app_refuses_multi_label_rerankers_and_name_clashes(rerankers, cross_encoders):
    from sbert import CrossEncoder, InputError, create_app

    with pytest.raises(InputError, match="3 labels"):
        create_app(FakeEncoder(8), rerankers={"three": CrossEncoder(rerankers["three"])})
    with pytest.raises(InputError, match="both named 'fake'"):
        create_app({"fake": FakeEncoder(8)}, rerankers={"fake": cross_encoders["rr"]})


def test_cli_serve_refuses_an_embedding_model_as_reranker(tiny_st_factory, built_apps, capsys):
    from conftest import classic_pooling

    from sbert._cli import main

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    assert main(["serve", "--model", "fake", "--reranker", f"rr={folder}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sbert: error:") and "\n" not in err and "SentenceTransformer" in err
    assert built_apps == []


def test_cli_serve_passes_rerankers_by_name(rerankers, built_apps, capsys):
    from sbert._cli import main

    named = ["--reranker", str(rerankers["rr"]), "--reranker", "o=" + str(rerankers["other"])]
    assert main(["serve", "--model", "fake", *named]) == 0
    assert "reranking with rr, o" in capsys.readouterr().err
    assert list(built_apps[0].state.sbert.rerankers) == ["rr", "o"]  # a folder is named after itself
    assert main(["serve", "--model", "fake", "--reranker", f"x={rerankers['three']}"]) == 2
    refused = capsys.readouterr().err
    assert "3 labels" in refused and "serving" not in refused and "reranking with" not in refused


# ---------------------------------------------------------------------------------------------- playground


def test_playground_reranks_in_the_rerank_box(server, cross_encoders):
    chromium = require_chromium()
    documents = ["the cat sat on the mat", "a man plays the guitar", "music is good", "he drove a red car"]
    expected = cross_encoders["rr"].rank(QUERY, documents)
    with headless_page(server.url + "/", height=900, chromium=chromium) as page:
        page.wait_for_selector("#rerank-section:not([hidden])", timeout=30_000)
        assert page.input_value("#reranker") == "rr"
        page.fill("#rerank-query", QUERY)
        page.fill("#rerank-docs", "\n".join(documents))
        page.click("#rerank")
        page.wait_for_selector("body[data-reranked=true]", timeout=30_000)
        rows = page.eval_on_selector_all(
            "#ranking tr.ranked",
            "rows => rows.map(r => [Number(r.dataset.index), Number(r.dataset.score), "
            "r.querySelector('td.text').textContent])",
        )
        assert [index for index, _, _ in rows] == [r["corpus_id"] for r in expected]
        assert [text for _, _, text in rows] == [documents[r["corpus_id"]] for r in expected]
        np.testing.assert_allclose([s for _, s, _ in rows], [r["score"] for r in expected], atol=TOL)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "playground-rerank.png"), full_page=True)
        # the other reranker, chosen in the box
        page.select_option("#reranker", "other")
        page.click("#rerank")
        page.wait_for_selector("body[data-reranked=true]", timeout=30_000)
        scores = page.eval_on_selector_all(
            "#ranking tr.ranked", "rows => rows.map(r => Number(r.dataset.score))"
        )
        other = cross_encoders["other"].rank(QUERY, documents)
        np.testing.assert_allclose(scores, [r["score"] for r in other], atol=TOL)
        # the search box's "rerank" checkbox: the hits in the reranker's order, as POST /search gives them
        wanted = post(server, "/search", {"query": "the cat", "k": 5, "reranker": "other"}).json()
        retrieved = post(server, "/search", {"query": "the cat", "k": 5}).json()["results"][0]
        assert [hit["id"] for hit in retrieved] != [hit["id"] for hit in wanted["results"][0]]
        page.check("#search-rerank")
        page.fill("#k", "5")
        page.fill("#query", "the cat")
        page.press("#query", "Enter")
        page.wait_for_selector("body[data-searched=true]", timeout=30_000)
        ids = page.eval_on_selector_all("#results tr.hit", "rows => rows.map(r => r.dataset.id)")
        assert ids == [hit["id"] for hit in wanted["results"][0]]
