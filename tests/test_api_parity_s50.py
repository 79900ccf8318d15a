"""Small API points against sentence-transformers 6.3, side by side: what ``SimilarityFunction`` hands out
(the util functions themselves, whose names a loss's config and the model card print), and the per-token maps
of ``model.tokenizer(...)``'s output (``tokens()``, ``word_ids()``, ...)."""

from __future__ import annotations

import numpy as np
import pytest

NAMES = ["cosine", "dot", "euclidean", "manhattan"]


@pytest.mark.parametrize("name", NAMES)
def test_similarity_functions_are_the_util_functions(name):
    import sentence_transformers
    from sentence_transformers import util as their_util

    from sbert import SimilarityFunction, util

    for method in ("to_similarity_fn", "to_similarity_pairwise_fn"):
        ours = getattr(SimilarityFunction, method)(name)
        theirs = getattr(sentence_transformers.SimilarityFunction, method)(name)
        assert ours.__name__ == theirs.__name__
        assert ours is getattr(util, ours.__name__)
        assert util.similarity_fct_name(ours) == their_util.similarity_fct_name(theirs)
        a = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
        np.testing.assert_allclose(
            ours(a, a[::-1].copy()).numpy(), theirs(a, a[::-1].copy()).numpy(), atol=1e-5
        )


@pytest.mark.parametrize("name", NAMES)
def test_a_models_similarity_is_named_by_its_function(default_model_path, name):
    """A loss's config names ``model.similarity`` by the function it resolves to, as in ST."""
    import sentence_transformers
    from sentence_transformers import util as their_util

    from sbert import SentenceTransformer, util

    ours = SentenceTransformer(str(default_model_path), similarity_fn_name=name)
    theirs = sentence_transformers.SentenceTransformer(str(default_model_path), device="cpu")
    theirs.similarity_fn_name = name
    for method in ("similarity", "similarity_pairwise"):
        expected = their_util.similarity_fct_name(getattr(theirs, method))
        assert util.similarity_fct_name(getattr(ours, method)) == expected


TOKEN_MAPS = (
    "token_to_word",
    "token_to_chars",
    "char_to_token",
    "word_to_tokens",
    "token_to_sequence",
    "char_to_word",
)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding": True},
        {"padding": "max_length", "max_length": 12},
        {"padding": True, "padding_side": "left"},
    ],
)
def test_tokenizer_output_maps_tokens_as_a_fast_tokenizer(default_model_path, options):
    """``model.tokenizer(texts)``'s per-token maps (``tokens()``, ``word_ids()``, ``char_to_token()``, ...),
    padded positions included, as transformers' fast tokenizer gives them to sentence-transformers' users."""
    import sentence_transformers

    from sbert import SentenceTransformer

    ours = SentenceTransformer(str(default_model_path)).tokenizer
    theirs = sentence_transformers.SentenceTransformer(str(default_model_path), device="cpu").tokenizer
    texts = ["Hello World, unbelievable!", "héllo wörld naïve"]
    mine, reference = ours(texts, **options), theirs(texts, **options)
    assert mine.n_sequences == reference.n_sequences
    for row in range(len(texts)):
        for method in ("tokens", "word_ids", "sequence_ids"):
            assert getattr(mine, method)(row) == getattr(reference, method)(row), (method, row)
    for arguments in ((3,), (1, 3), (1, 7), (0, 2)):
        for method in TOKEN_MAPS:
            got, expected = getattr(mine, method)(*arguments), getattr(reference, method)(*arguments)
            assert got == expected and type(got).__name__ == type(expected).__name__, (method, arguments)
    pair, reference_pair = ours(["q"], ["d d"], padding=True), theirs(["q"], ["d d"], padding=True)
    assert pair.sequence_ids(0) == reference_pair.sequence_ids(0) and pair.n_sequences == 2


