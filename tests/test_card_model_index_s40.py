"""The model card's front matter after a short training run with an evaluator, against sentence-transformers
6.3's card for the same run: ``metrics`` (the evaluator's metric names, its name prefix dropped) and
``model-index`` (the evaluator's task and dataset, each metric's type, value and name), which the Hugging Face
Hub reads to show evaluation results; for the SentenceTransformer, the CrossEncoder and the SparseEncoder."""

from __future__ import annotations

import importlib

import pytest
import yaml
from conftest import build_tiny_classifier, build_tiny_masked_lm, without_dropout
from test_card_citations_s40b import card_after_one_step

PAIRS = {"anchor": ["a b", "c d", "e f", "g h"], "positive": ["a c", "c e", "e g", "g a"]}
LIBRARIES = {"st": "sentence_transformers", "sbert": "sbert"}
KINDS = {  # kind -> (namespace, model class, trainer prefix)
    "dense": ("sentence_transformer", "SentenceTransformer", "SentenceTransformer"),
    "sparse": ("sparse_encoder", "SparseEncoder", "SparseEncoder"),
    "cross": ("cross_encoder", "CrossEncoder", "CrossEncoder"),
}
STS = (["a b", "c d", "e f"], ["a c", "c e", "g a"], [0.9, 0.5, 0.1])


def _dense_run(ns, model):
    loss = ns.losses.MultipleNegativesRankingLoss(model)
    return PAIRS, loss, ns.evaluation.EmbeddingSimilarityEvaluator(*STS, name="sts-dev")


def _sparse_run(ns, model):
    loss = ns.losses.SpladeLoss(
        model,
        ns.losses.SparseMultipleNegativesRankingLoss(model),
        document_regularizer_weight=3e-5,
        query_regularizer_weight=5e-5,
    )
    return PAIRS, loss, ns.evaluation.SparseEmbeddingSimilarityEvaluator(*STS, name="sts-dev")


def _cross_run(ns, model):
    evaluator = ns.evaluation.CrossEncoderCorrelationEvaluator(
        [list(pair) for pair in zip(STS[0], STS[1])], STS[2], name="sts-dev"
    )
    return {**PAIRS, "label": [1.0, 0.0, 1.0, 0.0]}, ns.losses.BinaryCrossEntropyLoss(model), evaluator


RUNS = {"dense": _dense_run, "sparse": _sparse_run, "cross": _cross_run}


@pytest.fixture(scope="module")
def folders(dropout_free_st, tmp_path_factory) -> dict:
    """Each kind's starting folder, dropout off, so that both trainers compute the same function."""
    root = tmp_path_factory.mktemp("model-index")
    return {
        "dense": dropout_free_st,
        "sparse": without_dropout(build_tiny_masked_lm(root / "mlm")),
        "cross": without_dropout(build_tiny_classifier(root / "ce")),
    }


def _front_matter(library: str, kind: str, folder, out) -> dict:
    space, model_class, prefix = KINDS[kind]
    ns = importlib.import_module(f"{LIBRARIES[library]}.{space}")
    for part in ("losses", "evaluation"):
        importlib.import_module(f"{ns.__name__}.{part}")
    model = getattr(ns, model_class)(str(folder), device="cpu")
    card = card_after_one_step(ns, prefix, model, RUNS[kind](ns, model), out)
    return yaml.safe_load(card.split("---\n")[1])


@pytest.fixture(scope="module")
def front_matters(folders, tmp_path_factory) -> dict:
    made = {}

    def get(kind: str) -> tuple[dict, dict]:
        if kind not in made:
            out = tmp_path_factory.mktemp(kind)
            made[kind] = tuple(_front_matter(lib, kind, folders[kind], out / lib) for lib in ("st", "sbert"))
        return made[kind]

    return get


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_front_matter_lists_the_evaluator_metrics_as_sentence_transformers(front_matters, kind):
    theirs, ours = front_matters(kind)
    assert theirs["metrics"]
    assert ours.get("metrics") == theirs["metrics"]


def _values_apart(ours: list, theirs: list) -> list:
    """model-index with each metric value taken out (compared within 1e-4 on their own)."""
    values = []
    for entry in (ours, theirs):
        values.append([m["value"] for model in entry for r in model["results"] for m in r["metrics"]])
        for model in entry:
            for result in model["results"]:
                for metric in result["metrics"]:
                    metric["value"] = None
    return values


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_front_matter_has_the_model_index_of_sentence_transformers(front_matters, kind):
    theirs, ours = front_matters(kind)
    assert theirs["model-index"]
    assert "model-index" in ours
    our_values, their_values = _values_apart(ours["model-index"], theirs["model-index"])
    assert ours["model-index"] == theirs["model-index"]
    assert our_values == pytest.approx(their_values, abs=1e-4)


def test_nanobeir_results_reach_the_model_index_as_sentence_transformers(
    dropout_free_st, monkeypatch, tmp_path
):
    """A NanoBEIR evaluation records its aggregate (not each set's) in the card data, as
    sentence-transformers' does: the saved front matter's ``metrics`` and ``model-index`` match."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.evaluation import NanoBEIREvaluator as ReferenceEvaluator
    from test_nanobeir import _hub_nanobeir

    import sbert
    from sbert.evaluation import NanoBEIREvaluator

    _hub_nanobeir(monkeypatch)
    matters = []
    for name, model, evaluator in (
        ("st", Reference(str(dropout_free_st), device="cpu"), ReferenceEvaluator(["scifact", "nfcorpus"])),
        (
            "sbert",
            sbert.SentenceTransformer(dropout_free_st),
            NanoBEIREvaluator(dataset_names=["scifact", "nfcorpus"]),
        ),
    ):
        evaluator(model)
        model.save(str(tmp_path / name))
        matters.append(
            yaml.safe_load((tmp_path / name / "README.md").read_text(encoding="utf-8").split("---\n")[1])
        )
    theirs, ours = matters
    assert theirs["metrics"] and ours.get("metrics") == theirs["metrics"]
    our_values, their_values = _values_apart(ours["model-index"], theirs["model-index"])
    assert ours["model-index"] == theirs["model-index"]
    assert our_values == pytest.approx(their_values, abs=1e-4)
