"""Log records client libraries meet when they load and call models as sentence-transformers 6.3 is called:
chromadb's and txtai's keyword arguments (``tokenizer_kwargs``, prompts with a default name), LangChain's
and haystack's ``precision=`` on a few texts, haystack's ranker. sbert logs the same messages (on its own
loggers) and gives the same numbers; written out here without the libraries, compared with
sentence-transformers itself."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, classic_pooling

import sbert

TEXTS = ["a dog runs in the park", "the cat sat on the mat", "red car drives fast", "she is happy today"]
PROMPTS = {"query": "query: ", "document": "passage: "}


@pytest.fixture(scope="module")
def embedder(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("client-logs") / "ce")


def test_chromadb_and_txtai_loading_keywords_log_as_sentence_transformers(embedder, warnings_logged):
    """chromadb's SentenceTransformerEmbeddingFunction(**kwargs) and txtai's ``vectors`` config pass these
    straight to the constructor: the older ``tokenizer_kwargs`` name and the default prompt are logged."""
    from sentence_transformers import SentenceTransformer as Reference

    options = {
        "device": "cpu",
        "tokenizer_kwargs": {"model_max_length": 8},
        "prompts": PROMPTS,
        "default_prompt_name": "document",
    }
    ours, logged = warnings_logged(lambda: sbert.SentenceTransformer(str(embedder), **options))
    ref, expected = warnings_logged(lambda: Reference(str(embedder), **options))
    assert logged == expected and len(expected) == 2
    assert ours.max_seq_length == ref.max_seq_length == 8
    np.testing.assert_allclose(ours.encode(TEXTS), ref.encode(TEXTS), atol=1e-5)
    # processor_kwargs given too wins, the older name is dropped (haystack passes processor_kwargs)
    both = {"tokenizer_kwargs": {"model_max_length": 8}, "processor_kwargs": {"model_max_length": 12}}
    assert (
        sbert.SentenceTransformer(str(embedder), **both).max_seq_length
        == Reference(str(embedder), **both).max_seq_length
    )


def test_cross_encoder_and_sparse_encoder_loading_keywords_log_as_sentence_transformers(
    classifier, masked_lm, warnings_logged
):
    from sentence_transformers import CrossEncoder as Reference
    from sentence_transformers import SparseEncoder as SparseReference

    options = {
        "tokenizer_kwargs": {"model_max_length": 8},
        "prompts": PROMPTS,
        "default_prompt_name": "query",
    }
    ours, logged = warnings_logged(lambda: sbert.CrossEncoder(str(classifier), **options))
    ref, expected = warnings_logged(lambda: Reference(str(classifier), **options))
    assert logged == expected and len(expected) == 2
    pairs = [("a cat", t) for t in TEXTS]
    np.testing.assert_allclose(ours.predict(pairs), ref.predict(pairs), atol=1e-5)
    _, logged = warnings_logged(lambda: sbert.SparseEncoder(str(masked_lm), **options))
    _, expected = warnings_logged(lambda: SparseReference(str(masked_lm), **options))
    assert logged == expected and len(expected) == 2


def test_older_cross_encoder_names_log_sentence_transformers_words(classifier, warnings_logged):
    from sentence_transformers import CrossEncoder as Reference

    older = {
        "automodel_args": {},
        "tokenizer_args": {"model_max_length": 8},
        "default_activation_function": torch.nn.Identity(),
        "classifier_dropout": 0.0,
    }
    _, logged = warnings_logged(lambda: sbert.CrossEncoder(model_name=str(classifier), **older))
    _, expected = warnings_logged(lambda: Reference(model_name=str(classifier), **older))
    assert sorted(logged) == sorted(expected) and len(expected) == 5


def test_haystack_ranker_rank_keyword_logged_in_sentence_transformers_words(classifier, warnings_logged):
    """haystack's SentenceTransformersSimilarityRanker.run calls ``rank(..., convert_to_numpy=True)``."""
    from sentence_transformers import CrossEncoder as Reference

    def rank(model):
        return model.rank("a cat", TEXTS, batch_size=2, convert_to_numpy=True, return_documents=False)

    ours, ref = sbert.CrossEncoder(str(classifier)), Reference(str(classifier))
    got, logged = warnings_logged(lambda: rank(ours))
    want, expected = warnings_logged(lambda: rank(ref))
    assert logged == expected and len(expected) == 1
    assert [r["corpus_id"] for r in got] == [r["corpus_id"] for r in want]


