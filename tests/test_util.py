"""sbert.util against sentence_transformers.util: same inputs, same results (ties aside); bounded memory."""

from __future__ import annotations

import subprocess
import sys

import conftest
import numpy as np
import pytest
import sentence_transformers.util as st_util  # a test dependency: if missing, fail, do not skip
import torch
from conftest import BLOCK_TORCH

from sbert import InputError, util


def stsb_sentences(n: int) -> list[str]:
    return conftest.stsb_sentences("test")[:n]


@pytest.fixture(scope="module")
def stsb_embeddings(stsb_embedded) -> np.ndarray:
    vectors = stsb_embedded("test")  # the default model's, encoded once per run (conftest.py)
    return np.stack([vectors[text] for text in stsb_sentences(2000)])  # (2000, 384)


@pytest.fixture(scope="module")
def random_embeddings() -> np.ndarray:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((30, 48))
    return (np.repeat(centers, 40, axis=0) + 0.5 * rng.standard_normal((1200, 48))).astype(np.float32)


def assert_hits_equal(ours: list[dict], reference: list[dict], atol: float = 1e-5) -> None:
    """Same scores, and the same ids wherever the score is not tied with a neighbour's (or the k-th's)."""
    assert len(ours) == len(reference)
    ours_scores = np.array([h["score"] for h in ours])
    ref_scores = np.array([h["score"] for h in reference])
    np.testing.assert_allclose(ours_scores, ref_scores, atol=atol)
    if not len(ref_scores):
        return
    # Float noise moves a score by up to atol either way (other CPUs' kernels: AVX2's BLAS against torch's),
    # so "clearly above the k-th score" and "untied" take a margin of 2 * atol.
    last, margin = ref_scores[-1], 2 * atol
    assert {h["corpus_id"] for h in reference if h["score"] > last + margin} <= {h["corpus_id"] for h in ours}
    assert {h["corpus_id"] for h in ours if h["score"] > last + margin} <= {h["corpus_id"] for h in reference}
    for a, b, gap_prev, gap_next in zip(
        ours, reference, np.r_[np.inf, -np.diff(ref_scores)], np.r_[-np.diff(ref_scores), np.inf]
    ):
        if min(gap_prev, gap_next) > margin:  # an untied position holds the same id
            assert a["corpus_id"] == b["corpus_id"]


def assert_pairs_equal(ours: list[list], reference: list[list], atol: float = 1e-5) -> None:
    assert len(ours) == len(reference)
    np.testing.assert_allclose([p[0] for p in ours], [p[0] for p in reference], atol=atol)
    last, margin = reference[-1][0], 2 * atol  # the margin as in assert_hits_equal
    # every pair clearly above the cut-off is found by both, with the same score
    found_ours = {tuple(p[1:]): p[0] for p in ours}
    found_ref = {tuple(p[1:]): p[0] for p in reference}
    clear_ours = {pair for pair, score in found_ours.items() if score > last + margin}
    clear_ref = {pair for pair, score in found_ref.items() if score > last + margin}
    assert clear_ours <= found_ref.keys() and clear_ref <= found_ours.keys()
    for pair in clear_ours | clear_ref:
        assert found_ours[pair] == pytest.approx(found_ref[pair], abs=atol)


# ---------------------------------------------------------------------------------------------- similarity


