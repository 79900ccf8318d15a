"""Evaluators' public attributes and CSV files as sentence-transformers 6.3 holds and writes them, read
before and after calls on the same tiny models: ``csv_headers`` (an AttributeError on most evaluators
before), ``get_config_dict()`` (NanoBEIR's sets and hub dataset, the cross-encoder reranker's ``at_k``),
NanoBEIR's cut-offs, score functions and prompts, ParaphraseMining's mining options, and the CSV rows of two
calls in one folder."""

from __future__ import annotations

import csv
import enum
from functools import partial

import pytest
import test_evaluator_primary_metric_s39 as s39

import sbert

DENSE, CROSS, SPARSE, MULTI_VECTOR, quietly = s39.DENSE, s39.CROSS, s39.SPARSE, s39.MULTI_VECTOR, s39.quietly
# the models and the offline NanoBEIR of the primary-metric tests
hub_nanobeir, dense_models, cross_folders = s39.hub_nanobeir, s39.dense_models, s39.cross_folders
sparse_folder, multi_vector_folder = s39.sparse_folder, s39.multi_vector_folder

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

MISSING = "<no attribute>"
# sentence-transformers' attributes these evaluators share with sbert (read with getattr)
ATTRIBUTES = (
    "csv_headers",
    "csv_file",
    "dataset_id",
    "query_prompts",
    "corpus_prompts",
    "mrr_at_k",
    "ndcg_at_k",
    "accuracy_at_k",
    "precision_recall_at_k",
    "map_at_k",
    "score_function_names",
    "main_score_function",
    "query_chunk_size",
    "corpus_chunk_size",
    "max_pairs",
    "top_k",
)


def plain(value):
    """A value as compared: a copy (sentence-transformers extends its header list in place), an enum by its
    value, a function as "function" (the two libraries' are different objects)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    return "function" if callable(value) else value


def seen(evaluator) -> dict:
    values = {name: plain(getattr(evaluator, name, MISSING)) for name in ATTRIBUTES}
    values["score_functions"] = sorted(getattr(evaluator, "score_functions", None) or ())
    values["config"] = plain(quietly(evaluator.get_config_dict))
    return values


def rows(folder) -> dict:
    """Every CSV file under ``folder``: its rows, numbers rounded to 1e-6."""

    def cell(text):
        try:
            return float(text)
        except ValueError:
            return text

    found = {}
    for path in sorted(folder.rglob("*.csv")):
        with path.open(newline="") as f:
            found[path.name] = [[cell(c) for c in row] for row in csv.reader(f)]
    return found


def states(case, builders, models, tmp_path):
    import sentence_transformers

    out = {}
    for lib in (sbert, sentence_transformers):
        evaluator = builders[case](lib, models)
        folder = tmp_path / lib.__name__
        before = seen(evaluator)
        model = models[lib.__name__]
        for epoch in (-1, 1):
            args = (str(folder),) if case == "fusion" else (model, str(folder))
            quietly(partial(evaluator, *args, epoch=epoch, steps=3))
        out[lib.__name__] = (before, seen(evaluator), rows(folder))
    return out["sbert"], out["sentence_transformers"]


def holds(ours, theirs):
    """sbert's state where sentence-transformers has the attribute; where it has none, sbert may give one
    (the cross-encoder classifiers' csv_headers before a call: their columns)."""
    for state_ours, state_theirs in zip(ours[:2], theirs[:2]):
        for name, value in state_theirs.items():
            if value is not MISSING:
                assert state_ours[name] == value, name
    files_ours, files_theirs = ours[2], theirs[2]
    assert list(files_ours) == list(files_theirs)
    for name, table in files_theirs.items():
        assert len(files_ours[name]) == len(table) == 3, name  # the header once, then a row per call
        for row_ours, row_theirs in zip(files_ours[name], table):
            assert row_ours == pytest.approx(row_theirs, abs=1e-6), name


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", [c for c in DENSE if c != "label-accuracy"])
def test_dense(case, dense_models, tmp_path):
    holds(*states(case, DENSE, dense_models(), tmp_path))


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", CROSS)
def test_cross_encoder(case, cross_folders, tmp_path):
    from sentence_transformers.cross_encoder import CrossEncoder as Reference

    one, _ = cross_folders
    models = {"sbert": sbert.CrossEncoder(one, device="cpu"), "sentence_transformers": Reference(str(one))}
    holds(*states(case, CROSS, models, tmp_path))


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", SPARSE)
def test_sparse(case, sparse_folder, tmp_path):
    from sentence_transformers import SparseEncoder as Reference

    from sbert.sparse_encoder import SparseEncoder

    models = {
        "sbert": SparseEncoder(sparse_folder, device="cpu"),
        "sentence_transformers": Reference(str(sparse_folder)),
    }
    holds(*states(case, SPARSE, models, tmp_path))


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", MULTI_VECTOR)
def test_multi_vector(case, multi_vector_folder, tmp_path):
    from sentence_transformers import MultiVectorEncoder as Reference

    from sbert.multi_vector_encoder import MultiVectorEncoder

    models = {
        "sbert": MultiVectorEncoder(multi_vector_folder, device="cpu"),
        "sentence_transformers": Reference(str(multi_vector_folder), device="cpu"),
    }
    ours, theirs = states(case, MULTI_VECTOR, models, tmp_path)
    # sentence-transformers' maxsim function and sbert's are different callables of one name
    holds(ours, theirs)


def test_csv_headers_settable_and_kept():
    """A script's own header list stays the evaluator's, as sentence-transformers' plain attribute."""
    import sentence_transformers.sentence_transformer.evaluation as reference

    for module in (sbert.sentence_transformer.evaluation, reference):
        evaluator = module.TranslationEvaluator(["a b", "c d"], ["a b", "d c"], name="tr")
        evaluator.csv_headers = ["epoch", "steps", "x"]
        assert evaluator.csv_headers == ["epoch", "steps", "x"]
