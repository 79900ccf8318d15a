"""Router models (sentence-transformers 5+: asymmetric query/document routes) against sentence-transformers.

Tiny Router models are built and saved with sentence-transformers itself; sbert loads them, encodes with
encode_query / encode_document / encode(task=...) to the same numbers (max abs diff <= 1e-5), saves them
back in the same layout, and trains a route.
"""

from __future__ import annotations

import json
import re
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
    ref = reference(two_encoders)
    ref.max_seq_length = 8
    for m in (model, ref):  # the default (document) route's limit below the query route's
        m[0].sub_modules["query"][0].max_seq_length = 12
    assert model.max_seq_length == ref.max_seq_length == 12  # the routes' longest, as sentence-transformers


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
    with pytest.raises(ValueError) as theirs:
        ref.encode(QUERIES)
    with pytest.raises(InputError, match=re.escape(str(theirs.value))):  # their words, then the fix
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
    saved = json.loads((tmp_path / "ours" / "router_config.json").read_text())
    assert saved["parameters"]["route_mappings"] == {"('query', None)": "q", "(None, 'text')": "d"}
    assert_routes_match(model, reference(tmp_path / "ours"), QUERIES)


@pytest.mark.parametrize("options", ["tokenizer_kwargs", "processor_kwargs"])
def test_loading_options_reach_every_routes_encoder_as_sentence_transformers(two_encoders, options):
    """The constructor's tokenizer, model and config options reach the Transformers inside a Router, as
    sentence-transformers' Router.load hands its keywords on."""
    given = {
        options: {"model_max_length": 6},
        "model_kwargs": {"torch_dtype": torch.bfloat16},
        "config_kwargs": {"attention_probs_dropout_prob": 0.25},
    }
    model, ref = SentenceTransformer(two_encoders, device="cpu", **given), reference(two_encoders, **given)
    for route in ("query", "document"):
        ours, theirs = model[0].sub_modules[route][0], ref[0].sub_modules[route][0]
        assert ours.max_seq_length == theirs.max_seq_length == 6
        assert ours.auto_model.dtype == theirs.auto_model.dtype == torch.bfloat16
        assert ours.auto_model.config.attention_probs_dropout_prob == 0.25
    long_text = [SENTENCES[5]]
    for task in ("query", "document"):
        assert model.tokenize(long_text, task=task)["input_ids"].tolist() == (
            ref.tokenize(long_text, task=task)["input_ids"].tolist()
        )
    for call, texts in (("encode_query", QUERIES), ("encode_document", DOCUMENTS)):  # bf16: its rounding
        ours, theirs = getattr(model, call)(texts), getattr(ref, call)(texts)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-2)


def test_preprocess_hands_the_calls_options_to_the_route_as_sentence_transformers(two_encoders):
    """``preprocess(..., processing_kwargs=...)`` on a Router model: the route's Transformer takes them for
    that call (sentence-transformers' Router passes its keywords on), and the features run the same."""
    model, ref = SentenceTransformer(two_encoders, device="cpu"), reference(two_encoders)
    short = {"processing_kwargs": {"text": {"max_length": 5}}}
    for task in ("query", "document"):
        for options in (short, {}):
            ours, theirs = (
                model.preprocess(DOCUMENTS, task=task, **options),
                ref.preprocess(DOCUMENTS, task=task, **options),
            )
            assert sorted(ours) == sorted(theirs) and ours["task"] == theirs["task"] == task
            assert ours["input_ids"].tolist() == theirs["input_ids"].tolist(), (task, options)
            with torch.no_grad():
                assert_close(
                    model(ours)["sentence_embedding"].numpy(), ref(theirs)["sentence_embedding"].numpy()
                )
        assert model.preprocess(DOCUMENTS, task=task, **short)["input_ids"].shape[1] == 5


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
    model, ref = SentenceTransformer(two_encoders, device="cpu"), reference(two_encoders)
    with pytest.raises(ValueError) as theirs:
        ref.encode(QUERIES, task="passage")
    with pytest.raises(InputError, match=re.escape(str(theirs.value))):
        model.encode(QUERIES, task="passage")


