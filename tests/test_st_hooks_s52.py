"""sentence-transformers 6.3's subclassing steps that a user's code calls or overrides, with its results, and
honoured where it calls them: the retrieval evaluator's ``get_corpus_id_ranks``, the GIST losses'
``sim_matrix``, the cross-encoder MultipleNegativesRankingLoss's ``call_model_with_columns`` /
``call_model_with_pairs`` / ``get_in_batch_negatives`` / ``calculate_loss`` (and its cached version's
mini-batch steps), and the cached losses' GradCache steps. Each side by side with sentence-transformers'
class and the same override, on the same tiny model folder."""

from __future__ import annotations

import importlib
import inspect
import warnings

import pytest
import torch
from conftest import classic_pooling

import sbert

A = ["the cat sat on the mat", "a man plays guitar", "the weather is lovely", "he drove to the stadium"]
B = ["it is so sunny outside", "a woman plays music", "the dog sat on the mat", "she walked to the tree"]
C = ["the tree is green", "a small house", "i ran fast", "the music was bad"]


def same_signature(ours, theirs) -> None:
    assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters)


def st_loss(name: str, *args, **kwargs):
    from sentence_transformers.sentence_transformer import losses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return getattr(losses, name)(*args, **kwargs)


def loss_and_grad(model, loss, columns):
    """The loss's value on ``columns`` and the gradient of the encoder's weights."""
    for p in model.parameters():
        p.grad = None
    value = loss([model.tokenize(c) for c in columns], None)
    value.backward()
    weights = [p for _, p in sorted(model[0].auto_model.named_parameters())]
    grad = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in weights])
    return value.item(), grad


def assert_same_loss(ours, theirs, columns) -> float:
    (value, grad), (ref_value, ref_grad) = loss_and_grad(*ours, columns), loss_and_grad(*theirs, columns)
    assert value == pytest.approx(ref_value, abs=1e-5)
    torch.testing.assert_close(grad, ref_grad, atol=1e-5, rtol=1e-4)
    return value


# ------------------------------------------------------------------ InformationRetrievalEvaluator


def ir_evaluators(corpus, relevant, ours_class=None, theirs_class=None, **options):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    args = ({"q": "the cat"}, corpus, relevant)
    keys = {"mrr_at_k": [10], "ndcg_at_k": [10], "accuracy_at_k": [1], "precision_recall_at_k": [1]}
    keys = {**keys, "map_at_k": [10], "write_csv": False, **options}
    ours_class = ours_class or sbert.InformationRetrievalEvaluator
    return ours_class(*args, **keys), (theirs_class or InformationRetrievalEvaluator)(*args, **keys)


def test_get_corpus_id_ranks_is_sentence_transformers(models):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    corpus = {10: "a red car", 2: "a blue car", 7: "the cat", 30: "a dog"}
    ours, theirs = ir_evaluators(corpus, {"q": {7}})
    same_signature(ours.get_corpus_id_ranks, theirs.get_corpus_id_ranks)
    ranks = ours.get_corpus_id_ranks()
    assert ranks.dtype == torch.long
    assert ranks.tolist() == theirs.get_corpus_id_ranks().tolist() == [2, 0, 1, 3]  # 10, 2, 7, 30 by value
    assert ours.get_corpus_id_ranks() is ranks  # cached
    assert InformationRetrievalEvaluator.get_corpus_id_ranks.__doc__


def test_score_ties_go_to_the_lower_id_by_value(models):
    """Two documents of the same text tie: the lower id (2 before 10, not "10" before "2") ranks first."""
    corpus = {10: "a red car", 2: "a red car", 3: "music was bad"}
    ours, theirs = ir_evaluators(corpus, {"q": {10}})
    mine, ref = ours(models[0]), theirs(models[1])
    assert mine["cosine_mrr@10"] == pytest.approx(ref["cosine_mrr@10"], abs=1e-6)
    assert mine["cosine_ndcg@10"] == pytest.approx(ref["cosine_ndcg@10"], abs=1e-6)