@pytest.mark.parametrize(
    ("kind", "method"),
    [("CrossEncoder", "predict"), ("SentenceTransformer", "encode"), ("SparseEncoder", "encode_query")],
)
def test_texts_named_sentences_logged_once_as_sentence_transformers(
    embedder, classifier, masked_lm, warnings_logged, kind, method
):
    """beir calls ``predict(sentences=pairs)``, many scripts ``encode(sentences=texts)``:
    sentence-transformers 6 logs the older keyword once per process; texts given by position log nothing."""
    import sentence_transformers

    folder = {"CrossEncoder": classifier, "SentenceTransformer": embedder, "SparseEncoder": masked_lm}[kind]
    texts = [("a cat", t) for t in TEXTS] if kind == "CrossEncoder" else TEXTS
    ours, ref = getattr(sbert, kind)(str(folder)), getattr(sentence_transformers, kind)(str(folder))

    def twice(model):
        return [getattr(model, method)(sentences=texts) for _ in range(2)]

    (got, logged), (want, expected) = (
        warnings_logged(lambda: twice(ours)),
        warnings_logged(lambda: twice(ref)),
    )
    assert logged == expected and len(expected) == 1
    got, want = (torch.as_tensor(x[0]).to_dense() for x in (got, want))
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    assert warnings_logged(lambda: getattr(ours, method)(texts))[1] == []


@pytest.mark.parametrize("precision", ["int8", "uint8"])
def test_precision_on_a_few_texts_logs_and_refuses_as_sentence_transformers(
    embedder, precision, warnings_logged
):
    """LangChain's embed_documents / embed_query with encode_kwargs={"precision": ...}, haystack's document
    embedder with precision=: buckets from the batch itself, which sentence-transformers warns about, and a
    single text refused in its words."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import quantize_embeddings as reference_quantize

    ours, ref = sbert.SentenceTransformer(str(embedder)), Reference(str(embedder))
    floats = ref.encode(TEXTS)
    # the buckets of the same floats (encode's own may differ by 1e-7, which moves a code at a bucket's edge)
    got, logged = warnings_logged(lambda: sbert.quantize_embeddings(floats, precision))
    want, expected = warnings_logged(lambda: reference_quantize(floats, precision))
    np.testing.assert_array_equal(got, want)
    assert logged == expected and len(expected) == 1
    _, logged = warnings_logged(lambda: ours.encode(TEXTS, precision=precision))
    assert logged == expected
    with pytest.raises(ValueError) as ours_error:
        ours.encode(["a cat"], precision=precision)
    with pytest.raises(ValueError) as ref_error:
        ref.encode(["a cat"], precision=precision)
    assert str(ours_error.value) == str(ref_error.value)


def test_device_type_is_a_plain_string(embedder):
    """chromadb and others read ``model.device.type``: torch gives a ``str``."""
    from sentence_transformers import SentenceTransformer as Reference

    ours, ref = sbert.SentenceTransformer(str(embedder), device="cpu"), Reference(str(embedder), device="cpu")
    assert type(ours.device.type) is type(ref.device.type) is str
    assert ours.device.type == ref.device.type


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_wrong_model_path_raises_as_sentence_transformers(embedder, tmp_path, kind):
    """LangChain's HuggingFaceEmbeddings(model_name=...) with a mistyped path: the same exception class (a
    FileNotFoundError, or NotADirectoryError for a file), its message first."""
    from sentence_transformers import SentenceTransformer as Reference

    path = (
        str(tmp_path / "no" / "such" / "model") if kind == "missing" else str(embedder / "model.safetensors")
    )
    with pytest.raises(OSError) as ours:
        sbert.SentenceTransformer(path)
    with pytest.raises(OSError) as ref:
        Reference(path)
    assert isinstance(ours.value, type(ref.value)) and isinstance(ours.value, sbert.ModelLoadError)
    assert str(ours.value).startswith(str(ref.value).rstrip("."))


def test_a_list_of_token_matrices_calibrates_as_sentence_transformers(warnings_logged):
    """A MultiVectorEncoder's documents quantized together: one log for all their rows, one row refused."""
    from sentence_transformers import quantize_embeddings as reference_quantize

    rng = np.random.default_rng(0)
    matrices = [rng.normal(size=(3, 8)).astype(np.float32), rng.normal(size=(2, 8)).astype(np.float32)]
    got, logged = warnings_logged(lambda: sbert.quantize_embeddings(matrices, "int8"))
    want, expected = warnings_logged(lambda: reference_quantize(matrices, "int8"))
    assert logged == expected and len(expected) == 1
    for ours, ref in zip(got, want):
        np.testing.assert_array_equal(ours, ref)
    with pytest.raises(ValueError) as ours_error:
        sbert.quantize_embeddings([matrices[0][:1]], "uint8")
    with pytest.raises(ValueError) as ref_error:
        reference_quantize([matrices[0][:1]], "uint8")
    assert str(ours_error.value) == str(ref_error.value)