def test_saved_in_sentence_transformers_layout_and_loaded_back(two_encoders, tmp_path):
    model = SentenceTransformer(two_encoders, device="cpu")
    model.save(tmp_path / "ours")
    folder = tmp_path / "ours"
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
        assert info.dimension == model.get_embedding_dimension()


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


@pytest.mark.parametrize(
    "arguments",
    [
        {"sub_modules": {}},
        {"sub_modules": None},
        {"sub_modules": {"query": "pooling"}, "default_route": "passage"},
        {"sub_modules": {"query": "pooling"}, "route_mappings": {("query", "text"): "passage"}},
    ],
)
def test_bad_router_arguments_are_input_errors_in_sentence_transformers_words(arguments):
    """Each is a ValueError there; here an InputError whose message starts with theirs, then says the fix."""

    def built(library):
        pooling = library.Pooling(32)
        kwargs = {k: v for k, v in arguments.items() if k != "sub_modules"}
        routes = arguments["sub_modules"]
        return library.Router(None if routes is None else {k: [pooling] for k in routes}, **kwargs)

    with pytest.raises(ValueError) as theirs:
        built(st_modules())
    with pytest.raises(InputError, match=re.escape(str(theirs.value))):
        built(sbert.models)


def test_routes_without_modules_or_bad_mapping_keys_are_input_errors():
    pooling = sbert.Pooling(32)
    with pytest.raises(InputError, match=r"routes \['document'\] have no modules"):
        sbert.Router({"query": [pooling], "document": []})
    with pytest.raises(InputError, match="route_mappings keys are \\(task, modality\\) pairs"):
        sbert.Router({"query": [pooling]}, route_mappings={"query": "query"})


# ------------------------------------------------------------------ training with router_mapping

MAPPING = {"anchor": "query", "positive": "document"}
PAIRS = [{"anchor": q, "positive": d} for q, d in zip(QUERIES[:2] * 2, DOCUMENTS[:2] * 2)]


def _training_args(out, **overrides):
    values = {
        "output_dir": str(out),
        "batch_size": 4,
        "learning_rate": 1e-2,
        "warmup_ratio": 0.0,
        "max_steps": 1,
        "logging_steps": 1,
        "weight_decay": 0.0,
        "show_progress_bar": False,
        "plot": False,
        "save_steps": 0,
        "save_final_model": False,
    }
    return sbert.TrainingArguments(**{**values, **overrides})


def _reference_args(out, **overrides):
    from sentence_transformers import SentenceTransformerTrainingArguments

    values = {
        "output_dir": str(out),
        "per_device_train_batch_size": 4,
        "learning_rate": 1e-2,
        "warmup_steps": 0,
        "max_steps": 1,
        "weight_decay": 0.0,
        "save_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "use_cpu": True,
    }
    return SentenceTransformerTrainingArguments(**{**values, **overrides})


def _changed_routes(model, before):
    return {k.split(".")[2] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}


@pytest.fixture(scope="module")
def dropout_free_router(tmp_path_factory):
    """Router(query: BERT A + mean without the prompt, document: BERT B + cls) -> Normalize, no dropout (so
    both trainers compute the same numbers), saved by sentence-transformers."""
    base = tmp_path_factory.mktemp("router-train")
    berts = []
    for seed in (0, 1):
        bert = build_tiny_bert(base / f"bert{seed}", seed=seed)
        config = json.loads((bert / "config.json").read_text())
        config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        (bert / "config.json").write_text(json.dumps(config))
        berts.append(bert)
    m = st_modules()
    router = m.Router.for_query_document(
        query_modules=[m.Transformer(str(berts[0])), m.Pooling(32, "mean", include_prompt=False)],
        document_modules=[m.Transformer(str(berts[1])), m.Pooling(32, "cls")],
    )
    return _save_st([router, m.Normalize()], base / "model")


