"""Calls real client libraries of sentence-transformers make, written out here without the library (CI does
not install them), against sentence-transformers itself: same results, and no Python warning where
sentence-transformers gives none (a library's users may run with ``-W error``)."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch
from conftest import build_tiny_classifier, classic_pooling

import sbert

QUERY = "the cat sat on the mat"
DOCUMENTS = ["a dog runs", "the cat sat on the mat", "red car fast", "she is happy", "the cat"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("clients") / "ce")


def haystack_ranker_model(cls, path):
    """haystack's SentenceTransformersSimilarityRanker.warm_up (sentence-transformers-haystack 2.0)."""
    return cls(
        model_name_or_path=str(path),
        device="cpu",
        token=None,
        trust_remote_code=False,
        model_kwargs=None,
        processor_kwargs=None,
        config_kwargs=None,
        backend="torch",
    )


def haystack_rank(model, activation_fn):
    """SentenceTransformersSimilarityRanker.run: ``rank`` with ``convert_to_numpy=True`` on every call."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return model.rank(
            query=QUERY,
            documents=DOCUMENTS,
            batch_size=2,
            activation_fn=activation_fn,
            convert_to_numpy=True,
            return_documents=False,
        )


@pytest.mark.parametrize("activation", [torch.nn.Sigmoid, torch.nn.Identity])
def test_haystack_similarity_ranker_rank_call_gives_no_warning(classifier, activation, caplog):
    from sentence_transformers import CrossEncoder as Reference

    ours = haystack_ranker_model(sbert.CrossEncoder, classifier)
    ref = haystack_ranker_model(Reference, classifier)
    with caplog.at_level(logging.WARNING, logger="sbert"):
        ranked = [haystack_rank(ours, activation()) for _ in range(2)]
    expected = haystack_rank(ref, activation())
    for result in ranked:
        assert [r["corpus_id"] for r in result] == [r["corpus_id"] for r in expected]
        assert [r["score"] for r in result] == pytest.approx([r["score"] for r in expected], abs=1e-5)
        assert all(type(r["score"]) is type(e["score"]) for r, e in zip(result, expected))
    # sbert's records only: sentence-transformers' own rank above logs the same words
    ours_logged = [r for r in caplog.records if r.name.startswith("sbert")]
    notes = [r for r in ours_logged if "`convert_to_numpy` argument is deprecated" in r.getMessage()]
    assert len(notes) <= 1  # logged once per process, as sentence-transformers' warning_once


def chonkie_tokenizer_calls(tokenizer):
    """chonkie 1.7's AutoTokenizer (behind SemanticChunker and LateChunker, which pass it
    ``model.tokenizer``): a class path holding "transformers" picks its transformers adapter; anything
    else callable becomes a bare token counter, whose ``encode`` raises and whose counts are whatever
    calling the tokenizer returns."""
    assert "transformers" in str(type(tokenizer))
    text = "The cat sat on the mat. Stock markets fell sharply today!"
    ids = tokenizer.encode(text, add_special_tokens=False)
    batch = tokenizer([text, "hello world"], add_special_tokens=False)["input_ids"]
    return {
        "encode": list(ids),
        # the tiny BERT's tokenizer.json has no decoder: transformers 5 decodes a BertTokenizer with its own
        # WordPiece decoder all the same ("mat." rather than "mat .")
        "decode": tokenizer.decode(ids),
        "encode_batch": [list(x) for x in batch],
        "decode_batch": tokenizer.batch_decode([list(ids), list(ids[:3])], skip_special_tokens=True),
        # SentenceTransformerEmbeddings.count_tokens_batch
        "count_batch": [len(x) for x in tokenizer([text, "hi"])["input_ids"]],
    }


def test_chonkie_recognises_the_tokenizer_as_a_transformers_one(tiny_st_factory):
    import pickle

    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    ours = sbert.SentenceTransformer(folder).tokenizer
    assert chonkie_tokenizer_calls(ours) == chonkie_tokenizer_calls(Reference(str(folder)).tokenizer)
    # the class is found under its path: the tokenizer still pickles (multi-process workers, caches)
    assert chonkie_tokenizer_calls(pickle.loads(pickle.dumps(ours))) == chonkie_tokenizer_calls(ours)


def dynamic_int8(model):
    """infinity-emb 0.0.78's quant_interface on a CPU (``dtype=int8``): the Linear layers dynamically
    quantized; torch's own deprecation of that API is not the client's to fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.quantization.quantize_dynamic(model.to("cpu"), {torch.nn.Linear}, dtype=torch.qint8)