def test_cos_sim_and_dot_score_match_reference(random_embeddings):
    a, b = random_embeddings[:7], random_embeddings[100:160]
    np.testing.assert_allclose(util.cos_sim(a, b), st_util.cos_sim(a, b).numpy(), atol=1e-6)
    np.testing.assert_allclose(util.dot_score(a, b), st_util.dot_score(a, b).numpy(), rtol=1e-6, atol=1e-5)
    assert util.cos_sim(a[0], b).shape == (1, 60)  # a 1-D vector is one row
    # numpy in: a tensor out, as sentence-transformers returns it (torch.topk, .numpy() work on it)
    ours, theirs = util.cos_sim(a, b), st_util.cos_sim(a, b)
    assert isinstance(ours, torch.Tensor) and ours.dtype == theirs.dtype
    assert torch.topk(ours[0], k=3).indices.tolist() == torch.topk(theirs[0], k=3).indices.tolist()
    for rows in (
        [list(r) for r in a[:2]],
        list(a[:2]),
        [torch.from_numpy(r) for r in a[:2]],
    ):  # lists of rows
        ours, theirs = util.cos_sim(rows, b), st_util.cos_sim(rows, b)
        assert ours.dtype == theirs.dtype
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    "name",
    [
        "cos_sim",
        "dot_score",
        "euclidean_sim",
        "manhattan_sim",
        "pairwise_cos_sim",
        "pairwise_dot_score",
        "pairwise_euclidean_sim",
        "pairwise_manhattan_sim",
    ],
)
def test_similarities_follow_the_input_type_as_sentence_transformers(random_embeddings, name):
    """Tensors in: a tensor out, computed in torch with the autograd graph kept (a custom loss can use
    util.cos_sim), equal to sentence-transformers'; numpy in: a tensor too, the same numbers."""
    a, b = random_embeddings[:7], random_embeddings[100:107]
    ta = torch.from_numpy(a).requires_grad_()
    ours, ref = getattr(util, name)(ta, torch.from_numpy(b)), getattr(st_util, name)(ta, torch.from_numpy(b))
    assert isinstance(ours, torch.Tensor) and ours.shape == ref.shape and ours.requires_grad
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    ours.sum().backward()
    assert ta.grad is not None and torch.isfinite(ta.grad).all()
    from_numpy = getattr(util, name)(a, b)
    assert isinstance(from_numpy, torch.Tensor) and from_numpy.dtype == ref.dtype
    np.testing.assert_allclose(from_numpy, ref.detach().numpy(), atol=1e-4, rtol=1e-5)
    # one vector against one vector: a matrix (1, 1) for the matrix functions, one score for pairwise
    one, one_ref = (
        getattr(util, name)(a[0], b[0]),
        getattr(st_util, name)(torch.from_numpy(a[0]), torch.from_numpy(b[0])),
    )
    assert np.shape(one) == tuple(one_ref.shape)


@pytest.mark.parametrize("width", [48, 47])
def test_pairwise_angle_sim_matches_sentence_transformers(random_embeddings, width):
    a, b = random_embeddings[:9, :width], random_embeddings[200:209, :width]
    ta = torch.from_numpy(a).requires_grad_()
    ours, ref = util.pairwise_angle_sim(ta, torch.from_numpy(b)), st_util.pairwise_angle_sim(ta, b)
    assert isinstance(ours, torch.Tensor) and ours.requires_grad
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-5)
    from_lists = util.pairwise_angle_sim(a, b.tolist())
    assert isinstance(from_lists, torch.Tensor)
    np.testing.assert_allclose(from_lists, ref.detach().numpy(), atol=1e-5)
    with pytest.raises(InputError, match="angle similarity"):
        util.pairwise_angle_sim(a, b[:3])


def test_device_name_batch_to_device_and_model_check(tiny_st_factory, tiny_bert):
    from conftest import classic_pooling

    assert util.get_device_name() == st_util.get_device_name()
    batch = {"input_ids": torch.ones(2, 3, dtype=torch.long), "task": "query"}
    assert util.batch_to_device(batch, "cpu") is batch and batch["input_ids"].device.type == "cpu"
    folder = tiny_st_factory(classic_pooling(32, "mean"))
    assert util.is_sentence_transformer_model(str(folder)) == st_util.is_sentence_transformer_model(
        str(folder)
    )
    assert util.is_sentence_transformer_model(str(folder)) is True
    assert util.is_sentence_transformer_model(str(tiny_bert)) is False  # a plain transformers folder


def test_helpers_client_code_imports_match_sentence_transformers():
    import subprocess
    import sys

    from conftest import BLOCK_TORCH

    for obj in (InputError("x"), InputError, 3, int, np.zeros(1)):
        assert util.fullname(obj) == st_util.fullname(obj)
    for path in ("sbert.util.cos_sim", "os.path.join", "collections.OrderedDict"):
        assert util.import_from_string(path) is st_util.import_from_string(path)
    for path in ("os.no_such_name", "no_dots", "no_such_package.thing"):
        with pytest.raises(ImportError):
            st_util.import_from_string(path)
        with pytest.raises(ImportError):
            util.import_from_string(path)
    from tqdm import tqdm

    bar = util.disabled_tqdm(range(3), disable=False)  # pymilvus passes it as huggingface_hub's tqdm_class
    assert list(bar) == [0, 1, 2] and bar.disable is st_util.disabled_tqdm(range(3), disable=False).disable
    assert bar.disable is True and issubclass(util.disabled_tqdm, tqdm)
    assert util.is_training_available() is True
    code = BLOCK_TORCH + "from sbert import util\nprint(util.is_training_available())\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# -------------------------------------------------------------------------------------------- semantic search