def test_overridden_corpus_id_ranks_pick_a_chunks_tied_candidates(models):
    """Three documents of one text tie at the top-1 cut of a chunk: the override's ranks pick which enters
    the top 1 (the last id here), as sentence-transformers picks it."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    def reversed_ranks(self):
        return torch.arange(len(self.corpus_ids) - 1, -1, -1)

    corpus = {"a": "a red car", "b": "a red car", "c": "a red car"}
    options = {"mrr_at_k": [1], "ndcg_at_k": [1], "map_at_k": [1], "corpus_chunk_size": 3}
    default = ir_evaluators(corpus, {"q": {"c"}}, **options)
    ours_class = type(
        "Ranked", (sbert.InformationRetrievalEvaluator,), {"get_corpus_id_ranks": reversed_ranks}
    )
    theirs_class = type("Ranked", (InformationRetrievalEvaluator,), {"get_corpus_id_ranks": reversed_ranks})
    ranked = ir_evaluators(corpus, {"q": {"c"}}, ours_class, theirs_class, **options)
    found = [[e(model)["cosine_accuracy@1"] for e, model in zip(pair, models)] for pair in (default, ranked)]
    assert found == [[0.0, 0.0], [1.0, 1.0]]


# ------------------------------------------------------------------ GIST losses


@pytest.fixture(scope="module")
def guides(tiny_st_factory):
    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "max"))
    ours, theirs = sbert.SentenceTransformer(path, device="cpu", backend="torch"), Reference(str(path))
    ours.eval()
    theirs.eval()
    return ours, theirs


@pytest.mark.parametrize("name", ["GISTEmbedLoss", "CachedGISTEmbedLoss"])
def test_gist_sim_matrix_is_sentence_transformers(models, guides, name):
    ours = getattr(sbert, name)(models[0], guides[0])
    theirs = st_loss(name, models[1], guides[1])
    same_signature(ours.sim_matrix, theirs.sim_matrix)
    x, y = torch.randn(3, 5, generator=torch.Generator().manual_seed(0)), torch.randn(4, 5)
    torch.testing.assert_close(ours.sim_matrix(x, y), theirs.sim_matrix(x, y), atol=1e-6, rtol=1e-5)


def dot_sim_matrix(self, embed1, embed2):
    return embed1 @ embed2.T / 10


@pytest.mark.parametrize("name", ["GISTEmbedLoss", "CachedGISTEmbedLoss"])
def test_gist_overridden_sim_matrix_changes_the_loss_as_in_sentence_transformers(models, guides, name):
    options = {"mini_batch_size": 2} if name.startswith("Cached") else {}
    ours_class = type("Dot", (getattr(sbert, name),), {"sim_matrix": dot_sim_matrix})
    mine = ours_class(models[0], guides[0], temperature=0.05, **options)
    ref = st_loss(name, models[1], guides[1], temperature=0.05, **options)
    ref.sim_matrix = dot_sim_matrix.__get__(ref)  # an override on the instance is called there too
    value = assert_same_loss((models[0], mine), (models[1], ref), [A, B, C])
    plain = getattr(sbert, name)(models[0], guides[0], temperature=0.05, **options)
    assert abs(value - loss_and_grad(models[0], plain, [A, B, C])[0]) > 1e-3


# ------------------------------------------------------------- cross-encoder MultipleNegativesRankingLoss

QUERIES = ["a man plays music", "the cat sat", "numbers 123", "the weather is lovely"]
DOCS = ["a man plays the guitar", "the dog ran in the house", "12345 and more", "it is sunny"]
NEGATIVES = ["music is good", "", "the weather", "a small house"]


@pytest.fixture(scope="module")
def cross(tmp_path_factory):
    """sbert's and sentence-transformers' CrossEncoder of one tiny one-label classifier, in eval mode."""
    from conftest import build_tiny_classifier
    from sentence_transformers import CrossEncoder as Reference

    folder = build_tiny_classifier(tmp_path_factory.mktemp("ce-hooks") / "labels1", num_labels=1, seed=1)
    ours, theirs = sbert.CrossEncoder(folder, backend="torch"), Reference(str(folder), device="cpu")
    ours.model.eval()
    theirs.model.eval()
    return ours, theirs


def ce_losses(cross, name, members=None, **options):
    """sbert's and sentence-transformers' cross-encoder loss ``name``, each a subclass with ``members``."""
    from sentence_transformers.cross_encoder import losses as st

    from sbert.cross_encoder import losses

    made = []
    for library, model in ((losses, cross[0]), (st, cross[1])):
        base = getattr(library, name)
        made.append(type("Custom", (base,), dict(members or {}))(model, **options))
    return made


def ce_value_and_grad(loss, hf_model, inputs):
    hf_model.zero_grad(set_to_none=True)
    torch.manual_seed(7)
    value = loss(inputs, None)
    value.backward()
    grads = [p.grad.flatten() for _, p in sorted(hf_model.named_parameters()) if p.grad is not None]
    return value.item(), torch.cat(grads)


def assert_same_ce_loss(cross, ours, theirs, inputs) -> float:
    value, grad = ce_value_and_grad(ours, cross[0].model, inputs)
    ref_value, ref_grad = ce_value_and_grad(theirs, cross[1].model, inputs)
    assert value == pytest.approx(ref_value, abs=1e-5)
    assert grad.abs().max() > 1e-5
    torch.testing.assert_close(grad, ref_grad, atol=1e-5, rtol=1e-4)
    return value


CE_STEPS = ["call_model_with_columns", "call_model_with_pairs", "get_in_batch_negatives", "calculate_loss"]
CACHED_CE_STEPS = ["predict_minibatch", "predict_minibatch_iter", "embed_minibatch_iter"]
CACHED_CE_STEPS += ["calculate_loss_and_cache_gradients"]


def test_cross_encoder_ranking_steps_are_sentence_transformers(cross):
    ours, theirs = ce_losses(cross, "CachedMultipleNegativesRankingLoss", mini_batch_size=3)
    for name in CE_STEPS + CACHED_CE_STEPS:
        same_signature(getattr(ours, name), getattr(theirs, name))
    pairs = [list(pair) for pair in zip(QUERIES, DOCS)]
    scores = ours.call_model_with_pairs(pairs)
    assert scores.shape == (4,)
    torch.testing.assert_close(scores, theirs.call_model_with_pairs(pairs), atol=1e-5, rtol=1e-4)
    columns = [loss.call_model_with_columns(QUERIES, NEGATIVES) for loss in (ours, theirs)]
    torch.testing.assert_close(*columns, atol=1e-5, rtol=1e-4)
    drawn = []
    for loss in (ours, theirs):
        torch.manual_seed(3)
        drawn.append(list(loss.get_in_batch_negatives(QUERIES, [DOCS, NEGATIVES])))
    assert drawn[0] == drawn[1] and len(drawn[0]) == 4  # num_negatives columns of other rows' candidates
    logits = list(torch.randn(3, 4, generator=torch.Generator().manual_seed(1)))
    assert ours.calculate_loss(logits, 4).item() == pytest.approx(theirs.calculate_loss(logits, 4).item())
    with torch.no_grad():
        mine, ref = ours.predict_minibatch(pairs, False, True), theirs.predict_minibatch(pairs, False, True)
    torch.testing.assert_close(mine[0], ref[0], atol=1e-5, rtol=1e-4)
    assert type(mine[1]).__name__ == "RandContext"
    chunks = [leaf.detach().requires_grad_() for leaf in logits]
    loss, cache = ours.calculate_loss_and_cache_gradients(chunks, 4)
    ref_chunks = [leaf.detach().requires_grad_() for leaf in logits]
    ref_loss, ref_cache = theirs.calculate_loss_and_cache_gradients(ref_chunks, 4)
    assert loss.requires_grad and not loss.grad_fn and loss.item() == pytest.approx(ref_loss.item())
    torch.testing.assert_close(torch.stack(cache), torch.stack(ref_cache))


def first_two_columns(self, logits, batch_size):
    flat = torch.cat(list(logits)).reshape(-1, batch_size)
    return super(type(self), self).calculate_loss([flat[0], flat[1]], batch_size)


def swapped_columns(self, anchors, candidates, prompt=None, task=None):
    return self.call_model_with_pairs(list(zip(candidates, anchors)), prompt=prompt, task=task)


def one_rolled_column(self, anchors, candidates):
    yield candidates[0][1:] + candidates[0][:1]


@pytest.mark.parametrize(
    ("name", "members"),
    [
        ("MultipleNegativesRankingLoss", {"calculate_loss": first_two_columns}),
        ("MultipleNegativesRankingLoss", {"call_model_with_columns": swapped_columns}),
        ("MultipleNegativesRankingLoss", {"get_in_batch_negatives": one_rolled_column}),
        ("CachedMultipleNegativesRankingLoss", {"calculate_loss": first_two_columns}),
        ("CachedMultipleNegativesRankingLoss", {"get_in_batch_negatives": one_rolled_column}),
    ],
)
def test_cross_encoder_ranking_overrides_change_the_loss_as_in_sentence_transformers(cross, name, members):
    options = {"mini_batch_size": 5} if name.startswith("Cached") else {}
    inputs = [QUERIES, DOCS, NEGATIVES]
    value = assert_same_ce_loss(cross, *ce_losses(cross, name, members, **options), inputs)
    plain, _ = ce_losses(cross, name, **options)
    assert abs(value - ce_value_and_grad(plain, cross[0].model, inputs)[0]) > 1e-4


def doubled_minibatch(self, pairs, with_grad, copy_random_state, random_state=None, prompt=None, task=None):
    logits, state = super(type(self), self).predict_minibatch(
        pairs, with_grad, copy_random_state, random_state, prompt, task
    )
    return 2 * logits, state


def test_cached_cross_encoder_minibatch_override_is_replayed_as_in_sentence_transformers(cross):
    """An override of the mini-batch step scores step 1 and the replay of step 3 (the gradient), as there;
    the plain loss's scoring steps are not the cached loss's."""
    members = {"predict_minibatch": doubled_minibatch, "call_model_with_pairs": None}
    ours, theirs = ce_losses(cross, "CachedMultipleNegativesRankingLoss", members, mini_batch_size=3)
    value = assert_same_ce_loss(cross, ours, theirs, [QUERIES, DOCS, NEGATIVES])
    plain, _ = ce_losses(cross, "CachedMultipleNegativesRankingLoss", mini_batch_size=3)
    assert abs(value - ce_value_and_grad(plain, cross[0].model, [QUERIES, DOCS, NEGATIVES])[0]) > 1e-4


# ------------------------------------------------------------------ cached losses' GradCache steps

CACHE_STEPS = ["embed_minibatch", "embed_minibatch_iter", "calculate_loss"]


@pytest.mark.parametrize(
    ("name", "steps", "options"),
    [
        ("CachedMultipleNegativesRankingLoss", CACHE_STEPS, {"mini_batch_size": 3}),
        ("MegaBatchMarginLoss", CACHE_STEPS, {"mini_batch_size": 3}),
        ("CachedGISTEmbedLoss", [*CACHE_STEPS, "calculate_loss_and_cache_gradients"], {"mini_batch_size": 3}),
    ],
)
def test_cached_loss_steps_are_sentence_transformers(models, guides, name, steps, options):
    """Each step's signature, and the loss its steps give (embedded by ``embed_minibatch_iter``, summed by
    ``calculate_loss``) equal to sentence-transformers' on the same embeddings."""
    args = (guides[0],) if "GIST" in name else ()
    ours = getattr(sbert, name)(models[0], *args, **options)
    theirs = st_loss(name, models[1], *((guides[1],) if args else ()), **options)
    for step in steps:
        same_signature(getattr(ours, step), getattr(theirs, step))
    columns = [A, B] if name == "MegaBatchMarginLoss" else [A, B, C]
    found = []
    for loss, model in ((ours, models[0]), (theirs, models[1])):
        features = [model.tokenize(c) for c in columns]
        with torch.no_grad():
            items = [
                list(loss.embed_minibatch_iter(f, with_grad=False, copy_random_state=False)) for f in features
            ]
            reps = [[item[0] for item in column] for column in items]
            assert [len(column) for column in reps] == [2] * len(columns)  # 4 rows, mini-batches of 3
            if "GIST" in name:
                found.append(loss.calculate_loss(reps, [[item[1] for item in column] for column in items]))
            else:
                found.append(loss.calculate_loss(reps))
    assert found[0].item() == pytest.approx(found[1].item(), abs=1e-5)


