"""sentence-transformers' API spelled as its users write it: module constructors' keywords (Pooling, Dense,
Transformer), settings saved with the model (truncate_dim, prompts), similarity types that follow the input,
the SimilarityFunction enum, the model's helper methods, and evaluators called as its trainer calls them.

Each is compared with sentence-transformers itself on the tiny random models of conftest.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import warnings

import numpy as np
import pytest
import torch
from conftest import SENTENCES, classic_pooling

from sbert import (
    EmbeddingSimilarityEvaluator,
    InputError,
    SentenceTransformer,
    SequentialEvaluator,
    SimilarityFunction,
    models,
)

DIM = 32


def reference(path, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    return ReferenceModel(str(path), device="cpu", **kwargs)


def st_models():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sentence_transformers import models as st

    return st


def read_csv(path):
    with path.open(newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def mean_path(tiny_st_factory):
    return tiny_st_factory(classic_pooling(DIM, "mean"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pooling_mode": "max"},
        {"pooling_mode": ["cls", "mean"]},
        {"pooling_mode_cls_token": True},
        {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False},
        {"pooling_mode_max_tokens": True, "pooling_mode_mean_tokens": True},
        {"pooling_mode_mean_tokens": False},
        {"pooling_mode": "lasttoken", "pooling_mode_cls_token": True},
    ],
)
def test_pooling_takes_sentence_transformers_keywords(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = st_models().Pooling(DIM, **kwargs)
    with warnings.catch_warnings(record=True) as caught:  # the classic flags: a FutureWarning, as there
        warnings.simplefilter("always")
        ours = models.Pooling(DIM, **kwargs)
        named = models.Pooling(embedding_dimension=DIM, **kwargs)
    assert {w.category for w in caught} == ({FutureWarning} if set(kwargs) - {"pooling_mode"} else set())
    assert ours.pooling_mode == ref.pooling_mode
    assert ours.get_embedding_dimension() == ref.get_embedding_dimension()
    assert named.pooling_mode == ref.pooling_mode and named.embedding_dimension == DIM
    assert models.Pooling(word_embedding_dimension=DIM).get_embedding_dimension() == DIM


def test_pooling_refuses_unknown_keywords_and_modes():
    with pytest.raises(TypeError, match="pooling_mode_foo"):
        models.Pooling(DIM, pooling_mode_foo=True)
    with pytest.raises(InputError, match="avg"):
        models.Pooling(DIM, pooling_mode="avg")
    with pytest.raises(TypeError, match="embedding_dimension"):
        models.Pooling()


def test_modules_built_with_sentence_transformers_keywords_encode_as_sentence_transformers(
    tiny_bert, tmp_path
):
    """The same pipeline built with the same calls in both libraries, the same weights: the same numbers."""
    st = st_models()
    weight = torch.randn(8, DIM, generator=torch.Generator().manual_seed(0))
    bias = torch.randn(8, generator=torch.Generator().manual_seed(1))

    def build(lib, model_class):
        return model_class(
            modules=[
                lib.Transformer(str(tiny_bert), model_kwargs={"attn_implementation": "eager"}),
                lib.Pooling(DIM, pooling_mode="mean"),
                lib.Dense(DIM, 8, activation_function=torch.tanh, init_weight=weight, init_bias=bias),
                lib.Normalize(),
            ],
            device="cpu",
        )

    from sentence_transformers import SentenceTransformer as ReferenceModel

    ours, ref = build(models, SentenceTransformer), build(st, ReferenceModel)
    np.testing.assert_allclose(ours.encode(SENTENCES), ref.encode(SENTENCES), atol=1e-5, rtol=0)


def test_dense_activation_functions_and_initial_values():
    assert models.Dense(4, 2, activation_function=torch.nn.functional.gelu).activation_name.endswith("GELU")
    assert models.Dense(4, 2, True, torch.nn.Identity()).activation_name.endswith("Identity")
    with pytest.raises(InputError, match="save and load safely"):
        models.Dense(4, 2, activation_function=lambda x: x)
    with pytest.raises(InputError, match=r"shape \(2, 4\)"):
        models.Dense(4, 2, init_weight=torch.ones(3, 3))
    with pytest.raises(InputError, match="bias=True"):
        models.Dense(4, 2, bias=False, init_bias=torch.zeros(2))


def test_transformer_takes_the_newer_option_names(tiny_bert):
    encoder = models.Transformer(
        tiny_bert, processor_kwargs={"model_max_length": 9}, config_kwargs={"hidden_dropout_prob": 0.3}
    )
    assert encoder.max_seq_length == 9
    assert encoder.auto_model.config.hidden_dropout_prob == 0.3
    with pytest.raises(TypeError, match="foo_kwargs"):
        models.Transformer(tiny_bert, foo_kwargs={})


@pytest.mark.parametrize("saver", ["sbert", "sentence-transformers"])
def test_truncate_dim_is_saved_with_the_model_and_read_back(mean_path, tmp_path, saver):
    folder = tmp_path / "saved"
    if saver == "sbert":
        SentenceTransformer(mean_path, truncate_dim=8).save(folder)
    else:
        reference(mean_path, truncate_dim=8).save(str(folder))
    ours, ref = SentenceTransformer(folder), reference(folder)
    assert ours.truncate_dim == ref.truncate_dim == 8
    assert ours.encode(SENTENCES).shape == tuple(ref.encode(SENTENCES).shape) == (len(SENTENCES), 8)
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert config["truncate_dim"] == 8 and config["model_type"] == "SentenceTransformer"


def test_model_prompts_helpers_and_similarity_enum_match_sentence_transformers(mean_path):
    ours, ref = SentenceTransformer(mean_path), reference(mean_path)
    assert ours.prompts == ref.prompts == {"query": "", "document": ""}
    assert ours.get_max_seq_length() == ref.get_max_seq_length()
    assert ours.device.type == ref.device.type == "cpu" and ours.device.index == ref.device.index
    assert str(ours.device) == str(ref.device) == "cpu"
    assert type(ours._first_module()).__name__ == type(ref._first_module()).__name__ == "Transformer"
    assert type(ours._last_module()).__name__ == type(ref._last_module()).__name__ == "Pooling"
    dot = SentenceTransformer(mean_path, similarity_fn_name=SimilarityFunction.DOT_PRODUCT)
    from sentence_transformers.util import SimilarityFunction as ReferenceFunction

    # sentence-transformers 6.3 lists the multi-vector (MaxSim) functions too
    assert dot.similarity_fn_name == "dot"
    assert SimilarityFunction.possible_values() == ReferenceFunction.possible_values()
    dot.similarity_fn_name = ref.similarity_fn_name = None  # back to the default
    assert dot.similarity_fn_name == ref.similarity_fn_name == "cosine"


@pytest.mark.parametrize("function", ["cosine", "dot", "euclidean", "manhattan"])
def test_model_similarity_returns_sentence_transformers_tensors(mean_path, function):
    ours = SentenceTransformer(mean_path, similarity_fn_name=function)
    ref = reference(mean_path, similarity_fn_name=function)
    tensors = ours.encode(SENTENCES, convert_to_tensor=True)
    scores, ref_scores = ours.similarity(tensors, tensors), ref.similarity(tensors, tensors)
    assert isinstance(scores, torch.Tensor)  # so scores.argmax(dim=1) and torch.topk work as with ST
    torch.testing.assert_close(scores, ref_scores, atol=1e-5, rtol=1e-5)
    pairwise = ours.similarity_pairwise(tensors, tensors.flip(0))
    torch.testing.assert_close(
        pairwise, ref.similarity_pairwise(tensors, tensors.flip(0)), atol=1e-5, rtol=1e-5
    )
    arrays = ours.encode(SENTENCES)  # numpy in: a tensor out too, as sentence-transformers returns it
    scores, ref_scores = ours.similarity(arrays, arrays), ref.similarity(arrays, arrays)
    assert isinstance(scores, torch.Tensor) and scores.dtype == ref_scores.dtype
    torch.testing.assert_close(scores, ref_scores, atol=1e-4, rtol=1e-5)
    assert ours.similarity_pairwise(arrays[0], arrays[1]).shape == ()  # two vectors: one score


def test_evaluators_take_sentence_transformers_call_and_name_the_primary_metric_as_it(mean_path, tmp_path):
    from sentence_transformers.sentence_transformer.evaluation import (
        EmbeddingSimilarityEvaluator as ReferenceEvaluator,
    )

    a, b = SENTENCES[:-1], SENTENCES[1:]
    gold = [i / len(a) for i in range(len(a))]
    ours = EmbeddingSimilarityEvaluator(a, b, gold, name="sts-dev")
    ref = ReferenceEvaluator(a, b, gold, name="sts-dev")
    model = SentenceTransformer(mean_path)
    results = ours(model, str(tmp_path), 1, 10)
    ref(reference(mean_path))  # sentence-transformers names its primary metric on the first call
    assert ours.primary_metric == ref.primary_metric == "sts-dev_spearman_cosine"
    assert ours.primary_metric in results and ours.greater_is_better
    rows = read_csv(tmp_path / "similarity_evaluation_sts-dev_results.csv")
    assert rows[0][:3] == ["epoch", "steps", "cosine_pearson"] and rows[1][:2] == ["1", "10"]
    SequentialEvaluator([ours])(model, tmp_path, 2, 20)  # appends a row, header once
    rows = read_csv(tmp_path / "similarity_evaluation_sts-dev_results.csv")
    assert len(rows) == 3 and rows[2][:2] == ["2", "20"]
    assert ours(model, None) == ours(model)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding": True},
        {"padding": True, "truncation": True, "max_length": 6, "return_tensors": "pt"},
        {"padding": "max_length", "truncation": True, "max_length": 20, "return_tensors": "np"},
        {"padding": "max_length", "truncation": True, "return_tensors": "np"},  # to the model's limit
        {"truncation": True},
    ],
)
def test_model_tokenizer_answers_as_the_transformers_tokenizer(default_model, st_default_model, options):
    ours, ref = default_model.tokenizer, st_default_model.tokenizer
    texts = ["Hello world, this is a test!", "short", "a longer sentence " * 100]
    mine, theirs = ours(texts, **options), ref(texts, **options)
    assert list(mine) == list(theirs.keys())
    for name in theirs:
        if options.get("return_tensors"):
            assert type(mine[name]) is type(theirs[name])
            np.testing.assert_array_equal(np.asarray(mine[name]), np.asarray(theirs[name]))
        else:
            assert mine[name] == theirs[name]  # lists, ragged without padding
    assert ours("one text") == dict(ref("one text"))
    pairs = ours(["a b", "c"], ["d", "e f"], padding=True, return_tensors="np")
    assert all(
        (pairs[k] == v).all()
        for k, v in ref(["a b", "c"], ["d", "e f"], padding=True, return_tensors="np").items()
    )


@pytest.mark.parametrize(
    "options",
    [{}, {"padding": True}, {"padding": True, "return_tensors": "pt"}, {"text_pair": ["d", "e f", "g"]}],
)
def test_model_tokenizer_offsets_mapping_as_the_transformers_tokenizer(
    default_model, st_default_model, options
):
    """``model.tokenizer(texts, return_offsets_mapping=True, verbose=False)``: each token's characters
    (turftopic's LateSentenceTransformer maps token embeddings back to the text with them)."""
    ours, ref = default_model.tokenizer, st_default_model.tokenizer
    texts = ["Hello wörld, this is a test!", "short", "a longer sentence " * 100]
    mine = ours(texts, return_offsets_mapping=True, verbose=False, **options)
    theirs = ref(texts, return_offsets_mapping=True, verbose=False, **options)
    assert list(mine) == list(theirs.keys())
    for name in theirs:
        assert type(mine[name]) is type(theirs[name])
        if options.get("return_tensors"):
            np.testing.assert_array_equal(np.asarray(mine[name]), np.asarray(theirs[name]))
        else:
            assert mine[name] == theirs[name]  # lists of (start, end) tuples, ragged without padding
    assert ours("one", return_offsets_mapping=True) == dict(ref("one", return_offsets_mapping=True))


def test_model_tokenizer_vocabulary_methods_match_transformers(default_model, st_default_model):
    ours, ref = default_model.tokenizer, st_default_model.tokenizer
    for name in ("pad", "cls", "sep", "unk", "mask", "bos", "eos"):
        assert getattr(ours, f"{name}_token") == getattr(ref, f"{name}_token"), name
        if name not in ("bos", "eos"):
            assert getattr(ours, f"{name}_token_id") == getattr(ref, f"{name}_token_id"), name
    assert ours.is_fast and ours.name_or_path == ref.name_or_path
    assert ours.model_input_names == ref.model_input_names  # setfit builds its batches by them
    ids = ref("Unbelievable tokenization, isn't it?")["input_ids"]
    assert ours.tokenize("Unbelievable tokenization") == ref.tokenize("Unbelievable tokenization")
    assert ours.encode("Hello world") == ref.encode("Hello world")
    assert ours.decode(ids) == ref.decode(ids)
    assert ours.decode(torch.tensor(ids), skip_special_tokens=True) == ref.decode(
        ids, skip_special_tokens=True
    )
    assert ours.batch_decode([ids, ids[:3]]) == ref.batch_decode([ids, ids[:3]])
    assert ours.convert_ids_to_tokens(ids) == ref.convert_ids_to_tokens(ids)
    assert ours.convert_ids_to_tokens(ids[1]) == ref.convert_ids_to_tokens(ids[1])
    assert ours.convert_tokens_to_ids(["hello", "world"]) == ref.convert_tokens_to_ids(["hello", "world"])
    assert len(ours) == len(ref) and ours.vocab_size == ref.vocab_size and ours.vocab == ref.vocab
    with pytest.raises(InputError, match="padding=True"):
        ours(["a", "a b c"], return_tensors="pt")
    ragged = ours(["a", "a b c"], return_tensors="np")["input_ids"]  # numpy: an array of rows
    expected = ref(["a", "a b c"], return_tensors="np")["input_ids"]
    assert ragged.dtype == expected.dtype == object
    assert [row.tolist() for row in ragged] == [row.tolist() for row in expected]
    pair = (["the cat"], ["sat on the mat the cat"])
    assert ours(*pair, truncation="only_second", max_length=6) == dict(
        ref(*pair, truncation="only_second", max_length=6)
    )
    assert ours(["a b c d e f"], max_length=3) == dict(
        ref(["a b c d e f"], max_length=3)
    )  # implies truncation
    assert ours.convert_tokens_to_ids(["zzzqqq", "the"]) == ref.convert_tokens_to_ids(
        ["zzzqqq", "the"]
    )  # unknown
    assert ours.decode(5) == ref.decode(5) and ours("x").input_ids == ref("x").input_ids
    assert ours.encode("a", "b") == ref.encode("a", "b")
    assert ours.encode("a b", add_special_tokens=False) == ref.encode("a b", add_special_tokens=False)


def test_tokenizer_truncation_side_and_backend_tokenizer_as_transformers(default_model_path):
    """``tokenizer.truncation_side = "left"`` cuts long texts from the start from then on (encode too), and
    ``backend_tokenizer`` is the Rust tokenizer, as on a transformers fast tokenizer."""
    ours, ref = SentenceTransformer(default_model_path), reference(default_model_path)
    long_text = " ".join(f"word{i}" for i in range(400))
    for model in (ours, ref):
        model.tokenizer.truncation_side = "left"
        model.max_seq_length = 16
    ids = ours.tokenizer(long_text, truncation=True, max_length=16)["input_ids"]
    assert ids == ref.tokenizer(long_text, truncation=True, max_length=16)["input_ids"]
    np.testing.assert_allclose(ours.encode([long_text]), ref.encode([long_text]), atol=1e-5, rtol=0)
    right = SentenceTransformer(default_model_path)
    right.max_seq_length = 16  # the same limit, cut on the other side: other tokens, another vector
    assert np.abs(ours.encode([long_text]) - right.encode([long_text])).max() > 1e-3
    backend = ours.tokenizer.backend_tokenizer
    assert backend.encode("hello world").ids == ref.tokenizer.backend_tokenizer.encode("hello world").ids
    with pytest.raises(InputError, match="truncation_side must be 'left' or 'right'"):
        ours.tokenizer.truncation_side = "middle"


def test_new_tokens_added_resized_and_saved_as_in_sentence_transformers(default_model_path, tmp_path):
    """The recipe for a vocabulary's new words and markers: ``add_tokens`` / ``add_special_tokens``, then
    ``resize_token_embeddings``; the model then encodes, saves and reloads (sbert, sentence-transformers,
    transformers) with them, as sentence-transformers' does."""
    from transformers import AutoTokenizer

    ours = SentenceTransformer(default_model_path)
    ref = reference(default_model_path)
    tokenizer = ours.tokenizer  # held before the model moves to torch: the same object after
    for model in (ours, ref):
        counts = (
            model.tokenizer.add_tokens(["zzqtoken", "hello", "ZZQ2"]),
            model.tokenizer.add_special_tokens(
                {"additional_special_tokens": ["[QRY]"], "pad_token": "[PAD2]"}
            ),
            model.tokenizer.add_tokens("[DOC]", special_tokens=True),
        )
        model.counts = counts
    assert ours.counts == ref.counts
    text = "ZZQTOKEN zzq2 [QRY] hello [DOC] [qry]"
    assert tokenizer.tokenize(text) == ref.tokenizer.tokenize(text)
    assert tokenizer(text)["input_ids"] == ref.tokenizer(text)["input_ids"]
    assert len(tokenizer) == len(ref.tokenizer) == 30527
    assert tokenizer.all_special_tokens == ref.tokenizer.all_special_tokens
    assert tokenizer.special_tokens_map == ref.tokenizer.special_tokens_map  # merge compares it
    assert tokenizer.all_special_ids == ref.tokenizer.all_special_ids
    assert (tokenizer.pad_token, tokenizer.pad_token_id) == (
        ref.tokenizer.pad_token,
        ref.tokenizer.pad_token_id,
    )
    assert tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True) == ref.tokenizer.decode(
        ref.tokenizer(text)["input_ids"], skip_special_tokens=True
    )

    ref[0].auto_model.resize_token_embeddings(len(ref.tokenizer))
    ours[0].auto_model.resize_token_embeddings(len(tokenizer))
    with torch.no_grad():  # the new rows start random: give both models the same ones
        ours[0].auto_model.get_input_embeddings().weight.copy_(
            ref[0].auto_model.get_input_embeddings().weight
        )
    assert ours.tokenizer is tokenizer
    texts = [text, "a plain sentence"]
    expected = ref.encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(ours.encode(texts), expected, atol=1e-5, rtol=0)

    ours.save(tmp_path / "saved")
    for again in (reference(tmp_path / "saved"), SentenceTransformer(tmp_path / "saved")):
        assert len(again.tokenizer) == 30527 and again.tokenizer.tokenize(text) == ref.tokenizer.tokenize(
            text
        )
        np.testing.assert_allclose(np.asarray(again.encode(texts)), expected, atol=1e-5, rtol=0)
    files = tokenizer.save_pretrained(tmp_path / "tokenizer")
    assert str(tmp_path / "tokenizer" / "tokenizer.json") in files
    plain = AutoTokenizer.from_pretrained(tmp_path / "tokenizer")
    assert plain.all_special_tokens == ref.tokenizer.all_special_tokens and plain.tokenize(
        text
    ) == ref.tokenizer.tokenize(text)
    with pytest.raises(InputError, match="not special-token keys"):
        tokenizer.add_special_tokens({"query_token": "[Q]"})


