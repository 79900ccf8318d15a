"""The TEI protocol as text-embeddings-inference serves it (``POST /``, ``/embed_all``, ``/info``) and
prompts in the server (``prompt_name``, ``input_type``, ``--default-prompt-name``): a real ``sbert serve``
called with huggingface_hub's ``InferenceClient`` and the ``openai`` client, compared with the model served
(and with sentence-transformers) on a tiny random BERT with query/passage prompts."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import classic_pooling, stub_serve
from test_server import running

from sbert import FakeEncoder, SentenceTransformer, __version__, normalize

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

# Words of the tiny vocabulary, so the two prompts become different tokens.
PROMPTS = {"query": "find the man who ", "passage": "this is about "}
TEXTS = ["The weather is lovely today.", "a cat sat on the mat", "He drove to the stadium."]
LONG = "the cat sat on the mat and the dog ran in the house " * 8  # over the 48-token limit
ATOL = 1e-5


def with_prompts(source: Path, folder: Path, *, include_prompt: bool = True, **config) -> Path:
    """A copy of the tiny sentence-transformers folder with prompts in its config, written by hand."""
    shutil.copytree(source, folder)
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": PROMPTS, **config}))
    pooling = folder / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({**json.loads(pooling.read_text()), "include_prompt": include_prompt}))
    return folder


@pytest.fixture(scope="module")
def model_dir(tiny_st_factory, tmp_path_factory) -> Path:
    return with_prompts(tiny_st_factory(classic_pooling(32, "mean")), tmp_path_factory.mktemp("tei") / "tiny")


@pytest.fixture(scope="module")
def model(model_dir) -> SentenceTransformer:
    return SentenceTransformer(model_dir, backend="torch")


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    args = ["--model", f"tiny={model_dir}", "--model", "fake=fake:8", "--backend", "torch"]
    with running(args, tmp_path_factory.mktemp("tei-server")) as started:
        yield started


@pytest.fixture(scope="module")
def hf_client(server):
    from huggingface_hub import InferenceClient

    return InferenceClient(base_url=server.url)


def post(server, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, timeout=60)


# ------------------------------------------------------------------------------- POST / (InferenceClient)


def test_inference_client_feature_extraction_is_encode(hf_client, model):
    got = hf_client.feature_extraction(TEXTS)  # POST / with TEI's body; TEI normalizes by default
    assert got.shape == (3, 32)
    np.testing.assert_allclose(got, normalize(model.encode(TEXTS)), atol=ATOL)
    raw = hf_client.feature_extraction(TEXTS, normalize=False)
    np.testing.assert_allclose(raw, model.encode(TEXTS), atol=ATOL)
    single = hf_client.feature_extraction("a cat sat on the mat", normalize=False)
    np.testing.assert_allclose(single, model.encode(["a cat sat on the mat"]), atol=ATOL)


def test_inference_client_options(hf_client, model):
    query = hf_client.feature_extraction(TEXTS, prompt_name="query", normalize=False)
    np.testing.assert_allclose(query, model.encode(TEXTS, prompt_name="query"), atol=ATOL)
    assert not np.allclose(query, model.encode(TEXTS), atol=1e-3)  # the prompt changed the vectors
    cut = hf_client.feature_extraction([LONG, "a dog"], truncate=True, normalize=False)
    np.testing.assert_allclose(cut, model.encode([LONG, "a dog"]), atol=ATOL)
    left = hf_client.feature_extraction(LONG, truncate=True, truncation_direction="left")
    assert not np.allclose(left, cut[:1], atol=1e-3)  # the other end of the text was kept
    short = hf_client.feature_extraction(TEXTS, dimensions=16)
    np.testing.assert_allclose(short, normalize(model.encode(TEXTS)[:, :16]), atol=ATOL)


def test_inference_client_errors_carry_the_servers_message(hf_client):
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError) as refused:
        hf_client.feature_extraction(LONG)  # TEI refuses over-long inputs unless asked to truncate
    assert refused.value.response.status_code == 413
    assert "truncate=true" in refused.value.response.json()["error"]
    with pytest.raises(HfHubHTTPError) as unknown:
        hf_client.feature_extraction("a", prompt_name="search")
    assert unknown.value.response.status_code == 422
    assert "'query', 'document', 'passage'" in unknown.value.response.json()["error"]


def test_inference_client_sentence_similarity(hf_client, server, model):
    scores = hf_client.sentence_similarity(TEXTS[0], other_sentences=TEXTS[1:])
    expected = model.similarity(model.encode(TEXTS[:1]), model.encode(TEXTS[1:]))[0]
    np.testing.assert_allclose(scores, expected, atol=ATOL)
    body = {"inputs": {"source_sentence": TEXTS[0], "sentences": TEXTS[1:]}, "parameters": {}}
    body["parameters"]["prompt_name"] = "query"  # TEI's parameters object, on / and on /similarity
    prompted = model.encode(TEXTS, prompt_name="query")
    for path in ("/", "/similarity"):
        response = post(server, path, body)
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(
            response.json(), model.similarity(prompted[:1], prompted[1:])[0], atol=ATOL
        )


def test_get_root_is_still_the_playground_and_post_root_needs_the_key(tmp_path):
    with running(["--model", "fake:8", "--api-key", "k"], tmp_path) as server:
        assert httpx.get(server.url).headers["content-type"].startswith("text/html")  # public page
        assert post(server, "/", {"inputs": "a"}).status_code == 401  # work: the key is needed
        from huggingface_hub import InferenceClient

        got = InferenceClient(base_url=server.url, api_key="k").feature_extraction("a cat", normalize=False)
        np.testing.assert_allclose(got, FakeEncoder(8).encode(["a cat"]), atol=1e-6)


# -------------------------------------------------------------------------------------------- /embed_all


def test_embed_all_is_token_embeddings(server, model):
    response = post(server, "/embed_all", {"inputs": TEXTS})
    assert response.status_code == 200, response.text
    got = response.json()
    expected = model.token_embeddings(TEXTS)
    assert [len(tokens) for tokens in got] == [len(tokens) for tokens in expected]
    for tokens, reference in zip(got, expected):
        np.testing.assert_allclose(tokens, reference, atol=ATOL)
    prompted = post(server, "/embed_all", {"inputs": "a cat", "prompt_name": "query"}).json()
    expected = model.token_embeddings([PROMPTS["query"] + "a cat"])[0]
    np.testing.assert_allclose(prompted[0], expected, atol=ATOL)


def test_embed_all_is_sentence_transformers_token_embeddings(server, model_dir):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    reference = ReferenceModel(str(model_dir), device="cpu")
    got = post(server, "/embed_all", {"inputs": TEXTS[:2]}).json()
    for tokens, expected in zip(got, reference.encode(TEXTS[:2], output_value="token_embeddings")):
        np.testing.assert_allclose(tokens, expected.numpy(), atol=ATOL)


def test_embed_all_refuses_what_it_cannot_do(server, model_dir, tmp_path):
    fake = post(server, "/embed_all", {"inputs": "a", "model": "fake"})
    assert fake.status_code == 422 and "cannot give token embeddings" in fake.json()["error"]
    long = post(server, "/embed_all", {"inputs": LONG})
    assert long.status_code == 413 and "truncate=true" in long.json()["error"]
    assert post(server, "/embed_all", {"inputs": LONG, "truncate": True}).status_code == 200
    left = post(server, "/embed_all", {"inputs": "a", "truncation_direction": "left"})
    assert left.status_code == 422 and "'right'" in left.json()["error"]
    from fastapi.testclient import TestClient

    from sbert import create_app

    original = SentenceTransformer(model_dir, backend="torch")
    original.export(tmp_path / "onnx-only")
    with TestClient(create_app(SentenceTransformer(tmp_path / "onnx-only", backend="onnx"))) as client:
        assert client.post("/embed", json={"inputs": "a cat"}).status_code == 200
        response = client.post("/embed_all", json={"inputs": "a cat"})
    # an ONNX-only export has no torch weights, but its graph gives the token embeddings
    assert response.status_code == 200
    expected = original.encode("a cat", output_value="token_embeddings").numpy()
    np.testing.assert_allclose(response.json()[0], expected, atol=ATOL)


# ------------------------------------------------------------------------------------------------- /info


def test_info_has_the_fields_tei_clients_read(server):
    info = httpx.get(f"{server.url}/info").json()
    assert info["model_id"] == "tiny" and info["model_sha"] is None
    assert info["model_dtype"] == "float32"
    assert info["model_type"] == {"embedding": {"pooling": "mean"}}
    assert info["max_input_length"] == 48  # sentence_bert_config.json's max_seq_length
    assert info["max_client_batch_size"] == 2048 and info["max_concurrent_requests"] == 512
    assert info["max_batch_tokens"] == 512 and info["max_batch_requests"] == 32
    assert info["auto_truncate"] is False and info["tokenization_workers"] == 2
    assert info["version"] == __version__ and info["sha"] is None and info["docker_label"] is None
    tiny = info["models"][0]
    assert tiny["prompts"] == ["document", "passage", "query"] and tiny["default_prompt_name"] is None
    assert [m["pooling"] for m in info["models"]] == ["mean", "mean"]


def test_info_names_each_pooling_as_tei_does(tiny_st_factory):
    from sbert._server.engine import pooling_name

    assert pooling_name(SentenceTransformer(tiny_st_factory(classic_pooling(32, "cls")))) == "cls"
    last = SentenceTransformer(tiny_st_factory(classic_pooling(32, "lasttoken")), backend="torch")
    assert pooling_name(last) == "last_token"
    both = SentenceTransformer(tiny_st_factory(classic_pooling(32, "cls", "mean")), backend="onnx")
    assert pooling_name(both) == "cls+mean"  # read from the files: the ONNX model loads no torch modules
    assert pooling_name(FakeEncoder(4)) == "mean"


# -------------------------------------------------------------------------------- prompts on /v1/embeddings


def test_openai_input_type_is_encode_query_and_encode_document(server, model, model_dir):
    import openai
    from sentence_transformers import SentenceTransformer as ReferenceModel

    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused")

    def create(**extra) -> np.ndarray:
        response = client.embeddings.create(model="tiny", input=TEXTS, extra_body=extra)
        return np.array([item.embedding for item in response.data])

    query = create(input_type="query")
    np.testing.assert_allclose(query, model.encode_query(TEXTS, normalize_embeddings=True), atol=ATOL)
    reference = ReferenceModel(str(model_dir), device="cpu")
    np.testing.assert_allclose(query, reference.encode_query(TEXTS, normalize_embeddings=True), atol=ATOL)
    document = create(input_type="document")
    np.testing.assert_allclose(
        document, reference.encode_document(TEXTS, normalize_embeddings=True), atol=ATOL
    )
    passage = create(prompt_name="passage")
    np.testing.assert_allclose(passage, normalize(model.encode(TEXTS, prompt_name="passage")), atol=ATOL)
    assert not np.allclose(query, passage, atol=1e-3)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_cohere_embed_is_encode_query_and_encode_document_normalized(server, model, version):
    from sbert.util import quantize_embeddings

    def embed(**body) -> dict:
        response = post(server, f"/{version}/embed", {"model": "tiny", "texts": TEXTS, **body})
        assert response.status_code == 200, response.text
        return response.json()

    query = embed(input_type="search_query", embedding_types=["float", "ubinary", "binary"])
    expected = model.encode_query(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(query["embeddings"]["float"], expected, atol=ATOL)
    for kind in ("ubinary", "binary"):  # sign bits packed, as Cohere and sentence-transformers pack them
        np.testing.assert_array_equal(query["embeddings"][kind], quantize_embeddings(expected, kind))
    assert query["texts"] == TEXTS and query["response_type"] == "embeddings_by_type"
    plain = embed(input_type="search_document")  # v1 without embedding_types: a list of floats
    floats = plain["embeddings"] if version == "v1" else plain["embeddings"]["float"]
    np.testing.assert_allclose(floats, model.encode_document(TEXTS, normalize_embeddings=True), atol=ATOL)
    short = embed(input_type="clustering", output_dimension=8, embedding_types=["float"])
    np.testing.assert_allclose(short["embeddings"]["float"], normalize(model.encode(TEXTS)[:, :8]), atol=ATOL)
    refused = post(server, f"/{version}/embed", {"model": "tiny", "texts": [LONG], "truncate": "NONE"})
    assert refused.status_code == 413, refused.text
    start = post(server, f"/{version}/embed", {"model": "tiny", "texts": [LONG], "truncate": "START"}).json()
    tei_left = post(
        server,
        "/embed",
        {"model": "tiny", "inputs": [LONG], "truncate": True, "truncation_direction": "Left"},
    )
    np.testing.assert_allclose(
        start["embeddings"] if version == "v1" else start["embeddings"]["float"], tei_left.json(), atol=ATOL
    )
    int8 = post(server, f"/{version}/embed", {"model": "tiny", "texts": TEXTS, "embedding_types": ["int8"]})
    error = int8.json()["error"]  # /v1/ paths answer errors in OpenAI's shape
    assert int8.status_code == 422 and "calibration" in (error["message"] if version == "v1" else error)


def test_cohere_base64_and_infinity_embeddings_path(server, model):
    import base64

    expected = normalize(model.encode(TEXTS))
    # Cohere's SDK asks for embedding_types=["base64"]: each vector's float32 bytes, base64-encoded
    for version in ("v1", "v2"):
        body = {"model": "tiny", "texts": TEXTS, "embedding_types": ["base64", "float"]}
        response = post(server, f"/{version}/embed", body)
        assert response.status_code == 200, response.text
        rows = [
            np.frombuffer(base64.b64decode(row), "<f4") for row in response.json()["embeddings"]["base64"]
        ]
        np.testing.assert_allclose(rows, expected, atol=ATOL)
    # LiteLLM's infinity/ provider posts OpenAI's body to /embeddings (infinity's path, no /v1)
    response = post(server, "/embeddings", {"model": "tiny", "input": TEXTS, "encoding_format": "float"})
    assert response.status_code == 200, response.text
    np.testing.assert_allclose([d["embedding"] for d in response.json()["data"]], expected, atol=ATOL)


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        (
            "/v1/embeddings",
            {"input": "a", "model": "tiny", "prompt_name": "search"},
            "'query', 'document', 'passage'",
        ),
        ("/v1/embeddings", {"input": "a", "input_type": "search_query"}, "'query' or 'document'"),
        ("/v1/embeddings", {"input": "a", "input_type": "query", "prompt_name": "query"}, "not both"),
        ("/v1/embeddings", {"input": "a", "model": "fake", "prompt_name": "query"}, "prompts: none"),
        ("/embed", {"inputs": "a", "prompt_name": "Query"}, "'query', 'document', 'passage'"),
        ("/", {"inputs": "a", "prompt_name": "doc"}, "'query', 'document', 'passage'"),
        ("/embed_all", {"inputs": "a", "prompt_name": "doc"}, "'query', 'document', 'passage'"),
        ("/", {"inputs": {"source_sentence": "a"}}, "inputs: sentences: Field required"),
        ("/", {"inputs": 3}, "inputs: must be a string or an array of strings"),
    ],
)
def test_bad_prompts_and_inputs_are_422_naming_the_fix(server, path, body, words):
    response = post(server, path, body)
    assert response.status_code == 422, response.text
    payload = response.json()
    message = payload["error"]["message"] if path.startswith("/v1/") else payload["error"]
    assert words in message


# ----------------------------------------------------------------------------------- default prompt name


def test_default_prompt_name_applies_when_a_request_chooses_none(model):
    from fastapi.testclient import TestClient

    from sbert import create_app

    with TestClient(create_app({"tiny": model}, default_prompt_name="query")) as client:
        plain = client.post("/embed", json={"inputs": TEXTS, "normalize": False}).json()
        np.testing.assert_allclose(plain, model.encode(TEXTS, prompt_name="query"), atol=ATOL)
        chosen = client.post("/embed", json={"inputs": TEXTS, "prompt_name": "passage", "normalize": False})
        np.testing.assert_allclose(chosen.json(), model.encode(TEXTS, prompt_name="passage"), atol=ATOL)
        document = client.post("/v1/embeddings", json={"input": TEXTS, "input_type": "document"}).json()
        np.testing.assert_allclose(
            [d["embedding"] for d in document["data"]],
            model.encode_document(TEXTS, normalize_embeddings=True),
            atol=ATOL,
        )
        assert client.get("/info").json()["models"][0]["default_prompt_name"] == "query"


def test_the_models_own_default_prompt_name_applies_as_in_encode(tiny_st_factory, tmp_path):
    source = tiny_st_factory(classic_pooling(32, "mean"))
    own = SentenceTransformer(with_prompts(source, tmp_path / "m", default_prompt_name="passage"))
    from fastapi.testclient import TestClient

    from sbert import create_app

    with TestClient(create_app(own)) as client:
        got = client.post("/embed", json={"inputs": TEXTS, "normalize": False}).json()
    np.testing.assert_allclose(got, own.encode(TEXTS), atol=ATOL)
    np.testing.assert_allclose(got, own.encode(TEXTS, prompt_name="passage"), atol=ATOL)


def test_cli_default_prompt_name(model_dir, monkeypatch, capsys):
    from sbert._cli import main

    calls = []
    stub_serve(monkeypatch, lambda models, **options: calls.append(options))
    assert main(["serve", "--model", str(model_dir), "--default-prompt-name", "query"]) == 0
    assert calls[-1]["default_prompt_name"] == "query"
    capsys.readouterr()
    assert main(["serve", "--model", str(model_dir), "--default-prompt-name", "search"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("sbert: error: ") and "'query', 'document', 'passage'" in err[-1]
    assert len(err) == 1, "refused in one line, before it says that it serves"
    assert main(["serve", "--help"]) == 0
    assert "--default-prompt-name NAME" in capsys.readouterr().out


def test_create_app_refuses_a_default_prompt_name_a_model_lacks(model):
    from sbert import InputError, create_app

    with pytest.raises(
        InputError, match=r"'search' \(--default-prompt-name\).*'query', 'document', 'passage'"
    ):
        create_app({"tiny": model}, default_prompt_name="search")
    with pytest.raises(InputError, match="model 'fake'.*prompts are: none"):
        create_app({"tiny": model, "fake": FakeEncoder(4)}, default_prompt_name="query")


# ------------------------------------------------------------------------ include_prompt: false in batches


def test_include_prompt_false_leaves_the_prompt_out_as_sentence_transformers(tiny_st_factory, tmp_path):
    from fastapi.testclient import TestClient
    from sentence_transformers import SentenceTransformer as ReferenceModel

    from sbert import create_app

    folder = with_prompts(tiny_st_factory(classic_pooling(32, "mean")), tmp_path / "m", include_prompt=False)
    model = SentenceTransformer(folder, backend="torch")
    reference = ReferenceModel(str(folder), device="cpu")
    expected = reference.encode(TEXTS, prompt_name="query")
    with TestClient(create_app(model)) as client:
        got = client.post("/embed", json={"inputs": TEXTS, "prompt_name": "query", "normalize": False})
        plain = client.post("/embed", json={"inputs": TEXTS, "normalize": False}).json()
    np.testing.assert_allclose(got.json(), expected, atol=ATOL)
    np.testing.assert_allclose(plain, reference.encode(TEXTS), atol=ATOL)


class PromptCountingEncoder(FakeEncoder):
    """A fake whose pooling leaves the prompt out: ``prompt_length`` is its word count; batches are logged."""

    def __init__(self) -> None:
        super().__init__(8, delay=0.05, prompts={"q": "find this: "})
        self.batches: list[tuple[int, int]] = []

    def prompt_length(self, prompt: str) -> int:
        return len(prompt.split())

    def embed_batch(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        skip = int(batch.get("prompt_length", 0))
        self.batches.append((skip, len(batch["input_ids"])))
        out = super().embed_batch(batch)
        return out + skip  # a visible mark of the prompt length each row was pooled with


def test_a_batch_never_mixes_prompt_lengths():
    from sbert._server.engine import Batcher, ServedModel
    from sbert._server.metrics import ServerMetrics

    model = PromptCountingEncoder()
    served = ServedModel("m", model, workers=1)
    batcher = Batcher(served, ServerMetrics(queue_depth=list, in_flight=lambda: 0.0))
    batcher.start()

    async def send(prompt: str, i: int) -> np.ndarray:
        texts = [prompt + f"text {i} {j}" for j in range(3)]
        return await batcher.embed(served.tokenize(texts), served.prompt_length(prompt))

    async def all_at_once() -> list[np.ndarray]:
        return await asyncio.gather(*(send("find this: " if i % 2 else "", i) for i in range(12)))

    try:
        results = asyncio.run(all_at_once())
    finally:
        batcher.close()
    for i, got in enumerate(results):
        prompt = "find this: " if i % 2 else ""
        texts = [prompt + f"text {i} {j}" for j in range(3)]
        np.testing.assert_allclose(got, FakeEncoder(8).encode(texts) + (2 if i % 2 else 0), atol=1e-6)
    assert {skip for skip, _ in model.batches} == {0, 2}
    assert sum(rows for _, rows in model.batches) == 36
    assert len(model.batches) < 12, "requests with the same prompt length still share batches"


# --------------------------------------------------------------------------- chunking: windows of long texts

# Far over, just over and under the 48-token limit.
CHUNKED = [LONG * 3, "the dog ran in the house " * 9, "a cat sat on the mat"]


def _app(models, **options):
    from fastapi.testclient import TestClient

    from sbert import create_app

    return TestClient(create_app(models, **options))


def _openai_vectors(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.array([item["embedding"] for item in response.json()["data"]])


@pytest.mark.parametrize(("tokens", "overlap"), [(16, 0), (20, 5)])
def test_chunk_tokens_in_a_request_is_encode_with_chunk_tokens(model, tokens, overlap):
    expected = model.encode(CHUNKED, chunk_tokens=tokens, chunk_overlap=overlap)
    assert not np.allclose(expected[0], model.encode(CHUNKED[0]), atol=1e-3)  # windows, not the cut text
    windows = {"chunk_tokens": tokens, "chunk_overlap": overlap}
    with _app({"tiny": model}) as client:
        for path in ("/embed", "/"):  # truncate stays false: windows always fit, so nothing is refused
            got = client.post(path, json={"inputs": CHUNKED, "normalize": False, **windows})
            assert got.status_code == 200, got.text
            np.testing.assert_allclose(got.json(), expected, atol=ATOL)
        got = _openai_vectors(client.post("/v1/embeddings", json={"input": CHUNKED, **windows}))
        np.testing.assert_allclose(got, normalize(expected), atol=ATOL)
        query = {"input": CHUNKED, "input_type": "query", **windows}
        got = _openai_vectors(client.post("/v1/embeddings", json=query))
        np.testing.assert_allclose(
            got, model.encode_query(CHUNKED, normalize_embeddings=True, **windows), atol=ATOL
        )
        body = {"inputs": {"source_sentence": CHUNKED[0], "sentences": CHUNKED[1:]}, **windows}
        scores = client.post("/similarity", json=body).json()
        np.testing.assert_allclose(scores, model.similarity(expected[:1], expected[1:])[0], atol=ATOL)


def test_the_servers_chunk_tokens_apply_to_requests_that_choose_none(model):
    def embed(client, **options) -> np.ndarray:
        response = client.post("/embed", json={"inputs": CHUNKED, "normalize": False, **options})
        assert response.status_code == 200, response.text
        return np.array(response.json())

    with _app({"tiny": model}, chunk_tokens=16, chunk_overlap=4) as client:
        np.testing.assert_allclose(
            embed(client), model.encode(CHUNKED, chunk_tokens=16, chunk_overlap=4), atol=ATOL
        )
        own = embed(client, chunk_tokens=24)  # the request's windows, overlapping by 0 unless it says
        np.testing.assert_allclose(own, model.encode(CHUNKED, chunk_tokens=24), atol=ATOL)
        overlap = embed(client, chunk_overlap=2)  # the server's chunk_tokens, the request's overlap
        np.testing.assert_allclose(
            overlap, model.encode(CHUNKED, chunk_tokens=16, chunk_overlap=2), atol=ATOL
        )
        prompted = embed(client, prompt_name="query")  # the prompt goes before every window, as in encode
        expected = model.encode(CHUNKED, prompt_name="query", chunk_tokens=16, chunk_overlap=4)
        np.testing.assert_allclose(prompted, expected, atol=ATOL)
        usage = client.post("/v1/embeddings", json={"input": CHUNKED[0]}).json()["usage"]
        assert usage["prompt_tokens"] > model.max_seq_length  # every window's tokens are counted


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        (
            "/embed",
            {"chunk_tokens": 8, "chunk_overlap": 8},
            422,
            "chunk_overlap must be smaller than chunk_tokens",
        ),
        ("/embed", {"chunk_tokens": 100}, 422, "pass chunk_tokens <= 46"),
        (
            "/embed",
            {"chunk_tokens": 45, "prompt_name": "query"},
            422,
            "and the prompt); pass chunk_tokens <= 42",
        ),
        ("/embed", {"chunk_tokens": 0}, 422, "chunk_tokens must be a positive integer"),
        ("/embed", {"chunk_tokens": "8"}, 422, "chunk_tokens: Input should be a valid integer"),
        ("/embed", {"chunk_overlap": 2}, 422, "chunk_overlap needs chunk_tokens"),
        ("/embed", {"chunk_tokens": 8, "model": "fake"}, 422, "cannot cut texts into windows"),
        ("/embed_all", {"chunk_tokens": 8}, 422, "not cut into windows"),
        ("/v1/embeddings", {"chunk_tokens": 8, "chunk_overlap": 9}, 422, "each window must move forward"),
        ("/embed", {"inputs": [LONG] * 9, "chunk_tokens": 8}, 413, "windows in one request; the limit is 64"),
    ],
)
def test_bad_windows_are_refused_naming_the_fix(model, path, body, status, words):
    text = {"input": LONG} if path.startswith("/v1/") else {"inputs": LONG}
    with _app({"tiny": model, "fake": FakeEncoder(8)}, max_input_items=64) as client:
        response = client.post(path, json={**text, **body})
    assert response.status_code == status, response.text
    payload = response.json()
    assert words in (payload["error"]["message"] if path.startswith("/v1/") else payload["error"])


def test_create_app_and_sbert_serve_refuse_windows_a_model_cannot_cut(model, model_dir, monkeypatch, capsys):
    from sbert import InputError, create_app

    with pytest.raises(InputError, match="--chunk-tokens 100 does not fit model 'tiny'.*46 or less"):
        create_app({"tiny": model}, chunk_tokens=100)
    with pytest.raises(InputError, match="model 'fake' cannot cut texts into windows"):
        create_app({"tiny": model, "fake": FakeEncoder(4)}, chunk_tokens=8)
    with pytest.raises(InputError, match="must be smaller than chunk_tokens"):
        create_app({"tiny": model}, chunk_tokens=8, chunk_overlap=8)
    with pytest.raises(InputError, match="chunk_overlap needs chunk_tokens"):
        create_app({"tiny": model}, chunk_overlap=2)
    from sbert._cli import main

    calls = []
    stub_serve(monkeypatch, lambda models, **options: calls.append(options))
    assert main(["serve", "--model", str(model_dir), "--chunk-tokens", "16", "--chunk-overlap", "4"]) == 0
    assert (calls[-1]["chunk_tokens"], calls[-1]["chunk_overlap"]) == (16, 4)
    capsys.readouterr()
    for wrong, words in (
        (["--chunk-tokens", "100"], "46 or less"),
        (["--chunk-overlap", "4"], "--chunk-tokens"),
    ):
        assert main(["serve", "--model", str(model_dir), *wrong]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("sbert: error: ") and words in err[0], err
    assert len(calls) == 1


# ------------------------------------------------------------------------- Router models: tasks route texts


def _save_router(folder: Path, query: list, document: list, **kwargs) -> Path:
    from sentence_transformers import SentenceTransformer as ReferenceModel
    from sentence_transformers.sentence_transformer import modules

    router = modules.Router.for_query_document(query_modules=query, document_modules=document, **kwargs)
    ReferenceModel(modules=[router, modules.Normalize()], device="cpu", prompts=PROMPTS).save(str(folder))
    return folder


@pytest.fixture(scope="module")
def router_dir(tmp_path_factory) -> Path:
    """Router(query: BERT A reading 16 tokens + mean, document: BERT B + cls) -> Normalize, with prompts,
    saved by sentence-transformers."""
    from conftest import build_tiny_bert
    from sentence_transformers.sentence_transformer import modules

    base = tmp_path_factory.mktemp("router")
    a, b = build_tiny_bert(base / "a", seed=0), build_tiny_bert(base / "b", seed=1)
    query = [modules.Transformer(str(a), max_seq_length=16), modules.Pooling(32, "mean")]
    return _save_router(base / "model", query, [modules.Transformer(str(b)), modules.Pooling(32, "cls")])


@pytest.fixture(scope="module")
def router(router_dir) -> SentenceTransformer:
    return SentenceTransformer(router_dir, device="cpu")


def test_input_type_and_prompt_name_route_a_router_model_as_encode_query_and_encode_document(
    router, router_dir
):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    reference = ReferenceModel(str(router_dir), device="cpu")
    texts = [*TEXTS, LONG]  # the query route reads 16 tokens, the document route 64
    query, document = router.encode_query(texts), router.encode_document(texts)
    np.testing.assert_allclose(query, reference.encode_query(texts), atol=ATOL)
    np.testing.assert_allclose(document, reference.encode_document(texts), atol=ATOL)
    assert not np.allclose(query, document, atol=1e-3)

    def tei(client, **options) -> np.ndarray:
        response = client.post(
            "/embed", json={"inputs": texts, "normalize": False, "truncate": True, **options}
        )
        assert response.status_code == 200, response.text
        return np.array(response.json())

    with _app({"router": router}) as client:
        for task, expected in (("query", query), ("document", document)):
            got = _openai_vectors(client.post("/v1/embeddings", json={"input": texts, "input_type": task}))
            np.testing.assert_allclose(got, expected, atol=ATOL)
            np.testing.assert_allclose(tei(client, prompt_name=task), expected, atol=ATOL)
        np.testing.assert_allclose(tei(client), router.encode(texts), atol=ATOL)  # the default route
        passage = router.encode_document(
            texts, prompt_name="passage"
        )  # a document prompt: the document route
        np.testing.assert_allclose(tei(client, prompt_name="passage"), passage, atol=ATOL)
        np.testing.assert_allclose(
            tei(client, prompt_name="query", chunk_tokens=8, chunk_overlap=2, truncate=False),
            router.encode_query(texts, chunk_tokens=8, chunk_overlap=2),
            atol=ATOL,
        )
        refused = client.post("/embed", json={"inputs": LONG, "prompt_name": "query"})
        assert refused.status_code == 413 and "limit of 16 tokens" in refused.json()["error"]  # the route's
        assert client.get("/info").json()["models"][0]["tasks"] == ["query", "document"]


def test_a_batch_never_mixes_tasks(router, monkeypatch):
    from sbert._server.engine import Batcher, ServedModel
    from sbert._server.metrics import ServerMetrics

    seen = []
    embed_batch = router.embed_batch
    monkeypatch.setattr(
        router, "embed_batch", lambda batch: seen.append(batch.get("task")) or embed_batch(batch)
    )
    served = ServedModel("router", router, workers=1)
    batcher = Batcher(served, ServerMetrics(queue_depth=list, in_flight=lambda: 0.0))
    tasks = ["query" if i % 2 else "document" for i in range(8)]

    async def send(task: str, i: int) -> np.ndarray:
        prompt, route = served.read_as(None, task)
        encodings = served.tokenize([prompt + f"a cat sat on the mat {i}"], task=route)
        return await batcher.embed(encodings, served.prompt_length(prompt, route), route)

    async def queued_then_started() -> list[np.ndarray]:
        sent = [asyncio.ensure_future(send(task, i)) for i, task in enumerate(tasks)]
        await asyncio.sleep(0.01)  # every request waits in the queue before the worker starts
        batcher.start()
        return await asyncio.gather(*sent)

    try:
        results = asyncio.run(queued_then_started())
    finally:
        batcher.close()
    assert seen == ["document", "query"], "two batches, one per task, each with all of its requests"
    for i, (task, got) in enumerate(zip(tasks, results)):
        encode = router.encode_query if task == "query" else router.encode_document
        np.testing.assert_allclose(got, encode([f"a cat sat on the mat {i}"]), atol=ATOL)


def test_a_router_model_without_a_default_route_serves_tasks_only(tmp_path):
    from conftest import build_tiny_bert
    from sentence_transformers.sentence_transformer import modules

    bert = build_tiny_bert(tmp_path / "bert")
    routes = [[modules.Transformer(str(bert)), modules.Pooling(32, mode)] for mode in ("mean", "cls")]
    folder = _save_router(tmp_path / "model", *routes, default_route=None, allow_empty_key=False)
    model = SentenceTransformer(folder, device="cpu")
    with _app(model) as client:  # starts: the warm-up batch takes a route
        none = client.post("/embed", json={"inputs": TEXTS})
        assert none.status_code == 422 and '"input_type": "query"' in none.json()["error"]
        got = _openai_vectors(client.post("/v1/embeddings", json={"input": TEXTS, "input_type": "query"}))
        np.testing.assert_allclose(got, model.encode_query(TEXTS), atol=ATOL)


def test_openai_token_id_inputs_are_read_as_tei_reads_them(server, model_dir):
    """OpenAI's other input, token ids (what LangChain's OpenAIEmbeddings sends), is read as TEI reads it: ids
    of the model's own vocabulary, decoded and tokenized again without special tokens added; so the ids of
    the model's tokenizer (special tokens included) embed as encode embeds the text, and ids without special
    tokens as the model's forward on them. An id outside the vocabulary is a 400 naming it."""
    import openai
    import torch
    from sentence_transformers import SentenceTransformer as StSentenceTransformer

    reference = StSentenceTransformer(str(model_dir), device="cpu")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    with_special = [reference.tokenizer(text)["input_ids"] for text in TEXTS]
    response = client.embeddings.create(model="tiny", input=with_special)
    got = [item.embedding for item in response.data]
    np.testing.assert_allclose(got, reference.encode(TEXTS, normalize_embeddings=True), atol=ATOL)
    assert response.usage.prompt_tokens == sum(map(len, with_special))
    one = client.embeddings.create(model="tiny", input=with_special[1])  # one array of ints: one input
    np.testing.assert_allclose(one.data[0].embedding, got[1], atol=ATOL)
    features = reference.tokenizer(TEXTS, add_special_tokens=False, padding=True, return_tensors="pt")
    with torch.inference_mode():
        bare = reference(dict(features))["sentence_embedding"].numpy()
    without = [reference.tokenizer(text, add_special_tokens=False)["input_ids"] for text in TEXTS]
    response = client.embeddings.create(model="tiny", input=without)
    np.testing.assert_allclose([item.embedding for item in response.data], normalize(bare), atol=ATOL)
    with pytest.raises(openai.BadRequestError, match="token id 999999, outside the vocabulary"):
        client.embeddings.create(model="tiny", input=[[5, 999999]])
    with pytest.raises(openai.BadRequestError, match="check_embedding_ctx_length=False"):
        client.embeddings.create(model="tiny", input=[-1])
    with pytest.raises(openai.BadRequestError, match="a fake model has no vocabulary"):
        client.embeddings.create(model="fake", input=[[5, 6]])
    chunked = post(server, "/v1/embeddings", {"model": "tiny", "input": [[5, 6]], "chunk_tokens": 4})
    assert chunked.status_code == 422 and "not cut into windows" in chunked.json()["error"]["message"]


def test_tei_embed_takes_token_ids_as_tei_does(server, model_dir):
    """TEI's ``/embed`` takes token ids as well as texts (one array of ints, or an array of such arrays),
    read as ``/v1/embeddings`` reads them: the model tokenizer's ids embed as encode embeds their text; an id
    outside the vocabulary is a 400 naming it."""
    from sentence_transformers import SentenceTransformer as StSentenceTransformer

    reference = StSentenceTransformer(str(model_dir), device="cpu")
    ids = [reference.tokenizer(text)["input_ids"] for text in TEXTS]
    response = post(server, "/embed", {"model": "tiny", "inputs": ids})
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json(), reference.encode(TEXTS, normalize_embeddings=True), atol=ATOL)
    one = post(server, "/embed", {"model": "tiny", "inputs": ids[1]})
    np.testing.assert_allclose(one.json()[0], response.json()[1], atol=ATOL)
    wrong = post(server, "/embed", {"model": "tiny", "inputs": [[5, 999999]]})
    assert wrong.status_code == 400 and "token id 999999, outside the vocabulary" in wrong.json()["error"]
