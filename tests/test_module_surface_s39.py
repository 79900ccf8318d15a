"""The public attributes user code reads on a loaded model and on each of its modules (``model[0].config``,
``model[0].modality_config``, ``model[0].processing_kwargs``, ``SpladePooling.SPLADE_ACTIVATION``,
``model.module_kwargs``, ``model.trust_remote_code``, ``model.backend``, ...), compared name by name and value
by value with sentence-transformers 6.3 on the same folders: SentenceTransformer (mean pooling, Dense +
Normalize, a query/document Router), CrossEncoder (1 and 3 labels), SparseEncoder (SPLADE saved by
sentence-transformers and under 5.x's MLMTransformer type, inference-free SPLADE, CSR) and
MultiVectorEncoder, each loaded with sbert's default backend and with ``backend="torch"``."""

from __future__ import annotations

import inspect
import json
import logging
import shutil
import warnings

import pytest
import torch
from conftest import (
    build_tiny_bert,
    build_tiny_classifier,
    build_tiny_masked_lm,
    classic_pooling,
    write_st_folder,
)

import sbert

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

# sentence-transformers members sbert does not offer, and why
NOT_OFFERED = {
    # image / audio / video input inference and ST's multimodal input formatter: sbert reads text
    "infer_modalities",
    "infer_modalities_edge_cases",
    "infer_modalities_from_processor",
    "input_formatter",
    # ST's flash-attention input flattening and its model.forward keyword filter (internals)
    "can_flatten_inputs",
    "model_forward_params",
    # set on the instance by transformers' weight initialisation; deprecated in ST
    "smart_apply",
    "get_sentence_features",
}
# a CrossEncoder's module 0 hands its tokenizer and saving to the CrossEncoder; its model is no nn.Sequential
CROSS_ENCODER_NOT_OFFERED = {
    "load",
    "load_config",
    "load_dir_path",
    "load_file_path",
    "load_torch_weights",
    "on_model_ready",
    "save_config",
    "save_tokenizer",
    "save_torch_weights",
    "append",
    "extend",
    "insert",
    "pop",
}
# values that differ on purpose: sbert's own tokenizer wrapper (``processor`` too) and model-card dict;
# sbert's models are in eval mode once loaded (sentence-transformers' SentenceTransformer and CrossEncoder
# stay in train mode until encode); SpladePooling knows the vocabulary size at load (sentence-transformers:
# at the first batch)
DIFFERENT_BY_DESIGN = {"tokenizer", "processor", "model_card_data", "training", "embedding_dimension"}

