"""A user's own GradCache loss written on sentence-transformers 6.3's ``CachedLossMixin`` (``from
sentence_transformers.base.losses import CachedLossMixin``) runs unchanged on sbert's mixin: the same loss and
encoder gradients as there (1e-5, dropout off), the gradients of the same loss computed without caching, and
the same under sbert's MatryoshkaLoss, which truncates its cached embeddings as sentence-transformers does."""

from __future__ import annotations

import random

import pytest
import torch
from conftest import build_tiny_bert, classic_pooling, without_dropout, write_st_folder
from torch import nn

TOL = 1e-5
WORDS = "the cat sat on mat a dog ran in house he drove to stadium weather is lovely today".split()


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)  # 1 to 10 words: mini-batches of different widths
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 10))) for _ in range(n)]


COLUMNS = [_texts(7, seed) for seed in range(3)]  # anchors, positives, negatives; 7 rows: a short last chunk


def _ranking_loss_class(mixin: type) -> type:
    """The loss a user writes on ``mixin``: in-batch negatives over 3-row mini-batches, scored two anchors
    at a time (each slice back-propagated at once with ``with_backward``); it reads the rows' input order."""

    class UserCachedRankingLoss(mixin, nn.Module):
        def __init__(self, model, mini_batch_size: int = 3, scale: float = 20.0) -> None:
            super().__init__()
            self.model, self.mini_batch_size, self.scale = model, mini_batch_size, scale

        def calculate_loss(self, reps, labels=None, *, with_backward=False):
            anchors = torch.cat(reps[0])
            candidates = torch.cat([torch.cat(column) for column in reps[1:]])
            n, total = len(anchors), 0.0
            for begin in range(0, n, 2):
                scores = nn.functional.normalize(anchors[begin : begin + 2], dim=-1)
                scores = scores @ nn.functional.normalize(candidates, dim=-1).T * self.scale
                targets = torch.arange(begin, begin + len(scores))
                part = nn.functional.cross_entropy(scores, targets, reduction="sum") / n
                if with_backward:
                    part.backward()
                    part = part.detach()
                total = total + part
            return total

        def forward(self, sentence_features, labels=None):
            return self.forward_cached(sentence_features, labels)

    return UserCachedRankingLoss


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The tiny BERT (dropout off, mean pooling) loaded by each library."""
    root = tmp_path_factory.mktemp("cached-mixin")
    folder = write_st_folder(
        without_dropout(build_tiny_bert(root / "bert")), root / "st", classic_pooling(32, "mean")
    )
    return {library: _library(library)[0](str(folder), device="cpu") for library in ("sbert", "st")}


def _library(name: str):
    """(SentenceTransformer, CachedLossMixin, MatryoshkaLoss, resolve_gradient_cache_loss) of a library."""
    if name == "st":
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.base.losses import CachedLossMixin
        from sentence_transformers.base.losses.gradcache import resolve_gradient_cache_loss
        from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss
    else:
        from sbert import MatryoshkaLoss, SentenceTransformer
        from sbert.base.losses import CachedLossMixin
        from sbert.base.losses.gradcache import resolve_gradient_cache_loss
    return SentenceTransformer, CachedLossMixin, MatryoshkaLoss, resolve_gradient_cache_loss


def _grads(model) -> torch.Tensor:
    params = [p for _, p in sorted(model[0].auto_model.named_parameters())]
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params])


def _run(models, library: str, make_loss, seed: int = 0, evaluate: bool = False):
    """Loss value with gradients, the encoder's gradients, the value without gradients (``evaluate``)."""
    _, mixin, matryoshka, _ = _library(library)
    model = models[library]
    loss = make_loss(model, _ranking_loss_class(mixin), matryoshka)
    features = [model.preprocess(column) for column in COLUMNS]
    model.zero_grad()
    random.seed(seed)  # n_dims_per_step draws its sizes here
    value = loss(features, None)
    value.backward()
    evaluation = None
    if evaluate:
        with torch.no_grad():
            random.seed(seed)
            evaluation = loss([model.preprocess(column) for column in COLUMNS], None).item()
    return value.item(), _grads(model), evaluation


def _compare(models, make_loss, seed: int = 0, evaluate: bool = False):
    value, grads, evaluation = _run(models, "sbert", make_loss, seed, evaluate)
    ref_value, ref_grads, ref_evaluation = _run(models, "st", make_loss, seed, evaluate)
    print(f"sbert={value:.7f} st={ref_value:.7f} grad diff={(grads - ref_grads).abs().max():.1e}", end=" ")
    assert value == pytest.approx(ref_value, abs=TOL)
    assert evaluation == pytest.approx(ref_evaluation, abs=TOL)
    assert torch.allclose(grads, ref_grads, atol=TOL)
    assert grads.abs().max() > 0.1  # the gradients reached the encoder
    return grads