def test_router_mapping_training_step_equals_sentence_transformers_trainer(dropout_free_router, tmp_path):
    """router_mapping {"anchor": "query", "positive": "document"} (with prompts, left out of the query route's
    pooling): the first step's loss and the weights after it are sentence-transformers' trainer's, and the
    step trains both routes."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    prompts = {"anchor": "query: ", "positive": "passage: "}
    seen = []

    class Recording(MultipleNegativesRankingLoss):
        def forward(self, features, labels):
            seen.append([f.get("task") for f in features])
            loss = super().forward(features, labels)
            seen.append(loss.item())
            return loss

    ref = reference(dropout_free_router)
    args = _reference_args(tmp_path / "st", router_mapping=MAPPING, prompts=prompts, seed=3)
    data = Dataset.from_list(PAIRS)
    SentenceTransformerTrainer(model=ref, args=args, train_dataset=data, loss=Recording(ref)).train()
    assert seen[0] == ["query", "document"]

    model = SentenceTransformer(dropout_free_router, device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ours = _training_args(tmp_path / "ours", router_mapping=MAPPING, prompts=prompts, seed=3)
    trainer = sbert.Trainer(
        model, sbert.load_dataset(PAIRS), sbert.MultipleNegativesRankingLoss(model), args=ours
    )
    trainer.train()
    logged = json.loads((tmp_path / "ours" / "metrics.jsonl").read_text().splitlines()[0])
    assert abs(logged["loss"] - seen[1]) <= TOL
    assert _changed_routes(model, before) == {"query", "document"}
    theirs = ref.state_dict()
    ours = model.state_dict()
    assert ours.keys() == theirs.keys()
    for name, value in ours.items():
        torch.testing.assert_close(value, theirs[name], atol=2e-5, rtol=1e-4, msg=name)


def test_router_mapping_per_dataset_routes_columns_as_sentence_transformers(two_encoders, tmp_path):
    """A dict of datasets with router_mapping dataset -> column -> task: each dataset's columns take their
    routes, a column left out takes the default route (sentence-transformers' trainer does the same)."""
    from datasets import Dataset, DatasetDict
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    columns = {"qa": ("question", "answer"), "docs": ("text1", "text2")}
    rows = {
        name: [dict(zip(names, pair)) for pair in zip(QUERIES, DOCUMENTS)] for name, names in columns.items()
    }
    mapping = {"qa": {"question": "query", "answer": "document"}, "docs": {"text2": "query"}}
    expected = {("qa", ("query", "document")), ("docs", (None, "query"))}

    theirs = set()

    def recording(name, model):
        class Recording(MultipleNegativesRankingLoss):
            def forward(self, features, labels):
                theirs.add((name, tuple(f.get("task") for f in features)))
                return super().forward(features, labels)

        return Recording(model)

    ref = reference(two_encoders)
    data = DatasetDict({name: Dataset.from_list(r) for name, r in rows.items()})
    args = _reference_args(
        tmp_path / "st", router_mapping=mapping, max_steps=4, per_device_train_batch_size=2
    )
    losses = {name: recording(name, ref) for name in rows}
    SentenceTransformerTrainer(model=ref, args=args, train_dataset=data, loss=losses).train()
    assert theirs == expected

    ours = set()

    class OurRecording(sbert.MultipleNegativesRankingLoss):
        def __init__(self, model, name):
            super().__init__(model)
            self.name = name

        def forward(self, features_list, labels):
            ours.add((self.name, tuple(f.get("task") for f in features_list)))
            return super().forward(features_list, labels)

    model = SentenceTransformer(two_encoders, device="cpu")
    datasets = {name: sbert.load_dataset(r, name=name) for name, r in rows.items()}
    trainer = sbert.Trainer(
        model,
        datasets,
        {name: OurRecording(model, name) for name in rows},
        args=_training_args(tmp_path / "ours", router_mapping=mapping, max_steps=4, batch_size=2),
    )
    assert trainer.tasks == [mapping["qa"], mapping["docs"]]
    trainer.train()
    assert ours == expected


@pytest.mark.parametrize(
    "mapping",
    [
        None,
        {"anchor": "query"},
        {"anchor": "query", "positive": "document"},
        {"nli": {"anchor": "query"}, "sts": {"anchor": "query", "positive": "document"}},
        {"nli": {"positive": "document"}},
    ],
)
@pytest.mark.parametrize("dataset", ["nli", "sts"])
def test_column_tasks_follow_sentence_transformers_collator(mapping, dataset):
    from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

    from sbert._training.arguments import column_tasks

    collator = SentenceTransformerDataCollator(preprocess_fn=None, router_mapping=mapping)
    columns = ["anchor", "positive"]
    resolved = collator._resolve_router_mapping({"dataset_name": dataset})
    expected = {c: collator._get_task_for_column(c, i, resolved) for i, c in enumerate(columns)}
    datasets = [("nli", columns), ("sts", columns)]
    ours = column_tasks(mapping, datasets)[[name for name, _ in datasets].index(dataset)]
    assert ours == {c: t for c, t in expected.items() if t is not None}


def test_a_router_model_without_router_mapping_is_refused_as_sentence_transformers_does(
    two_encoders, tmp_path
):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    ref = reference(two_encoders)
    with pytest.raises(ValueError, match="router_mapping") as theirs:
        SentenceTransformerTrainer(
            model=ref,
            args=_reference_args(tmp_path / "st"),
            train_dataset=Dataset.from_list(PAIRS),
            loss=MultipleNegativesRankingLoss(ref),
        )
    model = SentenceTransformer(two_encoders, device="cpu")
    loss = sbert.MultipleNegativesRankingLoss(model)
    first_sentence = str(theirs.value).split(". ")[0] + ". "  # theirs, then the tasks and the fix
    with pytest.raises(
        InputError, match=re.escape(first_sentence) + r".*\['document', 'query'\].*router_mapping="
    ):
        sbert.Trainer(model, sbert.load_dataset(PAIRS), loss, args=_training_args(tmp_path / "ours"))


def _named(rows, name):
    return sbert.load_dataset(rows, name=name)


@pytest.mark.parametrize(
    ("mapping", "data", "message"),
    [
        (
            {"anchor": "passage", "positive": "document"},
            "one",
            r"sends column 'anchor' to task 'passage'.*use one of \['document', 'query'\]",
        ),
        (
            {"anchr": "query", "positive": "document"},
            "one",
            r"names columns \['anchr'\].*\['anchor', 'positive'\]",
        ),
        ({"pairs": MAPPING}, "one", "one dataset without a name; pass train_data as a dict"),
        ({"pairs": MAPPING, "other": MAPPING}, "dict", r"names datasets \['other'\].*\['pairs'\]"),
        (
            {"pairs": {"anchor": "query", "negative": "document"}},
            "dict",
            r"\['negative'\].*\['anchor', 'positive'\]",
        ),
        (
            {"pairs": {"anchor": "query", "positive": "passage"}},
            "dict",
            "column 'positive' of dataset 'pairs' to task 'passage'",
        ),
    ],
    ids=[
        "unknown-task",
        "unknown-column",
        "nested-unnamed",
        "unknown-dataset",
        "dataset-column",
        "dataset-task",
    ],
)
def test_bad_router_mapping_is_an_input_error_naming_the_fix(two_encoders, tmp_path, mapping, data, message):
    model = SentenceTransformer(two_encoders, device="cpu")
    pairs = sbert.load_dataset(PAIRS, name="pairs")
    train = {"pairs": pairs} if data == "dict" else pairs
    loss = sbert.MultipleNegativesRankingLoss(model)
    with pytest.raises(InputError, match=message):
        sbert.Trainer(model, train, loss, args=_training_args(tmp_path, router_mapping=mapping))


def test_a_column_without_a_task_needs_a_default_route(no_default, tmp_path):
    model = SentenceTransformer(no_default, device="cpu")
    loss = sbert.MultipleNegativesRankingLoss(model)
    with pytest.raises(InputError, match="column 'positive' no task and the Router has no default route"):
        sbert.Trainer(
            model,
            sbert.load_dataset(PAIRS),
            loss,
            args=_training_args(tmp_path, router_mapping={"anchor": "query"}),
        )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"anchor": 1}, "not a mix"),
        ({"anchor": "query", "pairs": {"positive": "document"}}, "not a mix"),
        ({"pairs": {"anchor": "query"}, "other": "document"}, "not a mix"),
        ("{not json", "could not read"),
        (["anchor", "query"], "got list"),
    ],
)
def test_malformed_router_mapping_is_an_input_error(tmp_path, value, message):
    with pytest.raises(InputError, match=message):
        _training_args(tmp_path, router_mapping=value)


