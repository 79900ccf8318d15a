"""text-embeddings-inference's POST /predict (a served cross-encoder classifying texts and pairs), /decode
and --auto-truncate, in-process (FastAPI's TestClient) on tiny random models, with the bodies TEI clients send
(llama-index's and haystack's TEI rerankers send no "truncate"); scores compared with sentence-transformers'
CrossEncoder.predict and SentenceTransformer.encode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import build_tiny_classifier, classic_pooling

from sbert import CrossEncoder, FakeEncoder, SentenceTransformer, create_app

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

ATOL = 1e-5
LABELS = {"0": "contradiction", "1": "entailment", "2": "neutral"}
PAIR = ["a man plays music", "a man plays the guitar"]
TEXT = "the cat sat on the mat"
LONG = "the cat sat on the mat and the dog ran in the house " * 12  # over every tiny model's limit
QUERY = "a man plays music"
DOCUMENTS = ["a man plays the guitar", "the cat sat on the mat", LONG]


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_st_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("predict")
    nli = build_tiny_classifier(root / "nli", num_labels=3, initializer_range=0.5)
    config = json.loads((nli / "config.json").read_text())
    config["id2label"], config["label2id"] = LABELS, {v: int(k) for k, v in LABELS.items()}
    (nli / "config.json").write_text(json.dumps(config))
    return {
        "nli": nli,
        "rr": build_tiny_classifier(root / "rr", num_labels=1, seed=1, initializer_range=0.5),
        "st": tiny_st_factory(classic_pooling(32, "mean")),
    }


def _client(models, **options):
    from fastapi.testclient import TestClient

    return TestClient(create_app(models, **options))


@pytest.fixture(scope="module")
def client(folders):
    classifiers = {"nli": CrossEncoder(folders["nli"], backend="torch")}
    rerankers = {"rr": CrossEncoder(folders["rr"], backend="torch")}
    with _client(
        {"st": SentenceTransformer(folders["st"], backend="torch"), "fake": FakeEncoder(8)},
        rerankers=rerankers,
        classifiers=classifiers,
    ) as started:
        yield started


def _st_cross_encoder(folder: Path):
    from sentence_transformers import CrossEncoder as StCrossEncoder

    return StCrossEncoder(str(folder), device="cpu")


def _as_rows(answer: list[dict], labels: list[str]) -> np.ndarray:
    by_label = {item["label"]: item["score"] for item in answer}
    return np.array([by_label[label] for label in labels])


def test_predict_is_cross_encoder_predict_with_softmax_and_labels(client, folders):
    import torch

    reference = _st_cross_encoder(folders["nli"])
    labels = list(LABELS.values())
    pair = client.post("/predict", json={"inputs": PAIR, "model": "nli"})
    assert pair.status_code == 200, pair.text
    answer = pair.json()
    assert [item["label"] for item in answer] == sorted(labels, key=lambda x: -_as_rows(answer, [x])[0])
    expected = reference.predict([tuple(PAIR)], apply_softmax=True)[0]
    np.testing.assert_allclose(_as_rows(answer, labels), expected, atol=ATOL)
    # a batch mixes texts (scored alone) and pairs; a list per input
    batch = client.post("/predict", json={"inputs": [[TEXT], PAIR], "model": "nli"}).json()
    np.testing.assert_allclose(
        _as_rows(batch[0], labels), reference.predict(TEXT, apply_softmax=True), atol=ATOL
    )
    np.testing.assert_allclose(_as_rows(batch[1], labels), expected, atol=ATOL)
    single = client.post("/predict", json={"inputs": TEXT, "model": "nli"}).json()
    assert [item["label"] for item in single] == [item["label"] for item in batch[0]]
    np.testing.assert_allclose(_as_rows(single, labels), _as_rows(batch[0], labels), atol=ATOL)
    raw = client.post("/predict", json={"inputs": PAIR, "raw_scores": True, "model": "nli"}).json()
    logits = reference.predict([tuple(PAIR)], activation_fn=torch.nn.Identity())[0]
    np.testing.assert_allclose(_as_rows(raw, labels), logits, atol=ATOL)


def test_predict_on_a_reranker_is_its_sigmoid_score(client, folders):
    reference = _st_cross_encoder(folders["rr"])
    answer = client.post("/predict", json={"inputs": [PAIR, [TEXT]], "model": "rr"}).json()
    assert [item[0]["label"] for item in answer] == ["LABEL_0", "LABEL_0"]
    np.testing.assert_allclose(
        [answer[0][0]["score"], answer[1][0]["score"]],
        [reference.predict([tuple(PAIR)])[0], reference.predict(TEXT)],
        atol=ATOL,
    )
    # no model named: the first classifier answers
    assert (
        client.post("/predict", json={"inputs": PAIR}).json()
        == client.post("/predict", json={"inputs": PAIR, "model": "nli"}).json()
    )


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"inputs": ["a", "b", "c"]}, 422, "pair"),
        ({"inputs": [["a"], ["a", "b", "c"]]}, 422, "inputs[1]"),
        ({"inputs": []}, 422, "empty"),
        ({"inputs": 3}, 422, "a number"),
        ({"inputs": LONG}, 413, "--auto-truncate"),
        ({"inputs": TEXT, "model": "nope"}, 404, "'nli', 'rr'"),
    ],
)
def test_predict_refuses_bad_requests(client, body, status, words):
    response = client.post("/predict", json=body)
    assert response.status_code == status and words in response.json()["error"]


def test_predict_needs_a_cross_encoder_and_create_app_keeps_names_apart(folders):
    with _client(FakeEncoder(8)) as plain:
        response = plain.post("/predict", json={"inputs": TEXT})
    assert response.status_code == 404 and "--classifier" in response.json()["error"]
    from sbert import InputError

    with pytest.raises(InputError, match="a model and a classifier are both named 'fake'"):
        create_app({"fake": FakeEncoder(8)}, classifiers={"fake": CrossEncoder(folders["nli"])})


def test_decode_is_the_tokenizers_decode(client, folders):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folders["st"])
    ids = tokenizer(PAIR)["input_ids"]
    one = client.post("/decode", json={"ids": ids[0], "model": "st"})
    assert one.json() == [tokenizer.decode(ids[0], skip_special_tokens=True)]
    both = client.post("/decode", json={"ids": ids, "skip_special_tokens": False, "model": "st"}).json()
    assert both == [tokenizer.decode(row) for row in ids] and "[CLS]" in both[0]
    nli = AutoTokenizer.from_pretrained(folders["nli"])
    assert client.post("/decode", json={"ids": ids[0], "model": "nli"}).json() == [
        nli.decode(ids[0], skip_special_tokens=True)
    ]
    fake = client.post("/decode", json={"ids": [1, 2], "model": "fake"})
    assert fake.status_code == 422 and "fake" in fake.json()["error"]
    assert client.post("/decode", json={"ids": ["a"]}).status_code == 422


def _long_requests(reranker: str) -> dict[str, dict]:
    """The bodies of TEI clients that send no "truncate"."""
    return {
        "/rerank": {"query": QUERY, "texts": DOCUMENTS, "model": reranker},  # llama-index's TEI reranker
        "/predict": {"inputs": [QUERY, LONG], "model": reranker},
        "/embed": {"inputs": [TEXT, LONG], "model": "st"},
        "/embed_all": {"inputs": [LONG], "model": "st"},
        "/similarity": {"inputs": {"source_sentence": LONG, "sentences": [TEXT]}, "model": "st"},
        "/": {"inputs": [LONG], "model": "st"},
    }


def test_auto_truncate_cuts_tei_requests_that_send_no_truncate(folders):
    st_model = SentenceTransformer(folders["st"], backend="torch")
    options = {"rerankers": {"rr": CrossEncoder(folders["rr"], backend="torch")}}
    with _client({"st": st_model}, **options) as strict:
        assert strict.get("/info").json()["auto_truncate"] is False
        for path, body in _long_requests("rr").items():
            assert strict.post(path, json=body).status_code == 413, path
        by_reranker = strict.post("/predict", json=_long_requests("rr")["/predict"]).json()["error"]
        assert "of reranker 'rr'" in by_reranker  # a reranker answers /predict here: named as one
    with _client({"st": st_model}, auto_truncate=True, **options) as lenient:
        assert lenient.get("/info").json()["auto_truncate"] is True
        for path, body in _long_requests("rr").items():
            assert lenient.post(path, json=body).status_code == 200, path
            assert lenient.post(path, json={**body, "truncate": False}).status_code == 413, path
        # haystack's HuggingFaceTEIRanker: raw_scores, no truncate; scores as predict, which truncates
        reference = _st_cross_encoder(folders["rr"])
        ranked = lenient.post(
            "/rerank", json={"query": QUERY, "texts": DOCUMENTS, "raw_scores": False}
        ).json()
        expected = reference.predict([(QUERY, document) for document in DOCUMENTS])
        np.testing.assert_allclose(
            [r["score"] for r in sorted(ranked, key=lambda r: r["index"])], expected, atol=ATOL
        )
        embedded = np.array(lenient.post("/embed", json={"inputs": [TEXT, LONG]}).json())
        from sentence_transformers import SentenceTransformer as StSentenceTransformer

        st_reference = StSentenceTransformer(str(folders["st"]), device="cpu")
        np.testing.assert_allclose(
            embedded, st_reference.encode([TEXT, LONG], normalize_embeddings=True), atol=ATOL
        )
        refused = lenient.post("/embed", json={"inputs": [LONG], "parameters": {"truncate": False}})
        assert refused.status_code == 413


def test_cli_serve_auto_truncate_and_classifiers(folders, built_apps, monkeypatch, capsys):
    from sbert._cli import main

    apps = built_apps
    args = ["serve", "--model", "fake", "--classifier", f"nli={folders['nli']}", "--auto-truncate"]
    assert main(args) == 0
    assert "classifying with nli (POST /predict)" in capsys.readouterr().err
    state = apps[0].state.sbert
    assert list(state.classifiers) == ["nli"] and state.auto_truncate is True
    monkeypatch.setenv("SBERT_AUTO_TRUNCATE", "true")
    assert main(["serve", "--model", "fake"]) == 0 and apps[1].state.sbert.auto_truncate is True
    monkeypatch.delenv("SBERT_AUTO_TRUNCATE")
    assert main(["serve", "--model", "fake"]) == 0 and apps[2].state.sbert.auto_truncate is False
