"""Scenarios of sentence-transformers' own test suite (part 4: evaluators, NanoBEIR, collator) run against
sbert and sentence-transformers 6.3 on the same inputs.

sentence-transformers' evaluator tests run on a stand-in model: a plain class with ``encode`` returning
keyword one-hot tensors, ``similarity`` and a ``model_card_data`` whose every attribute is a do-nothing
function. Its evaluators end each call with
``model.model_card_data.set_evaluation_metrics(evaluator, metrics, epoch, step)``, so such a model evaluates
there; sbert's evaluators take the same path for a card data that is not their own. A
``SequentialEvaluator`` of no evaluators scores 0.0 there."""

from __future__ import annotations

import pytest
import sentence_transformers.sentence_transformer.evaluation as st_evaluation
import torch
from sentence_transformers.util import cos_sim

import sbert.sentence_transformer.evaluation as sbert_evaluation

KEYWORDS = ["pokemon", "car", "vehicle", "fruit", "vegetable"]
QUERIES = {
    "0": "What is a pokemon?",
    "1": "What is a vegetable?",
    "2": "What is a fruit?",
    "3": "What is a car?",
}
CORPUS = {
    "0": "A pokemon is a fictional creature",
    "1": "A vegetable is a plant",
    "2": "A fruit is a plant",
    "3": "A vehicle is a machine",
    "4": "A car is a vehicle",
}
RELEVANT = {"0": {"0"}, "1": {"1"}, "2": {"2"}, "3": {"3", "4"}}
SMALL_K = {
    "accuracy_at_k": [1, 3],
    "precision_recall_at_k": [1, 3],
    "mrr_at_k": [3],
    "ndcg_at_k": [3],
    "map_at_k": [5],
}


def one_hot(texts, **kwargs):
    texts = [texts] if isinstance(texts, str) else texts
    return torch.tensor([[float(word in text) for word in KEYWORDS] for text in texts])


class AnyCallCard:
    """A card data whose attributes are all do-nothing functions (as in sentence-transformers' tests)."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class StandInModel:
    similarity_fn_name = "cosine"

    def __init__(self, card=None) -> None:
        self.model_card_data = card if card is not None else AnyCallCard()

    def similarity(self, a, b):
        return cos_sim(a, b)

    def encode(self, texts, **kwargs):
        return one_hot(texts)

    encode_query = encode_document = encode


class RecordingCard:
    """A foreign card data: records what the evaluators hand it."""

    def __init__(self) -> None:
        self.calls = []

    def set_evaluation_metrics(self, evaluator, metrics, epoch=0, step=0):
        self.calls.append((type(evaluator).__name__, dict(metrics), epoch, step))


SAMPLES = [
    {
        "query": QUERIES[q],
        "positive": [CORPUS[d] for d in RELEVANT[q]],
        "negative": [CORPUS[d] for d in CORPUS if d not in RELEVANT[q]],
    }
    for q in QUERIES
]


def evaluators(module):
    return [
        module.InformationRetrievalEvaluator(QUERIES, CORPUS, RELEVANT, name="ir", **SMALL_K),
        module.RerankingEvaluator(SAMPLES, name="rr", at_k=3),
        module.EmbeddingSimilarityEvaluator(
            ["a car", "a fruit", "pokemon", "a vehicle"],
            ["a vehicle", "a vegetable", "pokemon", "a car"],
            [0.5, 0.4, 1.0, 0.6],
            name="sts",
        ),
    ]


@pytest.mark.parametrize("index", range(3))
def test_a_stand_in_model_with_a_do_nothing_card_evaluates_as_in_sentence_transformers(index, tmp_path):
    theirs = evaluators(st_evaluation)[index](StandInModel(), output_path=str(tmp_path / "st"))
    ours = evaluators(sbert_evaluation)[index](StandInModel(), output_path=str(tmp_path / "sbert"))
    assert ours.keys() == theirs.keys()
    assert ours == pytest.approx(theirs, nan_ok=True)
    csv = next((tmp_path / "st").iterdir()).name
    (their_header, *their_rows), (header, *rows) = (
        [line.split(",") for line in (tmp_path / lib / csv).read_text().splitlines()]
        for lib in ("st", "sbert")
    )
    assert header == their_header
    assert len(rows) == len(their_rows) == 1
    assert [float(v) for v in rows[0]] == pytest.approx([float(v) for v in their_rows[0]], nan_ok=True)


@pytest.mark.parametrize("index", range(3))
def test_a_foreign_card_data_gets_set_evaluation_metrics_as_from_sentence_transformers(index):
    theirs, ours = RecordingCard(), RecordingCard()
    evaluators(st_evaluation)[index](StandInModel(theirs), epoch=2, steps=7)
    evaluators(sbert_evaluation)[index](StandInModel(ours), epoch=2, steps=7)
    assert [c[0] for c in ours.calls] == [c[0] for c in theirs.calls]
    assert [c[2:] for c in ours.calls] == [c[2:] for c in theirs.calls]
    for (_, mine, *_), (_, reference, *_) in zip(ours.calls, theirs.calls):
        assert mine == pytest.approx(reference, nan_ok=True)


def test_a_sequential_evaluator_of_no_evaluators_scores_zero_as_in_sentence_transformers():
    theirs = st_evaluation.SequentialEvaluator([])
    ours = sbert_evaluation.SequentialEvaluator([])
    assert ours(StandInModel()) == theirs(StandInModel()) == {"sequential_score": 0.0}
    assert ours.primary_metric == theirs.primary_metric == "sequential_score"


def local_nanobeir(module):
    """sentence-transformers' offline NanoBEIR pattern: a subclass whose ``_load_dataset`` builds each set's
    evaluator from local data, named by the ``_get_human_readable_name`` hook."""

    class LocalNanoBEIR(module.NanoBEIREvaluator):
        def _load_dataset(self, dataset_name, **options):
            kept = dict(list(QUERIES.items())[: 2 + len(dataset_name) % 3])
            return module.InformationRetrievalEvaluator(
                kept,
                CORPUS,
                {q: RELEVANT[q] for q in kept},
                name=self._get_human_readable_name(dataset_name),
                **options,
            )

    return LocalNanoBEIR


@pytest.mark.parametrize("truncate_dim", [None, 4])
def test_a_nanobeir_subclass_loading_local_sets_by_the_name_hook_runs_as_in_sentence_transformers(
    truncate_dim,
):
    made = {}
    for name, module in (("st", st_evaluation), ("sbert", sbert_evaluation)):
        evaluator = local_nanobeir(module)(
            dataset_names=["msmarco", "NQ"], truncate_dim=truncate_dim, write_csv=False, **SMALL_K
        )
        names = [sub.name for sub in evaluator.evaluators]
        hook = [evaluator._get_human_readable_name(n) for n in ("quoraretrieval", "FiQA2018")]
        made[name] = (evaluator(StandInModel()), evaluator.primary_metric, names, hook)
    (theirs, their_primary, their_names, their_hook), (ours, primary, names, hook) = made["st"], made["sbert"]
    assert (primary, names, hook) == (their_primary, their_names, their_hook)
    assert ours.keys() == theirs.keys()
    assert ours == pytest.approx(theirs)
