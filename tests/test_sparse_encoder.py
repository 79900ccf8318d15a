"""SparseEncoder: loads SPLADE folders (sentence-transformers 5.x and 6.x layouts, plain masked-LM folders),
encodes, scores, decodes and saves as sentence-transformers' SparseEncoder does (its outputs, its return
types, folders it loads), refuses folders it cannot run, and imports without torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings

import pytest
from conftest import BLOCK_TORCH, SENTENCES, build_tiny_bert

# torch's one-time notices, raised by sentence-transformers' own sparse similarity and intersection code
pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

TOL = 1e-5
PROMPTS = {"query": "query: ", "document": "passage: "}
QUERIES = ["what is the weather like", "who drove to the stadium", "a cat on a mat"]


@pytest.fixture(scope="session")
def folders(masked_lm, tmp_path_factory):
    """The layouts sbert reads: a plain masked-LM folder, sentence-transformers 6.3's own save (with prompts),
    and a 5.x-style folder (MLMTransformer, sum pooling, log1p_relu, max_seq_length 24)."""
    from sentence_transformers import SparseEncoder as Reference

    root = tmp_path_factory.mktemp("sparse-folders")
    Reference(str(masked_lm), device="cpu", prompts=PROMPTS).save(str(root / "st6"))
    old = shutil.copytree(root / "st6", root / "st5")
    modules = [
        {
            "idx": 0,
            "name": "0",
            "path": "",
            "type": "sentence_transformers.sparse_encoder.models.MLMTransformer",
        },
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pool",
            "type": "sentence_transformers.sparse_encoder.models.SpladePooling",
        },
    ]
    (old / "modules.json").write_text(json.dumps(modules))
    (old / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 24, "do_lower_case": False}))
    shutil.rmtree(old / "1_SpladePooling")
    (old / "1_Pool").mkdir()
    pooling = {
        "pooling_strategy": "sum",
        "activation_function": "log1p_relu",
        "word_embedding_dimension": None,
    }
    (old / "1_Pool" / "config.json").write_text(json.dumps(pooling))
    return {"plain": masked_lm, "st6": root / "st6", "st5": old}


def ours(path, **kwargs):
    from sbert import SparseEncoder

    return SparseEncoder(str(path), device="cpu", **kwargs)


def reference(path, **kwargs):
    from sentence_transformers import SparseEncoder

    return SparseEncoder(str(path), device="cpu", **kwargs)


def assert_same(got, expected) -> float:
    """Equal tensors (or lists of them): same layout, shape and dtype, values within TOL; the largest gap."""
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        return max((assert_same(g, e) for g, e in zip(got, expected)), default=0.0)
    assert got.layout == expected.layout and tuple(got.shape) == tuple(expected.shape)
    assert got.dtype == expected.dtype
    diff = (got.to_dense() - expected.to_dense()).abs().max().item() if got.numel() else 0.0
    assert diff <= TOL
    return diff


OPTIONS = [
    {},
    {"convert_to_sparse_tensor": False},
    {"convert_to_tensor": False},
    {"convert_to_tensor": False, "convert_to_sparse_tensor": False},
    {"max_active_dims": 4, "batch_size": 2},
    {"save_to_cpu": True, "show_progress_bar": False},
]


@pytest.mark.parametrize("kind", ["plain", "st6", "st5"])
def test_encode_equals_sentence_transformers(folders, kind):
    model, expected = ours(folders[kind]), reference(folders[kind])
    assert model.max_seq_length == expected.max_seq_length
    for options in OPTIONS:
        assert_same(model.encode(SENTENCES, **options), expected.encode(SENTENCES, **options))
    # sentence-transformers knows the width (the vocabulary size) once it has pooled a batch; sbert at once
    assert model.get_embedding_dimension() == expected.get_embedding_dimension()
    for options in ({}, {"convert_to_sparse_tensor": False}, {"convert_to_tensor": False}):
        assert_same(
            model.encode("a man plays the guitar", **options),
            expected.encode("a man plays the guitar", **options),
        )
        assert_same(model.encode([], **options), expected.encode([], **options))


def test_text_pairs_and_per_call_max_length_as_sentence_transformers(folders):
    import numpy as np

    model, expected = ours(folders["st6"]), reference(folders["st6"])
    pairs = [["what is AI?", "AI is artificial intelligence."], ["a cat", "a cat sat on the mat all day"]]
    for inputs in (pairs, np.array(pairs)):  # one input each, [CLS] a [SEP] b [SEP]; the prompt before a
        for options in ({}, {"prompt_name": "query", "convert_to_sparse_tensor": False}):
            assert_same(model.encode(inputs, **options), expected.encode(inputs, **options))
    short = {"processing_kwargs": {"text": {"max_length": 4, "truncation": True}}}
    for inputs in (SENTENCES, pairs):
        assert_same(model.encode(inputs, **short), expected.encode(inputs, **short))
    assert_same(model.encode(SENTENCES), expected.encode(SENTENCES))  # the limit was this call's only
    mixed = [SENTENCES[0], pairs[0], SENTENCES[1], tuple(pairs[1])]  # each item as it is, as there
    assert_same(model.encode(mixed), expected.encode(mixed))


def test_sparse_rows_are_coalesced_and_cut_to_max_active_dims(folders):
    model = ours(folders["st6"], max_active_dims=3)
    embeddings = model.encode(SENTENCES)
    assert embeddings.is_coalesced()
    assert model.sparsity(embeddings)["active_dims"] <= 3
    rows = model.encode(SENTENCES[:2], convert_to_tensor=False)
    assert all(
        row.is_coalesced() and row._nnz() <= 3 for row in rows
    )  # .indices() works as haystack reads it
    assert_same(embeddings, reference(folders["st6"], max_active_dims=3).encode(SENTENCES))


def test_prompts_as_sentence_transformers(folders):
    model, expected = ours(folders["st6"]), reference(folders["st6"])
    assert model.prompts == expected.prompts
    assert_same(model.encode_query(QUERIES), expected.encode_query(QUERIES))
    assert_same(model.encode_document(SENTENCES), expected.encode_document(SENTENCES))
    assert_same(model.encode(QUERIES, prompt_name="query"), expected.encode(QUERIES, prompt_name="query"))
    assert_same(model.encode(QUERIES, prompt="custom: "), expected.encode(QUERIES, prompt="custom: "))
    assert_same(model.encode_query(QUERIES, prompt=""), expected.encode_query(QUERIES, prompt=""))
    with_default = {"prompts": {"search": "search: "}, "default_prompt_name": "search"}
    model, expected = ours(folders["plain"], **with_default), reference(folders["plain"], **with_default)
    assert_same(model.encode(QUERIES), expected.encode(QUERIES))
    assert_same(model.encode_query(QUERIES), expected.encode_query(QUERIES))  # "" query prompt, no default
    assert (model.encode(QUERIES).to_dense() != ours(folders["plain"]).encode(QUERIES).to_dense()).any()


@pytest.mark.parametrize("function", ["dot", "cosine", "euclidean", "manhattan"])
def test_similarity_as_sentence_transformers(folders, function):
    model = ours(folders["st6"], similarity_fn_name=function)
    expected = reference(folders["st6"], similarity_fn_name=function)
    sparse, dense = model.encode(SENTENCES), model.encode(SENTENCES, convert_to_sparse_tensor=False)
    queries = model.encode(QUERIES, convert_to_tensor=False)
    for a, b in [
        (sparse, sparse),
        (sparse, dense),
        (dense, dense),
        (queries, sparse),
        (dense.numpy(), sparse),
    ]:
        assert_same(model.similarity(a, b), expected.similarity(a, b))
    for a, b in [(sparse, sparse), (sparse, dense), (dense, dense)]:
        assert_same(model.similarity_pairwise(a, b), expected.similarity_pairwise(a, b))
    assert_same(
        model.similarity_pairwise(sparse[0], sparse[1]), expected.similarity_pairwise(sparse[0], sparse[1])
    )


def test_default_similarity_is_dot_and_is_saved(folders, tmp_path):
    model = ours(folders["plain"])
    assert model.similarity_fn_name == reference(folders["plain"]).similarity_fn_name == "dot"
    model.similarity_fn_name = "cosine"
    model.save(tmp_path / "saved")
    assert reference(tmp_path / "saved").similarity_fn_name == "cosine"
    with pytest.raises(ValueError, match="similarity_fn_name"):
        model.similarity_fn_name = "maxsim"


def test_decode_sparsity_and_intersection_as_sentence_transformers(folders):
    model, expected = ours(folders["st6"]), reference(folders["st6"])
    embeddings = model.encode(SENTENCES)
    dense = embeddings.to_dense()
    for value in (embeddings, dense, embeddings[0], dense[1]):
        for top_k in (None, 1, 5, 10_000):
            assert model.decode(value, top_k=top_k) == expected.decode(value, top_k=top_k)
        assert model.sparsity(value) == pytest.approx(expected.sparsity(value))
    assert 0 < model.sparsity(embeddings)["sparsity_ratio"] < 1  # the fixture's model has zeros and non-zeros
    assert_same(
        model.intersection(embeddings[0], embeddings).to_dense(),
        expected.intersection(embeddings[0], embeddings).to_dense(),
    )
    with pytest.raises(ValueError, match="top_k"):
        model.decode(embeddings, top_k=0)


def test_save_round_trips_both_ways(folders, tmp_path):
    # sentence-transformers' 6.x folder -> sbert -> a folder sentence-transformers loads, same numbers
    model = ours(folders["st6"], max_active_dims=6)
    model.save(tmp_path / "from-st")
    model.save(tmp_path / "from-st")  # over an existing folder, atomically
    reloaded = reference(tmp_path / "from-st")
    assert reloaded.max_active_dims == 6 and reloaded.prompts == model.prompts
    assert_same(reloaded.encode(SENTENCES), reference(folders["st6"], max_active_dims=6).encode(SENTENCES))
    assert_same(ours(tmp_path / "from-st").encode_query(QUERIES), reloaded.encode_query(QUERIES))
    # a plain masked-LM and a 5.x folder (sum, log1p_relu, its own max_seq_length) saved by sbert
    for kind in ("plain", "st5"):
        ours(folders[kind]).save_pretrained(tmp_path / kind)
        assert_same(reference(tmp_path / kind).encode(SENTENCES), reference(folders[kind]).encode(SENTENCES))
        assert_same(ours(tmp_path / kind).encode(SENTENCES), reference(folders[kind]).encode(SENTENCES))
    modules = json.loads((tmp_path / "st5" / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["MLMTransformer", "SpladePooling"]
    config = json.loads((tmp_path / "st5" / "config_sentence_transformers.json").read_text())
    assert config["model_type"] == "SparseEncoder"
    assert "SparseEncoder" in (tmp_path / "st5" / "README.md").read_text()


def test_built_from_modules_equals_the_folder(folders, tmp_path):
    from sbert import SparseEncoder
    from sbert.sparse_encoder.models import MLMTransformer, SpladePooling

    modules = [MLMTransformer(folders["plain"], max_seq_length=24), SpladePooling("sum", "log1p_relu")]
    model = SparseEncoder(modules=modules, device="cpu")
    assert_same(model.encode(SENTENCES), reference(folders["st5"]).encode(SENTENCES))
    model.save(tmp_path / "built")
    assert_same(reference(tmp_path / "built").encode(SENTENCES), model.encode(SENTENCES))


def test_model_card_text_is_the_loaded_readme_as_sentence_transformers(folders):
    """``_model_card_text`` (which sentence-transformers' scripts and tests read) is the README.md of the
    folder the model came from, and None for a plain masked LM without one or a model built from modules."""
    from sbert import SparseEncoder
    from sbert.sparse_encoder.models import SpladePooling

    for kind in ("st6", "plain"):
        expected = reference(folders[kind])._model_card_text
        assert ours(folders[kind])._model_card_text == expected
    assert expected is None and reference(folders["st6"])._model_card_text.startswith("---")
    built = SparseEncoder(modules=[ours(folders["plain"])[0], SpladePooling("max")], device="cpu")
    assert built._model_card_text is None


def _corrupt(folders, tmp_path, change):
    folder = shutil.copytree(folders["st6"], tmp_path / "bad")
    change(folder)
    return folder


BAD_FOLDERS = {
    "truncated weights": (
        lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:5000]),
        "truncated",
    ),
    "unknown module": (
        lambda f: (f / "modules.json").write_text(
            json.dumps(
                [
                    {
                        "idx": 0,
                        "path": "",
                        "type": "sentence_transformers.sparse_encoder.models.MLMTransformer",
                    },
                    {
                        "idx": 1,
                        "path": "1_SpladePooling",
                        "type": "sentence_transformers.models.NoSuchModule",
                    },
                ]
            )
        ),
        "NoSuchModule",
    ),
    "bad pooling": (
        lambda f: (f / "1_SpladePooling" / "config.json").write_text(
            json.dumps({"pooling_strategy": "mean"})
        ),
        "pooling_strategy",
    ),
    "not fill-mask": (
        lambda f: (f / "sentence_bert_config.json").write_text(
            json.dumps({"transformer_task": "feature-extraction"})
        ),
        "fill-mask",
    ),
    "pickle only": (
        lambda f: (f / "model.safetensors").rename(f / "pytorch_model.bin"),
        "allow_pickle",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_bad_folders_raise_model_load_error(folders, tmp_path, case):
    from sbert import ModelLoadError

    change, message = BAD_FOLDERS[case]
    with pytest.raises(ModelLoadError, match=message):
        ours(_corrupt(folders, tmp_path, change))


def test_a_masked_lm_without_its_head_is_refused(masked_lm, tmp_path):
    from sbert import ModelLoadError

    encoder = build_tiny_bert(tmp_path / "encoder")
    headless = shutil.copytree(masked_lm, tmp_path / "headless")  # says BertForMaskedLM, has no head weights
    shutil.copy(encoder / "model.safetensors", headless / "model.safetensors")
    with pytest.raises(ModelLoadError, match="masked-LM head"):
        ours(headless)


def test_sparse_modules_transformer_takes_either_task_as_sentence_transformers(masked_lm, tiny_bert):
    """sparse_encoder.modules.Transformer embeds by default (a CSR model's first module) and is SPLADE's
    masked-LM with transformer_task="fill-mask"; a module of either kind is an instance of it."""
    import torch
    from sentence_transformers.sparse_encoder import modules as theirs

    from sbert import SparseEncoder
    from sbert.sparse_encoder import modules

    def csr(namespace, pooling):
        torch.manual_seed(5)  # the same new SparseAutoEncoder weights for both
        transformer = namespace.Transformer(str(tiny_bert))
        width = transformer.get_embedding_dimension()
        head = namespace.SparseAutoEncoder(input_dim=width, hidden_dim=4 * width, k=8)
        return [transformer, pooling(width, "mean"), head]

    from sentence_transformers.sentence_transformer.modules import Pooling as ReferencePooling

    from sbert.models import Pooling

    model = SparseEncoder(modules=csr(modules, Pooling), device="cpu")
    expected = type(reference(masked_lm))(modules=csr(theirs, ReferencePooling), device="cpu")
    assert model[0].transformer_task == expected[0].transformer_task == "feature-extraction"
    assert_same(model.encode(SENTENCES), expected.encode(SENTENCES))
    splade = modules.Transformer(str(masked_lm), transformer_task="fill-mask")
    for module in (model[0], splade, ours(masked_lm)[0]):
        assert isinstance(module, modules.Transformer)
    assert splade.transformer_task == "fill-mask" and not isinstance(model[1], modules.Transformer)


@pytest.mark.parametrize("kind", ["encoder", "sentence-transformer"])
def test_dense_models_become_csr_models_as_sentence_transformers(tmp_path, kind):
    """A plain (non-masked-LM) encoder or a SentenceTransformer folder loads as a CSR model with a new
    SparseAutoEncoder, as sentence-transformers' SparseEncoder makes it: the same modules and head settings
    (k clamped to the latents a narrow model has), a warning, and, with the same head weights, the same
    embeddings."""
    from conftest import classic_pooling, write_st_folder

    folder = build_tiny_bert(tmp_path / "encoder")
    if kind == "sentence-transformer":
        folder = write_st_folder(folder, tmp_path / "dense", classic_pooling(32, "mean"), normalize=True)
    theirs = reference(folder)
    mine = ours(folder)  # logged, not warned, as there (a warning fails the test)
    assert [type(m).__name__ for m in mine] == [type(m).__name__ for m in theirs]
    head, their_head = mine[-1], theirs[-1]
    assert (head.input_dim, head.hidden_dim) == (their_head.input_dim, their_head.hidden_dim) == (32, 128)
    expected_k = (128, 128) if kind == "encoder" else (their_head.k, their_head.k_aux)  # 256/512 there
    assert (head.k, head.k_aux) == expected_k
    head.load_state_dict(their_head.state_dict())
    for model in (mine, theirs):
        model[-1].k, model[-1].k_aux, model.max_active_dims = 16, 32, None  # encodable in both
    assert_same(mine.encode(SENTENCES[:4]), theirs.encode(SENTENCES[:4]))


def test_encode_refuses_what_it_does_not_do(folders):
    from sbert import InputError

    model = ours(folders["plain"])
    with pytest.raises(InputError, match="normalize_embeddings"):
        model.encode(QUERIES, normalize_embeddings=True)
    with pytest.raises(InputError, match="max_active_dims"):
        model.encode(QUERIES, max_active_dims=0)
    with pytest.raises(InputError, match="torch"):
        ours(folders["plain"], backend="openvino")
    assert_same(model.encode(inputs=QUERIES, task="query"), model.encode(QUERIES))  # 6.x keywords


def test_namespaces_match_sentence_transformers():
    import importlib

    import sbert
    from sbert.sparse_encoder import SparseEncoder, SparseEncoderModelCardData, models, modules

    assert SparseEncoder is sbert.SparseEncoder is sbert.sparse_encoder.SparseEncoder
    assert SparseEncoderModelCardData is sbert.SparseEncoderModelCardData
    assert models is modules and models.SpladePooling is modules.SpladePooling
    for path, name in [("model", "SparseEncoder"), ("model_card", "SparseEncoderModelCardData")]:
        st_module = importlib.import_module(f"sentence_transformers.sparse_encoder.{path}")
        assert hasattr(st_module, name)
        assert getattr(importlib.import_module(f"sbert.sparse_encoder.{path}"), name) is getattr(sbert, name)
    for name in modules.__all__:
        assert hasattr(importlib.import_module("sentence_transformers.sparse_encoder.modules"), name)


def test_card_data_reaches_the_card(folders, tmp_path):
    from sbert import SparseEncoderModelCardData

    card = SparseEncoderModelCardData(language="en", license="mit", model_name="Tiny SPLADE")
    ours(folders["plain"], model_card_data=card).save(tmp_path / "carded")
    text = (tmp_path / "carded" / "README.md").read_text()
    assert "# Tiny SPLADE" in text and "license: mit" in text and "sparse-encoder" in text


def test_generate_model_card_is_what_save_writes_at_sentence_transformers_path(folders, tiny_bert, tmp_path):
    """sentence_transformers.base.model_card.generate_model_card(model): the card text, for any model class;
    sbert's is the README its save writes (sbert's own card layout)."""
    from sentence_transformers.base.model_card import generate_model_card as reference_card

    from sbert import CrossEncoder, SentenceTransformer, SparseEncoderModelCardData
    from sbert.base.model_card import generate_model_card

    card = SparseEncoderModelCardData(model_id="me/tiny-splade", model_name="Tiny SPLADE")
    with warnings.catch_warnings():  # a plain encoder folder: the notices that it has no pooling recorded
        warnings.simplefilter("ignore")
        models = [
            ours(folders["plain"], model_card_data=card),
            # on torch: an ONNX export would be written into the shared tiny_bert folder
            SentenceTransformer(str(tiny_bert), device="cpu", backend="torch"),
            CrossEncoder(str(tiny_bert), device="cpu", backend="torch"),
        ]
    for i, model in enumerate(models):
        model.save(tmp_path / str(i), model_name="me/tiny" if i else None)
        text = generate_model_card(model)
        assert text.startswith("---\n") and type(model).__name__ in text
        if i == 0:
            assert text == (tmp_path / "0" / "README.md").read_text(encoding="utf-8")
            assert "# Tiny SPLADE" in text and "me/tiny-splade" in text
    assert "# Tiny SPLADE" in reference_card(reference(folders["plain"], model_card_data=_st_card()))


def _st_card():
    from sentence_transformers.sparse_encoder import SparseEncoderModelCardData

    return SparseEncoderModelCardData(model_id="me/tiny-splade", model_name="Tiny SPLADE")


def test_namespace_imports_without_torch_and_names_the_extra(folders):
    code = BLOCK_TORCH + (
        "import sbert\n"
        "from sbert.sparse_encoder import SparseEncoder, SparseEncoderModelCardData\n"
        "assert sbert.sparse_encoder.SparseEncoder is SparseEncoder is sbert.SparseEncoder\n"
        "try:\n"
        "    SparseEncoder(sys.argv[1])\n"
        "except sbert.BackendUnavailableError as e:\n"
        "    print(e)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folders["st6"])], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'sbert[torch]'" in done.stdout
    assert done.stdout.strip().endswith("[]")


# ---------------------------------------------------- found by sentence-transformers' own sparse tests


def _encode_calls(model, monkeypatch):
    """The keywords each ``encode`` call of ``model`` gets (the real encode is not run)."""
    calls = []
    monkeypatch.setattr(model, "encode", lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


@pytest.mark.parametrize("method", ["encode_query", "encode_document"])
@pytest.mark.parametrize("options", [{}, {"prompt": "custom: "}, {"prompt_name": "query", "batch_size": 2}])
def test_encode_query_and_document_call_encode_as_sentence_transformers(
    folders, monkeypatch, method, options
):
    # a subclass's (or a wrapper's) encode sees inputs=, task= and both prompt keywords, as there
    model, expected = ours(folders["st6"]), reference(folders["st6"])
    got, want = _encode_calls(model, monkeypatch), _encode_calls(expected, monkeypatch)
    getattr(model, method)(QUERIES, **options)
    getattr(expected, method)(QUERIES, **options)
    assert got == want


def test_device_equals_the_torch_device_as_sentence_transformers(folders):
    import torch

    model, expected = ours(folders["st6"]), reference(folders["st6"])
    assert model.device == expected.device == torch.device("cpu")
    for options in ({}, {"convert_to_sparse_tensor": False}):
        assert model.encode([], **options).device == model.device
        assert model.encode(QUERIES, **options).device == model.device


def test_st6_transformer_module_as_sentence_transformers(folders, tmp_path):
    from sentence_transformers.sparse_encoder import modules as st_modules

    from sbert import SparseEncoder
    from sbert.sparse_encoder.modules import MLMTransformer, SpladePooling, Transformer

    for kind in ("plain", "st6", "st5"):
        model, expected = ours(folders[kind]), reference(folders[kind])
        assert type(model[0]).__name__ == type(expected[0]).__name__  # MLMTransformer for 5.x folders
        assert isinstance(model[0], Transformer) and model[0].transformer_task == expected[0].transformer_task
    assert isinstance(ours(folders["st5"])[0], MLMTransformer)
    # sentence-transformers 6's way to build a SPLADE model
    model = SparseEncoder(
        modules=[Transformer(str(folders["plain"]), transformer_task="fill-mask"), SpladePooling("max")],
        device="cpu",
    )
    built = [
        st_modules.Transformer(str(folders["plain"]), transformer_task="fill-mask"),
        st_modules.SpladePooling("max"),
    ]
    expected = reference_from_modules(built)
    assert_same(model.encode(SENTENCES), expected.encode(SENTENCES))
    with pytest.raises(ValueError, match="transformer_task"):
        Transformer(str(folders["plain"]), transformer_task="summarization")


@pytest.mark.parametrize("kind", ["plain", "st6", "st5"])
def test_module_repr_and_config_dicts_as_sentence_transformers(folders, tmp_path, kind):
    """print(model) and the modules' get_config_dict as sentence-transformers 6 shows them (its fill-mask
    Transformer's settings, SpladePooling's ``embedding_dimension``), once the width is known; the saved files
    keep the classic keys every release reads (before the first batch: tests/test_sparse_repr_s43.py)."""
    model, expected = ours(folders[kind]), reference(folders[kind])
    for each in (model, expected):
        each.encode(SENTENCES[:1])  # SpladePooling learns its width on the first batch, in either library
    assert repr(model) == repr(expected)
    assert [m.get_config_dict() for m in model] == [m.get_config_dict() for m in expected]
    model.save(tmp_path / "saved")
    assert set(json.loads((tmp_path / "saved" / "sentence_bert_config.json").read_text())) == {
        "max_seq_length",
        "do_lower_case",
    }
    assert_same(reference(tmp_path / "saved").encode(SENTENCES), expected.encode(SENTENCES))


def reference_from_modules(modules):
    from sentence_transformers import SparseEncoder

    return SparseEncoder(modules=modules, device="cpu")


def test_errors_as_sentence_transformers(folders):
    import torch

    model, expected = ours(folders["st6"]), reference(folders["st6"])
    assert model.get_model_kwargs() == expected.get_model_kwargs() == []
    cases = [
        (lambda m: m.encode(QUERIES, normalize=True), ValueError),
        (lambda m: m.decode([1, 2, 3]), TypeError),
        (lambda m: m.decode(torch.zeros(2, 3, 4)), ValueError),
        (lambda m: m.encode(QUERIES, prompt_name="missing"), ValueError),
    ]
    for call, error in cases:
        with pytest.raises(error) as theirs:
            call(expected)
        with pytest.raises(error) as mine:
            call(model)
        first = str(theirs.value).split(",")[0]  # the part without the value's repr
        assert str(mine.value).startswith(first), (str(mine.value), str(theirs.value))
    with pytest.raises(ValueError) as theirs:
        reference(folders["st6"], default_prompt_name="missing")
    with pytest.raises(ValueError) as mine:
        ours(folders["st6"], default_prompt_name="missing")
    assert str(mine.value).startswith(str(theirs.value))


def test_a_module_is_replaced_by_index_as_in_sentence_transformers(folders):
    """``model[1] = module``, as on sentence-transformers' models (``nn.Sequential``)."""
    import copy

    model, theirs = ours(folders["st6"]), reference(folders["st6"])
    for each in (model, theirs):
        pooling = copy.deepcopy(each[1])
        pooling.pooling_strategy = "sum"
        each[1] = pooling
    assert model[1].pooling_strategy == "sum"
    assert_same(model.encode(SENTENCES[:3]), theirs.encode(SENTENCES[:3]))


