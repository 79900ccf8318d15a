"""sentence-transformers' calls give sentence-transformers' results: prompts, encode_query/encode_document,
truncate_dim, precision, convert_to_tensor / convert_to_numpy, output_value, device, constructor options.

Each option is compared with sentence-transformers itself on the tiny random models of conftest
(max abs diff <= 1e-5; quantized codes equal).
"""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import torch
from conftest import POOLING_MODES, SENTENCES, assert_same_features, classic_pooling

from sbert import InputError, SentenceTransformer

DIM = 32
TOL = 1e-5
PROMPTS = {"query": "query: ", "passage": "passage: ", "classify": "Classify the topic of this text: "}
QUERIES = ["what is the weather today", "a cat on a mat", ""]


def reference(path, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    return ReferenceModel(str(path), device="cpu", **kwargs)


def pooling(mode: str = "mean", *, include_prompt: bool = True) -> dict:
    return {**classic_pooling(DIM, mode), "include_prompt": include_prompt}


def assert_same(ours, ref):
    """Same type, shape and values (tensors and arrays; lists of them element by element)."""
    assert type(ours) is type(ref), (type(ours), type(ref))
    if isinstance(ours, list):
        assert len(ours) == len(ref)
        for a, b in zip(ours, ref):
            assert_same(a, b)
        return
    if isinstance(ours, torch.Tensor):
        assert ours.device == ref.device and ours.dtype == ref.dtype
        ours, ref = ours.numpy(), ref.numpy()
    assert ours.shape == ref.shape and ours.dtype == ref.dtype, (ours.shape, ref.shape, ours.dtype, ref.dtype)
    if np.issubdtype(ours.dtype, np.integer):
        np.testing.assert_array_equal(ours, ref)
    else:
        np.testing.assert_allclose(ours, ref, atol=TOL, rtol=0)


@pytest.fixture(scope="module")
def mean_path(tiny_st_factory):
    return tiny_st_factory(pooling("mean"))


@pytest.fixture(scope="module")
def pair(mean_path):
    ours = SentenceTransformer(mean_path, device="cpu", prompts=PROMPTS)
    return ours, reference(mean_path, prompts=PROMPTS)


# -------------------- prompts


@pytest.mark.parametrize("mode", POOLING_MODES)
@pytest.mark.parametrize("include_prompt", [True, False])
def test_prompts_match_sentence_transformers(tiny_st_factory, mode, include_prompt):
    path = tiny_st_factory(pooling(mode, include_prompt=include_prompt))
    ours, ref = SentenceTransformer(path, prompts=PROMPTS), reference(path, prompts=PROMPTS)
    for call in ({"prompt_name": "query"}, {"prompt": "Represent this: "}, {"prompt_name": "classify"}):
        assert_same(ours.encode(SENTENCES, **call), ref.encode(SENTENCES, **call))
    if not include_prompt and mode in ("mean", "max"):  # the prompt's tokens are left out of the pooling
        with_prompt = ours.encode(SENTENCES, prompt_name="query")
        assert not np.allclose(with_prompt, ours.encode(["query: " + s for s in SENTENCES]), atol=1e-4)


def test_excluded_prompt_gives_the_same_numbers_with_and_without_padding_free(tiny_st_factory):
    path = tiny_st_factory(pooling("mean", include_prompt=False))
    model = SentenceTransformer(path, prompts=PROMPTS)
    assert model[0].padding_free
    packed = model.encode(SENTENCES, prompt_name="classify")
    model[0].padding_free = False
    try:
        padded = model.encode(SENTENCES, prompt_name="classify")
    finally:
        model[0].padding_free = True
    np.testing.assert_allclose(packed, padded, atol=TOL, rtol=0)


def test_encode_query_and_encode_document_match_sentence_transformers(pair, tiny_st_factory):
    ours, ref = pair
    assert_same(ours.encode_query(QUERIES), ref.encode_query(QUERIES))
    assert_same(ours.encode_document(SENTENCES), ref.encode_document(SENTENCES))
    assert_same(ours.encode_query(QUERIES, prompt="x: "), ref.encode_query(QUERIES, prompt="x: "))
    assert_same(
        ours.encode_document(SENTENCES, prompt_name="passage"),
        ref.encode_document(SENTENCES, prompt_name="passage"),
    )
    # A model without prompts: no prompt, and no default prompt either ("query"/"document" are empty).
    path = tiny_st_factory(pooling("mean"))
    plain = SentenceTransformer(path, prompts={"x": "x: "}, default_prompt_name="x")
    plain_ref = reference(path, prompts={"x": "x: "}, default_prompt_name="x")
    assert_same(plain.encode_query(QUERIES), plain_ref.encode_query(QUERIES))
    assert_same(plain.encode_document(QUERIES), plain_ref.encode_document(QUERIES))
    assert_same(plain.encode(QUERIES), plain_ref.encode(QUERIES))  # the default prompt applies
    # prompts replaced after loading: encode_document takes the first of document/passage/corpus there is
    for model in (plain, plain_ref):
        model.prompts = {"passage": "passage: ", "corpus": "corpus: "}
    assert_same(plain.encode_document(QUERIES), plain_ref.encode_document(QUERIES))
    assert_same(plain.encode_document(QUERIES), plain.encode(["passage: " + q for q in QUERIES]))


def test_prompts_and_default_prompt_name_are_saved_and_read_back(mean_path, tmp_path):
    model = SentenceTransformer(mean_path, prompts=PROMPTS, default_prompt_name="query")
    model.save(tmp_path / "saved")
    config = json.loads((tmp_path / "saved" / "config_sentence_transformers.json").read_text())
    reference(mean_path, prompts=PROMPTS, default_prompt_name="query").save(str(tmp_path / "ref"))
    ref_config = json.loads((tmp_path / "ref" / "config_sentence_transformers.json").read_text())
    # sentence-transformers' prompts: the given ones plus the empty "document" every model has
    assert config["prompts"] == ref_config["prompts"] == {**PROMPTS, "document": ""}
    assert config["default_prompt_name"] == "query"
    again, ref = SentenceTransformer(tmp_path / "saved"), reference(tmp_path / "saved")
    assert again.prompts == ref.prompts and again.default_prompt_name == "query"
    assert ref.default_prompt_name == "query"
    assert_same(again.encode(SENTENCES), ref.encode(SENTENCES))
    np.testing.assert_allclose(
        again.encode(SENTENCES), model.encode(SENTENCES, prompt="query: "), atol=TOL, rtol=0
    )
    # The caller's prompts and default name win over the saved ones, as in sentence-transformers.
    override = SentenceTransformer(
        tmp_path / "saved", prompts={"query": "q: "}, default_prompt_name="passage"
    )
    assert override.prompts["query"] == "q: " and override.default_prompt_name == "passage"


def test_prompt_errors_are_input_errors(mean_path):
    model = SentenceTransformer(mean_path, prompts=PROMPTS)
    with pytest.raises(InputError, match=r"'nope'.*\['query', 'document', 'passage', 'classify'\]"):
        model.encode(["a"], prompt_name="nope")
    with pytest.raises(InputError, match="'nope'"):
        SentenceTransformer(mean_path, prompts=PROMPTS, default_prompt_name="nope")


def test_onnx_backend_leaves_the_prompt_out_of_the_pooling_as_sentence_transformers(
    tiny_st_factory, tmp_path
):
    for include_prompt in (False, True):
        folder = tmp_path / f"model-{include_prompt}"
        shutil.copytree(tiny_st_factory(pooling("mean", include_prompt=include_prompt)), folder)
        ref = reference(folder, prompts=PROMPTS)
        onnx = SentenceTransformer(folder, backend="onnx", prompts=PROMPTS)
        int8 = SentenceTransformer(folder, backend="onnx", precision="int8", prompts=PROMPTS)
        on_torch = SentenceTransformer(folder, backend="torch", prompts=PROMPTS)
        for call in ({"prompt_name": "query"}, {"prompt_name": "classify"}, {}):
            assert_same(onnx.encode(SENTENCES, **call), ref.encode(SENTENCES, **call))
            ours, theirs = int8.encode(SENTENCES, **call), on_torch.encode(SENTENCES, **call)
            cosine = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
            assert cosine.min() > 0.99


# -------------------- output options


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("truncate_dim", [None, 8])
@pytest.mark.parametrize("precision", ["float32", "int8", "uint8", "binary", "ubinary"])
def test_precision_and_truncate_dim_match_sentence_transformers(pair, precision, truncate_dim, normalize):
    ours, ref = pair
    options = {"precision": precision, "truncate_dim": truncate_dim, "normalize_embeddings": normalize}
    assert_same(ours.encode(SENTENCES, **options), ref.encode(SENTENCES, **options))


@pytest.mark.parametrize(
    "flags",
    [
        {"convert_to_tensor": True},
        {"convert_to_numpy": False},
        {"convert_to_tensor": True, "precision": "int8"},
        {"convert_to_numpy": False, "precision": "ubinary"},
        {"convert_to_tensor": True, "truncate_dim": 4, "normalize_embeddings": True},
        {"convert_to_numpy": True, "device": "cpu"},
    ],
)
@pytest.mark.parametrize("single", [False, True])
def test_return_types_match_sentence_transformers(pair, flags, single):
    ours, ref = pair
    texts = SENTENCES[0] if single else SENTENCES
    if single and flags.get("precision") == "int8":  # one vector gives no range to quantize against
        with pytest.raises(InputError):
            ours.encode(texts, **flags)
        return
    assert_same(ours.encode(texts, **flags), ref.encode(texts, **flags))


@pytest.mark.parametrize("single", [False, True])
def test_token_embeddings_match_sentence_transformers(pair, single):
    ours, ref = pair
    texts = SENTENCES[1] if single else SENTENCES
    for call in ({}, {"prompt_name": "query"}):
        options = {"output_value": "token_embeddings", **call}
        assert_same(ours.encode(texts, **options), ref.encode(texts, **options))


def test_constructor_truncate_dim_matches_sentence_transformers(mean_path):
    ours, ref = SentenceTransformer(mean_path, truncate_dim=16), reference(mean_path, truncate_dim=16)
    assert_same(ours.encode(SENTENCES), ref.encode(SENTENCES))
    assert ours.get_embedding_dimension() == ref.get_embedding_dimension() == 16
    assert ours.get_embedding_dimension() == 16 and ours.full_embedding_dimension == DIM
    with ours.truncate_embeddings(8), ref.truncate_embeddings(8):
        assert_same(ours.encode(SENTENCES), ref.encode(SENTENCES))
        assert ours.get_embedding_dimension() == ref.get_embedding_dimension() == 8
    assert ours.truncate_dim == 16
    assert_same(ours.encode(SENTENCES, truncate_dim=4), ref.encode(SENTENCES, truncate_dim=4))
    # above the dimension: every dimension kept, as sentence-transformers' slicing keeps them
    wide, ref_wide = (
        SentenceTransformer(mean_path, truncate_dim=DIM + 1),
        reference(mean_path, truncate_dim=DIM + 1),
    )
    assert_same(wide.encode(SENTENCES), ref_wide.encode(SENTENCES))
    assert wide.get_embedding_dimension() == ref_wide.get_embedding_dimension() == DIM
    assert_same(ours.encode(SENTENCES, precision=None), ref.encode(SENTENCES, precision=None))
    with pytest.raises(InputError, match="truncate_dim"):
        SentenceTransformer(mean_path, truncate_dim=0)


def test_default_model_options_match_sentence_transformers(default_model, st_default_model):
    for options in ({"prompt": "query: "}, {"precision": "binary"}, {"truncate_dim": 128}):
        assert_same(default_model.encode(SENTENCES, **options), st_default_model.encode(SENTENCES, **options))


def test_bad_output_options_are_input_errors(pair):
    ours, _ = pair
    with pytest.raises(InputError, match="Precision 'float16' is not supported"):  # as sentence-transformers
        ours.encode(SENTENCES, precision="float16")
    with pytest.raises(
        InputError, match="float32"
    ):  # token embeddings are quantized (test_encode_fuzz_cases_s39)
        ours.encode(SENTENCES, output_value=None, precision="int8")
    with pytest.raises(InputError, match="output_value"):
        ours.encode(SENTENCES, output_value="cls")
    with pytest.raises(InputError):
        ours.encode(SENTENCES, device="cuda:7")


# -------------------- constructor options


def test_loading_options_are_passed_through_or_refused(mean_path):
    model = SentenceTransformer(
        mean_path, token=False, local_files_only=True, config_kwargs={"hidden_dropout_prob": 0.3}
    )
    assert model[0].auto_model.config.hidden_dropout_prob == 0.3
    np.testing.assert_allclose(
        model.encode(SENTENCES), reference(mean_path).encode(SENTENCES), atol=TOL, rtol=0
    )
    half = SentenceTransformer(mean_path, model_kwargs={"torch_dtype": torch.float16})
    assert half.encode(["a"]).dtype == np.float32
    with pytest.raises(InputError, match="tokenizer_kwargs"):
        SentenceTransformer(mean_path, tokenizer_kwargs={"add_prefix_space": True})
    with pytest.raises(InputError, match="torch backend"):
        SentenceTransformer(mean_path, backend="onnx", model_kwargs={"torch_dtype": torch.float16})
    with pytest.warns(FutureWarning, match="The `use_auth_token` argument is deprecated"):
        older = SentenceTransformer(mean_path, use_auth_token=False)
    assert_same(older.encode(SENTENCES), reference(mean_path, use_auth_token=False).encode(SENTENCES))
    with pytest.raises(InputError, match="not both"), pytest.warns(FutureWarning):  # warned first, as there
        SentenceTransformer(mean_path, token=False, use_auth_token=False)


def test_bert_tokenizer_lowercasing_follows_tokenizer_config_as_in_transformers(tmp_path):
    # tokenizer.json says "keep case", tokenizer_config.json says do_lower_case: transformers 5 (and so
    # sentence-transformers) lowercases; reading tokenizer.json alone would map "The" to [UNK].
    from conftest import build_tiny_bert, write_st_folder

    encoder = build_tiny_bert(tmp_path / "bert", uncased=False)
    assert json.loads((encoder / "tokenizer_config.json").read_text())["do_lower_case"] is True
    path = write_st_folder(encoder, tmp_path / "model", pooling("mean"))
    texts = ["The Cat sat on THE mat.", "What Is The Weather"]
    assert_same(SentenceTransformer(path, device="cpu").encode(texts), reference(path).encode(texts))
    assert_same(SentenceTransformer(path, backend="onnx").encode(texts), reference(path).encode(texts))


# -------------------- text pairs: sentence-transformers embeds [a, b] as one input, [CLS] a [SEP] b [SEP]

PAIRS = [
    ["The weather is lovely today.", "It's so sunny outside!"],
    ("a cat sat on the mat", ""),
    ["He drove to the stadium.", "the man plays music " * 12],  # over max_seq_length: longest_first
]


@pytest.mark.parametrize("kind", ["bert", "roberta", "distilbert", "mpnet"])
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_text_pairs_match_sentence_transformers(kind, backend, tiny_bert, tmp_path):
    from conftest import build_tiny_encoder, write_st_folder

    encoder = build_tiny_encoder(kind, tiny_bert, tmp_path / "encoder")
    path = write_st_folder(encoder, tmp_path / "model", pooling("mean", include_prompt=False))
    ours = SentenceTransformer(path, backend=backend, prompts=PROMPTS)
    ref = reference(path, prompts=PROMPTS)
    for call in ({}, {"prompt_name": "query"}):
        assert_same(ours.encode(PAIRS, **call), ref.encode(PAIRS, **call))
    # a pair is not its two texts joined: the second text is a segment of its own
    joined = ours.encode([" ".join(PAIRS[0])])[0]
    assert not np.allclose(ours.encode(PAIRS[:1])[0], joined, atol=1e-4)


def test_text_pairs_of_the_default_model_match_sentence_transformers(default_model, st_default_model):
    long = "the quick brown fox jumps over the lazy dog " * 40  # over 256 tokens with its partner
    pairs = [*PAIRS, (long, "a short question about foxes"), ("a short answer", long)]
    ours, ref = default_model.encode(pairs), st_default_model.encode(pairs)
    assert ours.shape == ref.shape == (len(pairs), 384)
    np.testing.assert_allclose(ours, ref, atol=TOL, rtol=0)
    assert_same(
        default_model.encode(pairs[:2], convert_to_tensor=True, normalize_embeddings=True),
        st_default_model.encode(pairs[:2], convert_to_tensor=True, normalize_embeddings=True),
    )


def test_text_pairs_token_embeddings_and_lower_case_match_sentence_transformers(tmp_path):
    from conftest import build_tiny_bert, write_st_folder

    encoder = build_tiny_bert(tmp_path / "bert", uncased=False)
    path = write_st_folder(encoder, tmp_path / "model", pooling("mean"))
    config = path / "sentence_bert_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "do_lower_case": True}))
    pairs = [("The Cat SAT", "On The MAT"), ("What Is The Weather", "Sunny")]
    ours, ref = SentenceTransformer(path, device="cpu"), reference(path)
    assert_same(ours.encode(pairs), ref.encode(pairs))
    options = {"output_value": "token_embeddings"}
    assert_same(ours.encode(pairs, **options), ref.encode(pairs, **options))


@pytest.mark.parametrize(
    "inputs, bad_item",
    [
        ([("a", "b"), ("c",)], 1),
        ([["a", "b"], ["c", 3]], 1),
        ([["a", "b", "c"]], 0),
        (["a", ["b", 3]], 1),
    ],
)
def test_malformed_text_pairs_are_type_errors_naming_the_item(pair, inputs, bad_item):
    ours, _ = pair
    with pytest.raises(TypeError, match=rf"sentences\[{bad_item}\]"):
        ours.encode(inputs)


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_texts_and_text_pairs_in_one_call_as_sentence_transformers(backend, tiny_bert, tmp_path):
    """sentence-transformers embeds each item as it is: a text alone, a pair as one input."""
    from conftest import write_st_folder

    path = write_st_folder(tiny_bert, tmp_path / "model", pooling("mean", include_prompt=False))
    ours, ref = SentenceTransformer(path, backend=backend, prompts=PROMPTS), reference(path, prompts=PROMPTS)
    mixed = ["a b", ("c", "d"), "the quick brown fox", ["e f g", "h"], "x", *PAIRS[1:]]
    for call in ({}, {"batch_size": 2}, {"prompt_name": "query"}):
        assert_same(ours.encode(mixed, **call), ref.encode(mixed, **call))
    options = {"output_value": "token_embeddings"}
    assert_same(ours.encode(mixed, **options), ref.encode(mixed, **options))
    # the Transformer module's own preprocess takes the mix too, as sentence-transformers' does
    ours_module = SentenceTransformer(path, backend="torch")[0]
    expected, features = ref[0].preprocess(mixed), ours_module.preprocess(mixed)
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert features[name].tolist() == expected[name].tolist(), name
    # each item as it would be alone
    assert_same(ours.encode(mixed[:2]), np.vstack([ours.encode(["a b"]), ours.encode([("c", "d")])]))


def test_text_dicts_are_read_as_sentence_transformers_reads_them(pair):
    ours, ref = pair
    texts = [{"text": s} for s in SENTENCES]
    assert_same(ours.encode(texts), ref.encode(texts))
    assert_same(ours.encode({"text": SENTENCES[0]}), ref.encode({"text": SENTENCES[0]}))
    for bad, message in [
        ([{"text": "a", "image": None}], r"sentences\[0\] is a dict with keys \['image', 'text'\]"),
        # sentence-transformers' words first, then which input
        (
            {"txt": "a"},
            r"^Multimodal dict input contains unrecognized modality keys: \['txt'\].*\(sentences: ",
        ),
        ([{"text": "a"}, {"text": 3}], r"sentences\[1\]\['text'\] is int"),
    ]:
        with pytest.raises(TypeError, match=message):
            ours.encode(bad)


@pytest.mark.parametrize("include_prompt", [True, False])
def test_preprocess_gives_sentence_transformers_features_for_forward(tiny_st_factory, include_prompt):
    path = tiny_st_factory(pooling("mean", include_prompt=include_prompt))
    ours, ref = SentenceTransformer(path, device="cpu"), reference(path)
    for inputs, prompt in [(SENTENCES, None), (SENTENCES, "query: "), (PAIRS, "query: "), ([], None)]:
        mine, theirs = ours.preprocess(inputs, prompt=prompt), ref.preprocess(inputs, prompt=prompt)
        assert_same_features(mine, theirs)
        if inputs:
            with torch.no_grad():
                pooled = ours(mine)["sentence_embedding"].numpy()
            np.testing.assert_allclose(pooled, ref.encode(inputs, prompt=prompt), atol=TOL, rtol=0)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_tokenizer_model_max_length_is_the_max_seq_length_as_in_sentence_transformers(mean_path, backend):
    ours, ref = SentenceTransformer(mean_path, backend=backend), reference(mean_path)
    assert ours.tokenizer.model_max_length == ref.tokenizer.model_max_length == ref.max_seq_length == 48
    ours.tokenizer.model_max_length = ref.tokenizer.model_max_length = 6
    assert ours.max_seq_length == ref.max_seq_length == 6
    assert_same(ours.encode(SENTENCES), ref.encode(SENTENCES))
    ours.max_seq_length = ref.max_seq_length = 9
    assert ours.tokenizer.model_max_length == ref.tokenizer.model_max_length == 9
    assert_same(ours.encode(SENTENCES), ref.encode(SENTENCES))


@pytest.mark.parametrize("include_prompt", [True, False])
def test_output_value_none_gives_sentence_transformers_feature_dicts(tiny_st_factory, include_prompt):
    """One dict per text of every feature (tensors of its row, padded as its batch), in input order; the
    prompt's length among them where Pooling leaves the prompt out."""
    path = tiny_st_factory(pooling("mean", include_prompt=include_prompt))
    ours, ref = SentenceTransformer(path, prompts=PROMPTS), reference(path, prompts=PROMPTS)
    texts = [SENTENCES[2], SENTENCES[0], SENTENCES[1] * 3]
    name = next(iter(PROMPTS))
    mine, theirs = (
        ours.encode(texts, output_value=None, prompt_name=name, batch_size=2),
        ref.encode(texts, output_value=None, prompt_name=name, batch_size=2),
    )
    assert len(mine) == len(theirs) == 3
    for a, b in zip(mine, theirs):
        assert set(a) == set(b) and a["modality"] == b["modality"] == "text"
        for key in ("input_ids", "attention_mask", "token_embeddings", "sentence_embedding"):
            assert_same(a[key], b[key])
        assert int(a.get("prompt_length", 0)) == int(b.get("prompt_length", 0))
    assert isinstance(ours.encode(texts[0], output_value=None), dict)
    cut = ours.encode(texts, output_value=None, truncate_dim=8)  # the sentence embedding cut, as there
    assert_same(
        cut[0]["sentence_embedding"],
        ref.encode(texts, output_value=None, truncate_dim=8)[0]["sentence_embedding"],
    )
    assert cut[0]["sentence_embedding"].shape == (8,)


def test_refusals_worded_as_sentence_transformers(mean_path):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    both_tokens = {"model_name_or_path": str(mean_path), "token": "a", "use_auth_token": "b"}
    for kwargs in ({"modules": []}, both_tokens):
        errors = []
        for model_class in (SentenceTransformer, ReferenceModel):
            with pytest.raises(ValueError) as refused, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model_class(**kwargs)
            errors.append(str(refused.value))
        assert errors[0].startswith(errors[1])  # sbert may add how to fix it
