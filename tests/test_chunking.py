"""Long texts: token windows with character spans, their length-weighted mean, and the CLI options."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata

import numpy as np
import pytest
from conftest import classic_pooling

from sbert import SentenceTransformer
from sbert._cli import main
from sbert._errors import InputError
from sbert._numeric import normalize

LIMIT = 16  # the default model's max_seq_length in these tests: 14 content tokens + [CLS] + [SEP]
N, M = 12, 4  # tokens per window, overlap
# Accents, punctuation, runs of spaces and a word split into pieces (de ##ja): about 3x the limit.
LONG = "Café  naïve, déjà-vu!!  The   weather is lovely today; it's so sunny outside... " * 2
SHORT = ["It's so sunny outside!", "A man plays guitar.", ""]
TINY_WORDS = "the cat sat on the mat and the dog ran in the house with a big red car " * 3


@pytest.fixture(scope="module")
def model(default_model_path) -> SentenceTransformer:
    model = SentenceTransformer(str(default_model_path), backend="torch", device="cpu")
    model.max_seq_length = LIMIT
    return model


@pytest.fixture(scope="module")
def hf_tokenizer(default_model_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(default_model_path))


@pytest.fixture(scope="module")
def tiny_path(tiny_st_factory, tmp_path_factory) -> str:
    """The tiny BERT with mean pooling that leaves the prompt out, and a saved "query" prompt."""
    folder = tmp_path_factory.mktemp("chunking") / "tiny"
    pooling = {**classic_pooling(32, "mean"), "include_prompt": False}
    shutil.copytree(tiny_st_factory(pooling), folder)
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {"query": "a dog "}}))
    return str(folder)


@pytest.fixture(scope="module")
def tiny(tiny_path) -> SentenceTransformer:
    return SentenceTransformer(tiny_path, device="cpu")


def token_windows(tokenizer, text: str, size: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(first token, end token, start char, end char) of each window, from transformers' own offsets."""
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    windows, first = [], 0
    while True:
        last = min(first + size, len(offsets))
        start = 0 if first == 0 else offsets[first][0]
        end = len(text) if last == len(offsets) else offsets[last - 1][1]
        windows.append((first, last, start, end))
        if last == len(offsets):
            return windows
        first += size - overlap


def weighted_mean(vectors: list[np.ndarray], weights: list[int]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)[:, None]
    return (np.stack(vectors).astype(np.float64) * w).sum(0) / w.sum()


