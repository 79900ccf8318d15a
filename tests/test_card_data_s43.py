"""``model.model_card_data`` answers what sentence-transformers 6.3's card-data dataclasses answer, for the
four model classes: every field with its value (fresh, once a trainer is made, after a training step),
``model``, ``vars()``, ``version``, and the methods ``get_default_model_name``,
``get_model_specific_metadata``, ``format_training_logs``, ``run_usage_snippet``,
``generate_usage_snippet``, ``to_dict`` (its keys); ``to_yaml`` gives the saved README.md's front matter."""

from __future__ import annotations

import dataclasses
import importlib
import random
import warnings

import pytest
import torch
from conftest import build_tiny_bert, build_tiny_classifier, build_tiny_masked_lm, without_dropout
from datasets import Dataset

KINDS = ("dense", "sparse", "cross", "multi_vector")
# kind -> (namespace, model class, card-data class)
SPACES = {
    "dense": ("sentence_transformer", "SentenceTransformer"),
    "sparse": ("sparse_encoder", "SparseEncoder"),
    "cross": ("cross_encoder", "CrossEncoder"),
    "multi_vector": ("multi_vector_encoder", "MultiVectorEncoder"),
}
PAIRS = {"sentence1": ["a b", "c d", "e f", "g h"], "sentence2": ["a c", "c e", "e g", "g a"]}
# read separately (the library's own path, the running model, the versions) or not at all (a clock's value)
NOT_COMPARED = {"template_path", "model", "version", "code_carbon_callback"}
NOT_COMPARED |= {"_training_start_time", "evaluation_duration"}


@pytest.fixture(scope="module")
def folders(dropout_free_st, tmp_path_factory) -> dict:
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("card-data-s43")
    torch.manual_seed(0)
    MultiVectorEncoder(str(without_dropout(build_tiny_bert(root / "bert"))), device="cpu").save(
        str(root / "mv")
    )
    return {
        "dense": dropout_free_st,
        "sparse": without_dropout(build_tiny_masked_lm(root / "mlm")),
        "cross": without_dropout(build_tiny_classifier(root / "ce")),
        "multi_vector": root / "mv",
    }


def _namespace(library: str, kind: str):
    return importlib.import_module(f"{library}.{SPACES[kind][0]}")


def _model(library: str, kind: str, folder):
    return getattr(_namespace(library, kind), SPACES[kind][1])(str(folder), device="cpu")


def _trainer(library: str, kind: str, model, out):
    """A trainer as a training script makes it (no checkpoint saves, so a step leaves no card written)."""
    ns, prefix = _namespace(library, kind), SPACES[kind][1]
    losses = importlib.import_module(f"{ns.__name__}.losses")
    data = dict(PAIRS)
    if kind == "dense":
        loss = losses.CoSENTLoss(model)
    elif kind == "sparse":
        loss = losses.SpladeLoss(model, losses.SparseCoSENTLoss(model), 1e-3, 1e-3)
    elif kind == "cross":
        loss = losses.BinaryCrossEntropyLoss(model)
    else:
        loss = losses.MultiVectorMultipleNegativesRankingLoss(model)
    if kind != "multi_vector":
        data["score"] = [0.9, 0.1, 0.5, 0.3]
    args = getattr(ns, f"{prefix}TrainingArguments")(
        output_dir=str(out), max_steps=1, per_device_train_batch_size=2, report_to="none", use_cpu=True,
        save_strategy="no", seed=12,
    )  # fmt: skip
    random.seed(0)
    return getattr(ns, f"{prefix}Trainer")(
        model=model, args=args, train_dataset=Dataset.from_dict(data), loss=loss
    )


def _fields(card, kind: str) -> dict:
    import sentence_transformers as st

    data_class = getattr(st, f"{SPACES[kind][1]}ModelCardData")
    return {
        f.name: getattr(card, f.name) for f in dataclasses.fields(data_class) if f.name not in NOT_COMPARED
    }


# what both libraries' dataset records hold alike (sentence-transformers' also hold its rendered
# examples table, and name the loss by its own module)
RECORD_KEYS = ("name", "split", "size", "columns", "stats")


def _stamp(fields: dict) -> dict:
    """The fields with the dataset records' common part only."""
    records = {
        key: [{name: record.get(name) for name in RECORD_KEYS} for record in fields[key]]
        for key in ("train_datasets", "eval_datasets")
    }
    return {**fields, **records}


def _surface(card, kind: str, model) -> dict:
    return {
        "fields": _stamp(_fields(card, kind)),
        "model is the model": card.model is model,
        "vars": sorted(vars(card)),
        "version keys": sorted(card.version),
        "default name": card.get_default_model_name(),
        "metadata": card.get_model_specific_metadata(),
        "training logs": card.format_training_logs(),
        "snippet": card.generate_usage_snippet(),
    }


def _both(kind: str, folders, tmp_path, stage: str) -> tuple[dict, dict]:
    read = []
    for library in ("sentence_transformers", "sbert"):
        model = _model(library, kind, folders[kind])
        if stage != "fresh":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trainer = _trainer(library, kind, model, tmp_path / library)
                if stage == "trained":
                    trainer.train()
        surface = _surface(model.model_card_data, kind, model)
        if kind == "sparse":  # a SPLADE width sentence-transformers knows after its first forward only
            width = model.get_embedding_dimension()
            surface["snippet"] = surface["snippet"].replace(f"# [3, {width}]", "# [3, width]")
            assert surface["metadata"].pop("output_dimensionality") == width
        read.append(surface)
    return read[0], read[1]


@pytest.mark.parametrize("stage", ["fresh", "trainer", "trained"])
@pytest.mark.parametrize("kind", KINDS)
def test_card_data_answers_as_sentence_transformers(folders, tmp_path, kind, stage):
    theirs, ours = _both(kind, folders, tmp_path, stage)
    for key in theirs:
        assert ours[key] == theirs[key], key


@pytest.mark.parametrize("kind", KINDS)
def test_version_names_the_same_frameworks(folders, kind):
    theirs, ours = (
        _model(lib, kind, folders[kind]).model_card_data.version for lib in ("sentence_transformers", "sbert")
    )
    assert ours == theirs


@pytest.mark.parametrize("kind", KINDS)
def test_usage_snippet_scores_and_to_dict_keys_as_sentence_transformers(folders, kind):
    read = []
    for library in ("sentence_transformers", "sbert"):
        card = _model(library, kind, folders[kind]).model_card_data
        card.run_usage_snippet()
        keys = sorted(card.to_dict())
        read.append((card.usage_examples, card.similarities, card.generate_usage_snippet(), keys))
    assert read[1] == read[0]


@pytest.mark.parametrize("kind", KINDS)
def test_to_yaml_is_the_saved_front_matter(folders, tmp_path, kind):
    model = _model("sbert", kind, folders[kind])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _trainer("sbert", kind, model, tmp_path / "run").train()
    model.save(str(tmp_path / "saved"))
    front = (tmp_path / "saved" / "README.md").read_text(encoding="utf-8").split("---\n")[1]
    assert model.model_card_data.to_yaml() == front.strip()


def test_unknown_fields_are_refused_and_copies_keep_their_model(folders):
    import copy

    import sbert

    model = sbert.SentenceTransformer(str(folders["dense"]), device="cpu")
    with pytest.raises(AttributeError, match="no field 'not_a_field'"):
        model.model_card_data.not_a_field = 1
    twin = copy.deepcopy(model)
    assert twin.model_card_data.model is twin and model.model_card_data.model is model