def scaled_calculate_loss(self, reps, *args, **kwargs):
    return super(type(self), self).calculate_loss(reps, *args, **kwargs) * 3


def noisy_embed_minibatch(
    self, sentence_feature, begin, end, with_grad, copy_random_state, random_state=None
):
    out = super(type(self), self).embed_minibatch(
        sentence_feature, begin, end, with_grad, copy_random_state, random_state
    )
    return (out[0] * torch.linspace(0.5, 1.5, out[0].shape[-1]), *out[1:])


@pytest.mark.parametrize(
    "name", ["CachedMultipleNegativesRankingLoss", "MegaBatchMarginLoss", "CachedGISTEmbedLoss"]
)
@pytest.mark.parametrize(
    "members", [{"calculate_loss": scaled_calculate_loss}, {"embed_minibatch": noisy_embed_minibatch}]
)
def test_cached_loss_overridden_steps_change_the_loss_as_in_sentence_transformers(
    models, guides, name, members
):
    args = [guides[0]] if "GIST" in name else []
    options = {"mini_batch_size": 3}
    mine = type("Custom", (getattr(sbert, name),), members)(models[0], *args, **options)
    theirs_class = type(st_loss(name, models[1], *([guides[1]] if args else []), **options))
    ref = type("Custom", (theirs_class,), members)(models[1], *([guides[1]] if args else []), **options)
    columns = [A, B] if name == "MegaBatchMarginLoss" else [A, B, C]
    value = assert_same_loss((models[0], mine), (models[1], ref), columns)
    plain = getattr(sbert, name)(models[0], *args, **options)
    assert abs(value - loss_and_grad(models[0], plain, columns)[0]) > 1e-4


