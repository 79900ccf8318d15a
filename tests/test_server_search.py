"""`sbert serve --index`: POST /search over a VectorIndex, against the real server (uvicorn in a subprocess
on a free loopback port). Results must equal `VectorIndex.search` with the same model; the queries must go
through the server's batcher; bad requests get 4xx; a wrong, missing or corrupt index stops the server at
start-up; the playground's search box shows the ranked results in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import free_port, stub_serve
from test_server import ARTIFACTS, Server, headless_page, parse_metrics, require_chromium, running

from sbert import FakeEncoder, VectorIndex

pytest.importorskip("faiss")
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

CORPUS = [
    "A man is playing a guitar on the stage.",
    "The new movie is awesome and the actors are great.",
    "A woman is slicing an onion in the kitchen.",
    "Stock markets fell sharply after the announcement.",
    "The cat sleeps on the warm windowsill.",
    "Two dogs are running through a snowy field.",
    "The central bank raised interest rates again.",
    "A child is riding a bicycle down the street.",
    "How do I reset my password?",
    "The football team won the championship last night.",
    "Heavy rain is expected over the weekend.",
    "She is reading a book in the library.",
    "The chef prepares pasta with fresh tomatoes.",
    "Scientists discovered a new species of frog.",
    "The train to Paris was delayed by an hour.",
    "A monkey is playing drums.",
]
QUERIES = [
    "Someone plays an instrument.",
    "forgot my login credentials",
    "weather forecast: storms",
    "cooking food",
]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, default_model) -> Path:
    path = tmp_path_factory.mktemp("search") / "index"
    ids = [f"doc-{i}" for i in range(len(CORPUS))]
    VectorIndex.build(path, CORPUS, model=default_model, ids=ids)
    return path


@pytest.fixture(scope="module")
def search_server(index_dir, tmp_path_factory):
    args = [
        "--model",
        "all-MiniLM-L6-v2",
        "--model",
        "fake=fake:8",
        "--backend",
        "torch",
        "--index",
        str(index_dir),
        "--max-input-items",
        "8",
        "--max-body-bytes",
        "20000",
    ]
    with running(args, tmp_path_factory.mktemp("search-server")) as server:
        yield server


@pytest.fixture(scope="module")
def fake_index_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fake-search") / "index"
    VectorIndex.build(
        path,
        [f"{word} text {i}" for i, word in enumerate(["cat", "dog", "car", "tree"] * 5)],
        model=FakeEncoder(16),
    )
    return path


def search(server: Server, body: object) -> httpx.Response:
    return httpx.post(f"{server.url}/search", json=body, timeout=60)


# ---------------------------------------------------------------------------------------------- results


def test_search_equals_vector_index_search(search_server, index_dir, default_model):
    expected = VectorIndex.open(index_dir, model=default_model).search(QUERIES, k=5)
    response = search(search_server, {"query": QUERIES, "k": 5})
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["model"] == "all-MiniLM-L6-v2"
    assert len(payload["results"]) == len(QUERIES)
    for hits, want in zip(payload["results"], expected):
        assert [h["id"] for h in hits] == [w.id for w in want]
        assert [h["text"] for h in hits] == [w.text for w in want]
        assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
        np.testing.assert_allclose([h["score"] for h in hits], [w.score for w in want], atol=1e-5)
    assert payload["results"][1][0]["text"] == "How do I reset my password?"


def test_one_string_is_one_query_and_k_defaults_to_10(search_server, index_dir, default_model):
    expected = VectorIndex.open(index_dir, model=default_model).search(QUERIES[0], k=10)
    results = search(search_server, {"query": QUERIES[0]}).json()["results"]
    assert len(results) == 1 and [h["id"] for h in results[0]] == [h.id for h in expected]
    everything = search(search_server, {"query": QUERIES[0], "k": 1000}).json()["results"][0]
    assert len(everything) == len(CORPUS)  # k beyond the index size: every text, ranked
    # The index's model, named (by its alias too), is the same as naming none.
    assert search(
        search_server, {"query": QUERIES[0], "model": "sentence-transformers/all-MiniLM-L6-v2"}
    ).json() == {"model": "all-MiniLM-L6-v2", "results": results}


def test_queries_are_embedded_by_the_servers_batcher(search_server, index_dir, default_model):
    def embedded() -> float:
        metrics = parse_metrics(httpx.get(f"{search_server.url}/metrics").text)
        return metrics.get('sbert_embedded_texts_total{model="all-MiniLM-L6-v2"}', 0.0)

    before = embedded()
    index = VectorIndex.open(index_dir, model=default_model)
    queries = [f"{q} ({i})" for i in range(4) for q in QUERIES]  # 16 queries, one request each, at once
    expected = {q: [h.id for h in index.search(q, k=3)] for q in queries}
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda q: search(search_server, {"query": q, "k": 3}), queries))
    for query, response in zip(queries, responses):
        assert [h["id"] for h in response.json()["results"][0]] == expected[query]
    assert embedded() - before == len(queries)


def test_info_and_metrics_show_the_index(search_server, index_dir):
    info = httpx.get(f"{search_server.url}/info").json()
    assert info["index"] == {
        "path": str(index_dir),
        "size": len(CORPUS),
        "model": "all-MiniLM-L6-v2",
        "index_model": "sentence-transformers/all-MiniLM-L6-v2",
        "dimension": 384,
        "metric": "cosine",
        "structure": "flat",
        "precision": "float32",
    }
    search(search_server, {"query": "a guitar", "k": 1})
    search(search_server, {"query": "a guitar", "k": 0})
    metrics = parse_metrics(httpx.get(f"{search_server.url}/metrics").text)
    assert metrics['sbert_requests_total{route="/search",status="200"}'] >= 1
    assert metrics['sbert_requests_total{route="/search",status="422"}'] >= 1
    assert metrics["sbert_search_duration_seconds_count"] >= 1


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"query": "a", "k": 0}, 422, "k: Input should be greater than or equal to 1"),
        ({"query": "a", "k": -3}, 422, "k: "),
        ({"query": "a", "k": 1001}, 422, "k: Input should be less than or equal to 1000"),
        ({"query": "a", "k": "5"}, 422, "k: Input should be a valid integer"),
        ({"query": "a", "k": 2.5}, 422, "k: "),
        ({"query": "a", "k": True}, 422, "k: "),
        ({"query": ""}, 422, "the query is empty"),
        ({"query": ["a", "  "]}, 422, "query[1] is empty"),
        ({"query": []}, 422, "must not be an empty array"),
        ({"query": ["a", 3]}, 422, "query[1] is a number"),
        ({"query": None}, 422, "got null"),
        ({"query": {"text": "a"}}, 422, "got an object"),
        ({"k": 3}, 422, "query: Field required"),
        (["a"], 422, "object"),
        ({"query": "a", "model": "fake"}, 422, "the index was built with model 'all-MiniLM-L6-v2'"),
        ({"query": "a", "model": "gpt"}, 404, "not served here"),
        ({"query": ["a"] * 9}, 413, "--max-input-items"),
        ({"query": "a" * 30_000}, 413, "20000 bytes"),
    ],
)
def test_bad_search_requests_get_4xx_with_a_message(search_server, body, status, words):
    response = search(search_server, body)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    assert "Traceback" not in response.text


def test_not_json_is_400_and_get_is_405(search_server):
    assert httpx.post(f"{search_server.url}/search", content=b"{").status_code == 400
    assert httpx.get(f"{search_server.url}/search").status_code == 405


def test_fuzz_malformed_search_bodies_get_4xx_and_search_keeps_working(
    search_server, index_dir, default_model
):
    rng = np.random.default_rng(7)
    wrong = [
        None,
        1,
        -1,
        1.5,
        True,
        "",
        " ",
        {},
        {"a": "b"},
        [None],
        [1, "a"],
        [[]],
        [],
        [True],
        ["a", ""],
        10**20,
    ]
    statuses = set()
    with httpx.Client(base_url=search_server.url, timeout=60) as client:
        for i in range(200):
            kind = i % 6
            if kind == 0:
                raw = json.dumps({"query": wrong[int(rng.integers(len(wrong)))], "k": 3}).encode()
            elif kind == 1:
                raw = json.dumps({"query": "a", "k": wrong[int(rng.integers(len(wrong)))]}).encode()
            elif kind == 2:
                raw = json.dumps(
                    {"query": "a", "model": wrong[int(rng.integers(len(wrong)))] or "nope"}
                ).encode()
            elif kind == 3:
                depth = int(rng.integers(300, 3000))
                raw = b'{"query": ' + b"[" * depth + b"]" * depth + b"}"
            elif kind == 4:
                raw = b'{"query": "\xff' + bytes(rng.integers(128, 256, size=8).tolist()) + b'"}'
            else:
                raw = [b"", b"{}", b"null", b"[]", b'"a"', b"{", json.dumps({"query": ["a"] * 50}).encode()][
                    i % 7
                ]
            response = client.post("/search", content=raw, headers={"content-type": "application/json"})
            statuses.add(response.status_code)
            assert 400 <= response.status_code < 500, (raw[:80], response.status_code, response.text[:200])
            assert "Traceback" not in response.text
        assert statuses >= {400, 404, 413, 422}
        hits = client.post("/search", json={"query": QUERIES[1], "k": 1}).json()["results"][0]
    assert hits[0]["text"] == "How do I reset my password?"


def test_a_server_without_an_index_says_how_to_get_one():
    from fastapi.testclient import TestClient

    from sbert import create_app

    with TestClient(create_app(FakeEncoder(4))) as client:
        response = client.post("/search", json={"query": "a"})
        assert response.status_code == 404
        assert "--index INDEX_DIR" in response.json()["error"]
        assert client.get("/info").json()["index"] is None


def test_an_index_of_another_model_stops_the_server_at_start_up(fake_index_dir, tmp_path):
    # Same dimension, another model: the index's probe check refuses it, and the server never listens.
    command = [
        sys.executable,
        "-m",
        "sbert",
        "serve",
        "--model",
        "fake:16?seed=1",
        "--index",
        str(fake_index_dir),
        "--port",
        str(free_port()),
    ]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "sbert: error:" in done.stderr and "embeds differently" in done.stderr
    assert "Traceback" not in done.stderr


def test_create_app_binds_the_index_to_its_model_or_refuses(fake_index_dir):
    from sbert import create_app
    from sbert._errors import ModelMismatchError

    with pytest.raises(ModelMismatchError, match="holds 16-dimensional vectors"):
        create_app({"m": FakeEncoder(8)}, index=fake_index_dir)
    with pytest.raises(
        ModelMismatchError, match=r"none of the served models \('a', 'b'\).*embeds differently"
    ):
        create_app({"a": FakeEncoder(8), "b": FakeEncoder(16, seed=2)}, index=fake_index_dir)
    # Several models: the index goes with the one it was built with, whatever its place.
    app = create_app({"a": FakeEncoder(8), "b": FakeEncoder(16)}, index=VectorIndex.open(fake_index_dir))
    assert app.state.sbert.index.model.name == "b"


def test_missing_corrupt_or_repeated_index_fails_before_serving(
    fake_index_dir, tmp_path, monkeypatch, capsys
):
    from sbert._cli import main

    stub_serve(monkeypatch, lambda *a, **k: pytest.fail("served despite a bad --index"))
    assert main(["serve", "--model", "fake:16", "--index", str(tmp_path / "nowhere")]) == 2
    assert "No index at" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt"
    shutil.copytree(fake_index_dir, corrupt)
    faiss_file = next(corrupt.glob("g*/index.faiss"))
    faiss_file.write_bytes(faiss_file.read_bytes()[:-10])
    assert main(["serve", "--model", "fake:16", "--index", str(corrupt)]) == 2
    assert "truncated or corrupt" in capsys.readouterr().err
    assert main(["serve", "--model", "fake:16", "--index", str(fake_index_dir), "--index", str(corrupt)]) == 2
    assert "searches one index" in capsys.readouterr().err


def test_texts_added_while_serving_are_found(fake_index_dir, tmp_path):
    # `sbert index add` replaces the generation the server opened (and removes it): the server follows.
    live = tmp_path / "live"
    shutil.copytree(fake_index_dir, live)
    with running(["--model", "fake:16", "--index", str(live)], tmp_path) as server:
        before = search(server, {"query": "cat", "k": 3})
        assert before.status_code == 200
        VectorIndex.open(live, model=FakeEncoder(16)).add(["zebra zebra zebra"], ids=["new"])
        after = search(server, {"query": "zebra zebra zebra", "k": 1})
        assert after.status_code == 200, after.text
        assert after.json()["results"][0][0] == {
            "rank": 1,
            "id": "new",
            "text": "zebra zebra zebra",
            "score": pytest.approx(1.0, abs=1e-5),
        }
        assert httpx.get(f"{server.url}/info").json()["index"]["size"] == 21


# ---------------------------------------------------------------------------------------------- playground


def test_playground_searches_the_index(search_server, index_dir, default_model):
    chromium = require_chromium()
    index = VectorIndex.open(index_dir, model=default_model)
    with headless_page(search_server.url + "/", height=900, chromium=chromium) as page:
        page.wait_for_selector("#search-section:not([hidden])", timeout=30_000)
        assert "16 texts" in page.text_content("#index-info")
        # Type a query and press Enter.
        page.fill("#k", "5")
        page.fill("#query", QUERIES[0])
        page.press("#query", "Enter")
        page.wait_for_selector("body[data-searched=true]", timeout=30_000)
        rows = page.eval_on_selector_all(
            "#results tr.hit",
            "trs => trs.map(tr => [tr.dataset.id, tr.dataset.score, "
            "...[...tr.cells].map(td => td.textContent)])",
        )
        expected = index.search(QUERIES[0], k=5)
        assert [r[0] for r in rows] == [h.id for h in expected]
        assert [r[2] for r in rows] == ["1", "2", "3", "4", "5"]
        assert rows[0][4] == expected[0].text == "A man is playing a guitar on the stage."
        np.testing.assert_allclose([float(r[1]) for r in rows], [h.score for h in expected], atol=1e-5)
        assert [r[3] for r in rows] == [f"{h.score:.4f}" for h in expected]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "playground-search.png"), full_page=True)
        # Another query, by the button this time.
        page.fill("#query", QUERIES[1])
        page.click("#search")
        page.wait_for_function(
            "document.querySelector('#results tr.hit td.text').textContent === 'How do I reset my password?'",
            timeout=30_000,
        )
    assert (ARTIFACTS / "playground-search.png").stat().st_size > 10_000