def test_a_model_that_cannot_load_is_an_oserror_as_in_sentence_transformers(tmp_path):
    from sbert import ModelLoadError

    missing = tmp_path / "no-such-model"
    with pytest.raises(OSError) as ref:
        reference(missing, local_files_only=True)
    with pytest.raises(OSError) as ours:  # code written as `except OSError:` for sentence-transformers
        SentenceTransformer(missing, local_files_only=True)
    assert isinstance(ref.value, OSError) and isinstance(ours.value, ModelLoadError)
    assert str(missing) in str(ours.value)


def test_encode_multi_process_warns_and_calls_encode_as_sentence_transformers_does(mean_path):
    """Its older name: the same DeprecationWarning at the caller's line, and the same encode call (its
    parameters positionally, in its order; a numpy array of sentence embeddings), recorded without a pool."""

    def run(model):
        calls = []
        model.encode = lambda *args, **kwargs: calls.append((args, kwargs))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.encode_multi_process(["a b", "c"], "pool", "query", None, 4, 2, False, "int8", True, 8)
        shown = [(w.category, str(w.message), w.filename) for w in caught]
        return calls, shown

    ref_calls, ref_shown = run(reference(mean_path))
    calls, shown = run(SentenceTransformer(mean_path, device="cpu"))
    assert shown == ref_shown and ref_shown[0][2] == __file__
    assert calls == ref_calls


