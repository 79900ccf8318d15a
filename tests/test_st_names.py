"""sentence-transformers 6.3's public names that sbert lacked, compared with sentence-transformers on the same
inputs: base.losses (gradcache, merged_forward), util.import_module_class / check_teacher_targets, the word
tokenizers of modules.tokenizer, base.modality and base.merging."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import torch
from conftest import classic_pooling
from torch import nn


class CountingModel(nn.Module):
    """A stand-in encoder: a row's embedding is its masked token-id sum, so padding changes nothing; records
    the rows of each forward."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def forward(self, features):
        self.calls.append(features["input_ids"].shape[0])
        ids = (features["input_ids"] * features["attention_mask"]).float()
        return {"sentence_embedding": torch.stack([ids.sum(1), ids.max(1).values], dim=1)}


def _column(width: int, seed: int, rows: int = 2, **extra) -> dict:
    generator = torch.Generator().manual_seed(seed)
    mask = torch.ones(rows, width, dtype=torch.long)
    mask[0, width - 1 :] = 0
    return {
        "input_ids": torch.randint(1, 30, (rows, width), generator=generator),
        "attention_mask": mask,
        **extra,
    }


FEATURE_LISTS = {
    "same_width": [_column(5, 1), _column(5, 2)],
    "padded": [_column(4, 1), _column(7, 2), _column(5, 3)],
    "shared_prompt": [_column(4, 1, prompt_length=2), _column(6, 2, prompt_length=2)],
    "tensor_prompt": [
        _column(4, 1, prompt_length=torch.tensor([3, 3])),
        _column(6, 2, prompt_length=torch.tensor([3, 3])),
    ],
    "other_prompts": [_column(4, 1, prompt_length=2), _column(4, 2, prompt_length=3)],
    "other_keys": [_column(4, 1), _column(4, 2, token_type_ids=torch.zeros(2, 4, dtype=torch.long))],
    "tasks": [_column(4, 1, task="query"), _column(4, 2, task="document")],
    "float_padding": [
        {**_column(4, 1), "pixel": torch.zeros(2, 4)},
        {**_column(6, 2), "pixel": torch.zeros(2, 6)},
    ],
    "flattened": [{"input_ids": torch.arange(6), "offsets": torch.tensor([0, 3])}] * 2,
    "unsampled_rows": [
        {**_column(4, 1), "grid": torch.zeros(3, 2)},
        {**_column(4, 2), "grid": torch.zeros(3, 2)},
    ],
}


def _assert_same(ours, theirs) -> None:
    assert (ours is None) == (theirs is None)
    if theirs is not None:
        assert ours.keys() == theirs.keys()
        for key, value in theirs.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(ours[key], value), key
            else:
                assert ours[key] == value, key


@pytest.mark.parametrize("case", sorted(FEATURE_LISTS))
def test_merge_feature_batches_as_sentence_transformers(case) -> None:
    from sentence_transformers.base.losses import merged_forward as reference

    from sbert.base.losses.merged_forward import column_merging_disabled, merge_feature_batches

    features = FEATURE_LISTS[case]
    _assert_same(merge_feature_batches(features), reference.merge_feature_batches(features))
    with column_merging_disabled():
        assert merge_feature_batches(features) is None


@pytest.mark.parametrize("separate_first", [True, False])
@pytest.mark.parametrize("case", ["same_width", "padded", "other_prompts", "tasks"])
def test_embed_columns_runs_the_forwards_sentence_transformers_runs(case, separate_first) -> None:
    from sentence_transformers.base.losses.merged_forward import embed_columns as reference

    from sbert.base.losses.merged_forward import column_merging_disabled, embed_columns

    ours_model, their_model = CountingModel(), CountingModel()
    ours = embed_columns(ours_model, FEATURE_LISTS[case], separate_first=separate_first)
    theirs = reference(their_model, FEATURE_LISTS[case], separate_first=separate_first)
    assert ours_model.calls == their_model.calls
    assert len(ours) == len(theirs)
    for mine, reference_embedding in zip(ours, theirs):
        assert torch.equal(mine, reference_embedding)
    ours_model.calls.clear()
    with column_merging_disabled():
        embed_columns(ours_model, FEATURE_LISTS[case], separate_first=separate_first)
    assert ours_model.calls == [2] * len(FEATURE_LISTS[case])