@pytest.mark.slow
def test_semantic_search_equals_reference_on_stsb(stsb_embeddings):
    queries, corpus = stsb_embeddings[:300], stsb_embeddings
    reference = st_util.semantic_search(torch.from_numpy(queries), torch.from_numpy(corpus), top_k=10)
    # small chunks: the chunked merge must give the same result as one block
    ours = util.semantic_search(queries, corpus, top_k=10, query_chunk_size=64, corpus_chunk_size=333)
    for a, b in zip(ours, reference, strict=True):
        assert_hits_equal(a, b)
    # each sentence finds itself (or a text that differs only in case: the model lowercases) first
    assert all(hits[0]["score"] == pytest.approx(1.0, abs=1e-5) for hits in ours)


@pytest.mark.slow
def test_semantic_search_dot_score_on_stsb(stsb_embeddings):
    queries, corpus = stsb_embeddings[1000:1100], stsb_embeddings
    reference = st_util.semantic_search(
        torch.from_numpy(queries), torch.from_numpy(corpus), top_k=25, score_function=st_util.dot_score
    )
    ours = util.semantic_search(queries, corpus, top_k=25, score_function="dot", corpus_chunk_size=500)
    for a, b in zip(ours, reference, strict=True):
        assert_hits_equal(a, b)


@pytest.mark.parametrize("query_chunk, corpus_chunk", [(1, 1), (7, 50), (1000, 1000), (3, 1200)])
def test_semantic_search_chunking_does_not_change_results(random_embeddings, query_chunk, corpus_chunk):
    queries = random_embeddings[::97]
    reference = st_util.semantic_search(
        torch.from_numpy(queries), torch.from_numpy(random_embeddings), top_k=12
    )
    ours = util.semantic_search(
        queries, random_embeddings, top_k=12, query_chunk_size=query_chunk, corpus_chunk_size=corpus_chunk
    )
    for a, b in zip(ours, reference, strict=True):
        assert_hits_equal(a, b)


def test_semantic_search_memory_is_bounded_by_the_chunks(random_embeddings):
    shapes = []

    def recording_score(a, b):
        shapes.append((len(a), len(b)))
        return util.dot_score(a, b)

    util.semantic_search(
        random_embeddings,
        random_embeddings,
        top_k=5,
        query_chunk_size=100,
        corpus_chunk_size=250,
        score_function=recording_score,
    )
    assert max(q for q, _ in shapes) <= 100 and max(c for _, c in shapes) <= 250
    assert len(shapes) == 12 * 5  # 12 query chunks x 5 corpus chunks


def test_semantic_search_edge_cases(random_embeddings):
    corpus = random_embeddings[:5]
    hits = util.semantic_search(corpus[0], corpus, top_k=10)  # k > corpus, 1-D query
    assert len(hits) == 1 and len(hits[0]) == 5 and hits[0][0]["corpus_id"] == 0
    assert util.semantic_search(corpus[:2], np.zeros((0, 48), np.float32)) == [[], []]
    assert util.semantic_search(np.zeros((0, 48), np.float32), corpus) == []
    scores = [h["score"] for h in util.semantic_search(corpus[1], corpus, top_k=5)[0]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"top_k": -3}, "top_k"),  # top_k=0 finds nothing, as there (test_encode_fuzz_cases_s39)
        ({"query_chunk_size": 0}, "query_chunk_size"),
        ({"score_function": "l3"}, "score_function"),
    ],
)
def test_semantic_search_bad_arguments(random_embeddings, kwargs, message):
    with pytest.raises(InputError, match=message):
        util.semantic_search(random_embeddings[:2], random_embeddings, **kwargs)


def test_semantic_search_bad_shapes(random_embeddings):
    with pytest.raises(InputError, match="dimensions differ"):
        util.semantic_search(random_embeddings[:2, :10], random_embeddings)
    with pytest.raises(InputError, match="shape"):
        util.semantic_search(random_embeddings[None], random_embeddings)
    with pytest.raises(InputError, match="numeric"):
        util.semantic_search(np.array(["a", "b"]), random_embeddings)


# ------------------------------------------------------------------------------------------ paraphrase mining


@pytest.mark.slow
def test_paraphrase_mining_equals_reference_on_stsb(stsb_embeddings):
    reference = st_util.paraphrase_mining_embeddings(
        torch.from_numpy(stsb_embeddings), top_k=10, max_pairs=3000
    )
    ours = util.paraphrase_mining_embeddings(
        stsb_embeddings, top_k=10, max_pairs=3000, query_chunk_size=300, corpus_chunk_size=700
    )
    assert_pairs_equal(ours, reference)
    assert all(i < j for _, i, j in ours)


