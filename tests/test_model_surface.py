"""The torch.nn.Module and sentence-transformers BaseModel surface of the four model classes
(``sbert._model_methods``): each method answers, moves, casts or edits as sentence-transformers 6.3's model
does, compared with it on tiny random models. SparseEncoder's multi-process pool gives what one process and
sentence-transformers give (1e-5); casts give sentence-transformers' dtypes and its numbers within the dtype's
precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SENTENCES, build_tiny_bert, build_tiny_classifier, classic_pooling

import sbert
from sbert import InputError

TOL = 1e-5
QUERIES = ["what is the weather like", "who drove to the stadium", "a cat on a mat"]
# the precision each cast keeps: the largest difference from sentence-transformers in that dtype
CASTS = {"half": 2e-3, "bfloat16": 2e-2, "double": 1e-6, "float": TOL}

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]


@pytest.fixture(scope="module")
def folders(masked_lm, tmp_path_factory):
    """sentence-transformers' saves: a SPLADE model, a CSR model (with prompts, its new SparseAutoEncoder
    saved), a MultiVectorEncoder (its new Dense saved) and a cross-encoder."""
    import warnings

    from conftest import write_st_folder
    from sentence_transformers import MultiVectorEncoder, SparseEncoder

    root = tmp_path_factory.mktemp("surface")
    bert = build_tiny_bert(root / "bert")
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(root / "mv"))
    dense = write_st_folder(bert, root / "dense", classic_pooling(32, "mean"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "a new randomly initialized SparseAutoEncoder"
        csr = SparseEncoder(str(dense), device="cpu", prompts={"query": "query: "})
    csr[-1].k, csr[-1].k_aux = 16, 32
    csr.max_active_dims = None
    csr.save(str(root / "csr"))
    classifier = build_tiny_classifier(root / "ce")
    return {"splade": masked_lm, "csr": root / "csr", "mv": root / "mv", "ce": classifier}


def both(kind, folder, **kwargs):
    """sbert's model and sentence-transformers' of ``folder``, on the CPU."""
    import sentence_transformers as st

    name = {"sparse": "SparseEncoder", "mv": "MultiVectorEncoder", "ce": "CrossEncoder"}[kind]
    ours = getattr(sbert, name)(str(folder), device="cpu", **kwargs)
    return ours, getattr(st, name)(str(folder), device="cpu", **kwargs)


def pair_of(kind, folders, tiny_st_factory):
    """``both`` for each kind, a tiny mean-pooling SentenceTransformer for "st"."""
    if kind != "st":
        return both(kind, folders[{"sparse": "splade", "mv": "mv", "ce": "ce"}[kind]])
    path = tiny_st_factory(classic_pooling(32, "mean"))
    reference = __import__("sentence_transformers").SentenceTransformer(str(path), device="cpu")
    return sbert.SentenceTransformer(str(path), device="cpu"), reference


def assert_close(got, expected, tol=TOL):
    """Equal outputs (tensors, sparse or dense, or lists of them): same dtype and shape, values within tol."""
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_close(g, e, tol)
        return
    assert got.dtype == expected.dtype and tuple(got.shape) == tuple(expected.shape)
    assert got.is_sparse == expected.is_sparse
    got, expected = (t.to_dense() if t.is_sparse else t for t in (got, expected))
    torch.testing.assert_close(got.double(), expected.double(), atol=tol, rtol=0)


# ------------------------------------------------------------------ SparseEncoder's multi-process pool


@pytest.fixture(scope="module")
def sparse_pool(folders):
    model = sbert.SparseEncoder(str(folders["splade"]), device="cpu")
    pool = model.start_multi_process_pool(["cpu"])
    yield model, pool
    model.stop_multi_process_pool(pool)


@pytest.mark.slow
def test_sparse_pool_encodes_as_one_process_and_sentence_transformers(sparse_pool, folders):
    from sentence_transformers import SparseEncoder

    model, pool = sparse_pool
    reference = SparseEncoder(str(folders["splade"]), device="cpu", prompts={"query": "query: "})
    model.prompts = {"query": "query: "}  # the workers get the resolved prompt
    texts = SENTENCES + QUERIES  # several chunks per worker, out of length order
    for chunk_size in (None, 2):
        got = model.encode(texts, pool=pool, chunk_size=chunk_size)
        assert got.is_sparse and got.is_coalesced() and got.device.type == "cpu"
        assert_close(got, model.encode(texts))
        assert_close(got, reference.encode(texts))
    assert_close(model.encode_query(QUERIES, pool=pool), reference.encode_query(QUERIES))
    options = {"convert_to_sparse_tensor": False, "max_active_dims": 5}
    assert_close(model.encode(texts, pool=pool, **options), reference.encode(texts, **options))
    rows = model.encode(texts, pool=pool, convert_to_tensor=False, chunk_size=3)
    assert_close(rows, [row.coalesce() for row in reference.encode(texts, convert_to_tensor=False)])
    assert_close(model.encode(texts[1], pool=pool), reference.encode(texts[1]))  # one text: one row
    empty = model.encode([], pool=pool)
    assert empty.is_sparse and tuple(empty.shape) == tuple(reference.encode([]).shape) == (0,)
    with pytest.raises(ValueError, match="chunk_size"):
        model.encode(texts, pool=pool, chunk_size=0)


def test_sparse_device_list_starts_a_pool_for_the_call(sparse_pool, monkeypatch):
    """``encode(device=[...])`` starts a pool on those devices for the call and stops it after (the
    module's pool stands in for it: worker start-up takes seconds)."""
    model, pool = sparse_pool
    calls = []
    monkeypatch.setattr(model, "start_multi_process_pool", lambda devices: calls.append(devices) or pool)
    monkeypatch.setattr(model, "stop_multi_process_pool", lambda stopped: calls.append(stopped is pool))
    assert_close(model.encode(QUERIES, device=["cpu", "cpu"]), model.encode(QUERIES))
    assert calls == [["cpu", "cpu"], True] and model.device == "cpu"


# ------------------------------------------------------------------ device and dtype


@pytest.mark.parametrize("kind", ["sparse", "mv"])
def test_casts_encode_in_the_dtype_as_sentence_transformers(folders, kind):
    ours, reference = both(kind, folders["splade" if kind == "sparse" else "mv"])
    for method, tol in CASTS.items():
        assert getattr(ours, method)() is ours and getattr(reference, method)() is reference
        assert ours.dtype == reference.dtype
        assert_close(ours.encode(QUERIES), reference.encode(QUERIES), tol)
    assert ours.to(torch.bfloat16) is ours and ours.dtype == torch.bfloat16
    assert ours.type(torch.float16) is ours and ours.dtype == torch.float16
    assert ours.type("torch.FloatTensor").to("cpu", torch.float32).dtype == reference.dtype == torch.float32
    assert_close(ours.encode(QUERIES), reference.encode(QUERIES))


def test_csr_casts_and_pooling_prompt_as_sentence_transformers(folders):
    ours, reference = both("sparse", folders["csr"])
    with_prompt = ours.encode_query(QUERIES, convert_to_sparse_tensor=False)
    for model in (ours, reference):
        assert model.set_pooling_include_prompt(False) is None
    assert ours[1].include_prompt is reference[1].include_prompt is False
    assert_close(ours.encode_query(QUERIES), reference.encode_query(QUERIES))
    assert not torch.allclose(ours.encode_query(QUERIES, convert_to_sparse_tensor=False), with_prompt)
    ours.half(), reference.half()
    assert_close(ours.encode_query(QUERIES), reference.encode_query(QUERIES), CASTS["half"])


@pytest.mark.parametrize("kind", ["st", "sparse", "mv", "ce"])
def test_cpu_and_cuda_as_sentence_transformers(folders, tiny_st_factory, kind):
    ours, reference = pair_of(kind, folders, tiny_st_factory)
    assert ours.cpu() is ours and ours.device == reference.cpu().device == torch.device("cpu")
    with pytest.raises(Exception) as theirs:  # no GPU here: torch's own error
        reference.cuda()
    with pytest.raises(type(theirs.value)) as mine:
        ours.cuda()
    assert str(mine.value) == str(theirs.value)
    assert ours.get_device_name() == reference.get_device_name() == "cpu"
    assert ours.clear_placement_cache() is reference.clear_placement_cache() is None
    assert ours.extra_repr() == reference.extra_repr() == ""


@pytest.mark.parametrize("kind", ["st", "ce"])
def test_double_is_refused_where_sbert_runs_three_precisions(folders, tiny_st_factory, kind):
    if kind == "st":
        ours = sbert.SentenceTransformer(str(tiny_st_factory(classic_pooling(32, "mean"))), backend="torch")
    else:
        ours = sbert.CrossEncoder(str(folders["ce"]), backend="torch")
    with pytest.raises(InputError, match="float32, bfloat16 or float16"):
        ours.double()
    assert ours.precision == "fp32" and ours.dtype == torch.float32  # unchanged
    assert ours.type(torch.float16) is ours and ours.precision == "fp16" and ours.dtype == torch.float16
    assert ours.to(dtype=torch.float32).precision == "fp32"


def test_cross_encoder_casts_as_sentence_transformers(folders):
    ours, reference = both("ce", folders["ce"], backend="torch")
    pairs = [(q, s) for q in QUERIES for s in SENTENCES[:3]]
    for dtype, tol in ((torch.float16, 2e-3), (torch.bfloat16, 2e-2), (torch.float32, TOL)):
        assert ours.to(dtype) is ours and reference.to(dtype) is reference
        assert ours.dtype == reference.dtype == dtype
        np.testing.assert_allclose(ours.predict(pairs), reference.predict(pairs), atol=tol, rtol=0)


# ------------------------------------------------------------------ the torch modules


def kinds(modules) -> list[str]:
    """The torch and transformers classes among ``modules``: each library's own modules and containers
    aside (they have other names; sbert's pipeline is an ``nn.Sequential``, sentence-transformers' model is
    one)."""
    torch_classes = {
        type(m).__name__ for m in modules if type(m).__module__.startswith(("torch", "transformers"))
    }
    return sorted(torch_classes - {"Sequential"})


def test_cross_encoder_module_methods_as_sentence_transformers(folders):
    ours, reference = both("ce", folders["ce"], backend="torch")
    assert kinds(ours.modules()) == kinds(reference.modules())
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for _, m in ours.named_children()]
    theirs = dict(reference.named_modules())
    assert list(dict(ours.named_modules())) == list(theirs)
    # the same classes below the root (a Sequential here, the CrossEncoder there)
    assert all(type(m).__name__ == type(theirs[n]).__name__ for n, m in ours.named_modules() if n)
    assert ours.get_submodule("0.model.classifier") is ours.model.classifier is ours[0].model.classifier
    assert ours.get_parameter("0.model.classifier.weight") is ours.model.classifier.weight
    assert ours.get_buffer("0.model.bert.embeddings.position_ids") is next(ours.buffers())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in reference.named_buffers()]
    for model in (ours, reference):
        assert model.requires_grad_(False) is model and not any(p.requires_grad for p in model.parameters())
        model.requires_grad_(True)
        for parameter in model.parameters():
            parameter.grad = torch.ones_like(parameter)
        assert model.zero_grad() is None and all(p.grad is None for p in model.parameters())
        applied: list = []
        assert model.apply(applied.append) is model
        assert kinds(applied) == kinds(ours.modules())