def test_router_mapping_as_json_is_read_and_recorded_in_the_card(tmp_path):
    args = _training_args(tmp_path, router_mapping=json.dumps(MAPPING))
    assert args.router_mapping == MAPPING
    assert args.hyperparameters()["router_mapping"] == MAPPING
    assert _training_args(tmp_path, router_mapping={}).router_mapping is None


def test_models_without_a_router_ignore_router_mapping_as_sentence_transformers_does(
    tiny_st_factory, tmp_path
):
    """Any mapping, even naming columns and tasks the data and model lack, is accepted (sentence-
    transformers' trainer accepts it too) and changes nothing the modules compute: with one forward per
    column, the weights after a step are those of a run without one. (The columns' features then differ by
    their ``task``, so they no longer share one forward, in sentence-transformers' losses as in sbert's.)"""
    from conftest import classic_pooling
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from sbert.base.losses.merged_forward import column_merging_disabled

    path = tiny_st_factory(classic_pooling(32, "mean"))
    mapping = {"anchor": "passage", "no such column": "query"}
    ref = reference(path)
    args = _reference_args(tmp_path / "st", router_mapping=mapping)
    SentenceTransformerTrainer(
        model=ref, args=args, train_dataset=Dataset.from_list(PAIRS), loss=MultipleNegativesRankingLoss(ref)
    ).train()

    weights = []
    for i, value in enumerate((None, mapping)):
        model = SentenceTransformer(path, device="cpu")
        loss = sbert.MultipleNegativesRankingLoss(model)
        args = _training_args(tmp_path / str(i), router_mapping=value)
        trainer = sbert.Trainer(model, sbert.load_dataset(PAIRS), loss, args=args)
        # the mapping's task reaches the features unchecked, as sentence-transformers' collator stamps it
        # (tests/test_trainer_labels_s40.py); a model without a Router reads none of it
        assert trainer.tasks == [{} if value is None else {"anchor": "passage"}]
        with column_merging_disabled():
            trainer.train()
        weights.append(model.state_dict())
    for name, value in weights[0].items():
        assert torch.equal(value, weights[1][name]), name


