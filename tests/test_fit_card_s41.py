"""The model card after sentence-transformers' classic ``fit`` (``SentenceTransformer.fit`` with
DataLoaders of InputExamples, ``CrossEncoder.fit``) against sentence-transformers 6.3's for the same run: that
fit converts its DataLoaders to datasets (``_dataset_1``, ..., left unnamed on the card; no label column where
every label is 0) and builds Hugging Face training arguments from its own, so the "Training Details" section
lists those datasets, those arguments' names and values, and the evaluations' logs. Compared section by
section (the losses' values and the Training Time, which read the clock, left out), and the front matter's
tags."""

from __future__ import annotations

import importlib
import re
import warnings

import pytest
import yaml
from conftest import build_tiny_classifier, without_dropout
from test_card_body_s41 import STS, subsection, training_details

LIBRARIES = {"st": "sentence_transformers", "sbert": "sbert"}
PAIRS = [
    ("a b", "a c", 0.9),
    ("c d", "c e", 0.1),
    ("e f", "e g", 0.5),
    ("g h", "g a", 0.3),
    ("a d b", "d a", 1.0),
    ("b c", "c b a", 0.0),
]


def _dense(top, pkg, model, objectives):
    import torch
    from torch.utils.data import DataLoader

    losses = importlib.import_module(f"{pkg}.sentence_transformer.losses")
    evaluation = importlib.import_module(f"{pkg}.sentence_transformer.evaluation")
    train = []
    for kind in objectives:
        if kind in ("cosine", "defaults"):
            examples = [top.InputExample(texts=[a, b], label=score) for a, b, score in PAIRS]
            loss = losses.CosineSimilarityLoss(model)
        else:  # in-batch negatives: InputExample's default label 0, which that fit leaves out
            examples = [top.InputExample(texts=[a, b]) for a, b, _ in PAIRS]
            loss = losses.MultipleNegativesRankingLoss(model)
        train.append((DataLoader(examples, batch_size=2, shuffle=False), loss))
    evaluator = evaluation.EmbeddingSimilarityEvaluator(*STS, name="sts-dev")
    torch.manual_seed(0)
    if "defaults" in objectives:  # fit's own defaults: one epoch, its warm-up, evaluations at epochs' ends
        model.fit(train_objectives=train, evaluator=evaluator)
        return
    model.fit(
        train_objectives=train,
        evaluator=evaluator,
        epochs=2 if len(objectives) == 1 else 1,
        warmup_steps=1,
        evaluation_steps=2,
        show_progress_bar=False,
    )


def _cross(top, pkg, model):
    from torch.utils.data import DataLoader

    evaluation = importlib.import_module(f"{pkg}.cross_encoder.evaluation")
    examples = [top.InputExample(texts=[a, b], label=score) for a, b, score in PAIRS]
    evaluator = evaluation.CrossEncoderCorrelationEvaluator(
        [list(pair) for pair in zip(STS[0], STS[1])], STS[2], name="sts-dev"
    )
    model.fit(
        DataLoader(examples, batch_size=2, shuffle=False),
        evaluator=evaluator,
        epochs=2,
        warmup_steps=1,
        evaluation_steps=2,
        show_progress_bar=False,
    )


RUNS = {  # name -> (model kind, objectives)
    "cosine": ("dense", ["cosine"]),
    "defaults": ("dense", ["defaults"]),
    "mnrl": ("dense", ["mnrl"]),
    "two-objectives": ("dense", ["cosine", "mnrl"]),
    "cross": ("cross", None),
}


@pytest.fixture(scope="module")
def cards(dropout_free_st, tmp_path_factory):
    folders = {"dense": dropout_free_st}
    made: dict[str, tuple[str, str]] = {}

    def get(run: str) -> tuple[str, str]:
        if run not in made:
            kind, objectives = RUNS[run]
            if kind == "cross" and "cross" not in folders:
                root = tmp_path_factory.mktemp("fit-card-ce")
                folders["cross"] = without_dropout(build_tiny_classifier(root / "ce"))
            out = tmp_path_factory.mktemp(f"fit-card-{run}")
            texts = []
            for library, pkg in LIBRARIES.items():
                top = importlib.import_module(pkg)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if kind == "dense":
                        model = top.SentenceTransformer(str(folders[kind]), device="cpu")
                        _dense(top, pkg, model, objectives)
                    else:
                        model = top.CrossEncoder(str(folders[kind]), device="cpu")
                        _cross(top, pkg, model)
                    model.save(str(out / library))
                texts.append((out / library / "README.md").read_text())
            made[run] = (texts[0], texts[1])
        return made[run]

    return get


CLOCK = "### Training Time"  # the clock's readings: neither the section nor its presence is compared


def _sections(card: str) -> dict[str, str]:
    """The Training Details section by heading (any level), each heading's text up to the next one, without
    the Training Time."""
    details = training_details(card)
    headings = [h for h in re.findall(r"^#+ .*$", details, flags=re.M) if h != CLOCK]
    return {heading: subsection(details, heading) for heading in headings}


def _without_loss_values(text: str) -> str:
    """The training-log table with the training losses' values blanked (their digits are the run's noise)."""
    return re.sub(r"\| (\*\*)?\d+\.\d+(\*\*)? +\|$", "| loss |", text, flags=re.M)


@pytest.mark.parametrize("run", sorted(RUNS))
def test_training_details_headings_equal_sentence_transformers(cards, run):
    theirs, ours = cards(run)
    assert list(_sections(ours)) == list(_sections(theirs))


@pytest.mark.parametrize("run", sorted(RUNS))
def test_training_details_sections_equal_sentence_transformers(cards, run):
    """Datasets (names, sizes, columns, statistics, samples, losses' settings), both hyperparameter lists
    (Hugging Face's names and the values that fit sets), the training logs and the framework versions."""
    theirs, ours = (_sections(card) for card in cards(run))
    assert "### Training Logs" in theirs
    for heading, their_text in theirs.items():
        our_text = ours[heading]
        if heading == "### Training Logs":
            our_text, their_text = _without_loss_values(our_text), _without_loss_values(their_text)
        if heading == "### Framework Versions":  # sbert names itself beside the release it stands in for
            our_text = re.sub(r" \(sbert [^)]*\)", "", our_text)
        assert our_text == their_text, heading


@pytest.mark.parametrize("run", sorted(RUNS))
def test_front_matter_tags_and_datasets_equal_sentence_transformers(cards, run):
    theirs, ours = (yaml.safe_load(card.split("---\n", 2)[1]) for card in cards(run))
    # sbert's card adds the transformers tag to every model's (its folders load in transformers too)
    assert [tag for tag in ours["tags"] if tag != "transformers"] == theirs["tags"]
    assert "generated_from_trainer" in theirs["tags"]
    assert ours.get("datasets") == theirs.get("datasets")
