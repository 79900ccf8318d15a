"""The model card's widget examples, as sentence-transformers' trainers pick them as they are made: the same
``model.model_card_data.widget`` and the same ``widget:`` in the saved README's front matter, for the same
data and seed (a SentenceTransformer's ``source_sentence`` / ``sentences``, a SparseEncoder's and a
MultiVectorEncoder's ``text``, none for a CrossEncoder or a model no trainer was made for)."""

from __future__ import annotations

import importlib
import random

import pytest
import torch
import yaml
from conftest import build_tiny_bert, without_dropout

WORDS = "alpha beta gamma delta eps zeta eta theta iota kappa lam mu".split()
# texts YAML must quote: a colon, quotes, a hash, a line break, characters past ASCII and the BMP
ODD = ["key: value", 'say "hi"', "# not a comment", "two\nlines", "café ☕", "emoji 😀", "- dash", "yes"]


def _texts(n: int, seed: int) -> list[str]:
    draw = random.Random(seed)
    return [" ".join(draw.choice(WORDS) for _ in range(draw.randint(1, 6))) for _ in range(n)]


def _pairs(n: int = 30, seed: int = 5, odd: bool = False):
    from datasets import Dataset

    texts = _texts(2 * n, seed)
    if odd:
        texts[: len(ODD)] = ODD
    scores = [random.Random(seed + i).random() for i in range(n)]
    return Dataset.from_dict({"sentence1": texts[:n], "sentence2": texts[n:], "score": scores})


def _triplets(n: int = 12, seed: int = 9):
    from datasets import Dataset

    texts = _texts(3 * n, seed)
    return Dataset.from_dict({"anchor": texts[:n], "positive": texts[n : 2 * n], "negative": texts[2 * n :]})


@pytest.fixture(scope="module")
def multi_vector_folder(tmp_path_factory):
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("widget-mv")
    bert = without_dropout(build_tiny_bert(root / "bert"))
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(root / "model"))
    return root / "model"


@pytest.fixture
def folders(dropout_free_st, masked_lm, multi_vector_folder, tmp_path):
    from conftest import build_tiny_classifier

    return {
        "dense": dropout_free_st,
        "sparse": masked_lm,
        "multi_vector": multi_vector_folder,
        "cross": without_dropout(build_tiny_classifier(tmp_path / "ce")),
    }


def _make_trainer(package: str, kind: str, folder, out, data: dict):
    """The model and a trainer made on it (not run), as a training script makes them."""
    library = importlib.import_module(package)
    if kind == "dense":
        model = library.SentenceTransformer(str(folder), device="cpu")
        loss = importlib.import_module(f"{package}.sentence_transformer").losses.CoSENTLoss(model)
        args_class, trainer_class = (
            library.SentenceTransformerTrainingArguments,
            library.SentenceTransformerTrainer,
        )
    elif kind == "sparse":
        losses = importlib.import_module(f"{package}.sparse_encoder.losses")
        model = library.SparseEncoder(str(folder), device="cpu")
        loss = losses.SpladeLoss(model, losses.SparseCoSENTLoss(model), 1e-3, 1e-3)
        args_class, trainer_class = library.SparseEncoderTrainingArguments, library.SparseEncoderTrainer
    elif kind == "multi_vector":
        namespace = importlib.import_module(f"{package}.multi_vector_encoder")
        model = namespace.MultiVectorEncoder(str(folder), device="cpu")
        loss = None  # its default, MultiVectorMultipleNegativesRankingLoss
        args_class, trainer_class = (
            namespace.MultiVectorEncoderTrainingArguments,
            namespace.MultiVectorEncoderTrainer,
        )
    else:
        namespace = importlib.import_module(f"{package}.cross_encoder")
        model = namespace.CrossEncoder(str(folder), device="cpu")
        loss = importlib.import_module(f"{package}.cross_encoder.losses").BinaryCrossEntropyLoss(model)
        args_class, trainer_class = namespace.CrossEncoderTrainingArguments, namespace.CrossEncoderTrainer
    args = args_class(output_dir=str(out / "run"), seed=12, report_to="none")
    options = {"loss": loss} if loss is not None else {}
    trainer_class(model=model, args=args, **data, **options)
    return model