CASES = [
    ("SentenceTransformer", "mean"),
    ("SentenceTransformer", "dense_norm"),
    ("SentenceTransformer", "router"),
    ("CrossEncoder", "ce1"),
    ("CrossEncoder", "ce3"),
    ("SparseEncoder", "splade"),
    ("SparseEncoder", "splade_mlm"),
    ("SparseEncoder", "inference_free"),
    ("SparseEncoder", "csr"),
    ("MultiVectorEncoder", "mv"),
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Each kind of model, saved by sentence-transformers (the CrossEncoders: plain classifier folders)."""
    import sentence_transformers as st
    from sentence_transformers.base.modules import Router, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from sentence_transformers.sparse_encoder.modules import SparseStaticEmbedding

    root = tmp_path_factory.mktemp("module-surface")
    bert = build_tiny_bert(root / "bert")
    mlm = build_tiny_masked_lm(root / "mlm")
    dense = {"in_features": 32, "out_features": 16, "bias": True}
    folders = {
        "bert": bert,
        "mlm": mlm,
        "mean": write_st_folder(bert, root / "mean", classic_pooling(32, "mean")),
        "dense_norm": write_st_folder(
            bert, root / "dense_norm", classic_pooling(32, "mean"), normalize=True, dense=dense
        ),
        "ce1": build_tiny_classifier(root / "ce1", num_labels=1),
        "ce3": build_tiny_classifier(root / "ce3", num_labels=3),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        query = [Transformer(str(bert)), Pooling(32, "mean")]
        document = [Transformer(str(bert)), Pooling(32, "cls")]
        router = Router.for_query_document(query, document)
        st.SentenceTransformer(modules=[router], device="cpu").save(str(root / "router"))
        splade = st.SparseEncoder(str(mlm), device="cpu")
        splade.save(str(root / "splade"))
        shutil.copytree(root / "splade", root / "splade_mlm")  # 5.x's module type for the masked-LM
        entries = json.loads((root / "splade_mlm" / "modules.json").read_text())
        entries[0]["type"] = "sentence_transformers.sparse_encoder.models.MLMTransformer"
        (root / "splade_mlm" / "modules.json").write_text(json.dumps(entries))
        static = SparseStaticEmbedding(tokenizer=splade[0].tokenizer, frozen=False)
        router = Router.for_query_document([static], [splade[0], splade[1]])
        st.SparseEncoder(modules=[router], device="cpu").save(str(root / "inference_free"))
        csr = st.SparseEncoder(str(folders["mean"]), device="cpu")
        csr[-1].k, csr[-1].k_aux = 16, 32
        csr.save(str(root / "csr"))
        torch.manual_seed(0)
        st.MultiVectorEncoder(str(bert), device="cpu").save(str(root / "mv"))
    for name in ("router", "splade", "splade_mlm", "inference_free", "csr", "mv"):
        folders[name] = root / name
    shutil.copytree(folders["mean"], root / "with_kwargs")  # a module whose entry names forward keywords
    entries = json.loads((root / "with_kwargs" / "modules.json").read_text())
    entries[1]["kwargs"] = ["task", "truncate_dim"]
    (root / "with_kwargs" / "modules.json").write_text(json.dumps(entries))
    folders["with_kwargs"] = root / "with_kwargs"
    return folders


def _load(library, kind, folder, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)  # sentence-transformers' loading notices
        try:
            return getattr(library, kind)(str(folder), device="cpu", **kwargs)
        finally:
            logging.disable(logging.NOTSET)


def _public(obj) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")} - set(dir(torch.nn.Module))


def _comparable(value, depth=0):
    """``value`` as compared: plain values and their lists and dicts as they are, dtypes and devices by
    name, methods as callables, other objects by their type's name."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (torch.dtype, torch.device)):
        return str(value)
    if isinstance(value, (list, tuple)) and depth < 3:
        return [_comparable(v, depth + 1) for v in value]
    if isinstance(value, dict) and depth < 3:
        return {str(k): _comparable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    if inspect.ismethod(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
        return "<callable>"
    if isinstance(value, type):
        return f"<class {value.__name__}>"
    return f"<{type(value).__name__}>"


def _read(obj, name):
    try:
        return _comparable(getattr(obj, name))
    except Exception as e:  # a member that raises is compared by its error's type
        return f"<raises {type(e).__name__}>"


def _gaps(ours, theirs, skip: set[str], *, auto: bool) -> tuple[list[str], dict[str, tuple]]:
    """The names sentence-transformers shows and sbert lacks, and the values that differ."""
    names = _public(theirs) - skip
    missing = sorted(names - _public(ours))
    differ = {}
    for name in sorted(names & _public(ours) - DIFFERENT_BY_DESIGN):
        if auto and name == "backend":  # sbert's backend="auto" may pick onnx: the backend it runs
            continue
        expected = _read(theirs, name)
        if isinstance(expected, str) and expected.startswith("<raises"):
            continue  # sentence-transformers has no answer here (e.g. a Router model's processor)
        if _read(ours, name) != expected:
            differ[name] = (_read(ours, name), expected)
    return missing, differ


def _module_pairs(ours, theirs):
    """``(label, sbert module, sentence-transformers module)`` for each module, a Router's routes' too."""
    for i in range(len(theirs)):
        yield f"[{i}]", ours[i], theirs[i]
        if type(theirs[i]).__name__ == "Router":
            for route, modules in theirs[i].sub_modules.items():
                for j, module in enumerate(modules):
                    yield f"[{i}].{route}[{j}]", ours[i].sub_modules[route][j], module


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize(("kind", "name"), CASES)
def test_model_and_module_attributes_as_sentence_transformers(folders, kind, name, backend):
    import sentence_transformers as st

    theirs = _load(st, kind, folders[name])
    ours = _load(sbert, kind, folders[name], **({} if backend == "auto" else {"backend": "torch"}))
    skip = NOT_OFFERED | (CROSS_ENCODER_NOT_OFFERED if kind == "CrossEncoder" else set())
    found = {"model": _gaps(ours, theirs, skip, auto=backend == "auto")}
    assert len(ours) == len(theirs)
    for label, module, reference in _module_pairs(ours, theirs):
        assert type(module).__name__ == type(reference).__name__, label
        found[label] = _gaps(module, reference, skip, auto=backend == "auto")
    assert {label: gaps for label, gaps in found.items() if gaps != ([], {})} == {}


def test_splade_pooling_constants_as_sentence_transformers():
    from sentence_transformers.sparse_encoder.modules import SpladePooling

    ours = sbert.sparse_encoder.models.SpladePooling
    assert ours.SPLADE_POOLING_MODES == SpladePooling.SPLADE_POOLING_MODES
    assert ours.SPLADE_ACTIVATION == SpladePooling.SPLADE_ACTIVATION
    for strategy, activation in (("mean", "relu"), ("max", "gelu")):
        with pytest.raises(ValueError):
            SpladePooling(strategy, activation)
        with pytest.raises(ValueError):
            ours(strategy, activation)


KINDS = ["SentenceTransformer", "SparseEncoder", "MultiVectorEncoder", "CrossEncoder"]


@pytest.mark.parametrize("kind", KINDS)
def test_module_kwargs_and_trust_remote_code_as_sentence_transformers(folders, kind):
    """``module_kwargs``: each modules.json entry's ``kwargs`` by module name, ``{}`` for a plain Hugging Face
    folder, ``None`` for a model built from modules; ``trust_remote_code`` as passed."""
    import sentence_transformers as st

    plain = folders["ce1" if kind == "CrossEncoder" else "mlm" if kind == "SparseEncoder" else "bert"]
    saved = {"SentenceTransformer": "router", "SparseEncoder": "inference_free", "MultiVectorEncoder": "mv"}
    with_kwargs = folders["with_kwargs"] if kind == "SentenceTransformer" else None
    for folder in (plain, folders.get(saved.get(kind, "")), with_kwargs):
        if folder is None:
            continue
        for options in ({}, {"trust_remote_code": True}):
            theirs = _load(st, kind, folder, **options)
            ours = _load(sbert, kind, folder, **options)
            assert ours.module_kwargs == theirs.module_kwargs, folder.name
            assert ours.trust_remote_code is theirs.trust_remote_code
            assert ours.is_hpu_graph_enabled is theirs.is_hpu_graph_enabled is False
    if kind != "CrossEncoder":
        modules = list(_load(sbert, kind, folders[saved[kind]], backend="torch"))
        built = getattr(sbert, kind)(modules=modules, device="cpu")
        reference = getattr(st, kind)(modules=list(_load(st, kind, folders[saved[kind]])), device="cpu")
        assert built.module_kwargs is reference.module_kwargs is None
