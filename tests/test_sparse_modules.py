"""SparseEncoder's other architectures, as sentence-transformers 6.3 has them: inference-free SPLADE (a Router
with SparseStaticEmbedding for queries, SPLADE for documents) and CSR (Transformer, Pooling,
SparseAutoEncoder). Folders either library saves load in the other with equal outputs (within TOL), the
modules compute what sentence-transformers' compute (training outputs too), and bad inputs raise sbert's
errors."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
from conftest import SENTENCES

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

TOL = 1e-5
QUERIES = ["what is the weather like", "who drove to the stadium", "a cat on a mat"]
WIDTH = 32  # the tiny BERT's hidden size


@pytest.fixture(scope="module")
def st_folders(masked_lm, tiny_bert, tmp_path_factory):
    """Folders sentence-transformers saves: inference-free SPLADE built with 5.x's MLMTransformer and with
    6.x's Transformer(fill-mask), and CSR (normalize on, biases set so that every term counts)."""
    import torch
    from sentence_transformers import SparseEncoder
    from sentence_transformers.base.modules import Router, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from sentence_transformers.sparse_encoder.modules import (
        MLMTransformer,
        SparseAutoEncoder,
        SparseStaticEmbedding,
        SpladePooling,
    )

    root = tmp_path_factory.mktemp("sparse-modules")
    torch.manual_seed(0)
    for name, document in (
        ("inference-free", MLMTransformer(str(masked_lm))),
        ("inference-free-6", Transformer(str(masked_lm), transformer_task="fill-mask")),
    ):
        weight = torch.rand(len(document.tokenizer.get_vocab()))
        query = SparseStaticEmbedding(tokenizer=document.tokenizer, weight=weight, frozen=True)
        router = Router.for_query_document([query], [document, SpladePooling("max")])
        SparseEncoder(modules=[router], device="cpu", similarity_fn_name="dot").save(str(root / name))
    csr = SparseAutoEncoder(WIDTH, hidden_dim=96, k=8, k_aux=16, normalize=True)
    with torch.no_grad():
        csr.pre_bias.normal_(std=0.1)
        csr.latent_bias.normal_(std=0.1)
    transformer = Transformer(str(tiny_bert))
    modules = [transformer, Pooling(WIDTH, "mean"), csr]
    SparseEncoder(modules=modules, device="cpu", prompts={"query": "query: "}).save(str(root / "csr"))
    return {name: root / name for name in ("inference-free", "inference-free-6", "csr")}


def ours(path, **kwargs):
    from sbert import SparseEncoder

    return SparseEncoder(str(path), device="cpu", **kwargs)


def reference(path, **kwargs):
    from sentence_transformers import SparseEncoder

    return SparseEncoder(str(path), device="cpu", **kwargs)


def assert_same(got, expected) -> None:
    """Equal tensors (or lists of them): same layout, shape, dtype and non-zeros, values within TOL."""
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e)
        return
    assert got.layout == expected.layout and tuple(got.shape) == tuple(expected.shape)
    assert got.dtype == expected.dtype
    if got.is_sparse:
        assert got._nnz() == expected.coalesce()._nnz()
    assert (got.to_dense() - expected.to_dense()).abs().max().item() <= TOL


# each entry point once, with the options that change the output's form
CALLS = [
    ("encode_query", QUERIES, {}),
    ("encode_document", SENTENCES, {"batch_size": 4}),
    ("encode", SENTENCES[:3], {"convert_to_sparse_tensor": False}),
    ("encode", QUERIES[0], {"convert_to_tensor": False}),
]


def assert_encodes_the_same(model, expected) -> None:
    for method, texts, options in CALLS:
        assert_same(getattr(model, method)(texts, **options), getattr(expected, method)(texts, **options))