@pytest.mark.parametrize("kind", ["st", "sparse", "mv"])
def test_pipeline_module_methods_as_sentence_transformers(folders, tiny_st_factory, kind):
    ours, reference = pair_of(kind, folders, tiny_st_factory)
    assert [n for n, _ in ours.named_children()] == [n for n, _ in reference.named_children()]
    assert [type(m).__name__ for _, m in ours.named_children()] == [
        type(m).__name__ for _, m in reference.named_children()
    ]
    assert (
        ours.get_submodule("1") is ours[1]
        and type(ours.get_submodule("1")).__name__ == type(reference[1]).__name__
    )
    ours_buffers = [n for n, _ in ours.named_buffers()]
    assert ours_buffers == [n for n, _ in reference.named_buffers()] and len(list(ours.buffers())) > 0
    name, parameter = next(ours.named_parameters())
    assert ours.get_parameter(name) is parameter
    buffer_name = next(n for n, _ in ours.named_buffers())
    assert ours.get_buffer(buffer_name) is next(ours.buffers())
    applied: list = []
    assert ours.apply(applied.append) is ours and ours[0] in applied
    assert kinds(applied) == kinds(reference.modules()) == kinds(ours.modules())


@pytest.mark.parametrize("kind", ["sparse", "mv"])
def test_pipeline_edits_as_sentence_transformers(folders, kind):
    import copy

    ours, reference = both(kind, folders["splade" if kind == "sparse" else "mv"])
    for model in (ours, reference):
        last = model.pop(-1)  # nn.Sequential.pop takes an index
        assert len(model) == (1 if kind == "sparse" else 3)
        assert model.append(last) is model
        extra = model.pop(1)
        assert model.insert(1, extra) is model
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in reference]
    assert_close(ours.encode(QUERIES), reference.encode(QUERIES))
    for model in (ours, reference):
        tail = [copy.deepcopy(model[-1])]
        model.pop(-1)
        assert model.extend(tail) is model
    assert_close(ours.encode(QUERIES), reference.encode(QUERIES))


