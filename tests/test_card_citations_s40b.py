"""The model cards of the SparseEncoder, the CrossEncoder and the MultiVectorEncoder after a short training
run, against sentence-transformers 6.3's cards for the same run: the "Citation" section (Sentence-BERT, then
each training loss's BibTeX entry, a loss class used twice cited once), the evaluator's metrics and the
training loss's parameters as its card lists them; the card of an untrained model has the section's headings
only, as there. The cached MultipleNegativesRankingLoss holds the MultipleNegativesRankingLoss it computes
as ``loss``, so the SentenceTransformer card cites that loss's paper too, as there."""

from __future__ import annotations

import importlib
import json
import re
import warnings

import pytest
import torch
from conftest import build_tiny_bert, build_tiny_classifier, build_tiny_masked_lm, without_dropout
from datasets import Dataset
from test_loss_card_citations_s40 import citation_section

PAIRS = {"anchor": ["a b", "c d", "e f", "g h"], "positive": ["a c", "c e", "e g", "g a"]}
LIBRARIES = {"st": "sentence_transformers", "sbert": "sbert"}
# kind -> (namespace, model class, the folder fixture's key)
KINDS = {
    "sparse": ("sparse_encoder", "SparseEncoder"),
    "cross": ("cross_encoder", "CrossEncoder"),
    "multi_vector": ("multi_vector_encoder", "MultiVectorEncoder"),
}


def _sparse_run(ns, model):
    losses, evaluation = ns.losses, ns.evaluation
    loss = losses.SpladeLoss(
        model,
        losses.SparseMultipleNegativesRankingLoss(model),
        document_regularizer_weight=3e-5,
        query_regularizer_weight=5e-5,
    )
    evaluator = evaluation.SparseEmbeddingSimilarityEvaluator(
        ["a b", "c d", "e f"], ["a c", "c e", "g a"], [0.9, 0.5, 0.1], name="dev"
    )
    return PAIRS, loss, evaluator


def _cross_run(ns, model):
    evaluator = ns.evaluation.CrossEncoderCorrelationEvaluator(
        [["a b", "a c"], ["c d", "e g"], ["e f", "g a"]], [0.9, 0.5, 0.1], name="dev"
    )
    return {**PAIRS, "label": [1.0, 0.0, 1.0, 0.0]}, ns.losses.BinaryCrossEntropyLoss(model), evaluator


def _cross_ranking_run(ns, model):  # a loss with a citation of its own
    return PAIRS, ns.losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=2), None


def _multi_vector_run(ns, model):
    evaluator = ns.evaluation.MultiVectorInformationRetrievalEvaluator(
        {"q1": "a b", "q2": "c d"},
        {"d1": "a c", "d2": "c e", "d3": "g a"},
        {"q1": {"d1"}, "q2": {"d2"}},
        name="dev",
    )
    return PAIRS, ns.losses.MultiVectorMultipleNegativesRankingLoss(model), evaluator


