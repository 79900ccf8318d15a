"""Rerankers whose tokenizer has a chat template, served in-process: POST /rerank (TEI), /v1/rerank (Cohere,
Jina) and /predict render each pair through the CrossEncoder's own chat template (the model's default prompt
a system message), so their scores and order equal ``CrossEncoder.rank`` / ``predict``; a plain reranker's
default prompt goes before the query, as ``rank`` puts it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_tiny_classifier
from test_cross_encoder_causal import ROLES_TEMPLATE, build_tiny_causal_lm
from test_cross_encoder_modules import CHAT_TEMPLATE

from sbert import CrossEncoder, FakeEncoder

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TOL = 1e-5
QUERY = "Is Paris a big city?"
DOCUMENTS = [
    "Paris is a big city.",
    "yes",
    "Berlin had many people.",
    "no",
    "How many people live in Berlin?",
    "Berlin had many people. " * 8,  # over the token limit: cut, the template's tail restored
]
PROMPTS = {"judge": "Judge the pair: "}


@pytest.fixture(scope="module")
def rerankers(tmp_path_factory) -> dict[str, CrossEncoder]:
    root = tmp_path_factory.mktemp("chat-rerankers")
    causal = build_tiny_causal_lm(root / "causal")
    (causal / "chat_template.jinja").write_text(ROLES_TEMPLATE)
    plain = build_tiny_classifier(root / "plain", initializer_range=0.5)
    classifier = build_tiny_classifier(root / "classifier", seed=1, initializer_range=0.5)
    (classifier / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    return {
        "causal": CrossEncoder(causal),  # a causal LM scored by LogitScore: torch
        "judged": CrossEncoder(causal, prompts=PROMPTS, default_prompt_name="judge"),
        "classifier": CrossEncoder(classifier),  # a sequence classifier (backend "auto": ONNX on the CPU)
        "plain": CrossEncoder(plain, prompts=PROMPTS, default_prompt_name="judge"),
    }


@pytest.fixture(scope="module")
def client(rerankers):
    from fastapi.testclient import TestClient

    from sbert import create_app

    classifiers = {"cls": rerankers["causal"]}  # POST /predict: texts alone and pairs
    app = create_app(FakeEncoder(8, name="fake"), rerankers=rerankers, classifiers=classifiers)
    with TestClient(app) as started:
        yield started


def _check(found: list[tuple[int, float]], expected: list[dict]) -> None:
    assert [index for index, _ in found] == [r["corpus_id"] for r in expected]
    np.testing.assert_allclose([s for _, s in found], [r["score"] for r in expected], atol=TOL, rtol=0)


@pytest.mark.parametrize("name", ["causal", "judged", "classifier", "plain"])
def test_served_rerank_equals_cross_encoder_rank(client, rerankers, name):
    model = rerankers[name]
    assert name == "plain" or "message" in model.modalities
    expected = model.rank(QUERY, DOCUMENTS)
    tei = client.post("/rerank", json={"model": name, "query": QUERY, "texts": DOCUMENTS, "truncate": True})
    assert tei.status_code == 200, tei.text
    _check([(r["index"], r["score"]) for r in tei.json()], expected)
    cohere = client.post("/v1/rerank", json={"model": name, "query": QUERY, "documents": DOCUMENTS})
    assert cohere.status_code == 200, cohere.text
    _check([(r["index"], r["relevance_score"]) for r in cohere.json()["results"]], expected)


def test_served_predict_of_a_chat_reranker_equals_predict(client, rerankers):
    import torch

    model = rerankers["causal"]
    inputs = [[QUERY, DOCUMENTS[0]], ["yes"], [QUERY, DOCUMENTS[2]]]
    response = client.post("/predict", json={"model": "cls", "inputs": inputs, "raw_scores": True})
    assert response.status_code == 200, response.text
    found = [row[0]["score"] for row in response.json()]
    identity = torch.nn.Identity()
    expected = [model.predict([tuple(i) for i in inputs[:1]], activation_fn=identity)[0]]
    expected.append(model.predict("yes", activation_fn=identity))
    expected.append(model.predict([tuple(inputs[2])], activation_fn=identity)[0])
    np.testing.assert_allclose(found, expected, atol=TOL, rtol=0)


def test_cli_rerank_of_a_chat_reranker_equals_rank(rerankers, tmp_path, capsys):
    """``sbert rerank`` ranks with ``CrossEncoder.rank``: a saved chat reranker's default prompt included."""
    import json

    from sbert._cli import main

    rerankers["judged"].save(tmp_path / "judged")
    docs = tmp_path / "docs.txt"
    docs.write_text("\n".join(DOCUMENTS) + "\n", encoding="utf-8")
    assert main(["rerank", "-q", QUERY, "-i", str(docs), "-m", str(tmp_path / "judged"), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    _check([(r["index"], r["score"]) for r in records], rerankers["judged"].rank(QUERY, DOCUMENTS))