# ------------------------------------------------------------------ sentence-transformers' BaseModel


INPUTS = [
    "one text",
    ["a", "b"],
    ("a", "b"),
    [],
    np.array(["a", "b"]),
    np.array("a"),
    [{"role": "user", "content": "hi"}],
    [[{"role": "user", "content": "hi"}]],
    {"text": "a"},
    3,
]


@pytest.mark.parametrize("kind", ["sparse", "mv"])
def test_base_model_attributes_as_sentence_transformers(folders, kind):
    ours, reference = both(kind, folders["splade" if kind == "sparse" else "mv"])
    assert type(ours).SUPPORTED_SIMILARITY_FN_NAMES == type(reference).SUPPORTED_SIMILARITY_FN_NAMES
    assert ours.modalities == reference.modalities == ["text"]
    for modality in ("text", "image", ("image", "text"), "message"):
        assert ours.supports(modality) == reference.supports(modality)
    assert [ours.is_singular_input(x) for x in INPUTS] == [reference.is_singular_input(x) for x in INPUTS]
    assert ours.processor is ours.tokenizer and ours.processor.model_max_length == ours.max_seq_length
    assert (
        type(ours.config) is type(reference.config)
        and ours.config.hidden_size == reference.config.hidden_size
    )
    assert ours.config is ours.transformers_model.config
    assert type(ours).model_card_data_class.__name__ == type(reference).model_card_data_class.__name__
    assert ours.get_max_seq_length() == reference.get_max_seq_length()
    for model in (ours, reference):
        model.gradient_checkpointing_enable({"use_reentrant": False})
    assert ours.transformers_model.is_gradient_checkpointing
    assert reference.transformers_model.is_gradient_checkpointing