@pytest.mark.parametrize("kind", ["inference-free", "inference-free-6", "csr"])
def test_sentence_transformers_folders_encode_the_same(st_folders, kind):
    model, expected = ours(st_folders[kind]), reference(st_folders[kind])
    assert_encodes_the_same(model, expected)
    assert model.get_embedding_dimension() == expected.get_embedding_dimension()
    assert model.max_active_dims == expected.max_active_dims  # CSR: the SparseAutoEncoder's k
    assert model.get_model_kwargs() == sorted(expected.get_model_kwargs())
    assert model.max_seq_length == expected.max_seq_length
    assert type(model[0]).__name__ == type(expected[0]).__name__
    assert_same(
        model.similarity(model.encode(QUERIES), model.encode(SENTENCES)),
        expected.similarity(expected.encode(QUERIES), expected.encode(SENTENCES)),
    )


def test_inference_free_routes_as_sentence_transformers(st_folders):
    model, expected = ours(st_folders["inference-free"]), reference(st_folders["inference-free"])
    query = model.encode_query(QUERIES[0])
    # the query side weighs each of the query's tokens once, without [CLS] / [SEP]
    ids = model.preprocess(QUERIES[0], task="query")["input_ids"][0].tolist()
    assert ids == expected.preprocess([QUERIES[0]], task="query")["input_ids"][0].tolist()
    assert sorted(set(ids)) == query.coalesce().indices()[0].tolist()
    assert model.decode(query) == expected.decode(expected.encode_query(QUERIES[0]))
    for options in ({"task": "query"}, {"task": "document", "prompt": "query: "}):
        assert set(model.preprocess(QUERIES, **options)) == set(expected.preprocess(QUERIES, **options))
    assert_same(model.encode(QUERIES, task="query"), expected.encode(QUERIES, task="query"))
    model.max_seq_length = expected.max_seq_length = 5  # every route's, as there
    assert [m[0].max_seq_length for m in model[0].sub_modules.values()] == [5, 5]
    assert_same(model.encode_document(SENTENCES), expected.encode_document(SENTENCES))


def test_csr_options_as_sentence_transformers(st_folders, caplog):
    model, expected = ours(st_folders["csr"]), reference(st_folders["csr"])
    for active in (3, 20):  # fewer and more than k: the SparseAutoEncoder keeps max_active_dims latents
        assert_same(
            model.encode(SENTENCES, max_active_dims=active),
            expected.encode(SENTENCES, max_active_dims=active),
        )
    assert_same(model.encode_query(QUERIES), expected.encode_query(QUERIES))  # "query: " prompt
    assert model.splade_pooling_chunk_size is None and model.transformers_model is not None
    with caplog.at_level(logging.WARNING):  # logged, as sentence-transformers' setter logs it
        model.splade_pooling_chunk_size = 4
    assert any("SpladePooling module not found" in r.getMessage() for r in caplog.records)
    assert ours(st_folders["csr"], max_active_dims=5).max_active_dims == 5
    # the model's forward outside inference: the features sentence-transformers' CSR losses read
    features, expected_features = (
        model.preprocess(QUERIES, prompt="query: "),
        expected.preprocess(QUERIES, prompt="query: "),
    )
    assert set(features) == set(expected_features)
    calls = []
    model.forward = lambda features, **kw: calls.append(kw) or type(model).forward(model, features, **kw)
    got, want = (
        model.eval()(features, max_active_dims=5),
        expected.eval()(expected_features, max_active_dims=5),
    )
    assert calls == [{"max_active_dims": 5}] and set(got) == set(want)
    for key in (
        "sentence_embedding",
        "decoded_embedding_k",
        "decoded_embedding_4k",
        "decoded_embedding_k_pre_bias",
    ):
        assert (got[key] - want[key]).abs().max().item() <= TOL, key


