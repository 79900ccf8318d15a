"""MultiVectorEncoder(backend="onnx"): the encoder and its token Dense / Normalize as one ONNX Runtime graph
built from the folder's files (no torch), the MultiVectorMask and each text's cut in numpy; the numbers
(within 1e-5), return types and options of sentence-transformers' torch MultiVectorEncoder, for its own
saves (several encoder families), a PyLate and a Stanford-NLP ColBERT checkpoint; cached apart from the
dense and sparse graphs; torch-free where torch is not installed."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import BLOCK_TORCH, build_tiny_bert, build_tiny_encoder, onnx_cache_dir
from test_multi_vector_legacy import CHECKPOINTS

import sbert
from sbert import InputError

TOL = 1e-5
QUERIES = ["what is the weather like", "who drove to the stadium?", "a cat"]
DOCUMENTS = [
    "The weather is lovely today. It's so sunny outside!",
    "He drove to the stadium, (fast); the car was red.",
    "The cat sat on the mat, and the dog ran in the house!",
    "a",
]
PROMPTS = {"query": "query: ", "document": "passage: "}


def _reference_save(encoder, folder, *, activation=None, bias=False, **transformer_options):
    """sentence-transformers' MultiVectorEncoder around ``encoder`` (a Dense with ``activation`` and
    ``bias``, a skiplist mask, a token Normalize), saved to ``folder``."""
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    torch.manual_seed(1)
    transformer = Transformer(str(encoder), **transformer_options)
    dense = Dense(
        transformer.get_embedding_dimension(),
        16,
        bias=bias,
        activation_function=activation or torch.nn.Identity(),
        module_input_name="token_embeddings",
    )
    modules = [transformer, dense, MultiVectorMask(skiplist_words=[".", "!", "?", "'"])]
    modules.append(Normalize(module_input_name="token_embeddings"))
    MultiVectorEncoder(modules=modules, device="cpu", prompts=PROMPTS).save(str(folder))
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """sentence-transformers' saves: ``fixed`` (lengths, fixed query expansion), ``min`` (expansion of short
    queries, attended), ``roberta`` / ``distilbert`` (other families, a biased Tanh Dense), a PyLate 3 and a
    Stanford-NLP checkpoint (tests/test_multi_vector_legacy.py's builders)."""
    root = tmp_path_factory.mktemp("mv-onnx")
    bert = build_tiny_bert(root / "bert")
    fixed = {"strategy": "fixed", "length": 10}
    folders = {
        "fixed": _reference_save(
            bert, root / "fixed", query_length=16, document_length=12, query_expansion=fixed
        ),
        "min": _reference_save(
            bert, root / "min", query_expansion={"strategy": "min", "length": 8, "attend": True}
        ),
    }
    for family in ("roberta", "distilbert"):
        encoder = build_tiny_encoder(family, bert, root / f"{family}-encoder")
        folders[family] = _reference_save(encoder, root / family, activation=torch.nn.Tanh(), bias=True)
    for name in ("pylate-3", "stanford"):
        folders[name] = CHECKPOINTS[name][0](root / name)
    return folders


def _reference(folder):
    from sentence_transformers import MultiVectorEncoder

    return MultiVectorEncoder(str(folder), device="cpu")


def _assert_same(ours, theirs):
    if not isinstance(theirs, list):
        ours, theirs = [ours], [theirs]
    assert isinstance(ours, list) and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=TOL, rtol=0)


@pytest.mark.filterwarnings("ignore:One or more queries filled")
@pytest.mark.parametrize("name", ["fixed", "min", "roberta", "distilbert", "pylate-3", "stanford"])
def test_encodes_and_scores_as_sentence_transformers(folders, name):
    ours, theirs = sbert.MultiVectorEncoder(str(folders[name]), backend="onnx"), _reference(folders[name])
    assert ours.get_backend() == "onnx" and ours.device == "cpu"
    assert ours.prompts == theirs.prompts and ours.similarity_fn_name == theirs.similarity_fn_name
    assert ours.get_embedding_dimension() == theirs.get_embedding_dimension()
    for method in ("encode_query", "encode_document", "encode"):
        for texts in (QUERIES, DOCUMENTS):
            _assert_same(getattr(ours, method)(texts), getattr(theirs, method)(texts))
    queries, documents = ours.encode_query(QUERIES), ours.encode_document(DOCUMENTS)
    torch.testing.assert_close(
        ours.similarity(queries, documents), theirs.similarity(queries, documents), atol=TOL, rtol=0
    )
    pairs = (queries, documents[:3])
    torch.testing.assert_close(
        ours.similarity_pairwise(*pairs), theirs.similarity_pairwise(*pairs), atol=TOL, rtol=0
    )