@pytest.mark.parametrize("kind", ["similarity", "triplet"])
def test_main_similarity_outside_the_named_functions_is_reported_as_in_st(default_model_path, kind, tmp_path):
    """``main_similarity`` names the primary metric only: with ``similarity_fn_names`` given, those functions
    alone are reported (and written to the CSV); the attribute holds a SimilarityFunction, as there."""
    import sentence_transformers
    from sentence_transformers.sentence_transformer import evaluation as theirs

    import sbert
    from sbert import evaluation as ours

    texts = ["A man is eating food.", "A man eats.", "A plane takes off.", "Kids play in the park."]
    if kind == "similarity":
        options = {"main_similarity": "manhattan", "similarity_fn_names": ["cosine", "dot"]}
        arguments = (texts[:3], texts[1:], [0.9, 0.1, 0.2])
        attribute, cls = "main_similarity", "EmbeddingSimilarityEvaluator"
    else:
        options = {"main_similarity_function": "manhattan", "similarity_fn_names": ["cosine"]}
        arguments = (texts[:2], texts[1:3], texts[2:])
        attribute, cls = "main_similarity_function", "TripletEvaluator"
    model = sbert.SentenceTransformer(str(default_model_path))
    reference = sentence_transformers.SentenceTransformer(str(default_model_path), device="cpu")
    mine, expected = getattr(ours, cls)(*arguments, **options), getattr(theirs, cls)(*arguments, **options)
    (tmp_path / "ours").mkdir(), (tmp_path / "theirs").mkdir()
    got, want = mine(model, str(tmp_path / "ours")), expected(reference, str(tmp_path / "theirs"))
    assert list(got) == list(want) and mine.primary_metric == expected.primary_metric
    np.testing.assert_allclose(list(got.values()), list(want.values()), atol=1e-5)
    main = getattr(mine, attribute)  # an enum as there (sbert's is also its string)
    assert isinstance(main, sbert.SimilarityFunction) and main.value == getattr(expected, attribute).value
    headers = [
        (folder / name).read_text().splitlines()[0]
        for folder in (tmp_path / "ours", tmp_path / "theirs")
        for name in sorted(p.name for p in folder.iterdir())
    ]
    assert headers[0] == headers[1]


def _evaluator_cases(texts):
    a, b, c = texts[:4], texts[4:8], texts[8:12]
    return {
        "EmbeddingSimilarityEvaluator": ((a, b, [0.1, 0.5, 0.9, 0.3]), {}),
        "BinaryClassificationEvaluator": ((a, b, [0, 1, 1, 0]), {}),
        "TripletEvaluator": ((a, b, c), {}),
        "TranslationEvaluator": ((a, b), {}),
        "RerankingEvaluator": (([{"query": a[0], "positive": [b[0]], "negative": c[:2]}],), {}),
    }


@pytest.mark.parametrize(
    "name",
    [
        "EmbeddingSimilarityEvaluator",
        "BinaryClassificationEvaluator",
        "TripletEvaluator",
        "TranslationEvaluator",
        "RerankingEvaluator",
    ],
)
def test_a_subclass_embed_inputs_is_called_as_in_st(default_model_path, name):
    """sentence-transformers' evaluators embed through ``embed_inputs``, which subclasses override (and call
    through ``super()``): sbert's call an override for every column, and give what ST's give with it."""
    import sentence_transformers
    from sentence_transformers.sentence_transformer import evaluation as theirs

    import sbert
    from sbert import evaluation as ours

    texts = [
        f"sentence number {i} about {topic}" for i, topic in enumerate("cats dogs cars rain sun tea" * 2)
    ]
    arguments, options = _evaluator_cases(texts)[name]
    rotation = np.random.default_rng(3).normal(size=(384, 384)).astype(np.float32)
    results, calls = [], []
    for module, model in (
        (theirs, sentence_transformers.SentenceTransformer(str(default_model_path), device="cpu")),
        (ours, sbert.SentenceTransformer(str(default_model_path))),
    ):

        class Rotated(getattr(module, name)):
            seen: list[int] = []

            def embed_inputs(self, model, sentences, *args, **kwargs):
                self.seen.append(len(sentences))
                found = super().embed_inputs(model, sentences, *args, **kwargs)
                array = (
                    np.stack([np.asarray(r) for r in found]) if isinstance(found, list) else np.asarray(found)
                )
                rotated = (array @ rotation)[:, ::-1].copy()  # not a similarity-preserving map
                return _as_found(rotated, found)

        results.append(Rotated(*arguments, **options)(model))
        calls.append(sorted(Rotated.seen))
    assert calls[0] == calls[1] and calls[1]  # the override embedded every text, in the same calls
    assert list(results[0]) == list(results[1])
    np.testing.assert_allclose(list(results[1].values()), list(results[0].values()), atol=1e-4)


def _as_found(array, found):
    """``array`` as the kind of embeddings ``embed_inputs`` gave: a tensor, a list of tensors, numpy."""
    import torch

    if isinstance(found, list):
        return list(torch.from_numpy(array))
    return torch.from_numpy(array) if isinstance(found, torch.Tensor) else array