def bare(text: str) -> str:
    """Lowercased, accents removed: how the uncased tokenizer sees text."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


# ---------------------------------------------------------------------------------------------- windows


def test_long_text_is_the_weighted_mean_of_its_windows(model, hf_tokenizer):
    windows = token_windows(hf_tokenizer, LONG, N, M)
    assert len(windows) >= 4 and windows[0][1] - windows[0][0] == N
    one_by_one = [model.encode(LONG[start:end]) for _, _, start, end in windows]
    expected = weighted_mean(one_by_one, [last - first for first, last, _, _ in windows])
    got = model.encode(LONG, chunk_tokens=N, chunk_overlap=M)
    assert got.shape == (384,) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got - model.encode(LONG)).max() > 1e-3  # not the truncated text's vector
    normalized = model.encode([LONG], chunk_tokens=N, chunk_overlap=M, normalize_embeddings=True)
    np.testing.assert_allclose(normalized[0], normalize(expected[None])[0], atol=1e-5)


def test_spans_point_at_the_right_characters(model, hf_tokenizer):
    chunks = model.encode_chunks(LONG, chunk_tokens=N, chunk_overlap=M)
    windows = token_windows(hf_tokenizer, LONG, N, M)
    assert [(c.start, c.end, c.tokens) for c in chunks] == [(s, e, last - f) for f, last, s, e in windows]
    encoding = hf_tokenizer(LONG, add_special_tokens=False, return_offsets_mapping=True)
    tokens = hf_tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    for chunk, (first, last, _, _) in zip(chunks, windows):
        assert chunk.text == LONG[chunk.start : chunk.end]
        # the span starts at the window's first token and ends with its last one
        assert bare(chunk.text).lstrip().startswith(tokens[first].removeprefix("##"))
        assert bare(chunk.text).rstrip().endswith(tokens[last - 1].removeprefix("##"))
        np.testing.assert_allclose(chunk.embedding, model.encode(chunk.text), atol=1e-5)
    inside = [
        {i for i, (a, b) in enumerate(encoding["offset_mapping"]) if c.start <= a and b <= c.end}
        for c in chunks
    ]
    assert [len(s) for s in inside] == [c.tokens for c in chunks]
    assert all(len(a & b) == M for a, b in zip(inside, inside[1:]))  # neighbours share M tokens
    assert set().union(*inside) == set(range(len(tokens)))  # every token is in a window
    assert chunks[0].start == 0 and chunks[-1].end == len(LONG)


def test_short_texts_are_unchanged(model):
    texts = [*SHORT, LONG]
    got = model.encode(texts, chunk_tokens=N, chunk_overlap=M)
    np.testing.assert_allclose(got[: len(SHORT)], model.encode(SHORT), atol=1e-6)
    np.testing.assert_allclose(got[-1], model.encode(LONG, chunk_tokens=N, chunk_overlap=M), atol=1e-6)
    chunks = model.encode_chunks(SHORT, chunk_tokens=N)
    assert [[(c.start, c.end, c.text) for c in text] for text in chunks] == [[(0, len(t), t)] for t in SHORT]
    assert model.encode([], chunk_tokens=N).shape == (0, 384)


def test_output_options_apply_to_the_mean(model):
    full = model.encode([LONG, SHORT[0]], chunk_tokens=N)
    got = model.encode([LONG, SHORT[0]], chunk_tokens=N, truncate_dim=64, normalize_embeddings=True)
    np.testing.assert_allclose(got, normalize(full[:, :64]), atol=1e-6)
    tensor = model.encode([LONG], chunk_tokens=N, convert_to_tensor=True)
    np.testing.assert_allclose(tensor.numpy(), full[:1], atol=1e-6)


def test_prompt_goes_before_every_window(tiny):
    """include_prompt false: every window leaves the prompt's tokens out of its mean, as encode does."""
    chunks = tiny.encode_chunks(TINY_WORDS, chunk_tokens=10, chunk_overlap=3, prompt_name="query")
    assert len(chunks) >= 3
    for chunk in chunks:
        np.testing.assert_allclose(chunk.embedding, tiny.encode(chunk.text, prompt="a dog "), atol=1e-5)
        assert np.abs(chunk.embedding - tiny.encode(chunk.text)).max() > 1e-4
    expected = weighted_mean([c.embedding for c in chunks], [c.tokens for c in chunks])
    got = tiny.encode(TINY_WORDS, chunk_tokens=10, chunk_overlap=3, prompt_name="query")
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_chunks_return_types(model):
    one = model.encode_chunks(LONG, chunk_tokens=N)
    many = model.encode_chunks([LONG, "hi"], chunk_tokens=N)
    assert isinstance(one, list) and len(many) == 2 and len(many[1]) == 1
    assert [(c.start, c.end) for c in one] == [(c.start, c.end) for c in many[0]]
    assert all(c.embedding.shape == (384,) and c.embedding.dtype == np.float32 for c in one)
    overlap_free = model.encode_chunks(LONG, chunk_tokens=N)
    assert all(a.end <= b.start for a, b in zip(overlap_free, overlap_free[1:]))


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunk_tokens": 8, "chunk_overlap": 8}, "chunk_overlap must be smaller than chunk_tokens"),
        ({"chunk_tokens": 8, "chunk_overlap": 9}, "chunk_overlap must be smaller than chunk_tokens"),
        ({"chunk_tokens": 8, "chunk_overlap": -1}, "chunk_overlap must be an integer >= 0"),
        ({"chunk_tokens": 0}, "chunk_tokens must be a positive integer"),
        ({"chunk_tokens": -3}, "chunk_tokens must be a positive integer"),
        ({"chunk_tokens": 2.5}, "chunk_tokens must be a positive integer"),
        ({"chunk_tokens": 15}, r"at most 14 tokens \(max_seq_length 16 less the special tokens\)"),
        ({"chunk_tokens": 14, "prompt": "query: "}, "at most 12 tokens .* and the prompt"),
        ({"chunk_tokens": 8, "output_value": "token_embeddings"}, "token embeddings are not chunked"),
    ],
)
def test_bad_chunking_is_an_input_error(model, options, message):
    with pytest.raises(InputError, match=message):
        model.encode([LONG], **options)


def test_the_limit_fits_exactly(model):
    model.encode(LONG, chunk_tokens=LIMIT - 2)  # 14 + [CLS] + [SEP]: accepted
    with pytest.raises(InputError, match="pass chunk_tokens <= 14"):
        model.encode_chunks(LONG, chunk_tokens=LIMIT - 1)


def test_unknown_prompt_name_lists_the_known_ones(tiny):
    with pytest.raises(InputError, match=r"'passage'.*\['query', 'document'\]"):
        tiny.encode_chunks(TINY_WORDS, chunk_tokens=8, prompt_name="passage")