@pytest.mark.parametrize("kind", ["st6", "st5"])
def test_model_metadata_as_mteb_reads_it(folders, kind):
    """mteb's SparseEncoderWrapper describes a loaded model through these calls (its ModelMeta) before it
    encodes anything; each answers as sentence-transformers' does, before and after a new max_seq_length
    (not get_embedding_dimension: sentence-transformers gives the hidden size until a first encode, see
    test_encode_equals_sentence_transformers)."""

    def metadata(model):
        card = model.model_card_data
        return (
            model.get_max_seq_length(),
            model.similarity_fn_name,
            card.model_name,
            card.base_model_revision,
            model.prompts,
        )

    model, expected = ours(folders[kind]), reference(folders[kind])
    assert metadata(model) == metadata(expected)
    model.max_seq_length = expected.max_seq_length = 16
    assert model.get_max_seq_length() == expected.get_max_seq_length() == 16


def test_older_embedding_dimension_name_warns_as_sentence_transformers(folders):
    """``get_sentence_embedding_dimension()``: sentence-transformers 6.3's FutureWarning, once the width is
    known there (after a batch)."""
    from test_client_logs import renamed_dimension_warnings

    model, expected = ours(folders["st6"]), reference(folders["st6"])
    expected.encode(SENTENCES[:1])
    assert renamed_dimension_warnings(model) == renamed_dimension_warnings(expected)