@pytest.fixture(scope="module")
def tiny_models(tiny_st_factory):
    from sentence_transformers import SentenceTransformer as Reference

    import sbert

    path = tiny_st_factory(classic_pooling(32, "mean"))
    return sbert.SentenceTransformer(path, device="cpu", backend="torch"), Reference(str(path), device="cpu")


def test_column_merging_disabled_gives_every_loss_column_its_own_forward(tiny_models) -> None:
    from sbert import losses
    from sbert.base.losses import column_merging_disabled

    model = tiny_models[0]
    texts = [["a short one", "the second anchor text"], ["its positive", "another"], ["a negative", "more"]]
    features = [model.tokenize(column) for column in texts]
    rows: list[int] = []
    handle = model[0].register_forward_pre_hook(
        lambda module, args: rows.append(args[0]["input_ids"].shape[0])
    )
    loss = losses.MultipleNegativesRankingLoss(model)
    try:
        with torch.no_grad():
            merged = loss(features, None)
            assert sum(rows) == 6 and len(rows) < 3  # the columns share forwards
            rows.clear()
            with column_merging_disabled():
                separate = loss([model.tokenize(column) for column in texts], None)
    finally:
        handle.remove()
    assert rows == [2, 2, 2]
    torch.testing.assert_close(merged, separate, rtol=1e-5, atol=1e-6)


def test_uses_gradient_cache_and_static_input_as_sentence_transformers(tiny_models) -> None:
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.base.losses import has_static_embedding_input as reference_static
    from sentence_transformers.base.losses import uses_gradient_cache as reference_cache
    from sentence_transformers.sentence_transformer import losses as st_losses
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding as ReferenceStatic
    from tokenizers import Tokenizer, models

    import sbert
    from sbert import losses
    from sbert.base.losses import has_static_embedding_input, uses_gradient_cache

    ours, theirs = tiny_models
    builds = [
        lambda lib, m: lib.CachedMultipleNegativesRankingLoss(m),
        lambda lib, m: lib.MultipleNegativesRankingLoss(m),
        lambda lib, m: lib.MegaBatchMarginLoss(m),
        lambda lib, m: lib.MegaBatchMarginLoss(m, use_mini_batched_version=False),
        lambda lib, m: lib.MatryoshkaLoss(m, lib.CachedMultipleNegativesRankingLoss(m), [32, 16]),
        lambda lib, m: lib.MatryoshkaLoss(m, lib.MultipleNegativesRankingLoss(m), [32, 16]),
        lambda lib, m: lib.CachedGISTEmbedLoss(m, m),
    ]
    for build in builds:
        assert uses_gradient_cache(build(losses, ours)) is reference_cache(build(st_losses, theirs))
    assert has_static_embedding_input(ours) is reference_static(theirs) is False

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    static = sbert.SentenceTransformer(modules=[sbert.models.StaticEmbedding(tokenizer, embedding_dim=4)])
    reference = Reference(modules=[ReferenceStatic(tokenizer, embedding_dim=4)])
    assert has_static_embedding_input(static) is reference_static(reference) is True


def test_import_module_class_as_sentence_transformers(tmp_path) -> None:
    from sentence_transformers.util import import_module_class as reference

    import sbert
    from sbert.util import import_module_class
    from sbert.util.misc import import_module_class as from_misc

    assert from_misc is import_module_class
    # sentence-transformers' own classes need no trust: under sbert they are sbert's
    path = "sentence_transformers.sentence_transformer.modules.pooling.Pooling"
    assert import_module_class(path, "some/model") is sbert.models.Pooling
    assert reference(path, "some/model").__name__ == "Pooling"
    for model in (str(tmp_path), "owner/name"):  # another class for a model: refused unless trusted
        with pytest.raises(ValueError) as ours:
            import_module_class("modeling_custom.Custom", model)
        with pytest.raises(ValueError) as theirs:
            reference("modeling_custom.Custom", model)
        assert str(ours.value) == str(theirs.value)
    # trusted, the folder has no modeling file: imported as it is; without a model, no trust is asked
    for kwargs in ({"model_name_or_path": str(tmp_path), "trust_remote_code": True}, {}):
        assert import_module_class("collections.OrderedDict", **kwargs) is reference(
            "collections.OrderedDict", **kwargs
        )
        with pytest.raises(ImportError):
            import_module_class("collections.NoSuchName", **kwargs)
        with pytest.raises(ImportError):
            reference("collections.NoSuchName", **kwargs)


