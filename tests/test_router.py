"""Router models (sentence-transformers 5+: asymmetric query/document routes) against sentence-transformers.

Tiny Router models are built and saved with sentence-transformers itself; sbert loads them, encodes with
encode_query / encode_document / encode(task=...) to the same numbers (max abs diff <= 1e-5), saves them
back in the same layout, and trains a route.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import SENTENCES, build_tiny_bert

import sbert
from sbert import InputError, ModelLoadError, SentenceTransformer
from sbert._format.layout import describe_pipeline

TOL = 1e-5
QUERIES = ["what is the weather today", "a cat on a mat", ""]
DOCUMENTS = ["The weather is lovely today.", "The cat sat on the mat.", "He drove to the stadium."]


def st_modules():
    from sentence_transformers.sentence_transformer import modules

    return modules


def reference(path, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    return ReferenceModel(str(path), device="cpu", **kwargs)


@pytest.fixture(scope="module")
def berts(tmp_path_factory):
    """Two different tiny encoders: the query route's and the document route's."""
    base = tmp_path_factory.mktemp("router-berts")
    return build_tiny_bert(base / "a", seed=0), build_tiny_bert(base / "b", seed=1)


def _save_st(modules, folder, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    ReferenceModel(modules=modules, device="cpu", **kwargs).save(str(folder))
    return folder


@pytest.fixture(scope="module")
def two_encoders(berts, tmp_path_factory):
    """Router(query: BERT A (16 tokens) + mean, document: BERT B + cls) -> Normalize, saved by
    sentence-transformers."""
    m = st_modules()
    router = m.Router.for_query_document(
        query_modules=[m.Transformer(str(berts[0]), max_seq_length=16), m.Pooling(32, "mean")],
        document_modules=[m.Transformer(str(berts[1])), m.Pooling(32, "cls")],
    )
    return _save_st([router, m.Normalize()], tmp_path_factory.mktemp("st-router") / "model")


@pytest.fixture(scope="module")
def shared_encoder(berts, tmp_path_factory):
    """One Transformer, then Router(query: mean + Dense, document: cls + Dense)."""
    m = st_modules()
    torch.manual_seed(0)
    router = m.Router.for_query_document(
        query_modules=[m.Pooling(32, "mean"), m.Dense(32, 16)],
        document_modules=[m.Pooling(32, "cls"), m.Dense(32, 16)],
    )
    return _save_st([m.Transformer(str(berts[0])), router], tmp_path_factory.mktemp("st-shared") / "model")


@pytest.fixture(scope="module")
def no_default(berts, tmp_path_factory):
    m = st_modules()
    router = m.Router.for_query_document(
        query_modules=[m.Transformer(str(berts[0])), m.Pooling(32, "mean")],
        document_modules=[m.Transformer(str(berts[1])), m.Pooling(32, "mean")],
        default_route=None,
        allow_empty_key=False,
    )
    return _save_st([router], tmp_path_factory.mktemp("st-nodefault") / "model")


def assert_close(ours, ref):
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    np.testing.assert_allclose(ours, ref, atol=TOL, rtol=0)


def assert_routes_match(model, ref, texts=SENTENCES):
    for call in ("encode_query", "encode_document", "encode"):
        assert_close(getattr(model, call)(texts), getattr(ref, call)(texts))
        assert_close(getattr(model, call)(texts[0]), getattr(ref, call)(texts[0]))
    for task in ("query", "document"):
        assert_close(model.encode(texts, task=task), ref.encode(texts, task=task))


@pytest.mark.parametrize("form", ["two_encoders", "shared_encoder"])
def test_router_models_encode_as_sentence_transformers(form, request):
    path = request.getfixturevalue(form)
    model, ref = SentenceTransformer(path, device="cpu"), reference(path)
    assert model.backend == "torch"  # backend="auto": the ONNX export handles no Router
    assert_routes_match(model, ref)
    # the routes really differ, and encode without a task takes the default ("document") route
    assert not np.allclose(model.encode_query(DOCUMENTS), model.encode_document(DOCUMENTS), atol=1e-3)
    assert_close(model.encode(DOCUMENTS), model.encode(DOCUMENTS, task="document"))


def test_each_route_tokenizes_with_its_own_encoder(two_encoders):
    """The query encoder reads 16 tokens, the document encoder 64: each route uses its own tokenizer."""
    model = SentenceTransformer(two_encoders, device="cpu")
    long_text = [SENTENCES[5] * 2]  # over 64 tokens
    assert model.tokenize(long_text, task="query")["input_ids"].shape == (1, 16)
    assert model.tokenize(long_text, task="document")["input_ids"].shape == (1, 64)
    assert model.tokenize(long_text)["input_ids"].shape == (1, 64)  # the default route
    assert model.max_seq_length == 64
    model.max_seq_length = 8  # every route's, as sentence-transformers sets it
    assert model.tokenize(long_text, task="query")["input_ids"].shape == (1, 8)


def test_prompts_reach_the_route_and_include_prompt_false_is_honoured(berts, tmp_path):
    m = st_modules()
    router = m.Router.for_query_document(
        query_modules=[m.Transformer(str(berts[0])), m.Pooling(32, "mean", include_prompt=False)],
        document_modules=[m.Transformer(str(berts[1])), m.Pooling(32, "mean")],
    )
    prompts = {"query": "query: ", "document": "passage: "}
    path = _save_st([router], tmp_path / "model", prompts=prompts)
    model, ref = SentenceTransformer(path, device="cpu"), reference(path)
    assert_routes_match(model, ref, QUERIES)
    assert_close(model.encode_query(QUERIES, prompt="a b c: "), ref.encode_query(QUERIES, prompt="a b c: "))


def test_no_default_route_raises_like_sentence_transformers(no_default):
    model, ref = SentenceTransformer(no_default, device="cpu"), reference(no_default)
    with pytest.raises(ValueError):
        ref.encode(QUERIES)
    with pytest.raises(InputError, match="no default route.*'document'.*'query'"):
        model.encode(QUERIES)
    assert_close(model.encode_query(QUERIES), ref.encode_query(QUERIES))
    assert_close(model.encode_document(QUERIES), ref.encode_document(QUERIES))


def test_route_mappings_follow_sentence_transformers_rules(berts, tmp_path):
    """(task, modality) rules: "query" -> q; any task on text -> d (so encode() and encode_document too)."""
    m = st_modules()
    router = m.Router(
        {
            "q": [m.Transformer(str(berts[0])), m.Pooling(32, "mean")],
            "d": [m.Transformer(str(berts[1])), m.Pooling(32, "mean")],
        },
        default_route=None,
        allow_empty_key=False,
        route_mappings={("query", None): "q", (None, "text"): "d"},
    )
    path = _save_st([router], tmp_path / "model")
    model, ref = SentenceTransformer(path, device="cpu"), reference(path)
    assert_routes_match(model, ref, QUERIES)
    assert_close(model.encode(QUERIES, task="anything"), ref.encode(QUERIES, task="anything"))
    assert not np.allclose(model.encode_query(QUERIES), model.encode(QUERIES), atol=1e-3)
    model.save(tmp_path / "ours")
    saved = json.loads((tmp_path / "ours" / "0_Router" / "router_config.json").read_text())
    assert saved["parameters"]["route_mappings"] == {"('query', None)": "q", "(None, 'text')": "d"}
    assert_routes_match(model, reference(tmp_path / "ours"), QUERIES)


def test_bf16_runs_every_routes_encoder_in_bf16(two_encoders):
    model = SentenceTransformer(two_encoders, device="cpu", precision="bf16")
    encoders = [m.auto_model for top in model for m in top.modules() if hasattr(m, "auto_model")]
    assert len(encoders) == 2 and all(e.dtype == torch.bfloat16 for e in encoders)
    full = SentenceTransformer(two_encoders, device="cpu")
    for call in ("encode_query", "encode_document"):
        assert np.abs(getattr(model, call)(DOCUMENTS) - getattr(full, call)(DOCUMENTS)).max() < 0.05


def test_models_without_a_router_ignore_the_task_as_sentence_transformers_does(tiny_st_factory):
    from conftest import classic_pooling

    path = tiny_st_factory(classic_pooling(32, "mean"))
    model, ref = SentenceTransformer(path, device="cpu"), reference(path)
    assert_close(model.encode(QUERIES, task="query"), ref.encode(QUERIES, task="query"))
    assert_close(model.encode(QUERIES, task="query"), model.encode(QUERIES))


def test_unknown_task_is_an_input_error_naming_the_routes(two_encoders):
    model = SentenceTransformer(two_encoders, device="cpu")
    with pytest.raises(InputError, match=r"task 'passage'.*\['document', 'query'\]"):
        model.encode(QUERIES, task="passage")


def test_saved_in_sentence_transformers_layout_and_loaded_back(two_encoders, tmp_path):
    model = SentenceTransformer(two_encoders, device="cpu")
    model.save(tmp_path / "ours")
    folder = tmp_path / "ours" / "0_Router"
    config = json.loads((folder / "router_config.json").read_text())
    assert config["structure"] == {
        "query": ["query_0_Transformer", "query_1_Pooling"],
        "document": ["document_0_Transformer", "document_1_Pooling"],
    }
    assert config["parameters"] == {
        "default_route": "document",
        "allow_empty_key": True,
        "route_mappings": {},
    }
    modules = json.loads((tmp_path / "ours" / "modules.json").read_text())
    assert modules[0]["type"] == "sentence_transformers.models.Router"
    assert (folder / "query_0_Transformer" / "model.safetensors").is_file()
    ref = reference(tmp_path / "ours")
    assert_routes_match(model, ref)
    assert_routes_match(SentenceTransformer(tmp_path / "ours", device="cpu"), ref)
    card = (tmp_path / "ours" / "README.md").read_text()
    assert "Router(" in card and "(query): Sequential(" in card and "(document): Sequential(" in card


def test_router_built_from_sbert_modules_saves_for_sentence_transformers(berts, tmp_path):
    router = sbert.Router.for_query_document(
        query_modules=[sbert.Transformer(berts[0]), sbert.Pooling(32, "mean")],
        document_modules=[sbert.Transformer(berts[1]), sbert.Pooling(32, "max")],
    )
    model = SentenceTransformer(modules=[router, sbert.Normalize()], device="cpu")
    model.save(tmp_path / "built")
    assert_routes_match(model, reference(tmp_path / "built"))


def test_shared_encoder_router_round_trips(shared_encoder, tmp_path):
    model = SentenceTransformer(shared_encoder, device="cpu")
    model.save(tmp_path / "ours")
    assert (tmp_path / "ours" / "1_Router" / "document_1_Dense" / "model.safetensors").is_file()
    assert_routes_match(model, reference(tmp_path / "ours"))


def test_description_without_torch_matches_the_loaded_modules(two_encoders, shared_encoder, tmp_path):
    """layout's description (files only, no torch) of a folder sbert saved is what the modules print."""
    for i, path in enumerate((two_encoders, shared_encoder)):
        model = SentenceTransformer(path, device="cpu")
        model.save(tmp_path / str(i))
        info = describe_pipeline(tmp_path / str(i))
        assert info.reprs == [repr(module) for module in model]
        assert info.dimension == model.get_sentence_embedding_dimension()