@pytest.mark.parametrize("name", ["auto_model", "model"])
def test_infinity_embedder_swaps_in_a_quantized_encoder(tiny_st_factory, name):
    """infinity-emb's SentenceTransformerPatched replaces ``model[0].auto_model`` by a quantized (or compiled,
    or BetterTransformer) encoder, then runs ``forward(tokenize(texts))``: the replacement must be what runs,
    on the padded batch, as in sentence-transformers (whose 6.x module reads the encoder as ``model``)."""
    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    texts = ["hello world", "a much longer sentence about cats and dogs in the park", "x"]
    ref = Reference(str(folder), device="cpu")
    ref[0].model = dynamic_int8(ref[0].model)
    ours = sbert.SentenceTransformer(folder, device="cpu")
    setattr(ours._first_module(), name, dynamic_int8(ours._first_module().auto_model))
    assert ours[0].model is ours[0].auto_model
    with torch.no_grad():
        expected = ref.forward(ref.tokenize(texts))["sentence_embedding"]
        got = ours.forward(ours.tokenize(texts))["sentence_embedding"]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.encode(texts, convert_to_tensor=True), expected, atol=1e-5, rtol=0)


def test_infinity_reranker_construction_and_quantized_model(classifier):
    """infinity-emb's CrossEncoderPatched: ``CrossEncoder(path, ..., automodel_args=...)`` (an older name,
    which sentence-transformers logs: no Python warning), then ``self.model = quantize(self.model)`` and
    logits from ``self.model(**self.tokenizer(pairs, ...))``."""
    from sentence_transformers import CrossEncoder as Reference

    pairs = [["a cat", "the cat sat on the mat"], ["a cat", "dogs run in the big park today"]]

    def load(cls):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            options = {"revision": None, "trust_remote_code": False, "device": "cpu"}
            return cls(str(classifier), **options, automodel_args={})

    ours, ref = load(sbert.CrossEncoder), load(Reference)
    quantized_ref = dynamic_int8(ref.model)
    ours.model = dynamic_int8(ours.model)
    features = ours.tokenizer(pairs, padding=True, truncation="longest_first", return_tensors="pt")
    with torch.no_grad():
        expected = quantized_ref(**features, return_dict=True)["logits"]
        got = ours.model(**features, return_dict=True)["logits"]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    # and the cross-encoder scores with it from then on
    scores = ours.predict(pairs, activation_fn=torch.nn.Identity())
    assert scores == pytest.approx(expected.flatten().numpy(), abs=1e-5)


def test_instructor_embedding_reads_the_target_device(tiny_st_factory, caplog):
    """InstructorEmbedding 1.0.1's INSTRUCTOR.encode (a SentenceTransformer subclass) takes
    ``self._target_device`` (sentence-transformers 2's name for ``device``, still there, deprecated and
    logged), moves the model there and runs ``forward`` on ``batch_to_device(tokenize(...))``."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.util import batch_to_device

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    texts = ["Represent the query: a cat", "x"]

    def encode(model):
        device = model._target_device
        model.to(device)
        model._target_device = device  # the setter moves the model, as there
        with torch.no_grad():
            return model.forward(batch_to_device(model.tokenize(texts), device))["sentence_embedding"]

    with caplog.at_level(logging.WARNING):
        got = encode(sbert.SentenceTransformer(folder, device="cpu"))
    expected = encode(Reference(str(folder), device="cpu"))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert "`SentenceTransformer._target_device` has been deprecated" in caplog.text


def vecs_text_embedding(cls, path):
    """vecs 0.4's adapter ``TextEmbedding(model=..., use_auth_token=...)``: the older token keyword, then
    ``get_sentence_embedding_dimension``; the Python warnings it gets, as its users see them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = cls(str(path), use_auth_token="hf_token")
        model.get_sentence_embedding_dimension()
    return [(w.category, str(w.message)) for w in caught]


def test_vecs_older_token_keyword_warns_in_sentence_transformers_words(tiny_st_factory):
    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    assert vecs_text_embedding(sbert.SentenceTransformer, folder) == vecs_text_embedding(Reference, folder)


def test_mlflow_pyfunc_unknown_output_value_is_a_key_error_as_there(tiny_st_factory):
    """mlflow's sentence_transformers pyfunc hands ``params`` to ``encode``; an ``output_value`` the model
    has no output of raises a KeyError in sentence-transformers (the output lookup), which callers catch."""
    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    for model in (Reference(str(folder)), sbert.SentenceTransformer(folder)):
        with pytest.raises(KeyError):
            model.encode(["a cat"], output_value="sentence_embeddings")
    with pytest.raises(sbert.InputError, match="output_value must be one of"):  # and sbert's own message
        sbert.SentenceTransformer(folder).encode(["a cat"], output_value="nope")