def test_paraphrase_mining_with_a_model_equals_reference(default_model, st_default_model):
    sentences = stsb_sentences(120)
    reference = st_util.paraphrase_mining(st_default_model, sentences, top_k=5, max_pairs=200)
    ours = util.paraphrase_mining(default_model, sentences, top_k=5, max_pairs=200)
    assert_pairs_equal(ours, reference, atol=1e-5)
    # truncate_dim: the scores of the first 64 dimensions, as sentence-transformers computes them
    reference = st_util.paraphrase_mining(st_default_model, sentences[:40], top_k=3, truncate_dim=64)
    truncated = util.paraphrase_mining(default_model, sentences[:40], top_k=3, truncate_dim=64)
    assert truncated and all(len(p) == 3 for p in truncated)
    assert_pairs_equal(truncated, reference, atol=1e-5)
    full = util.paraphrase_mining(default_model, sentences[:40], top_k=3)
    assert max(abs(f[0] - t[0]) for f, t in zip(full, truncated)) > 1e-2  # 64 dimensions score differently


@pytest.mark.parametrize("top_k, max_pairs", [(1, 10), (5, 100_000), (30, 500)])
def test_paraphrase_mining_random(random_embeddings, top_k, max_pairs):
    emb = random_embeddings[:400]
    reference = st_util.paraphrase_mining_embeddings(torch.from_numpy(emb), top_k=top_k, max_pairs=max_pairs)
    ours = util.paraphrase_mining_embeddings(
        emb, top_k=top_k, max_pairs=max_pairs, query_chunk_size=64, corpus_chunk_size=150
    )
    assert_pairs_equal(ours, reference)


def test_paraphrase_mining_never_builds_an_n_by_n_matrix(random_embeddings):
    shapes = []

    def recording_score(a, b):
        shapes.append((len(a), len(b)))
        return util.cos_sim(a, b)

    util.paraphrase_mining_embeddings(
        random_embeddings,
        top_k=3,
        query_chunk_size=200,
        corpus_chunk_size=300,
        score_function=recording_score,
    )
    assert max(q * c for q, c in shapes) <= 200 * 300


# ---------------------------------------------------------------------------------------------- communities


def assert_communities_equal(ours: list[list[int]], reference: list[list[int]]) -> None:
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        assert a[0] == b[0]  # the same central text
        assert set(a) == set(b)


@pytest.mark.parametrize("threshold, min_size, batch", [(0.75, 10, 1024), (0.85, 5, 100), (0.6, 30, 7)])
def test_community_detection_matches_reference(random_embeddings, threshold, min_size, batch):
    reference = st_util.community_detection(
        random_embeddings, threshold=threshold, min_community_size=min_size, batch_size=batch
    )
    ours = util.community_detection(
        random_embeddings, threshold=threshold, min_community_size=min_size, batch_size=batch
    )
    assert ours, "the fixture has clusters"
    assert_communities_equal(ours, reference)
    members = [i for community in ours for i in community]
    assert len(members) == len(set(members))  # no text in two communities


@pytest.mark.slow
def test_community_detection_on_stsb(stsb_embeddings):
    reference = st_util.community_detection(stsb_embeddings, threshold=0.7, min_community_size=3)
    ours = util.community_detection(stsb_embeddings, threshold=0.7, min_community_size=3)
    assert ours
    assert_communities_equal(ours, reference)


def test_community_detection_edge_cases(random_embeddings):
    assert util.community_detection(np.zeros((0, 8), np.float32)) == []
    assert util.community_detection(random_embeddings[:5], min_community_size=10) == []
    with pytest.raises(InputError, match="min_community_size"):
        util.community_detection(random_embeddings, min_community_size=0)


# ---------------------------------------------------------------------------------------------- quantization


@pytest.mark.parametrize("precision", ["float32", "int8", "uint8", "binary", "ubinary"])
def test_quantize_embeddings_equals_reference(random_embeddings, precision):
    ours = util.quantize_embeddings(random_embeddings, precision)
    reference = st_util.quantize_embeddings(random_embeddings, precision)
    assert ours.dtype == reference.dtype
    np.testing.assert_array_equal(ours, reference)


@pytest.mark.parametrize("precision", ["int8", "uint8"])
def test_quantize_with_calibration_and_ranges(random_embeddings, precision):
    corpus, queries = random_embeddings[:1000], random_embeddings[1000:1010]
    reference = st_util.quantize_embeddings(queries, precision, calibration_embeddings=corpus)
    np.testing.assert_array_equal(
        util.quantize_embeddings(queries, precision, calibration_embeddings=corpus), reference
    )
    ranges = util.quantization_ranges(corpus)
    assert ranges.shape == (2, 48)
    np.testing.assert_array_equal(util.quantize_embeddings(queries, precision, ranges=ranges), reference)
    # a single query with the corpus' ranges
    np.testing.assert_array_equal(
        util.quantize_embeddings(queries[0], precision, ranges=ranges), reference[0]
    )
    # dequantizing gives back the vectors to within one bucket
    restored = util.dequantize_embeddings(reference, precision, ranges)
    bucket = (ranges[1] - ranges[0]) / 255
    assert np.all(np.abs(restored - np.clip(queries, ranges[0], ranges[1])) <= bucket + 1e-6)