def test_sbert_built_models_load_in_sentence_transformers(masked_lm, tiny_bert, tmp_path):
    import torch

    from sbert import SparseEncoder
    from sbert.models import Pooling, Transformer
    from sbert.sparse_encoder.modules import (
        MLMTransformer,
        Router,
        SparseAutoEncoder,
        SparseStaticEmbedding,
        SpladePooling,
    )

    document = MLMTransformer(str(masked_lm))
    idf = tmp_path / "idf.json"
    idf.write_text(json.dumps({"cat": 2.5, "mat": 1.5, "weather": 3.0, "zebra-not-a-token": 9.0}))
    query = SparseStaticEmbedding.from_json(str(idf), tokenizer=document.tokenizer, frozen=True)
    router = Router.for_query_document([query], [document, SpladePooling("max")])
    torch.manual_seed(1)
    csr = SparseAutoEncoder(WIDTH, hidden_dim=64, k=4, k_aux=8)
    built = {
        "inference-free": SparseEncoder(modules=[router], device="cpu"),
        "csr": SparseEncoder(
            modules=[Transformer(str(tiny_bert)), Pooling(WIDTH, "mean"), csr], device="cpu"
        ),
    }
    for name, model in built.items():
        model.save(tmp_path / name)
        expected = reference(tmp_path / name)
        assert_encodes_the_same(model, expected)
        assert_same(ours(tmp_path / name).encode_query(QUERIES), expected.encode_query(QUERIES))
    config = json.loads((tmp_path / "inference-free" / "router_config.json").read_text())
    assert config["types"]["query_0_SparseStaticEmbedding"].endswith(".SparseStaticEmbedding")
    assert json.loads(
        (tmp_path / "inference-free" / "query_0_SparseStaticEmbedding" / "config.json").read_text()
    ) == {"frozen": True}


def test_modules_compute_what_sentence_transformers_modules_compute(masked_lm):
    """Training outputs (the features CSR losses read), the dead-latent statistics over steps, and
    SparseStaticEmbedding.from_json's weights with a transformers tokenizer."""
    import torch
    from sentence_transformers.sparse_encoder import modules as st_modules
    from transformers import AutoTokenizer

    from sbert.sparse_encoder.modules import SparseAutoEncoder, SparseStaticEmbedding

    for normalize in (False, True):
        torch.manual_seed(0)
        expected = st_modules.SparseAutoEncoder(
            16, hidden_dim=48, k=4, k_aux=8, normalize=normalize, dead_threshold=1
        )
        with torch.no_grad():
            expected.pre_bias.normal_()
            expected.latent_bias.normal_()
        module = SparseAutoEncoder(16, hidden_dim=48, k=4, k_aux=8, normalize=normalize, dead_threshold=1)
        module.load_state_dict(expected.state_dict())
        for _ in range(3):  # the auxiliary latents change as latents die
            x = torch.randn(5, 16)
            got, want = module({"sentence_embedding": x.clone()}), expected({"sentence_embedding": x.clone()})
            assert set(got) == set(want)
            for key, value in want.items():
                assert (got[key] - value).abs().max().item() <= TOL, key
            assert torch.equal(module.stats_last_nonzero, expected.stats_last_nonzero)
        with torch.inference_mode():
            got = module({"sentence_embedding": x.clone()}, max_active_dims=6)
            want = expected({"sentence_embedding": x.clone()}, max_active_dims=6)
        assert set(got) == set(want) == {"sentence_embedding"}
        assert torch.equal(got["sentence_embedding"], want["sentence_embedding"])
    tokenizer = AutoTokenizer.from_pretrained(str(masked_lm))
    weights = {"cat": 2.5, "mat": 1.5, "[UNK]": 0.5, "zebra-not-a-token": 9.0}
    path = masked_lm.parent / "idf.json"
    path.write_text(json.dumps(weights))
    ours_module = SparseStaticEmbedding.from_json(str(path), tokenizer=tokenizer)
    reference_module = st_modules.SparseStaticEmbedding.from_json(str(path), tokenizer=tokenizer)
    assert torch.equal(ours_module.weight, reference_module.weight) and ours_module.weight.requires_grad
    assert repr(ours_module) == repr(reference_module)