@pytest.mark.parametrize(
    "scores",
    [[[8.5, -10.0], [7.0, -12.0]], [[1.0, 2.0], [0.5, 0.0]], [[float("inf"), -9.0], [1.0, 2.0]]],
    ids=["underflow", "fine", "excluded"],
)
def test_check_teacher_targets_as_sentence_transformers(scores, caplog) -> None:
    from sentence_transformers.util import check_teacher_targets as reference

    from sbert.util import check_teacher_targets

    logits = torch.tensor(scores)
    probabilities = torch.softmax(logits / 0.1, dim=1)
    messages = []
    for check in (check_teacher_targets, reference):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            check(probabilities, logits, 0.1, "DistillKLDivLoss")
        messages.append([record.getMessage() for record in caplog.records])
    assert messages[0] == messages[1]
    assert bool(messages[0]) == (scores[0][0] == 8.5)
    nan = torch.tensor([[float("nan"), 1.0]])
    with pytest.raises(ValueError) as ours:
        check_teacher_targets(nan, nan, 1.0, "X")
    with pytest.raises(ValueError) as theirs:
        reference(nan, nan, 1.0, "X")
    assert str(ours.value) == str(theirs.value)


TEXTS = ["Hello, World! hello", "New York is the big apple.", "new york city", "  ", "it's A B-c"]
VOCAB = ["PADDING", "hello", "world", "New_York", "new_york_city", "big", "apple", "a", "b-c", "city", "york"]


def test_word_tokenizers_as_sentence_transformers(tmp_path) -> None:
    from sentence_transformers.sentence_transformer.modules import tokenizer as reference

    from sbert.models.tokenizer.word import WordTokenizer as from_old_path
    from sbert.sentence_transformer.modules.tokenizer import (
        ENGLISH_STOP_WORDS,
        TransformersTokenizerWrapper,
        WhitespaceTokenizer,
        WordTokenizer,
    )

    assert ENGLISH_STOP_WORDS == reference.ENGLISH_STOP_WORDS and isinstance(ENGLISH_STOP_WORDS, list)
    assert from_old_path is WordTokenizer and issubclass(WhitespaceTokenizer, WordTokenizer)
    assert issubclass(TransformersTokenizerWrapper, WordTokenizer)
    with pytest.raises(TypeError):
        WordTokenizer()
    for lower in (False, True):
        ours = WhitespaceTokenizer(VOCAB, do_lower_case=lower)
        theirs = reference.WhitespaceTokenizer(VOCAB, do_lower_case=lower)
        assert [ours.tokenize(t) for t in TEXTS] == [theirs.tokenize(t) for t in TEXTS]


def test_phrase_tokenizer_merges_phrases_as_sentence_transformers(split_nltk, tmp_path) -> None:
    from sentence_transformers.sentence_transformer.modules.tokenizer import PhraseTokenizer as Reference

    from sbert.sentence_transformer.modules.tokenizer.phrase import PhraseTokenizer

    vocab = [*VOCAB, "a__b", "one_two_three_four_five_six", "big_apple"]
    texts = [*TEXTS, "the Big Apple", "NEW YORK CITY !", "one two three four five six", "a b"]
    for kwargs in ({}, {"max_ngram_length": 2}, {"stop_words": []}, {"ngram_separator": "-"}):
        ours, theirs = PhraseTokenizer(vocab, **kwargs), Reference(vocab, **kwargs)
        assert ours.ngram_lookup == theirs.ngram_lookup and ours.ngram_lengths == theirs.ngram_lengths
        assert [ours.tokenize(t) for t in texts] == [theirs.tokenize(t) for t in texts]
    PhraseTokenizer(vocab, max_ngram_length=3).save(str(tmp_path))
    loaded = Reference.load(str(tmp_path))  # sentence-transformers reads what sbert writes, and back
    assert loaded.max_ngram_length == 3 and list(loaded.get_vocab()) == vocab
    assert PhraseTokenizer.load(str(tmp_path)).tokenize(texts[1]) == loaded.tokenize(texts[1])