def test_quantize_nothing_gives_nothing_as_sentence_transformers():
    for precision in ("float32", "int8", "uint8", "binary", "ubinary"):
        assert util.quantize_embeddings([], precision) == st_util.quantize_embeddings([], precision) == []


@pytest.mark.parametrize("precision", ["float32", "int8", "uint8", "binary", "ubinary"])
def test_quantize_token_matrices_on_shared_ranges_as_sentence_transformers(random_embeddings, precision):
    # a MultiVectorEncoder's documents: (tokens, d) matrices of different lengths, one fully masked
    matrices = [random_embeddings[:7], random_embeddings[7:7], random_embeddings[7:30]]
    ours = util.quantize_embeddings(matrices, precision)
    reference = st_util.quantize_embeddings(matrices, precision)
    assert isinstance(ours, list) and len(ours) == 3
    for a, b in zip(ours, reference):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    tensors = [torch.from_numpy(m).to(torch.bfloat16) for m in matrices]
    for a, b in zip(
        util.quantize_embeddings(tensors, precision), st_util.quantize_embeddings(tensors, precision)
    ):
        np.testing.assert_array_equal(a, b)
    only_empty = [random_embeddings[:0]]
    assert util.quantize_embeddings(only_empty, precision)[0].shape == (
        st_util.quantize_embeddings(only_empty, precision)[0].shape
    )


@pytest.mark.parametrize("precision", ["int8", "binary", "ubinary"])
def test_quantize_integer_values_as_sentence_transformers(random_embeddings, precision):
    values = (random_embeddings[:50] * 100).astype(np.int32)  # numbers, not codes: quantized as there
    np.testing.assert_array_equal(
        util.quantize_embeddings(values, precision), st_util.quantize_embeddings(values, precision)
    )


def test_quantize_bad_input(random_embeddings):
    with pytest.raises(InputError, match="precision"):
        util.quantize_embeddings(random_embeddings, "int4")
    with pytest.raises(InputError, match="single embedding"):
        util.quantize_embeddings(random_embeddings[0], "int8")
    with pytest.raises(InputError, match="float"):
        util.quantize_embeddings(util.quantize_embeddings(random_embeddings, "int8"), "int8")
    with pytest.raises(InputError, match="ranges"):
        util.quantize_embeddings(random_embeddings, "int8", ranges=np.zeros((2, 3), np.float32))


def test_truncate_dim(random_embeddings):
    out = util.truncate_dim(random_embeddings, 16)
    np.testing.assert_array_equal(out, st_util.truncate_embeddings(random_embeddings, 16))
    assert util.truncate_dim(random_embeddings, None) is random_embeddings
    unit = util.truncate_dim(random_embeddings, 16, renormalize=True)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(util.truncate_embeddings(random_embeddings, truncate_dim=16), out)
    tensor = torch.from_numpy(random_embeddings).requires_grad_()
    truncated = util.truncate_embeddings(tensor, 16)  # a tensor stays a tensor, gradients kept
    assert torch.equal(truncated, st_util.truncate_embeddings(tensor, 16)) and truncated.requires_grad
    for bad in (0, 49, -1, 2.5):
        with pytest.raises(InputError):
            util.truncate_dim(random_embeddings, bad)


def test_util_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, sbert.util; print('torch' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )


@pytest.mark.parametrize(
    "name", ["cos_sim", "dot_score", "euclidean_sim", "manhattan_sim", "pairwise_cos_sim"]
)
def test_half_precision_tensors_score_in_float32_as_sentence_transformers(random_embeddings, name):
    a, b = (torch.from_numpy(x).to(torch.bfloat16) for x in (random_embeddings[:4], random_embeddings[4:8]))
    ours, ref = getattr(util, name)(a, b), getattr(st_util, name)(a, b)
    assert ours.dtype == ref.dtype == torch.float32
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-4)
    mixed = getattr(util, name)(a.float(), b.float().tolist())  # a list with a tensor: float32, as ST
    torch.testing.assert_close(mixed, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["dot_score", "pairwise_dot_score", "pairwise_manhattan_sim"])