def test_user_cached_loss_gives_sentence_transformers_numbers_and_the_uncached_gradients(models):
    """The user's loss alone: loss, gradients and eval loss as sentence-transformers'; the gradients are those
    of the same ``calculate_loss`` on embeddings computed with a graph, in one forward per column."""
    grads = _compare(models, lambda model, cls, _: cls(model), evaluate=True)
    model = models["sbert"]
    loss = _ranking_loss_class(_library("sbert")[1])(model)
    model.zero_grad()
    embeddings = [[model(model.preprocess(column))["sentence_embedding"]] for column in COLUMNS]
    loss.calculate_loss(embeddings).backward()
    assert torch.allclose(grads, _grads(model), atol=TOL)


def test_token_budget_and_an_overridden_embed_minibatch(models):
    """``mini_batch_num_tokens`` cuts as sentence-transformers does (the same mini-batches reach
    ``embed_minibatch``), and a subclass's ``embed_minibatch`` (here: scaled embeddings) is what both the
    cached pass and the backward replay run."""
    calls = {}

    def make_loss(model, cls, _):
        class Scaled(cls):
            def embed_minibatch(self, sentence_feature, begin, end, *args, **kwargs):
                calls.setdefault(type(model).__module__.split(".")[0], []).append((begin, end))
                reps, state = super().embed_minibatch(sentence_feature, begin, end, *args, **kwargs)
                return reps * 0.5, state

        loss = Scaled(model)
        loss.mini_batch_num_tokens = 20
        return loss

    _compare(models, make_loss)
    assert calls["sbert"] == calls["sentence_transformers"]
    assert len({end - begin for begin, end in calls["sbert"]}) > 1  # the budget packed 1 to several rows


@pytest.mark.parametrize("n_dims_per_step", [-1, 2])
def test_matryoshka_around_a_user_cached_loss(models, n_dims_per_step):
    """MatryoshkaLoss truncates the cached embeddings for the user's ``calculate_loss`` (weights, and the
    sizes drawn each step, as sentence-transformers does); ``resolve_gradient_cache_loss`` finds the user's
    loss."""

    def make_loss(model, cls, matryoshka):
        return matryoshka(model, cls(model), [32, 16, 8], [1.0, 0.5, 0.25], n_dims_per_step=n_dims_per_step)

    _compare(models, make_loss, seed=3)
    for library in ("sbert", "st"):
        _, mixin, matryoshka, resolve = _library(library)
        loss = make_loss(models[library], _ranking_loss_class(mixin), matryoshka)
        assert type(resolve(loss)).__name__ == "UserCachedRankingLoss"
        assert loss.uses_gradient_cache is True


def test_unused_column_is_refused_as_in_sentence_transformers(models):
    """A column the user's loss never reads got no gradient: ValueError naming it, in both libraries."""
    messages = []
    for library in ("sbert", "st"):
        model, mixin = models[library], _library(library)[1]

        class FirstTwoColumns(_ranking_loss_class(mixin)):
            def calculate_loss(self, reps, labels=None, *, with_backward=False):
                return super().calculate_loss(reps[:2], labels, with_backward=with_backward)

        with pytest.raises(ValueError, match=r"did not use input column\(s\) 2") as error:
            FirstTwoColumns(model)([model.preprocess(column) for column in COLUMNS], None)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


def test_matryoshka_2d_around_gist(tmp_path, models):
    """Matryoshka2dLoss(GISTEmbedLoss) trains as in sentence-transformers (the guide at its own full size,
    every layer and size scored: same loss, gradients to 1e-5 relative); around CachedGISTEmbedLoss, which
    sentence-transformers warns about and then fails on (KeyError), sbert refuses it by name."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import losses as reference

    import sbert

    guide_folder = write_st_folder(
        without_dropout(build_tiny_bert(tmp_path / "bert", seed=1)),
        tmp_path / "g",
        classic_pooling(32, "max"),
    )
    our_guide = sbert.SentenceTransformer(str(guide_folder), device="cpu")
    results = []
    for library, module, guide in (
        ("sbert", sbert, our_guide),
        ("st", reference, Reference(str(guide_folder), device="cpu")),
    ):
        model = models[library]
        gist = module.GISTEmbedLoss(model, guide, temperature=0.05)
        loss = module.Matryoshka2dLoss(model, gist, [32, 16, 8], n_layers_per_step=-1, n_dims_per_step=-1)
        model.zero_grad()
        value = loss([model.preprocess(column) for column in COLUMNS], None)
        value.backward()
        results.append((value.item(), _grads(model)))
    (value, grads), (ref_value, ref_grads) = results
    assert value == pytest.approx(ref_value, abs=TOL)
    assert torch.allclose(grads, ref_grads, rtol=TOL, atol=TOL * ref_grads.abs().max())
    with pytest.warns(UserWarning, match="not compatible with MatryoshkaLoss"):  # as sentence-transformers
        sbert.Matryoshka2dLoss(
            models["sbert"],
            sbert.CachedGISTEmbedLoss(models["sbert"], our_guide, mini_batch_size=2),
            [32, 16],
        )