@pytest.fixture(scope="module")
def sparse(masked_lm, tmp_path_factory):
    """The tiny masked LM without dropout, as a SparseEncoder of each library (left in training mode: in
    eval mode sentence-transformers' replay fails, its SPLADE pooling writing in place)."""
    import shutil

    from conftest import without_dropout
    from sentence_transformers import SparseEncoder as Reference

    from sbert.sparse_encoder import SparseEncoder

    folder = str(without_dropout(shutil.copytree(masked_lm, tmp_path_factory.mktemp("splade") / "mlm")))
    return SparseEncoder(folder, device="cpu"), Reference(folder, device="cpu")


def cached_splade(model, library, members=None):
    losses = importlib.import_module(f"{library}.sparse_encoder.losses")
    weights = {"document_regularizer_weight": 3e-2, "query_regularizer_weight": 5e-2}
    loss_class = type("Custom", (losses.CachedSpladeLoss,), dict(members or {}))
    return loss_class(model, losses.SparseMultipleNegativesRankingLoss(model), mini_batch_size=3, **weights)


def splade_parts_and_grad(model, loss, columns):
    model.zero_grad(set_to_none=True)
    parts = loss([model.tokenize(c) for c in columns], None)
    sum(parts.values()).backward()
    weights = [p for _, p in sorted(model.named_parameters()) if p.grad is not None]
    return {k: v.item() for k, v in parts.items()}, torch.cat([p.grad.flatten() for p in weights])