def pyterrier_dr_query_embeddings(model, texts):
    """pyterrier-dr 0.8's ``SBertBiEncoder.encode_queries_torch``: the tokenizer's batch moved with
    ``.to(model.device)`` (transformers' ``BatchEncoding.to``), then ``forward`` with gradients on."""
    inputs = model.tokenizer(texts, return_tensors="pt", truncation=True, padding=True).to(model.device)
    return inputs, model.forward(inputs)["sentence_embedding"]


def test_pyterrier_dr_moves_the_tokenizer_batch_to_the_model_device(tiny_st_factory):
    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    texts = ["a cat sat", "the bank raised interest rates today"]
    ours = sbert.SentenceTransformer(folder, device="cpu").eval()
    inputs, got = pyterrier_dr_query_embeddings(ours, texts)
    ref_inputs, expected = pyterrier_dr_query_embeddings(Reference(str(folder), device="cpu").eval(), texts)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert got.requires_grad and expected.requires_grad
    assert sorted(inputs) == sorted(ref_inputs)
    assert inputs.to(torch.device("cpu")) is inputs  # moved in place, the batch returned, as there
    # a dtype is not a device: the token ids stay integers (transformers logs that it is not supported)
    assert inputs.to(torch.float16)["input_ids"].dtype == ref_inputs.to(torch.float16)["input_ids"].dtype


def datadreamer_embedder_model(cls, folder):
    """datadreamer 0.46's ``SentenceTransformersEmbedder.model``: the Transformer's tokenizer replaced by a
    transformers one (``model[0].tokenizer = get_tokenizer(...)``, which sentence-transformers 5 allowed)."""
    from transformers import AutoTokenizer

    model = cls(str(folder), device="cpu")
    model[0].tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return model


def test_datadreamer_replaces_the_tokenizer_with_a_transformers_one(tiny_st_factory):
    from sentence_transformers import SentenceTransformer as Reference
    from transformers import AutoTokenizer

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    texts = ["a cat sat", "the bank raised interest rates today " * 40]
    reference = Reference(str(folder), device="cpu")
    expected = reference.encode(texts, batch_size=2, normalize_embeddings=True)
    ours = datadreamer_embedder_model(sbert.SentenceTransformer, folder)
    # encoded at the module's token limit as before (the long text is cut there), counted as transformers
    assert ours.max_seq_length == reference.max_seq_length
    got = ours.encode(texts, batch_size=2, normalize_embeddings=True, convert_to_numpy=True)
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected), atol=1e-5, rtol=0)
    transformers_tokenizer = AutoTokenizer.from_pretrained(str(folder))
    assert ours.tokenizer.encode(texts[0]) == transformers_tokenizer.encode(texts[0])
    # the model's own setter, which sentence-transformers has, puts it on the first module the same way
    ours.tokenizer = transformers_tokenizer
    again = ours.encode(texts, batch_size=2, normalize_embeddings=True, convert_to_numpy=True)
    torch.testing.assert_close(torch.from_numpy(again), torch.from_numpy(expected), atol=1e-5, rtol=0)


def ragas_hf_embeddings(lib, st_path, ce_path):
    """ragas 0.4's HuggingfaceEmbeddings: ``encode_kwargs`` gets ``convert_to_tensor=True`` and goes to
    ``encode`` (with ``normalize_embeddings=True``) or to a cross-encoder's ``predict``; each asserts the
    model's class, imported by its old class paths, and that a Tensor comes back."""
    import importlib

    name = lib.__name__
    bi_cls = importlib.import_module(f"{name}.SentenceTransformer").SentenceTransformer
    ce_cls = importlib.import_module(f"{name}.cross_encoder").CrossEncoder
    encode_kwargs = {"convert_to_tensor": True}
    bi = lib.SentenceTransformer(str(st_path), cache_folder=None)
    ce = lib.CrossEncoder(str(ce_path))
    assert isinstance(bi, bi_cls) and isinstance(ce, ce_cls)
    embeddings = bi.encode(DOCUMENTS, normalize_embeddings=True, **encode_kwargs)
    scores = ce.predict([[QUERY, d] for d in DOCUMENTS], **encode_kwargs)
    assert isinstance(embeddings, torch.Tensor) and isinstance(scores, torch.Tensor)
    return embeddings.tolist(), scores.tolist()


def test_ragas_huggingface_embeddings_calls(tiny_st_factory, classifier):
    import sentence_transformers

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # sentence-transformers' own, on its old paths
        expected = ragas_hf_embeddings(sentence_transformers, folder, classifier)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ragas_hf_embeddings(sbert, folder, classifier)
    for ours, ref in zip(got, expected):
        torch.testing.assert_close(torch.tensor(ours), torch.tensor(ref), atol=1e-5, rtol=0)