def test_module_files_load_in_either_library(tmp_path):
    import torch
    from sentence_transformers.sparse_encoder import modules as st_modules

    from sbert.sparse_encoder.modules import SparseAutoEncoder

    torch.manual_seed(0)
    module = SparseAutoEncoder(8, hidden_dim=16, k=2, k_aux=4, normalize=True, dead_threshold=5)
    module.save(tmp_path / "ours")
    loaded = st_modules.SparseAutoEncoder.load(str(tmp_path / "ours"))
    assert loaded.get_config_dict() == module.get_config_dict()
    for key, value in module.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    (tmp_path / "theirs").mkdir()
    loaded.save(str(tmp_path / "theirs"))
    again = SparseAutoEncoder.load(tmp_path / "theirs")
    assert again.decoder.linear.weight is again.encoder.weight  # still tied
    assert torch.equal(again.encoder.weight, module.encoder.weight)


def test_namespaces_as_sentence_transformers():
    import importlib

    from sbert.sparse_encoder import models, modules

    assert models.SparseAutoEncoder is modules.SparseAutoEncoder
    assert models.SparseStaticEmbedding is modules.SparseStaticEmbedding
    file_path = importlib.import_module("sbert.sparse_encoder.modules.sparse_auto_encoder")
    assert file_path.TiedTranspose is modules.TiedTranspose
    assert modules.Router is importlib.import_module("sbert.models").Router is modules.Asym


def test_bad_inputs_raise_sbert_errors(st_folders, masked_lm, tiny_bert, tmp_path):
    import torch

    from sbert import InputError, ModelLoadError, SentenceTransformer, SparseEncoder
    from sbert.models import Pooling, Transformer
    from sbert.sparse_encoder.modules import MLMTransformer, SparseAutoEncoder, SparseStaticEmbedding

    for options, message in [
        ({"k": 20, "hidden_dim": 16}, "k <= hidden_dim"),
        ({"input_dim": 0}, "input_dim must be a positive integer"),
        ({"k_aux": -1}, "k_aux must be a non-negative integer"),
        ({"normalize": "yes"}, "normalize must be True or False"),
    ]:
        with pytest.raises(InputError, match=message):
            SparseAutoEncoder(**{"input_dim": 8, **options})
    small = SparseAutoEncoder(8, hidden_dim=16, k=8, k_aux=4)  # 4k latents > hidden_dim: not trainable
    with pytest.raises(InputError, match="4 \\* k=32"):
        small({"sentence_embedding": torch.randn(2, 8)})
    masked = MLMTransformer(str(masked_lm))
    tokenizer = masked.tokenizer
    with pytest.raises(InputError, match="wrote no 'sentence_embedding'"):  # no pooling after the masked-LM
        SparseEncoder(modules=[masked], device="cpu").encode(QUERIES)
    with pytest.raises(InputError, match="1-D float tensor"):
        SparseStaticEmbedding(tokenizer, weight=torch.ones(3, 3))
    with pytest.raises(InputError, match="one weight per token"):
        SparseStaticEmbedding(tokenizer, weight=torch.ones(3))
    with pytest.raises(InputError, match="IDF JSON file not found"):
        SparseStaticEmbedding.from_json(str(tmp_path / "missing.json"), tokenizer=tokenizer)
    with pytest.raises(InputError, match="needs a tokenizer"):
        SparseStaticEmbedding("bert-base-uncased")
    pipeline = [Transformer(str(tiny_bert)), Pooling(WIDTH, "mean"), SparseAutoEncoder(16)]
    with pytest.raises(InputError, match="expects 16-dim inputs"):
        SparseEncoder(modules=pipeline)
    csr = ours(st_folders["csr"])
    with pytest.raises(InputError, match="max_active_dims=200"):
        csr.encode(QUERIES, max_active_dims=200)
    with pytest.raises(InputError, match="cannot be the first module"):
        SparseEncoder(modules=[SparseAutoEncoder(WIDTH)])
    broken = shutil.copytree(st_folders["csr"], tmp_path / "broken")
    (broken / "2_SparseAutoEncoder" / "config.json").write_text(json.dumps({"input_dim": WIDTH, "k": 0}))
    with pytest.raises(ModelLoadError, match="k must be a positive integer"):
        ours(broken)
    with pytest.raises(ModelLoadError, match="load this folder with sbert.SparseEncoder"):
        SentenceTransformer(str(st_folders["inference-free"]), device="cpu")