@pytest.mark.parametrize("kind", ["list", "numpy", "tensor"])
def test_integer_inputs_score_as_integers_as_sentence_transformers(name, kind):
    # llmlingua's openai/voyageai rankers hand util.dot_score plain lists; ST keeps an integer dtype there
    a, b = [[1, 2], [3, -4]], [[2, 1], [0, 5]]
    convert = {"list": list, "numpy": np.array, "tensor": torch.tensor}[kind]
    a, b = convert(a), convert(b)
    ours, ref = getattr(util, name)(a, b), getattr(st_util, name)(a, b)
    assert ours.dtype == ref.dtype == torch.int64
    assert ours.tolist() == ref.tolist()


# ------------------------------------------------------------------ calls written for sentence-transformers


def test_positional_arguments_in_sentence_transformers_order(
    random_embeddings, default_model, st_default_model
):
    emb, queries = random_embeddings, random_embeddings[:7]
    ranges = util.quantization_ranges(emb)
    for ours, reference in [
        (util.semantic_search(queries, emb, 3, 50, 5), st_util.semantic_search(queries, emb, 3, 50, 5)),
        (util.semantic_search(queries, emb, 3, 50, 5, util.dot_score), None),
    ]:
        reference = reference or st_util.semantic_search(queries, emb, 3, 50, 5, st_util.dot_score)
        assert [len(hits) for hits in ours] == [5] * 7
        for a, b in zip(ours, reference):
            assert_hits_equal(a, b)
    assert_pairs_equal(
        util.paraphrase_mining_embeddings(emb, 100, 300, 50, 3),
        st_util.paraphrase_mining_embeddings(torch.from_numpy(emb), 100, 300, 50, 3),
    )
    assert_communities_equal(
        util.community_detection(emb, 0.8, 5, 100, True), st_util.community_detection(emb, 0.8, 5, 100, True)
    )
    np.testing.assert_array_equal(
        util.quantize_embeddings(emb, "int8", ranges), st_util.quantize_embeddings(emb, "int8", ranges)
    )
    texts = stsb_sentences(40)
    assert_pairs_equal(
        util.paraphrase_mining(default_model, texts, False, 8, prompt="query: "),
        st_util.paraphrase_mining(st_default_model, texts, False, 8, prompt="query: "),
    )


def test_a_torch_score_function_gets_tensors_as_in_sentence_transformers(random_embeddings):
    queries, corpus = torch.from_numpy(random_embeddings[:5]), torch.from_numpy(random_embeddings)

    def torch_dot(a, b):
        return torch.mm(a, b.T)

    for ours, reference in zip(
        util.semantic_search(queries, corpus, top_k=4, score_function=torch_dot),
        st_util.semantic_search(queries, corpus, top_k=4, score_function=torch_dot),
    ):
        assert_hits_equal(ours, reference)
    assert_pairs_equal(
        util.paraphrase_mining_embeddings(corpus[:200], top_k=3, score_function=torch_dot),
        st_util.paraphrase_mining_embeddings(corpus[:200], top_k=3, score_function=torch_dot),
    )
    # sentence-transformers' own function on numpy inputs: it returns a tensor, which the search reads
    for ours, reference in zip(
        util.semantic_search(random_embeddings[:5], random_embeddings, score_function=st_util.dot_score),
        util.semantic_search(random_embeddings[:5], random_embeddings, score_function=util.dot_score),
    ):
        assert_hits_equal(ours, reference)


@pytest.mark.parametrize("name", ["cosine", "dot", "euclidean", "manhattan"])
def test_similarity_function_enum_gives_the_functions(random_embeddings, name):
    from sentence_transformers import SimilarityFunction as Reference

    a, b = random_embeddings[:4], random_embeddings[4:10]
    np.testing.assert_allclose(
        util.SimilarityFunction.to_similarity_fn(name)(a, b),
        Reference.to_similarity_fn(name)(a, b).numpy(),
        atol=1e-4,
    )
    c = random_embeddings[10:14]
    np.testing.assert_allclose(
        util.SimilarityFunction.to_similarity_pairwise_fn(name)(a, c),
        Reference.to_similarity_pairwise_fn(name)(a, c).numpy(),
        atol=1e-4,
    )
    tensor = util.SimilarityFunction.to_similarity_fn(name)(torch.from_numpy(a), torch.from_numpy(b))
    assert isinstance(tensor, torch.Tensor)


def test_a_missing_model_is_not_a_sentence_transformer_model(tmp_path):
    missing = str(tmp_path / "no-such-model")
    assert st_util.is_sentence_transformer_model(missing, local_files_only=True) is False
    assert util.is_sentence_transformer_model(missing, local_files_only=True) is False


# ---------------------------------------------------------------------------------------------- faiss search


