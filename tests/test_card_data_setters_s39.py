"""sentence-transformers' setters on ``model.model_card_data`` (``add_tags``, ``set_language``,
``set_license``, ``set_model_id``, ``set_base_model``, ``set_evaluation_metrics``): training callbacks call
``add_tags`` (vespaembed tags every model it trains), and evaluators written after sentence-transformers'
own override ``store_metrics_in_model_card_data`` with ``model.model_card_data.set_evaluation_metrics(self,
metrics, epoch=epoch, step=step)``. Each is called on both libraries' models and compared."""

from __future__ import annotations

import importlib

import pytest
from conftest import SENTENCES, classic_pooling

import sbert


@pytest.fixture(scope="module")
def folder(tiny_st_factory):
    return str(tiny_st_factory(classic_pooling(32, "mean")))


def _both(folder, **options):
    import sentence_transformers as st

    return [lib.SentenceTransformer(folder, device="cpu", **options) for lib in (st, sbert)]


def _front_matter(saved) -> str:
    return (saved / "README.md").read_text().split("---")[1]


def test_tag_language_license_and_id_setters_act_as_in_sentence_transformers(folder, tmp_path):
    fields = ("tags", "language", "license", "model_id")
    read = []
    for model in _both(folder):
        card = model.model_card_data
        card.add_tags("vespaembed")
        card.add_tags(["vespaembed", "tiny", "tiny", "semantic-search"])  # each tag once
        card.set_language("en")
        card.set_license("mit")
        card.set_model_id("me/tiny")
        read.append({name: getattr(card, name) for name in fields})
    theirs, ours = read
    # the card data starts with sentence-transformers' default tags (sbert's too, since session 41)
    defaults = ["sentence-transformers", "sentence-similarity", "feature-extraction", "dense"]
    assert theirs["tags"] == defaults + ["vespaembed", "tiny", "semantic-search"]
    assert ours == theirs
    model = _both(folder)[1]
    model.model_card_data.set_language(["en", "de"])
    model.model_card_data.add_tags(["tiny", "sentence-transformers"])
    model.save(tmp_path / "saved")
    front = _front_matter(tmp_path / "saved")
    assert "language:\n- en\n- de" in front and "- tiny" in front
    assert front.count("- sentence-transformers\n") == 1  # a default tag given again is written once


def test_base_model_setter_refuses_a_local_folder_as_sentence_transformers(folder):
    for model in _both(folder):
        assert model.model_card_data.set_base_model(folder) is False
        assert model.model_card_data.base_model is None
    card_data = sbert.SentenceTransformerModelCardData(local_files_only=True)
    offline = sbert.SentenceTransformer(folder, model_card_data=card_data)
    assert offline.model_card_data.set_base_model("org/base") is False  # no hub, no claim
    ours = _both(folder)[1]
    assert ours.model_card_data.set_base_model("org/base", revision="abc") is True
    assert (ours.model_card_data.base_model, ours.model_card_data.base_model_revision) == ("org/base", "abc")


def _evaluator_class(lib):
    """An evaluator as users write them after sentence-transformers' own: it stores its metrics through
    the card data's setter."""

    evaluation = importlib.import_module(f"{lib.__name__}.sentence_transformer.evaluation")

    class PairSimilarity(evaluation.SentenceEvaluator):
        def __init__(self):
            super().__init__()
            self.name = "pairs"
            self.primary_metric = "mean_cosine"

        def __call__(self, model, output_path=None, epoch=-1, steps=-1):
            scores = model.similarity_pairwise(model.encode(SENTENCES[:3]), model.encode(SENTENCES[1:4]))
            metrics = self.prefix_name_to_metrics({"mean_cosine": float(scores.mean())}, self.name)
            self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
            return metrics

        def store_metrics_in_model_card_data(self, model, metrics, epoch=0, step=0):
            model.model_card_data.set_evaluation_metrics(self, metrics, epoch=epoch, step=step)

    return PairSimilarity


def test_an_evaluator_storing_through_set_evaluation_metrics_reaches_the_card(folder, tmp_path):
    import sentence_transformers as st

    results = []
    for lib, model in zip((st, sbert), _both(folder)):
        results.append(_evaluator_class(lib)()(model))
    theirs, ours = results
    assert ours.keys() == theirs.keys() == {"pairs_mean_cosine"}
    assert ours["pairs_mean_cosine"] == pytest.approx(theirs["pairs_mean_cosine"], abs=1e-5)
    model = _both(folder)[1]
    _evaluator_class(sbert)()(model)
    assert model.model_card_data["evaluation"] == {"pairs_mean_cosine": round(ours["pairs_mean_cosine"], 4)}
    model.save(tmp_path / "saved")
    card = (tmp_path / "saved" / "README.md").read_text()
    assert "pairs_mean_cosine" in card and f"{round(ours['pairs_mean_cosine'], 4)}" in card