@pytest.mark.filterwarnings("ignore:One or more queries filled")
def test_output_options_as_sentence_transformers(folders):
    from sentence_transformers.multi_vector_encoder.modules import HierarchicalTokenPooling

    from sbert.multi_vector_encoder import modules as sbert_pooling

    ours, theirs = (
        sbert.MultiVectorEncoder(str(folders["fixed"]), backend="onnx"),
        _reference(folders["fixed"]),
    )
    for options in (
        {"convert_to_numpy": True},
        {"truncate_dim": 8},
        {"normalize_embeddings": True, "batch_size": 2},
    ):
        _assert_same(ours.encode_document(DOCUMENTS, **options), theirs.encode_document(DOCUMENTS, **options))
    pooled = ours.encode_document(
        DOCUMENTS, token_pooling=sbert_pooling.HierarchicalTokenPooling(pool_factor=2)
    )
    _assert_same(
        pooled, theirs.encode_document(DOCUMENTS, token_pooling=HierarchicalTokenPooling(pool_factor=2))
    )
    _assert_same(ours.encode_query(QUERIES[0]), theirs.encode_query(QUERIES[0]))
    assert ours.encode_document([]) == theirs.encode_document([]) == []
    mine, reference = (
        ours.encode_query(QUERIES[:2], output_value=None),
        theirs.encode_query(QUERIES[:2], output_value=None),
    )
    for a, b in zip(mine, reference):
        assert {"input_ids", "attention_mask", "token_embeddings"} <= set(a) <= set(b)
        for key in ("input_ids", "attention_mask", "token_embeddings", "query_expansion_positions"):
            np.testing.assert_allclose(np.asarray(a[key]), np.asarray(b[key]), atol=TOL, rtol=0)


def test_mask_words_resolved_after_loading_as_sentence_transformers(folders):
    """A skiplist changed on a loaded model takes effect through the mask's ``resolve_with_tokenizer``."""
    ours, theirs = (
        sbert.MultiVectorEncoder(str(folders["fixed"]), backend="onnx"),
        _reference(folders["fixed"]),
    )
    for model in (ours, theirs):
        mask = next(module for module in model if "MultiVectorMask" in type(module).__name__)
        mask.skiplist_words = ["the", "cat"]
        mask.resolve_with_tokenizer(model.tokenizer)
    _assert_same(ours.encode_document(DOCUMENTS), theirs.encode_document(DOCUMENTS))


def test_graph_is_cached_apart(folders):
    sbert.MultiVectorEncoder(str(folders["min"]), backend="onnx")
    cache = onnx_cache_dir(folders["min"]) / "multi_vector"
    graph = cache / "model.onnx"
    assert graph.is_file() and not (onnx_cache_dir(folders["min"]) / "model.onnx").exists()
    assert not (folders["min"] / "onnx" / "model.onnx").exists()  # sentence-transformers' own file
    built = graph.stat().st_mtime_ns
    sbert.MultiVectorEncoder(str(folders["min"]), backend="onnx")
    assert graph.stat().st_mtime_ns == built  # taken from the cache
    meta = json.loads((cache / "sbert_export.json").read_text())
    assert meta["multi_vector"]["steps"][-1] == "normalize"


def test_int8_graph_through_file_name(folders):
    model = sbert.MultiVectorEncoder(
        str(folders["fixed"]), backend="onnx", model_kwargs={"file_name": "onnx/model_qint8_avx512.onnx"}
    )
    assert (onnx_cache_dir(folders["fixed"]) / "multi_vector" / "model_int8.onnx").is_file()
    fp32 = sbert.MultiVectorEncoder(str(folders["fixed"]), backend="onnx")
    for a, b in zip(model.encode_document(DOCUMENTS), fp32.encode_document(DOCUMENTS)):
        assert a.shape == b.shape
        assert float((a * b).sum(dim=-1).mean()) > 0.9  # unit vectors: their mean cosine