# ---------------------------------------------------------------------------------------------- command line


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("sbert: error: "), err
    return err


def test_cli_encode_chunks(tiny, tiny_path, tmp_path, capsys):
    out = tmp_path / "vectors.npy"
    texts = [TINY_WORDS, "the cat"]
    code = main(
        ["encode", *texts, "--chunk-tokens", "8", "--chunk-overlap", "2", "-m", tiny_path, "-o", str(out)]
    )
    assert code == 0
    got = np.load(out)
    assert got.shape == (2, 32)
    np.testing.assert_allclose(got, tiny.encode(texts, chunk_tokens=8, chunk_overlap=2), atol=1e-6)
    assert np.abs(got[0] - tiny.encode(TINY_WORDS)).max() > 1e-4
    assert capsys.readouterr().err == f"encoded 2 texts -> {out} (2, 32)\n"


def test_cli_encode_prompts(tiny, tiny_path, tmp_path):
    for flags, expected in [
        (["--prompt-name", "query"], tiny.encode(SHORT, prompt_name="query")),
        (["--prompt", "the red "], tiny.encode(SHORT, prompt="the red ")),
    ]:
        out = tmp_path / "prompted.npy"
        assert main(["encode", *SHORT, *flags, "-m", tiny_path, "-o", str(out)]) == 0
        np.testing.assert_allclose(np.load(out), expected, atol=1e-6)
        assert np.abs(expected - tiny.encode(SHORT)).max() > 1e-4


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--prompt-name", "passage"], r"Prompt name 'passage' not found.*\['query', 'document'\]"),
        (["--chunk-tokens", "60"], "a window holds at most 46 tokens"),
    ],
)
def test_cli_encode_errors_after_loading(tiny_path, capsys, flags, message):
    assert main(["encode", "the cat", *flags, "-m", tiny_path]) == 2
    assert re.search(message, one_line_error(capsys))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--chunk-tokens", "4", "--chunk-overlap", "4"], "chunk_overlap must be smaller than chunk_tokens"),
        (["--chunk-overlap", "2"], "--chunk-overlap applies with --chunk-tokens N"),
        (["--chunk-tokens", "4", "--ray", "-i", "x.txt", "-o", "out"], "do not apply to --ray"),
    ],
)
def test_cli_encode_errors_before_loading(model_loads, capsys, flags, message):
    assert main(["encode", "the cat", *flags]) == 2
    assert message in one_line_error(capsys)
    assert model_loads == []


def test_cli_prompt_options_exclude_each_other(capsys):
    assert main(["encode", "the cat", "--prompt-name", "query", "--prompt", "x"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- index


def test_index_build_with_chunks(tiny, tiny_path, tmp_path, capsys):
    from sbert._search.index import VectorIndex

    corpus = tmp_path / "corpus.txt"
    texts = [TINY_WORDS, "the cat sat", TINY_WORDS[::-1]]
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    target = tmp_path / "index"
    flags = ["--chunk-tokens", "8", "--chunk-overlap", "3"]
    assert main(["index", "build", str(corpus), "-o", str(target), *flags, "-m", tiny_path]) == 0
    index = VectorIndex.open(target)
    expected = normalize(tiny.encode(texts, chunk_tokens=8, chunk_overlap=3))
    assert len(index) == 3  # one vector per document, not per window
    np.testing.assert_allclose(index.vectors(np.arange(3)), expected, atol=1e-6)
    assert np.abs(index.vectors(np.arange(1)) - normalize(tiny.encode(texts[:1]))).max() > 1e-4
    more = tmp_path / "more.txt"
    more.write_text(TINY_WORDS + "\n", encoding="utf-8")
    assert main(["index", "add", str(target), str(more), *flags]) == 0
    np.testing.assert_allclose(VectorIndex.open(target).vectors(np.array([3])), expected[:1], atol=1e-6)
    capsys.readouterr()
    assert main(["index", "build", str(corpus), "-o", str(tmp_path / "x"), "--chunk-overlap", "2"]) == 2
    assert "--chunk-overlap applies with --chunk-tokens N" in one_line_error(capsys)


def test_index_chunking_needs_texts_to_embed(tmp_path):
    from sbert._search.index import VectorIndex

    with pytest.raises(InputError, match="chunk_tokens applies when the index embeds the texts"):
        VectorIndex.build(tmp_path / "i", ["a", "b"], embeddings=np.eye(2, dtype=np.float32), chunk_tokens=4)