# ------------------------------------------------------------------ one forward for columns that can share it


def _router_features(model, texts, task, prompt_length=None):
    features = _features(model, texts, task)
    if prompt_length:
        features["prompt_length"] = torch.tensor(prompt_length)
    return features


def test_columns_on_different_routes_run_their_own_forward(two_encoders):
    from sbert._losses.base import _merge, embed_columns

    model = SentenceTransformer(two_encoders, device="cpu")
    features = [_router_features(model, QUERIES, "query"), _router_features(model, DOCUMENTS, "document")]
    assert _merge(model, features) is None
    expected = [model.forward(dict(f))["sentence_embedding"] for f in features]
    for got, want in zip(embed_columns(model, features), expected):
        torch.testing.assert_close(got, want, atol=TOL, rtol=0)


@pytest.mark.parametrize("prompt_length", [None, 2])
def test_columns_on_one_route_share_a_forward_with_their_task_and_prompt_length(
    dropout_free_router, prompt_length
):
    from sbert._losses.base import _merge, embed_columns

    model = SentenceTransformer(dropout_free_router, device="cpu")
    features = [_router_features(model, t, "query", prompt_length) for t in (QUERIES, DOCUMENTS)]
    merged = _merge(model, features)
    assert merged is not None and merged["task"] == "query" and merged["input_ids"].shape[0] == 6
    expected = [model.forward(dict(f))["sentence_embedding"] for f in features]
    for got, want in zip(embed_columns(model, features), expected):
        torch.testing.assert_close(got, want, atol=TOL, rtol=0)
    # different prompt lengths cannot share the pooling: one forward each
    features[1]["prompt_length"] = torch.tensor(3)
    assert _merge(model, features) is None