RUNS = {  # run -> (model kind, data, loss and evaluator of a namespace and a model)
    "sparse": ("sparse", _sparse_run),
    "cross": ("cross", _cross_run),
    "cross-ranking": ("cross", _cross_ranking_run),
    "multi_vector": ("multi_vector", _multi_vector_run),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict:
    """The starting folder of each model kind, dropout off: both trainers then compute the same function, and
    the evaluations after the step agree."""
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("card-citations")
    torch.manual_seed(0)
    MultiVectorEncoder(str(without_dropout(build_tiny_bert(root / "bert"))), device="cpu").save(
        str(root / "mv")
    )
    return {
        "sparse": without_dropout(build_tiny_masked_lm(root / "mlm")),
        "cross": without_dropout(build_tiny_classifier(root / "ce")),
        "multi_vector": root / "mv",
    }


def _namespace(library: str, kind: str):
    return importlib.import_module(f"{LIBRARIES[library]}.{KINDS[kind][0]}")


def _card_after_training(library: str, run: str, folder, out) -> str:
    kind, make = RUNS[run]
    ns = _namespace(library, kind)
    importlib.import_module(f"{ns.__name__}.losses")
    importlib.import_module(f"{ns.__name__}.evaluation")
    model = getattr(ns, KINDS[kind][1])(str(folder), device="cpu")
    data, loss, evaluator = make(ns, model)
    prefix = "CrossEncoder" if kind == "cross" else KINDS[kind][1]
    return card_after_one_step(ns, prefix, model, (data, loss, evaluator), out)


def card_after_one_step(ns, prefix: str, model, run: tuple, out) -> str:
    """``model``'s README.md after one step of ``ns``'s ``<prefix>Trainer`` on ``run`` (data, loss,
    evaluator: evaluated after the step), saved to ``out / "model"``."""
    data, loss, evaluator = run
    args = getattr(ns, f"{prefix}TrainingArguments")(
        output_dir=str(out / "run"),
        max_steps=1,
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        eval_strategy="steps" if evaluator else "no",
        eval_steps=1,
        seed=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(ns, f"{prefix}Trainer")(
            model=model, args=args, train_dataset=Dataset.from_dict(data), loss=loss, evaluator=evaluator
        ).train()
    model.save(str(out / "model"))
    return (out / "model" / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cards(folders, tmp_path_factory) -> dict:
    """run -> (sentence-transformers' card, sbert's card), made once."""
    made = {}

    def card(run: str) -> tuple[str, str]:
        if run not in made:
            folder = folders[RUNS[run][0]]
            out = tmp_path_factory.mktemp(run)
            made[run] = tuple(_card_after_training(lib, run, folder, out / lib) for lib in ("st", "sbert"))
        return made[run]

    return card


@pytest.mark.parametrize("run", sorted(RUNS))
def test_card_cites_the_training_losses_as_sentence_transformers(cards, run):
    theirs, ours = cards(run)
    assert citation_section(ours) == citation_section(theirs)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_card_of_an_untrained_model_has_the_citation_headings_as_sentence_transformers(
    folders, tmp_path, kind
):
    cards = []
    for library in ("st", "sbert"):
        model = getattr(_namespace(library, kind), KINDS[kind][1])(str(folders[kind]), device="cpu")
        model.save(str(tmp_path / library))
        cards.append((tmp_path / library / "README.md").read_text(encoding="utf-8"))
    assert citation_section(cards[1]) == citation_section(cards[0])


def _their_metrics(card: str) -> dict[str, str]:
    """The rows of the metrics table of sentence-transformers' card: metric -> value (bold removed)."""
    section = card[card.index("### Metrics") : card.index("## Training Details")]
    rows = re.findall(
        r"^\|\s*(?:\*\*)?([^|*]+?)(?:\*\*)?\s*\|\s*(?:\*\*)?([-\d.e]+)(?:\*\*)?\s*\|$", section, re.M
    )
    return dict(rows)


@pytest.mark.parametrize("run", ["sparse", "cross", "multi_vector"])
def test_card_lists_the_evaluator_metrics_as_sentence_transformers(cards, run):
    """Each metric of the evaluator (named with the evaluator's name, here "dev") with the value
    sentence-transformers' card shows (4 decimals)."""
    theirs, ours = cards(run)
    expected = _their_metrics(theirs)
    assert expected
    for metric, value in expected.items():
        assert re.search(rf"dev_{re.escape(metric)}\b\W+{re.escape(value)}\b", ours), (metric, value)


def _their_loss_parameters(card: str) -> dict:
    """The loss parameters JSON of sentence-transformers' card (its training dataset's)."""
    block = card[card.index("with these parameters:") :]
    return json.loads(block[block.index("{") : block.index("```", block.index("{"))])


@pytest.mark.parametrize("run", ["sparse", "cross", "multi_vector"])
def test_card_lists_the_loss_parameters_as_sentence_transformers(cards, run):
    """The training loss's parameters with the values sentence-transformers' card gives them (as the
    loss was configured when training started: SpladeLoss's regularizer weights before their warm-up)."""
    theirs, ours = cards(run)
    # sbert's card writes them as name=value in the loss's line (strings unquoted); JSON's null is None
    losses = next(line for line in ours.splitlines() if line.startswith("- **Losses**")).replace("'", "")
    for name, value in _their_loss_parameters(theirs).items():
        assert f"{name}={value}".replace("'", "") in losses, (name, value, losses)


@pytest.mark.parametrize(
    "name", ["CachedMultipleNegativesRankingLoss", "CachedMultipleNegativesSymmetricRankingLoss"]
)
def test_dense_card_cites_the_cached_ranking_loss_and_its_inner_loss(dropout_free_st, tmp_path, name):
    """sentence-transformers' cached ranking losses hold a MultipleNegativesRankingLoss as ``loss``: its
    card cites GradCache and that loss's paper (the symmetric one's: jina-embeddings-v2's)."""
    from test_loss_card_citations_s40 import _card_after_one_step

    def make(losses, model):
        return getattr(losses, name)(model, mini_batch_size=2)

    theirs = _card_after_one_step("st", dropout_free_st, PAIRS, make, tmp_path / "st")
    ours = _card_after_one_step("sbert", dropout_free_st, PAIRS, make, tmp_path / "sbert")
    assert "#### MultipleNegativesRankingLoss" in theirs
    assert citation_section(ours) == citation_section(theirs)


def test_multi_vector_losses_cite_as_sentence_transformers():
    """Each multi-vector loss class cites the paper sentence-transformers' cites (its card's entries)."""
    import inspect

    from sentence_transformers.multi_vector_encoder import losses as theirs

    from sbert.multi_vector_encoder import losses as ours

    for name in theirs.__all__:
        entry = inspect.getattr_static(getattr(theirs, name), "citation")
        expected = entry.fget(None) if isinstance(entry, property) else entry  # a constant there
        assert inspect.getattr_static(getattr(ours, name), "citation", None) == expected, name
