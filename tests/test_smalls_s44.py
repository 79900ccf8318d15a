"""Three small differences from sentence-transformers 6.3, each checked against it in the test:

- the evaluators' constructor defaults (``inspect.signature`` of every evaluator class both libraries
  export): ``batch_size`` was 64 where sentence-transformers has 16 (EmbeddingSimilarity, Triplet) and 32
  (BinaryClassification, InformationRetrieval); the metrics stay equal to 1e-6 at the new defaults;
- ``evaluator.prefix_name_to_metrics(metrics, name)`` called from outside renames a built-in evaluator's
  ``primary_metric`` too (MSEEvaluator's ``negative_mse`` to ``nm_negative_mse``, then ``mse_nm_...``);
- ``NoDuplicatesBatchSampler`` on a ``datasets.Dataset`` with a format set reads its rows as
  sentence-transformers does (``dataset[i]``): numpy, pandas, torch, a subset of columns, a transform."""

from __future__ import annotations

import importlib
import inspect
import itertools
from functools import partial

import numpy as np
import pytest
import test_evaluator_primary_metric_s39 as s39

import sbert

DENSE, CROSS, SPARSE, quietly = s39.DENSE, s39.CROSS, s39.SPARSE, s39.quietly
hub_nanobeir, dense_models, cross_folders, sparse_folder = (
    s39.hub_nanobeir,
    s39.dense_models,
    s39.cross_folders,
    s39.sparse_folder,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

MODULES = (
    "sentence_transformer.evaluation",
    "sparse_encoder.evaluation",
    "cross_encoder.evaluation",
    "multi_vector_encoder.evaluation",
)
# parameters whose defaults differ on purpose: NanoBEIR's cut-offs resolve to sentence-transformers' lists
# (test_evalattrs_s44) and its first positional also takes folders; None stands for the deprecated name's
# "deprecated" sentinel; SequentialEvaluator's default is a named function, not a lambda
INTENDED = {"dataset_names", "main_distance_function", "main_score_function"}
NANOBEIR_CUTOFFS = {"mrr_at_k", "ndcg_at_k", "accuracy_at_k", "precision_recall_at_k", "map_at_k"}


def evaluator_classes():
    for path in MODULES:
        theirs = importlib.import_module(f"sentence_transformers.{path}")
        ours = importlib.import_module(f"sbert.{path}")
        for name in dir(theirs):
            cls = getattr(theirs, name)
            if inspect.isclass(cls) and name.endswith("Evaluator") and name not in ("BaseEvaluator",):
                yield name, cls, getattr(ours, name)


def comparable(default):
    if isinstance(default, (list, tuple)):
        return list(default)
    return "function" if callable(default) else default


def test_evaluator_defaults_and_positional_order_match():
    differences = []
    for name, theirs, ours in evaluator_classes():
        their_params = inspect.signature(theirs.__init__).parameters
        our_params = inspect.signature(ours.__init__).parameters
        for param in their_params.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name == "self":
                continue
            if param.name in INTENDED or ("NanoBEIR" in name and param.name in NANOBEIR_CUTOFFS):
                continue
            mine = our_params.get(param.name)
            if mine is None or comparable(mine.default) != comparable(param.default):
                differences.append((name, param.name, param.default, mine and mine.default))
        positional = [p.name for p in their_params.values() if p.kind is p.POSITIONAL_OR_KEYWORD][1:]
        ours_positional = [p.name for p in our_params.values() if p.kind is p.POSITIONAL_OR_KEYWORD][1:]
        if "NanoBEIR" not in name and ours_positional[: len(positional)] != positional:
            differences.append((name, "positional order", positional, ours_positional))
    assert differences == []


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", [*DENSE, *CROSS])
def test_batch_size_attribute_matches(case, dense_models):
    import sentence_transformers

    builders = DENSE if case in DENSE else CROSS
    models = dense_models()
    seen = [
        getattr(quietly(partial(builders[case], lib, models)), "batch_size", None)
        for lib in (sbert, sentence_transformers)
    ]
    assert seen[1] is None or seen[0] == seen[1]  # sbert's LabelAccuracyEvaluator keeps its loader's too


@pytest.mark.parametrize("case", ["similarity", "binary-four", "triplet", "retrieval"])
def test_metrics_at_default_batch_size_match(case, dense_models):
    """sbert's CPU batches are also cut by a token budget: the values stay sentence-transformers'."""
    import sentence_transformers

    models = dense_models()
    results = {}
    for lib in (sbert, sentence_transformers):
        evaluator = DENSE[case](lib, models)
        results[lib.__name__] = quietly(partial(evaluator, models[lib.__name__]))
    ours, theirs = results["sbert"], results["sentence_transformers"]
    assert sorted(ours) == sorted(theirs)
    assert all(abs(ours[k] - theirs[k]) < 1e-6 for k in theirs)


def prefixed_then_called(evaluator, model) -> list:
    """``primary_metric`` after ``prefix_name_to_metrics`` from outside, after a call, and after another
    prefix (with what the first returned)."""
    seen = [quietly(partial(evaluator.prefix_name_to_metrics, {"x": 1, "y": "text"}, "nm"))]
    seen.append(getattr(evaluator, "primary_metric", None))
    if model is not None:
        seen.append(sorted(quietly(partial(evaluator, model))))
        seen.append(getattr(evaluator, "primary_metric", None))
    evaluator.prefix_name_to_metrics({"x": 1}, "again")
    seen.append(getattr(evaluator, "primary_metric", None))
    return seen


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", [*DENSE, *CROSS])
def test_prefix_name_to_metrics_renames_primary_metric(case, dense_models, cross_folders):
    import sentence_transformers
    from sentence_transformers.cross_encoder import CrossEncoder as Reference

    if case in DENSE:
        models = dense_models()
    else:
        one = cross_folders[0]
        models = {
            "sbert": sbert.CrossEncoder(one, device="cpu"),
            "sentence_transformers": Reference(str(one), device="cpu"),
        }
    builders = DENSE if case in DENSE else CROSS
    seen = {}
    for lib in (sbert, sentence_transformers):
        evaluator = builders[case](lib, models)
        seen[lib.__name__] = prefixed_then_called(evaluator, models[lib.__name__])
    assert seen["sbert"] == seen["sentence_transformers"]


def test_prefix_name_to_metrics_on_mse_evaluator(dense_models):
    import sentence_transformers

    models = dense_models()
    seen = {}
    for lib in (sbert, sentence_transformers):
        evaluator = DENSE["mse"](lib, models)
        evaluator.prefix_name_to_metrics({"negative_mse": -1.0}, "nm")
        first = evaluator.primary_metric
        quietly(partial(evaluator, models[lib.__name__]))
        seen[lib.__name__] = (first, evaluator.primary_metric)
    assert seen["sbert"] == seen["sentence_transformers"] == ("nm_negative_mse", "mse_nm_negative_mse")


# ---- NoDuplicatesBatchSampler on formatted datasets ---------------------------------------------------


def sampler_data(kind: str, n: int = 24):
    from datasets import Dataset

    if kind == "lists":
        return Dataset.from_dict(
            {
                "q": [f"q{i % 5}" for i in range(n)],
                "docs": [[f"d{(i + j) % 7}" for j in range(3)] for i in range(n)],
                "score": [float(i % 4) for i in range(n)],
            }
        )
    if kind == "vectors":  # distinct texts, vectors of three values: tensors under the torch format
        return Dataset.from_dict(
            {"a": [f"t{i}" for i in range(n)], "v": [[float(i % 3), 0.5] for i in range(n)]}
        )
    if kind == "floats":
        return Dataset.from_dict(
            {
                "a": [f"t{i % 6}" for i in range(n)],
                "s": np.array([0.1 * (i % 5) for i in range(n)], np.float32),
            }
        )
    return Dataset.from_dict(
        {
            "x": [i % 9 for i in range(n)],
            "y": [f"a{(i * 7) % 11}" for i in range(n)],
            "label": [i % 2 for i in range(n)],
        }
    )


def formatted(dataset, form: str):
    if form == "columns":
        return dataset.with_format(columns=dataset.column_names[:1])
    if form == "transform":
        return dataset.with_transform(lambda batch: {k: [str(v)[:2] for v in vs] for k, vs in batch.items()})
    return dataset.with_format(form)


def epochs(module, dataset, batch_size, drop_last, labels):
    import torch

    sampler = module.NoDuplicatesBatchSampler(
        dataset, batch_size, drop_last, valid_label_columns=labels, generator=torch.Generator(), seed=1
    )
    seen = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        seen.append([[int(i) for i in batch] for batch in sampler])
    return seen


@pytest.fixture
def fresh_tensor_digests(monkeypatch):
    """sentence-transformers' digest of a tensor value pickles its storage address, new on every read, so
    such a value never matches (unless the allocator happens to reuse an address): made exact here."""
    import torch
    from sentence_transformers.base import sampler

    counter, original = itertools.count(), sampler._sample_value_str

    def holds_tensor(value):
        if isinstance(value, torch.Tensor):
            return True
        if isinstance(value, (list, tuple)):
            return any(holds_tensor(v) for v in value)
        return isinstance(value, dict) and any(holds_tensor(v) for v in value.values())

    monkeypatch.setattr(
        sampler, "_sample_value_str", lambda v: f"fresh-{next(counter)}" if holds_tensor(v) else original(v)
    )


@pytest.mark.usefixtures("fresh_tensor_digests")
@pytest.mark.parametrize("form", ["numpy", "pandas", "torch", "columns", "transform", "python"])
@pytest.mark.parametrize("kind", ["lists", "floats", "ints", "vectors"])
def test_no_duplicates_sampler_on_formatted_datasets(form, kind):
    from sentence_transformers.base import sampler as theirs

    from sbert.base import sampler as ours

    dataset = formatted(sampler_data(kind), form)
    for batch_size, drop_last, labels in itertools.product([3, 4], [False, True], [None, ["label"]]):
        expected = quietly(partial(epochs, theirs, dataset, batch_size, drop_last, labels))
        assert quietly(partial(epochs, ours, dataset, batch_size, drop_last, labels)) == expected