def test_phrase_tokenizer_needs_nltk(monkeypatch) -> None:
    from sbert.sentence_transformer.modules.tokenizer import PhraseTokenizer

    monkeypatch.setitem(sys.modules, "nltk", None)  # not importable
    with pytest.raises(ImportError, match="NLTK"):
        PhraseTokenizer(VOCAB)


SAMPLES = [
    "a sentence",
    ("query", "document"),
    ["query", "document"],
    {"role": "user", "content": "hi"},
    [{"role": "user", "content": "hi"}],
    {"text": "a"},
    {"text": "a", "image": "b"},
    "https://example.com/cat.PNG",
    "data:image/png;base64,xx",
    "https://youtu.be/abc",
    "https://example.com/song.mp3?x=1",
    "not/a/file.jpg",
    "https://[[invalid].png",
]


@pytest.mark.parametrize("supported", [None, ["text"], ["text", "image"]])
def test_infer_modality_as_sentence_transformers(supported, tmp_path) -> None:
    from sentence_transformers.base import modality as reference

    from sbert.base.modality import format_modality, infer_batch_modality, infer_modality

    image = tmp_path / "cat.jpg"
    image.write_bytes(b"")
    samples = [*SAMPLES, str(image)]
    for sample in samples:
        try:
            expected = reference.infer_modality(sample, supported)
        except ValueError:
            with pytest.raises(ValueError):
                infer_modality(sample, supported)
        else:
            assert infer_modality(sample, supported) == expected, sample
            assert format_modality(expected) == reference.format_modality(expected)
    for batch in ([], ["a", "b"], ["a", ("b", "c")], ["a", {"role": "user", "content": "x"}], samples[6:9]):
        assert infer_batch_modality(batch, supported) == reference.infer_batch_modality(batch, supported)
    for bad in ({}, {"txt": "a"}, 3, ("a", 1)):
        with pytest.raises(ValueError):
            reference.infer_modality(bad, supported)
        with pytest.raises(ValueError):
            infer_modality(bad, supported)


@pytest.mark.parametrize(
    "media", [np.zeros(3), torch.zeros(2, 2, 3), {"array": np.zeros(3), "sampling_rate": 16000}]
)
def test_infer_modality_refuses_media_objects_by_name(media) -> None:
    from sbert import InputError
    from sbert.base.modality import infer_batch_modality, infer_modality

    with pytest.raises(InputError, match="image, audio and video inputs are out of its scope"):
        infer_modality(media)
    with pytest.raises(InputError, match="out of its scope"):
        infer_batch_modality(["text", media])


def test_module_paths_import_without_torch() -> None:
    import subprocess

    code = (
        "import sys; import sbert.base.losses, sbert.base.merging, sbert.base.modality, "
        "sbert.base.modality_types, sbert.sentence_transformer.modules.tokenizer.word; "
        "from sbert.util import import_module_class, check_teacher_targets; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "from sbert.base.merging import merge_models; from sbert._model_merge import merge_models as m; "
        "assert merge_models is m; from sbert.base.losses.gradcache import RandContext; "
        "from sbert.losses import RandContext as R; assert RandContext is R"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sample_value_str_as_sentence_transformers() -> None:
    from sentence_transformers.base.sampler import _sample_value_str as reference

    from sbert.base.sampler import _sample_value_str

    values = ["a sentence", 5, 1.5, None, np.int64(3), ["a", "b"], [1.0, 0.5], {"k": [1, int]}, (b"x", [2])]
    for value in values:
        assert _sample_value_str(value) == reference(value)
    assert _sample_value_str(np.zeros(3)) == reference(np.zeros(3))  # pickled content, not the address


def test_csr_file_path_has_normalized_mean_squared_error() -> None:
    from sentence_transformers.sparse_encoder.losses.csr import normalized_mean_squared_error as reference

    from sbert.sparse_encoder import losses
    from sbert.sparse_encoder.losses.csr import CSRLoss, normalized_mean_squared_error

    assert CSRLoss is losses.CSRLoss
    torch.manual_seed(0)
    for original in (torch.randn(4, 6), torch.ones(3, 6), torch.tensor([[1.0, 2.0], [1.0, 2.0]])):
        reconstruction = torch.randn_like(original)
        assert torch.equal(
            normalized_mean_squared_error(reconstruction, original), reference(reconstruction, original)
        )