@pytest.mark.parametrize(
    "class_name", ["SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder"]
)
def test_a_plain_hugging_face_folder_loads_without_warnings_and_logs_as_sentence_transformers(
    class_name, tiny_bert, tmp_path, caplog
):
    """A folder without modules.json loads in every model class with sentence-transformers' info record
    "No modules.json found ..." and no warning, so test suites that turn warnings into errors (pytest's
    ``filterwarnings = error``, this one's too) load tiny Hugging Face models with sbert as they do there."""
    import shutil

    import sentence_transformers

    folder = shutil.copytree(tiny_bert, tmp_path / "plain")  # sbert builds its graph into a user's folder

    def infos(library):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            getattr(library, class_name)(str(folder), device="cpu")  # a warning fails the test here
        prefix = "No modules.json found"
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)]

    theirs = infos(sentence_transformers)
    assert theirs == [f"No modules.json found for {folder}, initializing a new {class_name} model."]
    assert infos(sbert) == theirs


def test_cross_encoder_max_length_warns_as_sentence_transformers(classifier):
    """graphiti, lancedb and llama-index read ``CrossEncoder.max_length``, renamed ``max_seq_length`` in
    sentence-transformers 6 and deprecated there: the same DeprecationWarning, at the caller's line."""
    import warnings

    from sentence_transformers import CrossEncoder as Reference

    def caught(model):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            read = model.max_length
            model.max_length = 16
            quiet = model.max_seq_length
        return read, quiet, [(w.category, str(w.message)) for w in seen], seen[0].filename if seen else None

    # the setter's warning: torch's nn.Module.__setattr__ line there, the caller's here
    ours, theirs = caught(sbert.CrossEncoder(str(classifier))), caught(Reference(str(classifier)))
    assert ours == theirs and len(theirs[2]) == 2 and theirs[3] == __file__ and ours[1] == 16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repr(sbert.CrossEncoder(str(classifier)))  # sbert's own reads of the older name stay quiet


def renamed_dimension_warnings(model):
    """The width through the older method name, and the warnings that call raised (category, words, file)."""
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        width = model.get_sentence_embedding_dimension()
    return width, [(w.category, str(w.message), w.filename) for w in seen]


def test_older_embedding_dimension_name_warns_as_sentence_transformers(embedder):
    """camel, chonkie, flair, langroid, mem0, nemoguardrails and txtai call the older
    ``get_sentence_embedding_dimension()``: a FutureWarning in sentence-transformers 6.3, at the caller."""
    from sentence_transformers import SentenceTransformer as Reference

    ours = renamed_dimension_warnings(sbert.SentenceTransformer(str(embedder)))
    theirs = renamed_dimension_warnings(Reference(str(embedder), device="cpu"))
    assert ours == theirs and len(theirs[1]) == 1 and theirs[1][0][2] == __file__
    truncated = sbert.SentenceTransformer(str(embedder), truncate_dim=8)
    assert renamed_dimension_warnings(truncated)[0] == truncated.get_embedding_dimension() == 8