def test_sparse_and_multi_vector_upload_to_the_hub(folders, fake_hub, tmp_path, monkeypatch):
    from conftest import save_to_hub_calls

    sparse = sbert.SparseEncoder(str(folders["splade"]), device="cpu")
    with pytest.warns(DeprecationWarning, match="push_to_hub"):
        passed = save_to_hub_calls(sparse, monkeypatch, "splade", organization="someone")
    assert passed["repo_id"] == "someone/splade"
    model = sbert.MultiVectorEncoder(str(folders["mv"]), device="cpu")
    url = model.push_to_hub("colbert")
    assert url == "https://hub/someone/colbert/commit/1"
    assert fake_hub["upload"][1] == "Add new MultiVectorEncoder model"
    reloaded = sbert.MultiVectorEncoder(str(tmp_path / "uploaded"), device="cpu")
    assert_close(reloaded.encode(QUERIES), model.encode(QUERIES))


@pytest.mark.parametrize("kind", ["st", "sparse", "mv", "ce"])
def test_save_to_none_writes_nothing_as_sentence_transformers(folders, tiny_st_factory, kind):
    if kind == "st":
        import sentence_transformers as st

        folder = tiny_st_factory(classic_pooling(32, "mean"))
        models = (sbert.SentenceTransformer(str(folder)), st.SentenceTransformer(str(folder), device="cpu"))
    else:
        models = both(kind, folders["splade" if kind == "sparse" else kind])
    for model in models:  # sentence-transformers returns at once (its fit() with no output_path)
        assert model.save(None) is None and model.save_pretrained(None) is None


def test_onnx_stand_ins_answer_or_refuse(folders):
    """A SparseEncoder on backend="onnx" runs its graph: it lists its stand-in modules, has no parameters
    (dtype None, as sentence-transformers' rule gives a model without them), takes float() and refuses other
    casts and edits with a message that names the torch backend; its pool's workers load the folder the graph
    was built from, on the CPU."""
    model = sbert.SparseEncoder(str(folders["splade"]), backend="onnx")
    assert [n for n, _ in model.named_children()] == ["0", "1"] and list(model.buffers()) == []
    assert model.get_submodule("1") is model[1] and model.float() is model and model.dtype is None
    assert model.apply(lambda m: None) is model
    for edit in (model.half, lambda: model.append(model[1]), lambda: model.pop(-1)):
        with pytest.raises(InputError, match="backend='torch'"):
            edit()
    assert_close(model.encode(QUERIES, device=["cpu"], chunk_size=2), model.encode(QUERIES))
    with pytest.raises(InputError, match="CPU"):
        model.start_multi_process_pool(["cuda:0"])