def test_semantic_search_over_sparse_embeddings_needs_no_scipy(monkeypatch):
    """sbert's torch extra installs no SciPy: sparse embeddings are searched with torch's sparse ops."""
    import sys

    import torch

    from sbert import util

    embeddings = torch.eye(3).to_sparse()
    monkeypatch.setitem(sys.modules, "scipy", None)  # import fails, as where SciPy is missing
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    hits = util.semantic_search(embeddings, embeddings, top_k=1)
    assert [[(hit["corpus_id"], hit["score"]) for hit in row] for row in hits] == [
        [(0, 1.0)],
        [(1, 1.0)],
        [(2, 1.0)],
    ]


def test_semantic_search_over_sparse_embeddings_as_sentence_transformers(folders):
    """util.semantic_search takes a SparseEncoder's sparse COO embeddings as sentence-transformers' does."""
    import torch
    from sentence_transformers import util as st_util

    from sbert import util

    model = ours(folders["st6"])
    corpus = model.encode_document(SENTENCES)
    queries = model.encode_query(QUERIES)
    assert corpus.is_sparse and queries.is_sparse
    cases = [
        (queries, corpus, {}),
        (queries, corpus, {"top_k": 2, "query_chunk_size": 2, "corpus_chunk_size": 3}),
        (queries, corpus, {"score_function": util.dot_score}),
        (queries[0], corpus, {"top_k": 3}),  # one query, a (vocab,) row
        (queries.to_dense(), corpus, {}),  # dense queries, sparse corpus
        (queries.to_dense().numpy(), corpus, {}),  # numpy queries too
        (queries, corpus, {"score_function": lambda a, b: torch.mm(a, b.to_dense().T)}),
    ]
    for query, docs, options in cases:
        reference_options = dict(options)
        if options.get("score_function") is util.dot_score:
            reference_options["score_function"] = st_util.dot_score
        got = util.semantic_search(query, docs, **options)
        expected = st_util.semantic_search(query, docs, **reference_options)
        assert [[hit["corpus_id"] for hit in row] for row in got] == [
            [hit["corpus_id"] for hit in row] for row in expected
        ]
        for row, expected_row in zip(got, expected):
            expected_scores = [hit["score"] for hit in expected_row]
            assert [hit["score"] for hit in row] == pytest.approx(expected_scores, abs=1e-5)