@pytest.mark.parametrize(
    "class_name", ["SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder"]
)
def test_no_device_given_logs_the_default_device_as_sentence_transformers(
    class_name, tiny_bert, tmp_path, caplog
):
    """deepchecks' ``calculate_builtin_embeddings`` (``device=None``) and scripts that leave the device out
    get sentence-transformers' info record "No device provided, using cpu" on its model logger, before the
    load notices; a device passed gives none."""
    import shutil

    import sentence_transformers

    folder = shutil.copytree(tiny_bert, tmp_path / "plain")

    def infos(library, **device):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="sentence_transformers.base.model"):
            getattr(library, class_name)(str(folder), **device)
        return [r.getMessage() for r in caplog.records if r.name == "sentence_transformers.base.model"]

    theirs = infos(sentence_transformers)
    assert theirs[0].startswith("No device provided, using ")
    assert infos(sbert) == theirs
    theirs = infos(sentence_transformers, device="cpu")
    assert not any(m.startswith("No device provided") for m in theirs)
    assert infos(sbert, device="cpu") == theirs


@pytest.mark.parametrize(
    "class_name", ["SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder"]
)
def test_device_beside_a_device_map_warns_as_sentence_transformers(class_name, tiny_bert, tmp_path, caplog):
    """xinference loads its gte-Qwen2 and Qwen3 embedders with ``device=`` and ``model_kwargs={"device_map":
    "auto"}``: sentence-transformers warns on its model logger that the device is ignored; no warning with
    only one of the two, nor on another backend."""
    import shutil

    import sentence_transformers

    folder = shutil.copytree(tiny_bert, tmp_path / "plain")

    def warnings_logged(library, **options):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="sentence_transformers.base.model"):
            getattr(library, class_name)(str(folder), **options)
        return [r.getMessage() for r in caplog.records if r.name == "sentence_transformers.base.model"]

    both = {"device": "cpu", "model_kwargs": {"device_map": "auto"}}
    theirs = warnings_logged(sentence_transformers, **both)
    assert theirs == ["Ignoring `device=cpu` because `model_kwargs['device_map']` takes priority."]
    assert warnings_logged(sbert, **both) == theirs
    for options in ({"device": "cpu"}, {"model_kwargs": {"device_map": "auto"}}):
        assert warnings_logged(sbert, **options) == warnings_logged(sentence_transformers, **options) == []


def test_load_notice_names_a_bare_hub_name_as_it_resolved(
    embedder, classifier, tmp_path, monkeypatch, caplog
):
    """deepchecks loads ``SentenceTransformer("all-MiniLM-L6-v2")``: sentence-transformers' "Loading ...
    model from <name>." names the repository the bare name resolved to ("sentence-transformers/..."), as
    CrossEncoder's names its "cross-encoder/..." one."""
    import shutil

    import huggingface_hub.constants
    import sentence_transformers

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    cache, sha = tmp_path / "hub", "0123456789abcdef0123456789abcdef01234567"
    for repo_id, folder in (
        ("sentence-transformers/tiny-st", embedder),
        ("cross-encoder/tiny-ce", classifier),
    ):
        repo = cache / f"models--{repo_id.replace('/', '--')}"
        shutil.copytree(folder, repo / "snapshots" / sha)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(sha)

    def infos(library, class_name, name):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="sentence_transformers.base.model"):
            getattr(library, class_name)(name, device="cpu", cache_folder=str(cache), local_files_only=True)
        return [r.getMessage() for r in caplog.records if r.name == "sentence_transformers.base.model"]

    for class_name, name in (("SentenceTransformer", "tiny-st"), ("CrossEncoder", "tiny-ce")):
        theirs = infos(sentence_transformers, class_name, name)
        assert any(f"/{name}" in message for message in theirs), theirs
        assert infos(sbert, class_name, name) == theirs