def test_torch_dynamic_quantization_of_the_whole_model_as_in_sentence_transformers(mean_path):
    """``quantize_dynamic(model, {nn.Linear})`` (embetter's ``SentenceEncoder(quantize=True)``): a quantized
    copy whose numbers are sentence-transformers' own. Each quantized layer scales a call's inputs by their
    range, padding included, so the texts are batched and padded as sentence-transformers batches them."""
    from torch.ao.quantization import quantize_dynamic

    texts = [*SENTENCES, "a much longer sentence than the others, with many more words in it", "x"]
    ref, ours = reference(mean_path), SentenceTransformer(mean_path, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.ao.quantization's own deprecation
        ref_q = quantize_dynamic(ref, {torch.nn.Linear})
        ours_q = quantize_dynamic(ours, {torch.nn.Linear})
    assert ours_q is not ours and type(ours_q) is type(ours)
    for options in ({}, {"batch_size": 2}, {"normalize_embeddings": True}):
        expected = ref_q.encode(texts, **options)
        assert np.abs(expected - ref.encode(texts, **options)).max() > 1e-4  # the quantization shows
        np.testing.assert_allclose(ours_q.encode(texts, **options), expected, atol=1e-6, rtol=0)
    np.testing.assert_allclose(ours.encode(texts), ref.encode(texts), atol=1e-5, rtol=0)  # the original


@pytest.mark.slow
def test_multi_process_pool_gives_what_one_process_gives(tiny_bert):
    """sentence-transformers' pool API; the model is built from modules, so the workers load a saved copy."""
    model = SentenceTransformer(modules=[models.Transformer(tiny_bert), models.Pooling(DIM)])
    model.max_seq_length = 6  # the caller's setting reaches the workers
    texts = SENTENCES * 3
    pool = model.start_multi_process_pool(["cpu", "cpu"])
    try:
        assert len(pool["processes"]) == 2
        for options in (
            {},
            {"normalize_embeddings": True, "precision": "int8"},
            {"prompt": "q: ", "truncate_dim": 8},
        ):
            expected = model.encode(texts, **options)
            got = model.encode(texts, pool=pool, chunk_size=4, **options)
            assert got.dtype == expected.dtype and got.shape == expected.shape
            if options.get("precision") == "int8":  # ranges of all rows, not each chunk's: at most float
                # noise's one step at a rounding edge (AVX2's GEMM rounds batches of 4 and of 21 apart)
                steps = np.abs(got.astype(np.int32) - expected.astype(np.int32))
                assert steps.max() <= 1 and (steps == 0).mean() >= 0.98, (steps.max(), (steps == 0).mean())
            else:
                np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
        with pytest.warns(DeprecationWarning, match="encode_multi_process"):
            older = model.encode_multi_process(texts, pool)
        np.testing.assert_allclose(older, model.encode(texts), atol=1e-5, rtol=0)
        # a list of devices: a pool for this one call, as sentence-transformers starts one (one worker: two
        # are checked above)
        np.testing.assert_allclose(
            model.encode(texts, device=["cpu"], normalize_embeddings=True),
            model.encode(texts, normalize_embeddings=True),
            atol=1e-5,
            rtol=0,
        )
        with pytest.raises(InputError, match="chunk_size"):
            model.encode(texts, pool=pool, chunk_size=0)
        with pytest.raises(InputError, match="batch_size"):  # raised in a worker, raised here
            model.encode(texts, pool=pool, chunk_size=2, batch_size=0)
        # the failed call's other answers are dropped, not taken for this call's
        np.testing.assert_allclose(model.encode(texts, pool=pool), model.encode(texts), atol=1e-5, rtol=0)
        assert model.encode([], pool=pool).shape == (0, DIM)
        # workers killed from outside: the call raises, in the words sentence-transformers' tests match
        for process in pool["processes"]:
            os.kill(process.pid, signal.SIGKILL)
            process.join()
        with pytest.raises(RuntimeError, match="died unexpectedly"):
            model.encode(texts, pool=pool, chunk_size=4)
    finally:
        model.stop_multi_process_pool(pool)


@pytest.mark.slow
def test_pool_workers_get_weights_changed_in_memory(tiny_st_factory):
    """A loaded model changed in memory (as training changes it): the workers compute with the new weights,
    as sentence-transformers' workers do with the model it sends them, not with the folder's."""
    from sentence_transformers import SentenceTransformer as ReferenceModel

    folder = str(tiny_st_factory(classic_pooling(DIM, "mean")))
    ours, ref = SentenceTransformer(folder, device="cpu"), ReferenceModel(folder, device="cpu")
    for model in (ours, ref):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.mul_(1.5)
    texts = SENTENCES * 2
    pool = ours.start_multi_process_pool(["cpu"])  # what one worker loads, each loads
    try:
        got = ours.encode(texts, pool=pool)
    finally:
        ours.stop_multi_process_pool(pool)
    np.testing.assert_allclose(got, ours.encode(texts), atol=1e-5, rtol=0)
    np.testing.assert_allclose(got, ref.encode(texts), atol=1e-5, rtol=0)
    assert np.abs(got - SentenceTransformer(folder, device="cpu").encode(texts)).max() > 1e-3


def test_cross_encoder_prompts_match_sentence_transformers(tmp_path):
    from conftest import build_tiny_classifier
    from sentence_transformers import CrossEncoder as ReferenceCrossEncoder

    from sbert import CrossEncoder

    path = build_tiny_classifier(tmp_path / "ce")
    prompts = {"q": "query: ", "x": "x "}
    ours = CrossEncoder(path, prompts=prompts, default_prompt_name="q")
    ref = ReferenceCrossEncoder(str(path), device="cpu", prompts=prompts, default_prompt_name="q")
    pairs = [("a cat sat", "the mat"), ("he plays", "music")]
    for options in ({}, {"prompt_name": "x"}, {"prompt": "find: "}, {"prompt": ""}):
        np.testing.assert_allclose(ours.predict(pairs, **options), ref.predict(pairs, **options), atol=1e-5)
        ranked, ref_ranked = (m.rank("a cat", ["the mat", "a dog"], **options) for m in (ours, ref))
        assert [r["corpus_id"] for r in ranked] == [r["corpus_id"] for r in ref_ranked]
        assert [r["score"] for r in ranked] == pytest.approx([r["score"] for r in ref_ranked], abs=1e-5)
    with pytest.raises(InputError, match="'nope'"):
        ours.predict(pairs, prompt_name="nope")
    ours.save(tmp_path / "ours")
    ref.save(str(tmp_path / "ref"))
    for folder in ("ours", "ref"):  # each library's saved prompts load in the other
        again, again_ref = CrossEncoder(tmp_path / folder), ReferenceCrossEncoder(str(tmp_path / folder))
        assert again.prompts == again_ref.prompts == prompts and again.default_prompt_name == "q"
        np.testing.assert_allclose(again.predict(pairs), again_ref.predict(pairs), atol=1e-5)
    plain = CrossEncoder(path)
    assert plain.prompts == {} and plain.default_prompt_name is None


def test_evaluators_take_sentence_transformers_constructor_options(mean_path, tmp_path):
    """The options its users pass, with its values (sbert reports ×100: the SBERT paper's scale)."""
    from sentence_transformers.sentence_transformer import evaluation as st_evaluation

    from sbert import InformationRetrievalEvaluator, TripletEvaluator

    model, ref_model = SentenceTransformer(mean_path), reference(mean_path)
    a, b = SENTENCES[:-1], SENTENCES[1:]
    gold = [i / len(a) for i in range(len(a))]
    options = {"similarity_fn_names": ["cosine", "dot"], "main_similarity": "dot"}
    ours = EmbeddingSimilarityEvaluator(
        a,
        b,
        gold,
        name="sts",
        show_progress_bar=False,
        write_csv=False,
        similarity_fn_names=["cosine", SimilarityFunction.DOT_PRODUCT],
        main_similarity="dot",
    )
    ref = st_evaluation.EmbeddingSimilarityEvaluator(a, b, gold, name="sts", write_csv=False, **options)
    results, ref_results = ours(model, tmp_path), ref(ref_model, str(tmp_path))
    assert ours.primary_metric == ref.primary_metric == "sts_spearman_dot"
    pairs = {f"sts_{m}_{f}" for m in ("pearson", "spearman") for f in ("cosine", "dot", "max")}
    assert set(results) == set(ref_results) == pairs  # two functions: the best of them too
    for key in results:
        assert results[key] == pytest.approx(ref_results[key], abs=1e-5)
    assert not list(tmp_path.glob("*.csv"))  # write_csv=False
    euclidean = EmbeddingSimilarityEvaluator(a, b, gold, name="sts", similarity_fn_names=["euclidean"])
    ref_euclidean = st_evaluation.EmbeddingSimilarityEvaluator(
        a, b, gold, name="sts", similarity_fn_names=["euclidean"], write_csv=False
    )
    assert (
        set(euclidean(model))
        == set(ref_euclidean(ref_model))
        == {"sts_pearson_euclidean", "sts_spearman_euclidean"}
    )
    assert euclidean.primary_metric == ref_euclidean.primary_metric == "sts_spearman_euclidean"

    anchors, positives, negatives = SENTENCES[:3], SENTENCES[3:6], SENTENCES[-3:]
    triplets = TripletEvaluator(anchors, positives, negatives, margin=0.05, main_similarity_function="dot")
    ref_triplets = st_evaluation.TripletEvaluator(
        anchors,
        positives,
        negatives,
        margin=0.05,
        main_similarity_function="dot",
        similarity_fn_names=["dot"],
    )
    assert triplets(model)["dot_accuracy"] == pytest.approx(ref_triplets(ref_model)["dot_accuracy"])
    assert triplets.primary_metric == "dot_accuracy"

    queries, corpus = {"q1": SENTENCES[0], "q2": SENTENCES[1]}, dict(enumerate(SENTENCES))
    relevant = {"q1": {0, 2}, "q2": {1}}
    ir = InformationRetrievalEvaluator(queries, corpus, relevant, query_prompt="q: ", corpus_chunk_size=2)
    ref_ir = st_evaluation.InformationRetrievalEvaluator(queries, corpus, relevant, query_prompt="q: ")
    ref_values = ref_ir(ref_model)
    assert ir(model)["cosine_ndcg@10"] == pytest.approx(ref_values["cosine_ndcg@10"], abs=1e-5)
    assert ir.primary_metric == ref_ir.primary_metric == "cosine_ndcg@10"


def test_model_kwargs_dtype_is_the_precision_as_sentence_transformers_loads_it(mean_path):
    ours = SentenceTransformer(mean_path, model_kwargs={"dtype": torch.bfloat16})
    ref = reference(mean_path, model_kwargs={"dtype": torch.bfloat16})
    assert ours.precision == "bf16" and next(ours[0].auto_model.parameters()).dtype == torch.bfloat16
    assert next(ref[0].parameters()).dtype == torch.bfloat16
    np.testing.assert_allclose(
        ours.encode(SENTENCES), ref.encode(SENTENCES), atol=0.05, rtol=0
    )  # bf16 rounding
    assert SentenceTransformer(mean_path, model_kwargs={"torch_dtype": "auto"}).precision == "fp32"
    with pytest.raises(InputError, match="float64"):
        SentenceTransformer(mean_path, model_kwargs={"torch_dtype": torch.float64})


def test_module_and_card_data_attributes_as_in_sentence_transformers(mean_path):
    from sentence_transformers.sentence_transformer.modules import Normalize as ReferenceNormalize
    from sentence_transformers.sentence_transformer.modules import Pooling as ReferencePooling

    import sbert.models

    assert sbert.models.Pooling.POOLING_MODES == ReferencePooling.POOLING_MODES
    mask = {"attention_mask": torch.ones(1, 2)}  # no sentence embedding: passed through unchanged
    assert sbert.models.Normalize()(dict(mask)).keys() == ReferenceNormalize()(dict(mask)).keys()
    ours = SentenceTransformer(mean_path)
    ours.model_card_data.generate_widget_examples = False  # set by scripts for the hub widget
    assert ours.model_card_data.generate_widget_examples is False


def test_encode_refuses_keywords_it_does_not_take_in_sentence_transformers_words(mean_path):
    """A keyword encode does not take (``normalize=True`` for ``normalize_embeddings``) is the ValueError
    sentence-transformers raises, with its message, and, as there, no TypeError (mlflow's pyfunc turns a
    TypeError into its own parameter error)."""
    import re

    theirs = reference(mean_path)
    with pytest.raises(ValueError) as expected:
        theirs.encode("Test sentence", normalize=True)
    ours = SentenceTransformer(mean_path)
    assert ours.get_model_kwargs() == theirs.get_model_kwargs() == []
    with pytest.raises(ValueError, match=re.escape(str(expected.value))) as raised:
        ours.encode("Test sentence", normalize=True)
    assert not isinstance(raised.value, TypeError) and not isinstance(expected.value, TypeError)


def test_per_call_max_length_of_processing_kwargs_as_sentence_transformers(mean_path):
    """sentence-transformers 6's ``encode(processing_kwargs={"text": {"max_length": n, "truncation": True}})``
    truncates this call's texts to n tokens, on every backend; the model's own limit is unchanged."""
    texts = ["this sentence is much longer than four tokens for sure", "short one"]
    limit = {"text": {"max_length": 4, "truncation": True}}
    expected = reference(mean_path).encode(texts, processing_kwargs=limit)
    for backend in ("auto", "torch"):
        model = SentenceTransformer(mean_path, backend=backend)
        full = model.encode(texts)
        np.testing.assert_allclose(model.encode(texts, processing_kwargs=limit), expected, atol=1e-5, rtol=0)
        assert np.abs(full - expected).max() > 1e-3  # the limit changed the long text's embedding
        np.testing.assert_allclose(model.encode(texts), full, atol=0, rtol=0)  # and only for that call
    # other tokenizer options run sentence-transformers' batch loop (tests/test_processing_kwargs_s44.py)
    with pytest.raises(InputError, match="processing_kwargs"):
        model.encode(texts, processing_kwargs="x")
    with pytest.raises(InputError, match="max_seq_length"):
        model.encode(texts, processing_kwargs=limit, output_value="token_embeddings")


def test_padding_of_processing_kwargs_is_taken_as_sentence_transformers(mean_path):
    """The efficiency docs pad to fixed shapes for compiled models:
    ``encode(sentences, processing_kwargs={"text": {"padding": "max_length", "max_length": 256}})``. The mask
    hides padding, so the embeddings are sentence-transformers' and the call's max_length still truncates
    (the tiny model has 64 positions, so a shorter fixed length here)."""
    texts = ["this sentence is much longer than four tokens for sure", "short one"]
    model, theirs = SentenceTransformer(mean_path), reference(mean_path)
    for text_kwargs in (
        {"padding": "max_length", "max_length": 24},
        {"padding": "max_length"},
        {"padding": "longest", "max_length": 4},
        {"padding": True},
    ):
        kwargs = {"processing_kwargs": {"text": text_kwargs}}
        expected = theirs.encode(texts, **kwargs)
        np.testing.assert_allclose(model.encode(texts, **kwargs), expected, atol=1e-5, rtol=0)


def test_a_post_processor_set_through_tokenizer_private_backend_changes_encoding_as_there(default_model_path):
    """Scripts change the Rust tokenizer behind a transformers tokenizer by its attribute
    (``model.tokenizer._tokenizer.post_processor = ...``, as sentence-transformers' own tests do): sbert's
    tokenizer keeps it there too, and preprocess and encode then use it, as sentence-transformers."""
    from sentence_transformers import SentenceTransformer as ReferenceModel
    from tokenizers.processors import TemplateProcessing

    import sbert

    model = sbert.SentenceTransformer(str(default_model_path), device="cpu")
    reference = ReferenceModel(str(default_model_path), device="cpu")  # its own: changed here
    before = model.encode(SENTENCES[:3])
    for tokenizer in (model.tokenizer, reference.tokenizer):
        assert tokenizer._tokenizer is tokenizer.backend_tokenizer
        special = [("[SEP]", tokenizer.sep_token_id)]
        tokenizer._tokenizer.post_processor = TemplateProcessing(single="$0 [SEP]", special_tokens=special)
    ours, theirs = model.preprocess(["dummy text"]), reference.preprocess(["dummy text"])
    assert np.asarray(ours["input_ids"]).tolist() == theirs["input_ids"].tolist()
    assert theirs["input_ids"][0, 0] != model.tokenizer.cls_token_id  # no [CLS] any more
    after = model.encode(SENTENCES[:3])
    assert np.abs(after - before).max() > 1e-2
    np.testing.assert_allclose(after, reference.encode(SENTENCES[:3]), atol=1e-5)


def test_repr_of_a_masked_lm_checkpoint_names_the_encoder_as_sentence_transformers(tmp_path):
    """A plain fill-mask checkpoint (config.json: BertForMaskedLM), as the training docs start from, prints
    the encoder AutoModel loads (BertModel), as sentence-transformers 6.3 does, before any torch model
    is built (the auto backend) and after."""
    from conftest import build_tiny_masked_lm

    folder = str(build_tiny_masked_lm(tmp_path / "mlm"))
    expected = repr(reference(folder))
    model = SentenceTransformer(folder)
    assert repr(model) == expected
    assert type(model[0].auto_model).__name__ == "BertModel"  # the torch encoder, loaded now
    assert repr(model) == expected


def test_no_model_config_attribute_as_sentence_transformers_6(mean_path):
    """sentence-transformers 6 has no ``_model_config`` (older releases kept the saved settings there), so
    ``getattr(model, "_model_config", {}).get("prompts", {})`` (a pattern of client code) gives ``{}``;
    sbert's own method of that name made it raise."""
    theirs = reference(mean_path)
    ours = SentenceTransformer(mean_path)
    assert getattr(theirs, "_model_config", {}).get("prompts", {}) == {}
    assert getattr(ours, "_model_config", {}).get("prompts", {}) == {}
    assert ours._get_model_config().keys() == theirs._get_model_config().keys()