@pytest.mark.parametrize("members", [{}, {"calculate_loss": scaled_calculate_loss}])
def test_cached_splade_steps_as_in_sentence_transformers(sparse, members):
    """CachedSpladeLoss's steps have sentence-transformers' signatures, and an overridden calculate_loss
    changes the loss and its gradient as there (its parts: the default's, the first carrying the rest)."""
    ours, theirs = (
        cached_splade(sparse[0], "sbert", members),
        cached_splade(sparse[1], "sentence_transformers", members),
    )
    for step in CACHE_STEPS:
        same_signature(getattr(ours, step), getattr(theirs, step))
    (parts, grad), (ref_parts, ref_grad) = (
        splade_parts_and_grad(model, loss, [A, B]) for model, loss in zip(sparse, (ours, theirs))
    )
    assert parts.keys() == ref_parts.keys()
    assert list(parts.values()) == pytest.approx(list(ref_parts.values()), abs=1e-5)
    torch.testing.assert_close(grad, ref_grad, atol=1e-5, rtol=1e-4)


def test_matryoshka_around_an_overridden_cached_loss_as_in_sentence_transformers(models):
    """MatryoshkaLoss truncates the cached embeddings an overridden ``calculate_loss`` works on, as there."""
    from sentence_transformers.sentence_transformer import losses as st

    members = {"calculate_loss": scaled_calculate_loss}
    pair = []
    for library, model in ((sbert, models[0]), (st, models[1])):
        inner = type("Custom", (library.CachedMultipleNegativesRankingLoss,), members)(
            model, mini_batch_size=3
        )
        pair.append((model, library.MatryoshkaLoss(model, inner, [32, 8])))
    assert_same_loss(*pair, [A, B, C])