def _features(model, texts, task):
    return {**model.tokenize(texts, task=task), "task": task}


def test_loss_per_column_task_equals_sentence_transformers_and_trains_both_routes(two_encoders):
    """Columns routed as sentence-transformers' router_mapping={"q": "query", "d": "document"} routes them."""
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    model, ref = SentenceTransformer(two_encoders, device="cpu"), reference(two_encoders)
    ref.eval()  # no dropout: the same numbers on both sides
    reference_loss = MultipleNegativesRankingLoss(ref)(
        [ref.preprocess(QUERIES, task="query"), ref.preprocess(DOCUMENTS, task="document")], None
    )
    loss_fn = sbert.MultipleNegativesRankingLoss(model)
    embeddings = [model.forward(_features(model, QUERIES, "query"))["sentence_embedding"]]
    embeddings.append(model.forward(_features(model, DOCUMENTS, "document"))["sentence_embedding"])
    loss = loss_fn.compute_loss_from_embeddings(embeddings, None)
    assert abs(loss.item() - reference_loss.item()) <= TOL
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    changed = {k.split(".")[2] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"query", "document"}


def test_trainer_step_trains_the_default_route(two_encoders, tmp_path):
    """Today's Trainer passes no task: every column takes the default ("document") route."""
    model = SentenceTransformer(two_encoders, device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pairs = sbert.load_dataset(list(zip(QUERIES[:2] * 2, DOCUMENTS[:2] * 2)))
    args = sbert.TrainingArguments(
        output_dir=str(tmp_path / "run"),
        batch_size=4,
        learning_rate=1e-2,
        warmup_ratio=0.0,
        max_steps=1,
        show_progress_bar=False,
        plot=False,
        save_steps=0,
        save_final_model=False,
    )
    sbert.Trainer(model, pairs, sbert.MultipleNegativesRankingLoss(model), args=args).train()
    changed = {k.split(".")[2] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"document"}


def _corrupt(source, tmp_path, edit):
    target = tmp_path / "broken"
    shutil.copytree(source, target)
    path = target / "router_config.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))
    return target


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["types"].update({"query_0_Transformer": "my_package.CustomModule"}),
        lambda c: c["structure"].update({"query": ["query_0_Transformer", "missing_Pooling"]}),
        lambda c: c["parameters"].update({"default_route": "passage"}),
        lambda c: c["parameters"].update({"route_mappings": {"not a tuple": "query"}}),
        lambda c: c.pop("structure"),
        lambda c: c["types"].update({"../outside": "sentence_transformers.models.Pooling"}),
    ],
    ids=["unknown-type", "missing-module", "bad-default", "bad-mapping", "no-structure", "outside"],
)
def test_bad_router_config_is_a_model_load_error_naming_the_file(two_encoders, tmp_path, edit):
    broken = _corrupt(two_encoders, tmp_path, edit)
    with pytest.raises(ModelLoadError, match="router_config.json"):
        SentenceTransformer(broken, device="cpu")


def test_unreadable_router_config_is_a_model_load_error(two_encoders, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(two_encoders, broken)
    (broken / "router_config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="router_config.json"):
        SentenceTransformer(broken, device="cpu")


def test_bad_router_arguments_are_input_errors(berts):
    pooling = sbert.Pooling(32)
    with pytest.raises(InputError, match="at least one route"):
        sbert.Router({})
    with pytest.raises(InputError, match="default_route 'passage'"):
        sbert.Router({"query": [pooling]}, default_route="passage")
    with pytest.raises(InputError, match="different widths"):
        sbert.Router({"query": [pooling], "document": [sbert.Pooling(32, ["mean", "max"])]})