def test_encodes_without_torch(folders, tmp_path):
    """With torch, transformers and sentence-transformers unimportable: numpy arrays, the same numbers."""
    out = tmp_path / "out.npz"
    code = BLOCK_TORCH + (
        "import numpy as np\n"
        "from sbert import MultiVectorEncoder\n"
        "model = MultiVectorEncoder(sys.argv[1], backend='onnx')\n"
        "queries = model.encode_query(sys.argv[3:6], truncate_dim=8)\n"
        "documents = model.encode_document(sys.argv[6:], truncate_dim=8)\n"
        "assert all(type(q) is np.ndarray and q.dtype == np.float32 for q in queries + documents)\n"
        "scores = model.similarity(queries, documents)\n"
        "pairs = model.similarity_pairwise(queries, documents[:3])\n"
        "np.savez(sys.argv[2], *queries, *documents, scores=scores, pairs=pairs)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folders["pylate-3"]), str(out), *QUERIES, *DOCUMENTS],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[]")
    theirs = _reference(folders["pylate-3"])
    queries = theirs.encode_query(QUERIES, truncate_dim=8)
    documents = theirs.encode_document(DOCUMENTS, truncate_dim=8)
    arrays = np.load(out)
    for i, expected in enumerate(queries + documents):
        np.testing.assert_allclose(arrays[f"arr_{i}"], expected.numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(arrays["scores"], theirs.similarity(queries, documents).numpy(), atol=TOL)
    pairs = theirs.similarity_pairwise(queries, documents[:3]).numpy()
    np.testing.assert_allclose(arrays["pairs"], pairs, atol=TOL)


def test_what_onnx_does_not_run_raises(folders, tmp_path):
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.multi_vector_encoder.modules import HierarchicalTokenPooling

    bert = folders["fixed"]
    with pytest.raises(InputError, match="random token projection"):
        sbert.MultiVectorEncoder(str(build_tiny_bert(tmp_path / "plain")), backend="onnx")
    with pytest.raises(InputError, match="backend='torch' or 'onnx'"):
        sbert.MultiVectorEncoder(str(bert), backend="openvino")
    with pytest.raises(InputError, match="CPUExecutionProvider"):
        sbert.MultiVectorEncoder(
            str(bert), backend="onnx", model_kwargs={"provider": "CUDAExecutionProvider"}
        )
    pooled = MultiVectorEncoder(str(bert), device="cpu")
    pooled.append(HierarchicalTokenPooling(pool_factor=2))
    pooled.save(str(tmp_path / "pooled"))
    with pytest.raises(InputError, match="HierarchicalTokenPooling"):
        sbert.MultiVectorEncoder(str(tmp_path / "pooled"), backend="onnx")
    model = sbert.MultiVectorEncoder(str(bert), backend="onnx")
    with pytest.raises(InputError, match="backend='torch'"):
        model.train()
    with pytest.raises(InputError, match="backend='torch' to save"):  # converted on load: saved from torch
        sbert.MultiVectorEncoder(str(folders["pylate-3"]), backend="onnx").save(str(tmp_path / "saved"))


@pytest.mark.filterwarnings("ignore:One or more queries filled")
def test_saves_what_a_torch_load_saves(folders, tmp_path):
    """save() on ONNX, without torch: the torch load's files (the graph cache left out), with the model's
    settings as they are now; sentence-transformers loads it and encodes as from the original folder."""
    from sentence_transformers import MultiVectorEncoder

    source = folders["fixed"]
    code = BLOCK_TORCH + (
        "from sbert import MultiVectorEncoder\n"
        "model = MultiVectorEncoder(sys.argv[1], backend='onnx', prompts={'query': 'q: '})\n"
        "model[0].max_seq_length, model[0].query_length = 20, 12\n"
        "model.save(sys.argv[2])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(source), str(tmp_path / "onnx")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[]")
    sbert.MultiVectorEncoder(str(source), device="cpu").save(str(tmp_path / "torch"))
    files = [
        sorted(str(p.relative_to(f)) for p in f.rglob("*")) for f in (tmp_path / "onnx", tmp_path / "torch")
    ]
    assert files[0] == files[1]
    saved = MultiVectorEncoder(str(tmp_path / "onnx"), device="cpu")
    original = MultiVectorEncoder(str(source), device="cpu", prompts={"query": "q: "})
    original.max_seq_length, original[0].query_length = 20, 12
    assert saved.prompts == original.prompts and saved.max_seq_length == 20 and saved[0].query_length == 12
    for method in ("encode_query", "encode_document"):
        long_texts = [text * 3 for text in DOCUMENTS]
        _assert_same(getattr(saved, method)(long_texts), getattr(original, method)(long_texts))


def test_card_metadata_as_on_torch(folders):
    """The card data's model metadata (the query and document lengths its template prints) reads the ONNX
    stand-ins as the torch modules they stand for: as on torch and in sentence-transformers."""
    from sentence_transformers import MultiVectorEncoder

    found = [
        model.model_card_data.get_model_specific_metadata()
        for model in (
            sbert.MultiVectorEncoder(str(folders["fixed"]), backend="onnx"),
            sbert.MultiVectorEncoder(str(folders["fixed"]), backend="torch"),
        )
    ]
    theirs = MultiVectorEncoder(
        str(folders["fixed"]), device="cpu"
    ).model_card_data.get_model_specific_metadata()
    keys = ("query_length", "document_length", "model_max_length", "output_dimensionality")
    assert [{k: f[k] for k in keys} for f in found] == [{k: theirs[k] for k in keys}] * 2
    assert found[0]["query_length"] == 10 and found[0]["document_length"] == 12


def test_evaluators_score_without_torch(folders, tmp_path):
    """A retrieval and a triplet evaluator on a backend='onnx' model with torch unimportable score with the
    numpy MaxSim: the metrics of sentence-transformers' evaluators on its torch model (1e-5)."""
    import json

    from sentence_transformers.multi_vector_encoder.evaluation import (
        MultiVectorInformationRetrievalEvaluator as ReferenceRetrieval,
    )
    from sentence_transformers.multi_vector_encoder.evaluation import (
        MultiVectorTripletEvaluator as ReferenceTriplet,
    )

    queries = {f"q{i}": text for i, text in enumerate(QUERIES)}
    corpus = {f"d{i}": text for i, text in enumerate(DOCUMENTS)}
    relevant = {f"q{i}": {f"d{i}"} for i in range(len(QUERIES))}
    triplet = (QUERIES, DOCUMENTS[: len(QUERIES)], DOCUMENTS[-len(QUERIES) :])
    listed = {k: list(v) for k, v in relevant.items()}
    setup = json.dumps({"queries": queries, "corpus": corpus, "relevant": listed, "triplet": triplet})
    out = tmp_path / "metrics.json"
    code = BLOCK_TORCH + (
        "import json\n"
        "from sbert import MultiVectorEncoder\n"
        "from sbert.multi_vector_encoder.evaluation import (\n"
        "    MultiVectorInformationRetrievalEvaluator, MultiVectorTripletEvaluator)\n"
        "data = json.loads(sys.argv[3])\n"
        "model = MultiVectorEncoder(sys.argv[1], backend='onnx')\n"
        "relevant = {k: set(v) for k, v in data['relevant'].items()}\n"
        "ir = MultiVectorInformationRetrievalEvaluator(\n"
        "    data['queries'], data['corpus'], relevant, name='ir')\n"
        "triplet = MultiVectorTripletEvaluator(*data['triplet'], name='t')\n"
        "json.dump({**ir(model), **triplet(model)}, open(sys.argv[2], 'w'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folders["pylate-3"]), str(out), setup],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[]")
    reference = _reference(folders["pylate-3"])
    expected = {
        **ReferenceRetrieval(queries, corpus, relevant, name="ir")(reference),
        **ReferenceTriplet(*triplet, name="t")(reference),
    }
    ours = json.loads(out.read_text())
    assert ours.keys() == expected.keys()
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, abs=TOL), key