def _widgets(package: str, kind: str, folder, out, data: dict) -> tuple:
    """The card data's widget, the saved README's front-matter widget, the generator's state after."""
    model = _make_trainer(package, kind, folder, out, data)
    state = random.getstate()
    held = list(model.model_card_data.widget)
    model.save(str(out / "model"))
    front = yaml.safe_load((out / "model" / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    return held, front.get("widget"), state


def _both(kind: str, folder, tmp_path, data: dict) -> dict:
    return {
        name: _widgets(name, kind, folder, tmp_path / name, data)
        for name in ("sentence_transformers", "sbert")
    }


@pytest.mark.parametrize("kind", ["dense", "sparse", "multi_vector", "cross"])
def test_a_trainer_picks_the_widget_examples_of_sentence_transformers(kind, folders, tmp_path):
    data = {"train_dataset": _pairs(), "eval_dataset": _pairs(seed=7)}
    if kind == "multi_vector":
        data = {"train_dataset": _triplets(), "eval_dataset": _triplets(seed=3)}
    both = _both(kind, folders[kind], tmp_path, data)
    assert both["sbert"] == both["sentence_transformers"]
    held, front, _ = both["sbert"]
    assert (front or []) == held
    assert bool(held) is (kind != "cross")  # a CrossEncoder's card has none there


def test_the_examples_of_a_dict_of_datasets_as_sentence_transformers(dropout_free_st, tmp_path):
    # five draws over the datasets' names, then each picked dataset's shortest rows
    data = {"eval_dataset": {"pairs": _pairs(), "triplets": _triplets()}, "train_dataset": _pairs(seed=1)}
    both = _both("dense", dropout_free_st, tmp_path, data)
    assert both["sbert"] == both["sentence_transformers"]
    assert both["sbert"][0]


def test_texts_yaml_must_quote_load_back_the_same(dropout_free_st, masked_lm, tmp_path):
    for kind, folder in (("dense", dropout_free_st), ("sparse", masked_lm)):
        data = {"train_dataset": _pairs(n=12, odd=True)}
        both = _both(kind, folder, tmp_path / kind, data)
        assert both["sbert"] == both["sentence_transformers"]
        assert any(":" in str(example) for example in both["sbert"][1])


def test_a_model_no_trainer_was_made_for_has_no_widget(dropout_free_st, tmp_path):
    fronts = {}
    for name in ("sentence_transformers", "sbert"):
        model = importlib.import_module(name).SentenceTransformer(str(dropout_free_st), device="cpu")
        assert list(model.model_card_data.widget) == []
        model.save(str(tmp_path / name))
        text = (tmp_path / name / "README.md").read_text(encoding="utf-8")
        fronts[name] = yaml.safe_load(text.split("---\n")[1]) if text.startswith("---") else {}
    assert "widget" not in fronts["sbert"] and "widget" not in fronts["sentence_transformers"]


def test_too_few_texts_give_no_widget_and_a_later_trainer_draws_again(dropout_free_st, tmp_path):
    """Six rows of two texts: no example reaches four texts, the card keeps none, and a second trainer on
    the model draws (and picks) again, as there."""
    from datasets import Dataset

    small = Dataset.from_dict({"a": _texts(6, 2), "b": _texts(6, 3), "score": [0.5] * 6})
    states = {}
    for name in ("sentence_transformers", "sbert"):
        library = importlib.import_module(name)
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        loss = importlib.import_module(f"{name}.sentence_transformer").losses.CoSENTLoss(model)
        args = library.SentenceTransformerTrainingArguments(str(tmp_path / name), seed=4, report_to="none")
        library.SentenceTransformerTrainer(model=model, args=args, train_dataset=small, loss=loss)
        first = list(model.model_card_data.widget)
        library.SentenceTransformerTrainer(model=model, args=args, train_dataset=_pairs(), loss=loss)
        states[name] = first, list(model.model_card_data.widget), random.getstate()
    assert states["sbert"] == states["sentence_transformers"]
    assert states["sbert"][0] == [] and states["sbert"][1]


def test_a_multi_vector_trainer_draws_one_text_per_example_as_sentence_transformers(
    multi_vector_folder, tmp_path
):
    # its card's pipeline tag is "feature-extraction": one random.choice per example, not a shuffle
    states = {}
    for name in ("sentence_transformers", "sbert"):
        _make_trainer(
            name, "multi_vector", multi_vector_folder, tmp_path / name, {"train_dataset": _triplets()}
        )
        states[name] = random.getstate()
    assert states["sbert"] == states["sentence_transformers"]