@pytest.mark.parametrize("method", ["add_module", "register_module"])
def test_add_module_appends_or_replaces_as_sentence_transformers(tiny_st_factory, method):
    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    ours, reference = sbert.SentenceTransformer(str(folder)), Reference(str(folder), device="cpu")
    for model, package in ((ours, sbert), (reference, __import__("sentence_transformers"))):
        assert getattr(model, method)("Normalize", package.models.Normalize()) is None
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in reference]
    assert len(ours) == 3
    np.testing.assert_allclose(ours.encode(QUERIES), reference.encode(QUERIES), atol=TOL, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(ours.encode(QUERIES), axis=1), 1.0, atol=1e-5)
    for model, package in ((ours, sbert), (reference, __import__("sentence_transformers"))):
        model.add_module("1", package.models.Pooling(32, "max"))
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in reference]
    np.testing.assert_allclose(ours.encode(QUERIES), reference.encode(QUERIES), atol=TOL, rtol=0)


@pytest.mark.parametrize("kind", ["st", "sparse", "mv", "ce"])
def test_tokenize_and_preprocess_give_a_batch_encoding_as_sentence_transformers(
    folders, tiny_st_factory, kind
):
    """sentence-transformers 6's features are a transformers BatchEncoding: scripts call ``.to(device)`` on
    them and read ``features.input_ids``; the same entries under the same names, in the same order, its
    Transformer's ``"modality": "text"`` among them (before a prompt's ``prompt_length``); no inputs give a
    plain empty dict, as there. The model takes them back whole."""
    from transformers import BatchEncoding

    ours, reference = pair_of(kind, folders, tiny_st_factory)
    texts = [("a cat on a mat", "who drove")] if kind == "ce" else QUERIES
    for method in ("tokenize", "preprocess"):
        mine, theirs = getattr(ours, method)(texts), getattr(reference, method)(texts)
        assert type(theirs) is BatchEncoding and type(mine) is BatchEncoding, method
        assert mine.to("cpu") is mine
        torch.testing.assert_close(mine.input_ids, theirs.input_ids)
        assert list(mine) == list(theirs) and mine["modality"] == theirs["modality"] == "text", method
        for key in set(mine) - {"modality"}:
            assert torch.equal(torch.as_tensor(mine[key]), torch.as_tensor(theirs[key])), (method, key)
        empty, expected = getattr(ours, method)([]), getattr(reference, method)([])
        assert type(empty) is type(expected) is dict and empty == expected == {}, method
    mine, theirs = ours.preprocess(texts, prompt="q: "), reference.preprocess(texts, prompt="q: ")
    assert list(mine) == list(theirs) and mine["prompt_length"] == theirs["prompt_length"]
    with torch.no_grad():
        assert list(ours(ours.tokenize(texts))) == list(reference(reference.tokenize(texts)))


@pytest.mark.parametrize("kind", ["st", "sparse", "mv"])
def test_first_module_tokenize_gives_a_batch_encoding_as_sentence_transformers(
    folders, tiny_st_factory, kind
):
    """``model[0].tokenize`` / ``preprocess`` (the Transformer module's; the SPLADE masked-LM's) give
    sentence-transformers' BatchEncoding, ``"modality": "text"`` included, which ``model[0]`` takes back;
    ``{"text": t}`` items read as texts; no inputs give a plain empty dict, as there."""
    from transformers import BatchEncoding

    ours, reference = pair_of(kind, folders, tiny_st_factory)
    for method in ("tokenize", "preprocess"):
        mine, theirs = getattr(ours[0], method)(QUERIES), getattr(reference[0], method)(QUERIES)
        assert type(theirs) is BatchEncoding and type(mine) is BatchEncoding, method
        assert list(mine) == list(theirs) and mine["modality"] == "text", method
        torch.testing.assert_close(mine.input_ids, theirs.input_ids)
        empty, expected = getattr(ours[0], method)([]), getattr(reference[0], method)([])
        assert type(empty) is type(expected) is dict and empty == expected == {}, method
    items = [{"text": t} for t in QUERIES]
    assert list(ours[0].tokenize(items)) == list(reference[0].tokenize(items))
    with torch.no_grad():
        found = ours[0](ours[0].tokenize(QUERIES))
        expected = reference[0](reference[0].tokenize(QUERIES))
    assert type(found) is type(expected) is BatchEncoding and list(found) == list(expected)
    torch.testing.assert_close(found["token_embeddings"], expected["token_embeddings"], atol=TOL, rtol=0)