@pytest.mark.parametrize(
    "precision, rescore", [("float32", False), ("ubinary", True), ("ubinary", False), ("uint8", True)]
)
def test_semantic_search_faiss_matches_sentence_transformers(stsb_embeddings, precision, rescore):
    from sentence_transformers.util.quantization import semantic_search_faiss as reference

    from sbert.util.quantization import quantize_embeddings, semantic_search_faiss

    corpus, queries = stsb_embeddings[100:], stsb_embeddings[:100]
    calibration = corpus if precision == "uint8" else None
    codes = quantize_embeddings(corpus, precision, calibration_embeddings=calibration)
    options = {
        "corpus_precision": precision,
        "top_k": 5,
        "rescore": rescore,
        "calibration_embeddings": calibration,
    }
    ours, seconds, index = semantic_search_faiss(queries, codes, output_index=True, **options)
    theirs, _ = reference(queries, codes, **options)
    assert isinstance(seconds, float) and index.ntotal == len(corpus)
    for a, b in zip(ours, theirs):
        assert_hits_equal(a, b, atol=1e-4)
    again, _ = semantic_search_faiss(queries, corpus_index=index, **options)  # the index reused
    assert again == ours


def test_semantic_search_faiss_inputs_are_checked(random_embeddings):
    from sbert.quantization import semantic_search_faiss

    with pytest.raises(InputError, match="exactly one"):
        semantic_search_faiss(random_embeddings[:2])
    with pytest.raises(InputError, match="corpus_precision"):
        semantic_search_faiss(random_embeddings[:2], random_embeddings, corpus_precision="int8")
    with pytest.warns(UserWarning, match="rescore=True changes nothing"):
        hits, _ = semantic_search_faiss(random_embeddings[:3], random_embeddings, top_k=2)
    assert [h[0]["corpus_id"] for h in hits] == [0, 1, 2]
    approximate, _ = semantic_search_faiss(
        random_embeddings[:3], random_embeddings, top_k=2, exact=False, rescore=False
    )
    assert [len(h) for h in approximate] == [2, 2, 2]


# -------------------------------------------------------------------------------------------- usearch search


def assert_distances_equal(ours: list[dict], reference: list[dict]) -> None:
    """Hits scored by usearch's distances (best first): the same distances, and the same ids at each distance
    below the k-th (ids tied with the k-th may come from past the cut-off)."""
    assert [h["score"] for h in ours] == [h["score"] for h in reference]
    for distance in {h["score"] for h in reference} - {reference[-1]["score"]}:
        tied = [{h["corpus_id"] for h in hits if h["score"] == distance} for hits in (ours, reference)]
        assert tied[0] == tied[1]


@pytest.mark.parametrize(
    "precision, rescore",
    [("float32", False), ("int8", True), ("int8", False), ("ubinary", False), ("binary", False)],
)
def test_semantic_search_usearch_matches_sentence_transformers(stsb_embeddings, precision, rescore):
    from sentence_transformers.util.quantization import semantic_search_usearch as reference

    from sbert.util.quantization import quantize_embeddings, semantic_search_usearch

    corpus, queries = stsb_embeddings[100:], stsb_embeddings[:100]
    calibration = corpus if precision == "int8" else None
    codes = quantize_embeddings(corpus, precision, calibration_embeddings=calibration)
    options = {"corpus_precision": precision, "top_k": 5, "rescore": rescore}
    options["calibration_embeddings"] = calibration
    ours, seconds, index = semantic_search_usearch(queries, codes, output_index=True, **options)
    theirs, _ = reference(queries, codes, **options)
    assert isinstance(seconds, float) and len(index) == len(corpus)
    for a, b in zip(ours, theirs):  # Hamming distances tie often: usearch orders ties differently per run
        (assert_hits_equal if rescore else assert_distances_equal)(a, b)
    again, _ = semantic_search_usearch(queries, corpus_index=index, **options)  # the index reused
    assert [[h["score"] for h in row] for row in again] == [[h["score"] for h in row] for row in ours]


@pytest.mark.parametrize("precision", ["ubinary", "binary", "int8"])
def test_semantic_search_usearch_rescores_as_sentence_transformers(stsb_embeddings, precision):
    from sentence_transformers.util.quantization import semantic_search_usearch as reference

    from sbert.util.quantization import quantize_embeddings, semantic_search_usearch

    # 8 * 10 candidates from 60 documents: every document is rescored (no Hamming tie at the cut-off) and
    # the result sets are short, so the padding slots are dropped as there
    corpus, queries = stsb_embeddings[100:160], stsb_embeddings[:20]
    calibration = corpus if precision == "int8" else None
    codes = quantize_embeddings(corpus, precision, calibration_embeddings=calibration)
    options = {"corpus_precision": precision, "top_k": 8, "rescore_multiplier": 10}
    options["calibration_embeddings"] = calibration
    ours, _ = semantic_search_usearch(queries, codes, **options)
    assert ours == reference(queries, codes, **options)[0]
    one, _ = semantic_search_usearch(queries[:1], codes, **options)  # one query: usearch's Matches
    assert one == reference(queries[:1], codes, **options)[0] and len(one[0]) == 8


