"""`sbert serve`: the real server (uvicorn in a subprocess on a free loopback port), called with httpx and
the `openai` client. Most tests use the fake encoder (fast, deterministic); the equality checks use the
embedded default model. A few error-table checks run the app in-process."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

import httpx
import numpy as np
import pytest
from conftest import SENTENCES, classic_pooling, free_port, stub_serve

from sbert import FakeEncoder, normalize

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

STARTUP_SECONDS = 90


class Server:
    """``sbert serve ARGS`` in a subprocess on a free loopback port; its log in a file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args, self.log_path = args, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        command = [
            sys.executable,
            "-m",
            "sbert",
            "serve",
            *self.args,
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SBERT_API_KEY", None)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise AssertionError(f"server did not start in {STARTUP_SECONDS} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def running(args: list[str], tmp_path: Path) -> Iterator[Server]:
    server = Server(args, tmp_path / f"server-{time.monotonic_ns()}.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory) -> Iterator[Server]:
    args = [
        "--model",
        "fake:16",
        "--model",
        "other=fake:8?seed=1&max_seq_length=16",
        "--max-input-items",
        "64",
        "--max-body-bytes",
        "100000",
    ]
    with running(args, tmp_path_factory.mktemp("fake")) as server:
        yield server


@pytest.fixture(scope="module")
def real_server(tmp_path_factory) -> Iterator[Server]:
    args = ["--model", "all-MiniLM-L6-v2", "--model", "fake=fake:8", "--backend", "torch"]
    with running(args, tmp_path_factory.mktemp("real")) as server:
        yield server


@pytest.fixture(scope="module")
def client(fake_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_server.url, timeout=30) as c:
        yield c


def in_flight(server: Server) -> float:
    return parse_metrics(httpx.get(f"{server.url}/metrics").text)["sbert_requests_in_flight"]


def wait_until(condition: Callable[[], bool], what: str, *, unless: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds; fail once ``unless`` says it no longer can (the request it waits
    for has finished, the server has exited). No clock: the test is about the condition, not how soon."""
    while not condition():
        if unless():
            pytest.fail(f"{what} can no longer happen")
        time.sleep(0.01)


def openai_client(url: str, api_key: str = "unused"):
    import openai

    return openai.OpenAI(base_url=f"{url}/v1", api_key=api_key, max_retries=0)


# --------------------------------------------------------------------------------------- equality with encode


def test_openai_client_gets_encode_embeddings_in_order(real_server, default_model):
    import openai

    texts = [text for text in SENTENCES if text]  # an empty string is refused, as by OpenAI's API (below)
    expected = default_model.encode(texts, normalize_embeddings=True)
    client = openai_client(real_server.url)
    for encoding_format in ("float", "base64"):
        response = client.embeddings.create(
            model="all-MiniLM-L6-v2", input=texts, encoding_format=encoding_format
        )
        assert [d.index for d in response.data] == list(range(len(texts)))
        if encoding_format == "float":
            got = np.array([d.embedding for d in response.data], dtype=np.float32)
        else:  # the client returns the base64 string as it came
            got = np.stack([np.frombuffer(base64.b64decode(d.embedding), "<f4") for d in response.data])
        np.testing.assert_allclose(got, expected, atol=1e-5)
    assert response.model == "all-MiniLM-L6-v2"
    assert response.usage.prompt_tokens == response.usage.total_tokens > len(SENTENCES)
    # The client's default (it asks for base64 and decodes it) and one string.
    single = client.embeddings.create(
        model="sentence-transformers/all-MiniLM-L6-v2", input="It's so sunny outside!"
    )
    np.testing.assert_allclose(single.data[0].embedding, expected[1], atol=1e-5)
    # an empty string: a 400 naming the input, as OpenAI's API ("cannot be an empty string") and TEI refuse it
    with pytest.raises(openai.BadRequestError, match=r"input\[3\]` is an empty string"):
        client.embeddings.create(model="all-MiniLM-L6-v2", input=SENTENCES)
    for path, body in (
        ("/embed", {"inputs": ""}),
        ("/embed_all", {"inputs": ["a", ""]}),
        ("/tokenize", {"inputs": ""}),
    ):
        refused = httpx.post(f"{real_server.url}{path}", json=body)
        assert refused.status_code == 400 and "is an empty string" in refused.json()["error"], path
        assert refused.json()["error_type"] == "Validation"  # TEI's names for its error types
    empty = httpx.post(f"{real_server.url}/embed", json={"inputs": []})
    assert empty.status_code == 400 and empty.json()["error_type"] == "Empty"


def test_many_requests_at_once_each_get_their_own_rows(real_server, default_model):
    rng = np.random.default_rng(0)
    words = " ".join(SENTENCES).split()
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 60))) for _ in range(96)]
    expected = default_model.encode(texts, normalize_embeddings=True)
    chunks = [
        list(range(i, min(i + n, len(texts)))) for i, n in zip(range(0, 96, 6), rng.integers(1, 7, size=16))
    ]

    def post(indices: list[int]) -> np.ndarray:
        body = {"input": [texts[i] for i in indices], "model": "all-MiniLM-L6-v2"}
        response = httpx.post(f"{real_server.url}/v1/embeddings", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return np.array([d["embedding"] for d in response.json()["data"]], dtype=np.float32)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(post, chunks))
    for indices, got in zip(chunks, results):
        np.testing.assert_allclose(got, expected[indices], atol=1e-5)


def test_base64_decodes_to_the_same_floats(real_server):
    body = {"input": SENTENCES[:3], "model": "all-MiniLM-L6-v2"}
    floats = httpx.post(f"{real_server.url}/v1/embeddings", json={**body, "encoding_format": "float"}).json()
    packed = httpx.post(f"{real_server.url}/v1/embeddings", json={**body, "encoding_format": "base64"}).json()
    for f, p in zip(floats["data"], packed["data"]):
        decoded = np.frombuffer(base64.b64decode(p["embedding"]), dtype="<f4")
        np.testing.assert_array_equal(decoded, np.array(f["embedding"], dtype=np.float32))


def test_dimensions_truncates_and_renormalizes(real_server, default_model):
    full = default_model.encode(SENTENCES[:3])
    response = openai_client(real_server.url).embeddings.create(
        model="all-MiniLM-L6-v2", input=SENTENCES[:3], dimensions=64, encoding_format="float"
    )
    got = np.array([d.embedding for d in response.data], dtype=np.float32)
    assert got.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(got, normalize(full[:, :64]), atol=1e-5)
    tei = httpx.post(f"{real_server.url}/embed", json={"inputs": SENTENCES[:3], "dimensions": 64}).json()
    np.testing.assert_allclose(tei, got, atol=1e-6)
    too_many = httpx.post(f"{real_server.url}/v1/embeddings", json={"input": "a", "dimensions": 385})
    assert too_many.status_code == 422 and "between 1 and 384" in too_many.json()["error"]["message"]


def test_tei_routes_match_the_model(real_server, default_model):
    url = real_server.url
    raw = httpx.post(f"{url}/embed", json={"inputs": SENTENCES[:3], "normalize": False}).json()
    np.testing.assert_allclose(raw, default_model.encode(SENTENCES[:3]), atol=1e-5)
    one = httpx.post(f"{url}/embed", json={"inputs": "The weather is lovely today."}).json()
    assert np.array(one).shape == (1, 384)
    scores = httpx.post(
        f"{url}/similarity", json={"inputs": {"source_sentence": SENTENCES[0], "sentences": SENTENCES[1:3]}}
    ).json()
    embeddings = default_model.encode(SENTENCES[:3])
    np.testing.assert_allclose(scores, default_model.similarity(embeddings[:1], embeddings[1:])[0], atol=1e-5)
    matrix = httpx.post(f"{url}/similarity/matrix", json={"inputs": SENTENCES[:3]}).json()
    np.testing.assert_allclose(matrix, default_model.similarity(embeddings, embeddings), atol=1e-5)
    # TEI's tokens: a special one by its token, any other by the input's text it covers, with that text's
    # UTF-8 byte offsets (text-embeddings-inference's into_tokens)
    tokens = httpx.post(f"{url}/tokenize", json={"inputs": ["Hello world", "Héllo wörld"]}).json()
    assert [t["text"] for t in tokens[0]] == ["[CLS]", "Hello", "world", "[SEP]"]
    assert tokens[0][1] == {"id": 7592, "text": "Hello", "special": False, "start": 0, "stop": 5}
    assert tokens[0][0] == {"id": 101, "text": "[CLS]", "special": True, "start": None, "stop": None}
    spans = [(t["text"], t["start"], t["stop"]) for t in tokens[1][1:-1]]
    assert spans == [("Héllo", 0, 6), ("wörld", 7, 13)]
    # every token (TEI's /tokenize does not cut at the model's limit, which /embed applies)
    bare = httpx.post(f"{url}/tokenize", json={"inputs": "word " * 300, "add_special_tokens": False}).json()
    assert len(bare[0]) == 300 and not any(t["special"] for t in bare[0])
    whole = httpx.post(f"{url}/tokenize", json={"inputs": "word " * 300}).json()
    assert len(whole[0]) == 302 and whole[0][-1]["text"] == "[SEP]"
    limit = default_model.max_seq_length * 250  # characters per input, as TEI bounds its /tokenize
    assert httpx.post(f"{url}/tokenize", json={"inputs": ["a", "b" * limit]}).status_code == 200
    huge = httpx.post(f"{url}/tokenize", json={"inputs": ["a", "b" * (limit + 1)]})
    assert huge.status_code == 413 and f"input 1 has {limit + 1} characters" in huge.json()["error"]


def test_truncation_choices(real_server, default_model):
    long_text = "word " * 400 + "end"
    refused = httpx.post(f"{real_server.url}/embed", json={"inputs": ["short", long_text]})
    assert refused.status_code == 413
    assert "input 1" in refused.json()["error"] and "256 tokens" in refused.json()["error"]
    right = httpx.post(
        f"{real_server.url}/embed", json={"inputs": long_text, "truncate": True, "normalize": False}
    )
    np.testing.assert_allclose(right.json()[0], default_model.encode(long_text), atol=1e-5)
    left = httpx.post(
        f"{real_server.url}/embed",
        json={"inputs": long_text, "truncate": True, "truncation_direction": "Left"},
    )
    assert left.status_code == 200 and not np.allclose(left.json()[0], right.json()[0], atol=1e-3)
    # The OpenAI route truncates by default, as encode does.
    assert httpx.post(f"{real_server.url}/v1/embeddings", json={"input": long_text}).status_code == 200


def test_left_truncation_keeps_the_last_tokens(real_server, default_model, default_model_path):
    """The served vector of a long text truncated on the left is the model's vector of its last tokens, cut by
    the reference tokenizer (transformers', not sbert's) and wrapped in its special tokens here."""
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(default_model_path))
    words = " ".join(SENTENCES).split()
    text = " ".join(np.random.default_rng(7).choice(words, size=400))  # varied words: every cut differs
    ids = reference(text, add_special_tokens=False)["input_ids"]
    # The tokenizer's own special tokens around a text: those around one token ("a" is one token).
    framed, (a,) = reference("a")["input_ids"], reference("a", add_special_tokens=False)["input_ids"]
    before, after = framed[: framed.index(a)], framed[framed.index(a) + 1 :]
    room = default_model.max_seq_length - len(before) - len(after)
    assert len(ids) > room + 20, "the text must be longer than the model's limit"

    def model_vector(kept: list[int]) -> np.ndarray:
        row = np.array([[*before, *kept, *after]], dtype=np.int64)
        batch = {"input_ids": row, "attention_mask": np.ones_like(row), "token_type_ids": np.zeros_like(row)}
        return default_model.embed_batch(batch)[0]

    def served(direction: str) -> np.ndarray:
        body = {"inputs": text, "truncate": True, "truncation_direction": direction, "normalize": False}
        response = httpx.post(f"{real_server.url}/embed", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return np.array(response.json()[0], dtype=np.float32)

    # The reference cut on the right is what encode gives: the way of computing the reference is sound.
    np.testing.assert_allclose(model_vector(ids[:room]), default_model.encode(text), atol=1e-5)
    np.testing.assert_allclose(served("Right"), model_vector(ids[:room]), atol=1e-5)
    np.testing.assert_allclose(served("Left"), model_vector(ids[-room:]), atol=1e-5)


def test_several_models_by_name(real_server):
    client = openai_client(real_server.url)
    fake = client.embeddings.create(model="fake", input=["a cat"], encoding_format="float")
    np.testing.assert_allclose(
        fake.data[0].embedding, normalize(FakeEncoder(8).encode(["a cat"]))[0], atol=1e-6
    )
    assert [m.id for m in client.models.list().data] == ["all-MiniLM-L6-v2", "fake"]
    assert client.models.retrieve("fake").id == "fake" and client.models.retrieve("fake").object == "model"
    import openai

    with pytest.raises(openai.NotFoundError, match="not served here"):
        client.embeddings.create(model="text-embedding-3-small", input="a")
    with pytest.raises(openai.NotFoundError, match="'text-embedding-3-small' is not served here.*'fake'"):
        client.models.retrieve("text-embedding-3-small")
    metrics = httpx.get(f"{real_server.url}/metrics").text  # counted under the route's template
    assert 'route="/v1/models/{model:path}",status="200"' in metrics, metrics
    info = httpx.get(f"{real_server.url}/info").json()
    assert info["model_id"] == "all-MiniLM-L6-v2"
    assert info["dimension"] == 384 and info["max_input_length"] == 256 and info["backend"] == "torch"
    assert [m["name"] for m in info["models"]] == ["all-MiniLM-L6-v2", "fake"]
    assert info["version"]


# ------------------------------------------------------------------------------------------------ model names


def test_cli_names_served_models_after_their_folders(tiny_st_factory, tmp_path, monkeypatch):
    """`--model ./minilm-onnx` is served as "minilm-onnx", `--model .` by the folder's real name, NAME=M as
    NAME; /v1/models lists these names and a 404 lists them too (with the aliases they answer to)."""
    from fastapi.testclient import TestClient

    import sbert._server as server_package
    import sbert._server.run as run
    from sbert._cli import main

    for name in ("minilm-onnx", "other-model"):
        shutil.copytree(tiny_st_factory(classic_pooling(32, "mean")), tmp_path / name)
    apps: list = []
    monkeypatch.setattr(run, "run_until_drained", lambda app, **options: apps.append(app))
    monkeypatch.setattr(server_package, "check_port_free", lambda host, port: None)  # nothing listens
    monkeypatch.chdir(tmp_path / "minilm-onnx")
    specs = [".", "../other-model/", "mine=../other-model", "fake:4"]
    assert main(["serve", "--backend", "torch", *[a for spec in specs for a in ("--model", spec)]]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--backend", "torch", "--model", "./minilm-onnx"]) == 0
    with TestClient(apps[0]) as client:
        ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
        assert ids == ["minilm-onnx", "other-model", "mine", "fake:4"]
        assert [m["name"] for m in client.get("/info").json()["models"]] == ids
        for name in ids:
            response = client.post("/v1/embeddings", json={"input": "a cat", "model": name})
            assert response.status_code == 200 and response.json()["model"] == name, response.text
        unknown = client.post("/v1/embeddings", json={"input": "a", "model": "minilm"})
        assert unknown.status_code == 404
        message = unknown.json()["error"]["message"]
        assert "'minilm' is not served here" in message
        assert all(repr(name) in message for name in ids), message
    with TestClient(apps[1]) as client:
        assert [m["id"] for m in client.get("/v1/models").json()["data"]] == ["minilm-onnx"]
        for name in ("minilm-onnx", "./minilm-onnx"):  # the argument as typed still works
            response = client.post("/embed", json={"inputs": "a cat", "model": name})
            assert response.status_code == 200, response.text


def test_hub_names_answer_to_their_last_part_and_clashes_are_refused(tmp_path):
    from fastapi.testclient import TestClient

    from sbert import InputError, create_app

    hub, other = FakeEncoder(4, name="sentence-transformers/tiny-model"), FakeEncoder(8, seed=1)
    app = create_app([hub, other, FakeEncoder(4, name="org-a/twin"), FakeEncoder(4, name="org-b/twin")])
    with TestClient(app) as client:
        ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
        assert ids == ["sentence-transformers/tiny-model", "fake", "org-a/twin", "org-b/twin"]
        for name in ("sentence-transformers/tiny-model", "tiny-model"):  # OpenAI's models.retrieve(name)
            assert client.get(f"/v1/models/{name}").json() == client.get("/v1/models").json()["data"][0]
        for name in ("tiny-model", "sentence-transformers/tiny-model"):
            response = client.post("/v1/embeddings", json={"input": ["a cat"], "model": name})
            assert response.status_code == 200 and response.json()["model"] == ids[0]
            np.testing.assert_allclose(
                response.json()["data"][0]["embedding"], normalize(hub.encode(["a cat"]))[0], atol=1e-6
            )
        ambiguous = client.post("/embed", json={"inputs": "a", "model": "twin"})  # two models could be meant
        assert ambiguous.status_code == 404
        assert "'sentence-transformers/tiny-model' (also 'tiny-model')" in ambiguous.json()["error"]
    for folder in ("a/model", "b/model"):
        (tmp_path / folder).mkdir(parents=True)
    with pytest.raises(InputError, match="two models are named 'model'.*NAME=MODEL"):
        create_app([FakeEncoder(4, name=str(tmp_path / f)) for f in ("a/model", "b/model/")])


# ---------------------------------------------------------------------------------------------- fake server


def test_fake_server_embeds_like_the_fake_encoder(client):
    texts = ["a cat sat", " ", "dogs 🙂 run fast"]
    got = client.post("/embed", json={"inputs": texts, "normalize": False}).json()
    np.testing.assert_allclose(got, FakeEncoder(16).encode(texts), atol=1e-6)
    other = client.post("/embed", json={"inputs": texts, "model": "other", "normalize": False}).json()
    np.testing.assert_allclose(other, FakeEncoder(8, seed=1).encode(texts), atol=1e-6)


def test_requests_are_batched_together_and_health_answers_under_load(tmp_path):
    with running(["--model", "fake:16?delay=0.25"], tmp_path) as server:
        texts = [f"text number {i}" for i in range(64)]
        expected = normalize(FakeEncoder(16).encode(texts))

        def post(i: int) -> list[float]:
            response = httpx.post(f"{server.url}/v1/embeddings", json={"input": texts[i]}, timeout=30)
            assert response.status_code == 200, response.text
            return response.json()["data"][0]["embedding"]

        with ThreadPoolExecutor(32) as pool:
            futures = [pool.submit(post, i) for i in range(64)]
            wait_until(  # the model is busy
                lambda: in_flight(server) >= 1,
                "a request reaching the server",
                unless=lambda: all(f.done() for f in futures),
            )
            assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
            answered_under_load = not all(f.done() for f in futures)
            results = [f.result() for f in futures]
        np.testing.assert_allclose(results, expected, atol=1e-6)
        assert answered_under_load, "/health waited for the model"
        metrics = parse_metrics(httpx.get(f"{server.url}/metrics").text)
        batches = metrics['sbert_batch_size_count{model="fake:16?delay=0.25"}']
        texts_batched = metrics['sbert_batch_size_sum{model="fake:16?delay=0.25"}']
        assert texts_batched == 64
        assert batches < 32, "64 one-text requests from 32 clients should share batches"


@pytest.mark.slow
def test_full_server_answers_429_with_retry_after_and_recovers(tmp_path):
    with running(["--model", "fake:16?delay=1", "--max-concurrent-requests", "2"], tmp_path) as server:

        def post(_: int) -> httpx.Response:
            return httpx.post(f"{server.url}/embed", json={"inputs": "a cat"}, timeout=30)

        with ThreadPoolExecutor(10) as pool:
            responses = list(pool.map(post, range(10)))
        codes = sorted(r.status_code for r in responses)
        assert set(codes) == {200, 429} and codes.count(200) >= 2, codes
        refused = next(r for r in responses if r.status_code == 429)
        assert refused.headers["retry-after"] == "1"
        assert "--max-concurrent-requests" in refused.json()["error"]
        assert post(0).status_code == 200
        metrics = parse_metrics(httpx.get(f"{server.url}/metrics").text)
        assert metrics['sbert_rejected_requests_total{reason="overloaded"}'] == codes.count(429)
        assert metrics['sbert_requests_total{route="/embed",status="429"}'] == codes.count(429)


@pytest.mark.slow
def test_sigterm_drains_in_flight_requests_and_refuses_new_ones(tmp_path):
    server = Server(["--model", "fake:16?delay=2"], tmp_path / "drain.log").start()
    try:
        results: dict[str, httpx.Response] = {}
        slow = threading.Thread(
            target=lambda: results.update(
                slow=httpx.post(f"{server.url}/embed", json={"inputs": ["a", "b"]}, timeout=30)
            )
        )
        slow.start()
        wait_until(
            lambda: in_flight(server) >= 1, "the slow request arriving", unless=lambda: not slow.is_alive()
        )
        server.process.send_signal(signal.SIGTERM)
        # Wait for the server to say it is draining (its /health, light and never queued), not a fixed time.
        wait_until(
            lambda: httpx.get(f"{server.url}/health", timeout=10).status_code == 503,
            "/health turning 503",
            unless=lambda: server.process.poll() is not None,
        )
        new = httpx.post(f"{server.url}/embed", json={"inputs": "c"}, timeout=10)
        assert new.status_code == 503 and "shutting down" in new.json()["error"]
        assert new.headers["retry-after"] == "1"
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 503
        slow.join(30)
        assert results["slow"].status_code == 200
        np.testing.assert_allclose(
            results["slow"].json(), normalize(FakeEncoder(16).encode(["a", "b"])), atol=1e-6
        )
        assert server.process.wait(15) == 0, server.log()
    finally:
        server.stop()


def test_api_key(tmp_path):
    import openai

    with running(["--model", "fake:8", "--api-key", "s3cret"], tmp_path) as server:
        missing = httpx.post(f"{server.url}/v1/embeddings", json={"input": "a"})
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in missing.json()["error"]["message"]
        wrong = httpx.post(
            f"{server.url}/embed", json={"inputs": "a"}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and "wrong API key" in wrong.json()["error"]
        assert httpx.get(f"{server.url}/metrics").status_code == 401
        assert httpx.get(f"{server.url}/health").status_code == 200
        with pytest.raises(openai.AuthenticationError):
            openai_client(server.url, api_key="nope").embeddings.create(model="fake:8", input="a")
        ok = openai_client(server.url, api_key="s3cret").embeddings.create(model="fake:8", input="a")
        assert len(ok.data[0].embedding) == 8


# ------------------------------------------------------------------------------------------ limits and errors


def test_limits_name_themselves(client):
    too_many = client.post("/embed", json={"inputs": ["a"] * 65})
    assert too_many.status_code == 413 and "--max-input-items" in too_many.json()["error"]
    big = client.post("/embed", content=b'{"inputs": "' + b"a" * 100_001 + b'"}')
    assert big.status_code == 413 and "100000 bytes" in big.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for _ in range(20):
            yield b"a" * 10_000

    streamed = client.post("/embed", content=chunks())
    assert streamed.status_code == 413
    long = client.post("/embed", json={"inputs": "a " * 200, "model": "other"})
    assert long.status_code == 413 and "16 tokens" in long.json()["error"]
    assert "send truncate=true (or start the server with --auto-truncate)" in long.json()["error"]
    # a request's own refusal overrides --auto-truncate, and Cohere's body asks in its own words
    refused = client.post("/embed", json={"inputs": "a " * 200, "model": "other", "truncate": False})
    assert refused.status_code == 413 and "--auto-truncate" not in refused.json()["error"]
    cohere = {"texts": ["a " * 200], "model": "other", "input_type": "search_document", "truncate": "NONE"}
    refused = client.post("/v2/embed", json=cohere)
    assert refused.status_code == 413, refused.text
    assert 'send truncate "END" (or "START")' in refused.json()["error"]
    assert "truncate=true" not in refused.json()["error"]


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/v1/embeddings", {"input": [[1, 2], [3]]}, 400, "token ids"),
        ("/v1/embeddings", {"input": [101, 2023]}, 400, "token ids"),
        ("/v1/embeddings", {"input": []}, 400, "empty"),
        ("/v1/embeddings", {"input": ["a", 3]}, 422, "input[1] is a number"),
        ("/v1/embeddings", {"input": None}, 422, "got null"),
        ("/v1/embeddings", {}, 422, "input: Field required"),
        ("/v1/embeddings", {"input": "a", "encoding_format": "hex"}, 422, "encoding_format"),
        ("/v1/embeddings", {"input": "a", "dimensions": "8"}, 422, "dimensions"),
        ("/v1/embeddings", {"input": "a", "dimensions": -1}, 422, "between 1 and 16"),
        ("/v1/embeddings", {"input": "a", "model": "gpt"}, 404, "not served"),
        ("/embed", {"inputs": "a", "normalize": "yes"}, 422, "normalize"),
        ("/embed", {"inputs": "a", "truncation_direction": "Up"}, 422, "truncation_direction"),
        ("/embed", {"inputs": "a", "prompt_name": "query"}, 422, "unknown prompt_name"),
        ("/embed", [1, 2], 422, "object"),
        ("/similarity", {"inputs": {"source_sentence": "a"}}, 422, "sentences"),
        ("/similarity", {"inputs": {"source_sentence": "a", "sentences": []}}, 400, "empty"),
        ("/tokenize", {"inputs": {"a": 1}}, 422, "an object"),
        ("/nowhere", {}, 404, "no route"),
    ],
)
def test_client_mistakes_get_4xx_with_a_message(client, path, body, status, words):
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    payload = response.json()
    message = payload["error"]["message"] if path.startswith("/v1/") else payload["error"]
    assert words in message
    assert "Traceback" not in response.text


def test_not_json_is_400(client):
    for raw in (b"", b"{", b"\xff\xfe", b'{"inputs": "\xc3\x28"}', b"[" * 5000, b'{"inputs": "\\ud800"}'):
        response = client.post("/embed", content=raw)
        assert response.status_code == 400, (raw[:20], response.text)
    assert client.get("/embed").status_code == 405


def test_metrics_exposition(client):
    client.post("/embed", json={"inputs": ["a cat", "a dog"]})
    text = client.get("/metrics").text
    metrics = parse_metrics(text)
    assert metrics['sbert_requests_total{route="/embed",status="200"}'] >= 1
    assert 'sbert_request_duration_seconds_bucket{route="/embed",le="+Inf"}' in metrics
    assert metrics['sbert_queue_depth{model="fake:16"}'] == 0
    assert metrics['sbert_embedded_texts_total{model="fake:16"}'] >= 2
    assert "# TYPE sbert_batch_size histogram" in text
    # each metric declared once, with one of the exposition format's kinds (throughput: bench/, not here)
    declared = [line.split()[2:] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert len({name for name, _ in declared}) == len(declared)
    assert {kind for _, kind in declared} <= {"counter", "gauge", "histogram"}
    assert 'sbert_queue_duration_seconds_count{model="fake:16"}' in metrics


def test_fuzz_malformed_bodies_get_4xx_and_the_server_keeps_serving(client):
    rng = np.random.default_rng(1234)
    bodies = list(malformed_bodies(rng, 1000))
    assert len(bodies) == 1000
    statuses = []
    for path, raw, headers in bodies:
        response = client.post(path, content=raw, headers=headers)
        statuses.append(response.status_code)
        assert 400 <= response.status_code < 500, (path, raw[:80], response.status_code, response.text[:200])
        assert "Traceback" not in response.text
    assert len(set(statuses)) >= 4  # 400, 404, 413, 422 at least
    texts = ["a cat sat on the mat", "dogs run"]
    got = client.post("/v1/embeddings", json={"input": texts, "model": "fake:16"}).json()
    np.testing.assert_allclose(
        [d["embedding"] for d in got["data"]], normalize(FakeEncoder(16).encode(texts)), atol=1e-6
    )


def malformed_bodies(rng: np.random.Generator, n: int) -> Iterator[tuple[str, bytes, dict[str, str]]]:
    """Bodies a careless or hostile client sends: wrong types, huge strings, deep JSON, bad bytes, empties."""
    paths = ["/v1/embeddings", "/embed", "/similarity", "/similarity/matrix", "/tokenize"]
    field = {
        "/v1/embeddings": "input",
        "/embed": "inputs",
        "/similarity": "inputs",
        "/similarity/matrix": "inputs",
        "/tokenize": "inputs",
    }
    wrong_values = [
        None,
        1,
        -1,
        1.5,
        True,
        {},
        {"a": "b"},
        [None],
        [1, "a"],
        [[1], "a"],
        [{"x": 1}],
        [[]],
        [],
        [True],
        [1e308],
        float("nan"),
    ]
    bad = {
        "normalize": ["yes", 1, None, []],
        "truncate": ["no", 0, {}],
        "dimensions": ["8", -3, 1.5, 10**9],  # 0: all, as infinity reads it
        "encoding_format": ["hex", 1],  # null: float, as OpenAI reads it
        "truncation_direction": ["Up", 1],
        "model": [1, [], "nope"],
        "prompt_name": [1, "nope"],
        "add_special_tokens": ["x", 0],
    }
    tei = ["truncate", "truncation_direction", "model", "prompt_name"]
    options = {
        "/v1/embeddings": ["encoding_format", "dimensions", "model", "truncate"],
        "/embed": [*tei, "normalize", "dimensions"],
        "/similarity": tei,
        "/similarity/matrix": tei,
        "/tokenize": ["add_special_tokens", "model", "prompt_name"],
    }
    kinds = [
        "wrong_type",
        "option",
        "huge",
        "deep",
        "utf8",
        "empty",
        "not_json",
        "truncated",
        "too_many",
        "scalar",
    ]
    for i in range(n):
        path = paths[i % len(paths)]
        name = field[path]
        kind = kinds[int(rng.integers(len(kinds)))]
        headers = {"content-type": "application/json"}
        if kind == "wrong_type":
            value = wrong_values[int(rng.integers(len(wrong_values)))]
            if path == "/similarity":
                value = (
                    {"source_sentence": value, "sentences": ["a"]}
                    if rng.random() < 0.5
                    else {"sentences": value}
                )
            raw = json.dumps({name: value}).encode()
        elif kind == "option":
            key = options[path][int(rng.integers(len(options[path])))]
            value = bad[key][int(rng.integers(len(bad[key])))]
            good = {"source_sentence": "a", "sentences": ["b"]} if path == "/similarity" else ["a"]
            raw = json.dumps({name: good, key: value}).encode()
        elif kind == "huge":
            raw = json.dumps({name: "x " * int(rng.integers(50_001, 60_000))}).encode()
        elif kind == "deep":
            depth = int(rng.integers(300, 3000))
            raw = f'{{"{name}": '.encode() + b"[" * depth + b"]" * depth + b"}"
        elif kind == "utf8":
            junk = bytes(rng.integers(128, 256, size=int(rng.integers(1, 20))).tolist())
            raw = f'{{"{name}": "'.encode() + b"\xff" + junk + b'"}'  # 0xff is never UTF-8
            if rng.random() < 0.3:
                raw = b"\xff\xfe" + raw
        elif kind == "empty":
            raw = [b"", b"{}", b"[]", b"null", b'""', json.dumps({name: []}).encode(), b"   "][
                int(rng.integers(7))
            ]
            if path == "/similarity" and raw == json.dumps({name: []}).encode():
                raw = json.dumps({name: {"source_sentence": "a", "sentences": []}}).encode()
        elif kind == "not_json":
            raw = [b"hello", b"inputs=a", b"<xml/>", b"{'inputs': 'a'}", b"\x00\x01\x02", b"NaN"][
                int(rng.integers(6))
            ]
            headers = {
                "content-type": ["text/plain", "application/x-www-form-urlencoded", "application/json"][i % 3]
            }
        elif kind == "truncated":
            full = json.dumps({name: ["a cat", "a dog"], "normalize": True})
            raw = full[: int(rng.integers(1, len(full) - 1))].encode()
        elif kind == "too_many":
            items = ["a"] * int(rng.integers(65, 500))
            raw = json.dumps(
                {name: {"source_sentence": "a", "sentences": items} if path == "/similarity" else items}
            ).encode()
        else:  # a JSON scalar or array instead of an object
            raw = [b"1", b"true", b'"text"', b'["a", "b"]', b"3.5"][int(rng.integers(5))]
        yield path, raw, headers


def parse_metrics(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
    return values


# ---------------------------------------------------------------------------------------------- in-process


class BrokenEncoder(FakeEncoder):
    def embed_batch(self, batch):
        raise RuntimeError("secret internals /home/user/model.py line 12")


def test_a_server_fault_is_a_plain_500_and_the_server_goes_on():
    from fastapi.testclient import TestClient

    from sbert import create_app

    app = create_app({"broken": BrokenEncoder(4), "fine": FakeEncoder(4)})
    app.state.sbert.models["broken"].warm_up = lambda: None
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/embeddings", json={"input": "a", "model": "broken"})
        assert response.status_code == 500
        assert response.json()["error"]["message"] == "internal server error; the server log has the details"
        assert "secret" not in response.text and "Traceback" not in response.text
        assert client.post("/embed", json={"inputs": "a", "model": "fine"}).status_code == 200


def test_create_app_checks_its_arguments():
    from sbert import InputError, create_app

    with pytest.raises(InputError, match="max_input_items"):
        create_app(FakeEncoder(4), max_input_items=0)
    for name in (
        "workers",
        "max_batch_tokens",
    ):  # 0 is not "the default": a batcher without threads would hang
        with pytest.raises(InputError, match=name):
            create_app(FakeEncoder(4), **{name: 0})
    with pytest.raises(InputError, match="at least one model"):
        create_app({})
    with pytest.raises(InputError, match="same name"):
        create_app([FakeEncoder(4), FakeEncoder(4)])


def test_missing_server_extra_says_what_to_install(monkeypatch):
    from sbert import BackendUnavailableError, create_app

    monkeypatch.setitem(sys.modules, "fastapi", None)  # makes `import fastapi` fail
    with pytest.raises(BackendUnavailableError, match=r"pip install 'sbert\[server\]'"):
        create_app(FakeEncoder(4))


def test_cli_warns_when_binding_beyond_loopback_without_a_key(monkeypatch, capsys):
    from sbert._cli import main

    calls = []
    stub_serve(monkeypatch, lambda models, **options: calls.append((models, options)))
    monkeypatch.delenv("SBERT_API_KEY", raising=False)
    assert main(["serve", "--model", "fake:8", "--host", "0.0.0.0", "--port", "9999"]) == 0
    assert "without an API key" in capsys.readouterr().err
    models, options = calls[-1]
    assert list(models) == ["fake:8"] and options["host"] == "0.0.0.0" and options["api_key"] is None
    assert (
        main(["serve", "--model", "a=fake:8", "--model", "b=fake", "--host", "0.0.0.0", "--api-key", "k"])
        == 0
    )
    assert "without an API key" not in capsys.readouterr().err
    models, options = calls[-1]
    assert list(models) == ["a", "b"] and options["api_key"] == "k" and options["port"] == 8080
    assert options["max_concurrent_requests"] == 512 and options["max_input_items"] == 2048
    assert main(["serve", "--model", "fake:8"]) == 0 and calls[-1][1]["host"] == "127.0.0.1"
    assert "without an API key" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "x=fake", "--model", "x=fake:4"], "two models are named 'x'"),
        (["--model", "fake:abc"], "cannot read the fake model spec"),
        (["--model", "fake:4?speed=2"], "unknown option 'speed'"),
        (["--port", "70000"], "port number"),
        (["--max-input-items", "0"], "positive integer"),
    ],
)
def test_cli_refuses_bad_arguments(monkeypatch, capsys, args, message):
    from sbert._cli import main

    stub_serve(monkeypatch, lambda models, **options: None)
    assert main(["serve", *args]) == 2
    assert message in capsys.readouterr().err


def test_cli_refuses_a_port_in_use_before_loading_models(monkeypatch, capsys, model_loads):
    import socket

    import sbert._server as server
    from sbert._cli import main

    calls = []
    monkeypatch.setattr(server, "serve", lambda models, **options: calls.append(options))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2  # the default model: refused before it loads
        err = capsys.readouterr().err
    assert err.startswith("sbert: error: ") and err.count("\n") == 1
    assert f"port {port} of 127.0.0.1: it is already in use; pass another --port" in err
    assert calls == [] and model_loads == []
    assert main(["serve", "--model", "fake", "--port", str(port)]) == 0  # free again
    assert calls[-1]["port"] == port


def test_serve_is_listed_in_help(capsys):
    from sbert._cli import main

    assert main(["--help"]) == 0
    assert "serve" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- playground

BROWSER_NAMES = ("chromium", "chromium-browser")  # Debian's and Ubuntu's names; .ci/run installs Debian's
ARTIFACTS = Path(
    os.environ.get("SBERT_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts")
)


def find_chromium() -> str | None:
    """The chromium on PATH (where .ci/run looks before installing it), or None."""
    return next(filter(None, map(shutil.which, BROWSER_NAMES)), None)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def needs(what: str) -> NoReturn:
    """Skip the test for lack of ``what``; in CI (``CI`` set) fail: there the browser tests must run."""
    if in_ci():
        pytest.fail(f"CI is set but this test {what}", pytrace=False)
    pytest.skip(what)


def require_chromium() -> str:
    """The chromium to drive; skips the test without one, fails it in CI."""
    found = find_chromium()
    if found is None:
        needs(f"needs chromium on PATH ({' or '.join(BROWSER_NAMES)}): apt-get install chromium")
    return found


@contextlib.contextmanager
def headless_page(url: str, height: int, chromium: str):
    """A page of ``chromium`` (Debian's, driven by Playwright) opened at ``url``; closed on exit."""
    try:
        from playwright import sync_api
    except ImportError:
        needs("needs playwright: pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": height})
            page.goto(url)
            yield page
        finally:
            browser.close()


def test_browser_is_found_on_path_and_missing_fails_in_ci(tmp_path, monkeypatch):
    """The playground tests look for chromium where .ci/run does (on PATH); without it, CI fails."""
    browser = tmp_path / "bin" / "chromium-browser"
    browser.parent.mkdir()
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    monkeypatch.setenv("PATH", str(browser.parent))
    assert find_chromium() == str(browser)
    monkeypatch.setenv("PATH", str(tmp_path))  # no browser at all
    for ci, outcome in (("true", pytest.fail.Exception), ("", pytest.skip.Exception)):
        monkeypatch.setenv("CI", ci)
        # Failed and Skipped derive from BaseException only
        with pytest.raises(BaseException, match="needs chromium on PATH") as raised:
            require_chromium()
        assert raised.type is outcome, f"CI={ci!r}: {raised.type.__name__}"


def test_playground_draws_the_models_similarity_matrix(real_server, default_model):
    chromium = require_chromium()
    texts = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    embeddings = default_model.encode(texts)
    expected = default_model.similarity(embeddings, embeddings)
    with headless_page(real_server.url + "/", height=700, chromium=chromium) as page:
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        assert page.input_value("#model") == "all-MiniLM-L6-v2"
        cells = page.eval_on_selector_all(
            "#matrix td.cell", "tds => tds.map(td => [td.dataset.value, td.textContent])"
        )
        values = np.array([float(v) for v, _ in cells]).reshape(3, 3)
        np.testing.assert_allclose(values, expected, atol=1e-5)
        assert [shown for _, shown in cells] == [f"{v:.3f}" for v in expected.reshape(-1)]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)
        # Type new texts and compare again.
        page.fill("#texts", "a man plays guitar\na woman plays music")
        page.click("#compare")
        page.wait_for_function("document.querySelectorAll('#matrix td.cell').length === 4", timeout=30_000)
    assert (ARTIFACTS / "playground.png").stat().st_size > 10_000


def test_pick_batch_takes_the_oldest_and_its_neighbours_by_length_within_the_budget():
    from sbert._server.engine import pick_batch

    rng = np.random.default_rng(0)
    for _ in range(200):
        lengths = rng.integers(3, 80, size=int(rng.integers(1, 300))).tolist()
        size, budget = int(rng.integers(1, 64)), int(rng.integers(64, 4096))
        batch = pick_batch(lengths, max_batch_size=size, max_tokens=budget)
        assert 0 in batch and len(set(batch)) == len(batch) <= size
        width = max(lengths[i] for i in batch)
        assert len(batch) * width <= max(budget, lengths[0])
        chosen = sorted(lengths[i] for i in batch)  # a contiguous run of the sorted lengths
        rest = [n for i, n in enumerate(lengths) if i not in set(batch)]
        assert not any(chosen[0] < n < chosen[-1] for n in rest)
    assert pick_batch([500, 3, 4], max_batch_size=32, max_tokens=64) == [0]  # over budget: alone
    assert sorted(pick_batch([10, 10, 11, 40, 9], max_batch_size=3, max_tokens=10_000)) == [0, 1, 4]


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_run_that_many_batches_at_once_and_every_request_gets_its_rows(workers):
    import asyncio

    from sbert._server.engine import Batcher, ServedModel
    from sbert._server.metrics import ServerMetrics

    served = ServedModel(
        "fake", FakeEncoder(16), max_batch_tokens=24, workers=workers
    )  # a few inputs per batch
    embed, changed, active, peak = served._embed, threading.Condition(), [0], [0]

    def counting(batch):
        # Hold each batch until `workers` batches are in flight (or nothing else is queued): an event, not a
        # sleep, decides whether the batches overlap.
        with changed:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            changed.notify_all()
            give_up = time.monotonic() + 10  # a batcher with too few threads fails the peak check, not hangs
            while active[0] < workers and batcher.depth() and time.monotonic() < give_up:
                changed.wait(0.005)  # woken by another batch starting; re-checks the queue meanwhile
        try:
            return embed(batch)
        finally:
            with changed:
                active[0] -= 1

    served._embed = counting
    batcher = Batcher(served, ServerMetrics(queue_depth=list, in_flight=lambda: 0.0))
    batcher.start()
    words = " ".join(SENTENCES).split()
    rng = np.random.default_rng(0)
    requests = [
        [" ".join(rng.choice(words, size=rng.integers(1, 8))) for _ in range(rng.integers(1, 5))]
        for _ in range(12)
    ]

    async def send_all():
        return await asyncio.gather(*(batcher.embed(served.tokenize(texts)) for texts in requests))

    try:
        results = asyncio.run(send_all())
    finally:
        batcher.close()
    for texts, got in zip(requests, results):
        np.testing.assert_allclose(got, served.embed(served.pad(served.tokenize(texts))), atol=1e-6)
    assert peak[0] == workers