def test_mining_and_communities_refuse_sparse_embeddings_as_sentence_transformers(folders):
    """util.paraphrase_mining of a SparseEncoder raises sentence-transformers' ValueError, and
    paraphrase_mining_embeddings / community_detection of its sparse embeddings its NotImplementedError
    (sbert's message names the way out); dense ones still work."""
    from sentence_transformers import util as st_util

    from sbert import util

    ours_model, theirs_model = ours(folders["st6"]), reference(folders["st6"])
    embeddings = ours_model.encode(SENTENCES[:4], convert_to_tensor=True)
    assert embeddings.is_sparse
    for library, model in ((st_util, theirs_model), (util, ours_model)):
        with pytest.raises(ValueError):
            library.paraphrase_mining(model, SENTENCES[:4])
        with pytest.raises(NotImplementedError):
            library.paraphrase_mining_embeddings(embeddings)
        with pytest.raises(NotImplementedError):
            library.community_detection(embeddings, threshold=0.1, min_community_size=1)
    with pytest.raises(NotImplementedError, match=r"sparse.*to_dense\(\)"):
        util.community_detection(embeddings)
    dense = embeddings.to_dense()
    found, expected = util.paraphrase_mining_embeddings(dense), st_util.paraphrase_mining_embeddings(dense)
    assert [pair[1:] for pair in found] == [pair[1:] for pair in expected]