@pytest.mark.parametrize("library", ["faiss", "usearch"])
def test_integer_queries_rescore_as_sentence_transformers(random_embeddings, library):
    from sentence_transformers.util import quantization as reference

    from sbert.util import quantization

    function = f"semantic_search_{library}"
    queries = (random_embeddings[:4] * 100).astype(np.int32)  # not codes: quantized, then rescore
    corpus = quantization.quantize_embeddings(random_embeddings[:40], "ubinary")
    options = {"corpus_precision": "ubinary", "top_k": 5, "rescore_multiplier": 8}  # the whole corpus
    ours, _ = getattr(quantization, function)(queries, corpus, **options)
    assert ours == getattr(reference, function)(queries, corpus, **options)[0]


def test_semantic_search_usearch_inputs_are_checked(random_embeddings, monkeypatch):
    from sbert.quantization import semantic_search_usearch
    from sbert.util import quantization

    assert semantic_search_usearch is quantization.semantic_search_usearch
    with pytest.raises(InputError, match="exactly one"):
        semantic_search_usearch(random_embeddings[:2])
    with pytest.raises(InputError, match="corpus_precision"):
        semantic_search_usearch(random_embeddings[:2], random_embeddings, corpus_precision="uint8")
    with pytest.warns(UserWarning, match="rescore=True changes nothing"):
        hits, _ = semantic_search_usearch(random_embeddings[:3], random_embeddings, top_k=2)
    assert [h[0]["corpus_id"] for h in hits] == [0, 1, 2]
    approximate, _ = semantic_search_usearch(
        random_embeddings[:3], random_embeddings, top_k=2, exact=False, rescore=False
    )
    assert [len(h) for h in approximate] == [2, 2, 2]
    monkeypatch.setitem(sys.modules, "usearch.index", None)  # usearch not installed
    with pytest.raises(ImportError, match=r"pip install 'sbert\[usearch\]'"):
        semantic_search_usearch(random_embeddings[:2], random_embeddings)


SIMILARITY_WITHOUT_TORCH = (
    BLOCK_TORCH
    + """
import numpy as np
from sbert import util
a = np.eye(3, dtype=np.float32)
scores = util.cos_sim(a, a[:2])
pairwise = util.pairwise_dot_score(a, a)
print(type(scores).__name__, scores.shape, type(pairwise).__name__, np.allclose(scores, a[:, :2]))
print(sorted(m for m in sys.modules if m.startswith("torch")))
kept = util.select_max_active_dims(np.array([[1.0, -3.0, 2.0, 0.5], [0.1, 0.2, -0.3, 0.0]]), 2)
print(type(kept).__name__, kept.tolist())
"""
)


def test_similarities_without_torch_are_numpy():
    """The base install (no torch): numpy in, numpy out, the same numbers; torch is never imported."""
    result = subprocess.run(
        [sys.executable, "-c", SIMILARITY_WITHOUT_TORCH], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [
        "ndarray (3, 2) ndarray True",
        "[]",
        "ndarray [[0.0, -3.0, 2.0, 0.0], [0.0, 0.2, -0.3, 0.0]]",
    ]


def test_select_max_active_dims_as_sentence_transformers():
    """The top values by magnitude of each row kept (signs too), as sentence-transformers' util; a tensor out,
    the input untouched; None gives the input; a count below 1 is a ValueError."""
    from sentence_transformers.util import select_max_active_dims as reference

    rng = np.random.default_rng(0)
    for x in (rng.normal(size=(5, 9)), rng.normal(size=7).astype(np.float32), torch.randn(3, 6)):
        before = x.copy() if isinstance(x, np.ndarray) else x.clone()
        for k in (1, 3, 6, 50):
            ours, theirs = util.select_max_active_dims(x, k), reference(x, k)
            assert isinstance(ours, torch.Tensor) and ours.dtype == theirs.dtype
            torch.testing.assert_close(ours, theirs)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(before))
        assert util.select_max_active_dims(x, None) is x
    for bad in (0, -2):
        with pytest.raises(ValueError, match="max_active_dims must be a positive integer"):
            util.select_max_active_dims(torch.ones(2, 3), bad)
