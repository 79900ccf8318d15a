"""Two sentence-transformers 6.3 options of the in-batch-negatives losses that user scripts pass:
``mini_batch_num_tokens`` on the dense cached losses (token-budget mini-batches, the same loss and
gradients as there), and ``gather_across_devices=True``, which in one process is the
plain loss (as there; test_gather_across_devices.py runs it on two processes)."""

from __future__ import annotations

import random

import pytest
import torch
from conftest import build_tiny_bert, classic_pooling, without_dropout

import sbert

TOL = 1e-5
WORDS = "the cat sat on mat a dog ran in house he drove to stadium weather is lovely today sunny".split()


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)  # lengths 1 to 12 words: the token budget packs 1 to several rows
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) for _ in range(n)]


ANCHORS, POSITIVES, NEGATIVES = (_texts(8, seed) for seed in range(3))


@pytest.fixture(scope="module")
def guides(tiny_st_factory):
    """The tiny BERT with max pooling, as a GIST guide, per library."""
    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "max"))
    ours, theirs = (
        sbert.SentenceTransformer(path, device="cpu", backend="torch"),
        Reference(str(path), device="cpu"),
    )
    return ours.eval(), theirs.eval()


def _dense_loss(library, name: str, model, guide, **options):
    if library == "st":
        from sentence_transformers.sentence_transformer import losses
    else:
        losses = sbert
    if "GIST" in name:
        return getattr(losses, name)(model, guide, temperature=0.05, **options)
    return getattr(losses, name)(model, **options)


def _value_and_grads(model, loss, columns):
    encoder = [p for _, p in sorted(model[0].auto_model.named_parameters())]
    for p in encoder:
        p.grad = None
    value = loss([model.tokenize(c) for c in columns], None)
    value.backward()
    grads = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in encoder])
    return value.item(), grads


CACHED = ["CachedMultipleNegativesRankingLoss", "CachedMultipleNegativesSymmetricRankingLoss"]
CACHED += ["CachedGISTEmbedLoss"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # sentence-transformers' symmetric losses
@pytest.mark.parametrize("name", CACHED)
def test_token_budget_mini_batches_give_sentence_transformers_loss_and_gradients(models, guides, name):
    """mini_batch_num_tokens=24: rows packed in input order while their real tokens fit (a longer row
    alone), as there: the loss, every encoder gradient (1e-5, eval mode) and the option in the config agree
    with sentence-transformers'."""
    from sbert._losses.grad_cache import mini_batch_rows

    ours, theirs = models
    options = {"mini_batch_size": 2, "mini_batch_num_tokens": 24}
    results = []
    for library, model, guide in (("sbert", ours, guides[0]), ("st", theirs, guides[1])):
        loss = _dense_loss(library, name, model, guide, **options)
        results.append((*_value_and_grads(model, loss, [ANCHORS, POSITIVES, NEGATIVES]), loss))
    (value, grads, mine), (ref_value, ref_grads, reference) = results
    print(f"sbert={value:.8f} st={ref_value:.8f} grad diff={(grads - ref_grads).abs().max():.2e}", end=" ")
    assert value == pytest.approx(ref_value, abs=TOL)
    assert grads.norm() > 0
    torch.testing.assert_close(grads, ref_grads, atol=TOL, rtol=1e-4)
    assert mine.get_config_dict()["mini_batch_num_tokens"] == 24
    assert reference.get_config_dict()["mini_batch_num_tokens"] == 24
    # the budget, not mini_batch_size, cut the batch: mini-batches of several sizes
    sizes = {len(rows) for rows in mini_batch_rows(ours.tokenize(ANCHORS), 2, 24)}
    assert len(sizes) > 1 and max(sizes) > 2, sizes


def test_token_budget_is_checked_as_sentence_transformers_checks_it(models):
    for bad in (0, -3):
        with pytest.raises(ValueError, match="mini_batch_num_tokens must be a positive integer"):
            sbert.CachedMultipleNegativesRankingLoss(models[0], mini_batch_num_tokens=bad)
    with pytest.raises(sbert.InputError, match="mini_batch_num_tokens"):
        sbert.CachedGISTEmbedLoss(models[0], models[0], mini_batch_num_tokens=0)


GATHERING = {
    "MultipleNegativesSymmetricRankingLoss": {},
    "CachedMultipleNegativesRankingLoss": {"mini_batch_size": 3},
    "CachedMultipleNegativesSymmetricRankingLoss": {"mini_batch_size": 3},
    "GISTEmbedLoss": {},
    "CachedGISTEmbedLoss": {"mini_batch_size": 3},
    "MultipleNegativesRankingLoss": {
        "directions": ("query_to_doc", "doc_to_query"),
        "partition_mode": "per_direction",
    },
}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # sentence-transformers' symmetric losses
@pytest.mark.parametrize("name", list(GATHERING))
def test_gathering_in_one_process_is_the_plain_loss_as_in_sentence_transformers(models, guides, name):
    """gather_across_devices=True without other processes: the loss and gradients of
    sentence-transformers' (1e-5) and of gather_across_devices=False; the option kept in the config."""
    columns = [ANCHORS, POSITIVES, NEGATIVES]
    if name.endswith("SymmetricRankingLoss") or name == "MultipleNegativesRankingLoss":
        columns = columns[:2]  # positives rank the anchors back
    ours, theirs = models
    gathering = _dense_loss("sbert", name, ours, guides[0], gather_across_devices=True, **GATHERING[name])
    plain = _dense_loss("sbert", name, ours, guides[0], **GATHERING[name])
    reference = _dense_loss("st", name, theirs, guides[1], gather_across_devices=True, **GATHERING[name])
    value, grads = _value_and_grads(ours, gathering, columns)
    plain_value, plain_grads = _value_and_grads(ours, plain, columns)
    ref_value, ref_grads = _value_and_grads(theirs, reference, columns)
    assert value == pytest.approx(ref_value, abs=TOL) and value == pytest.approx(plain_value, abs=1e-7)
    assert grads.norm() > 0
    torch.testing.assert_close(grads, ref_grads, atol=TOL, rtol=1e-4)
    torch.testing.assert_close(grads, plain_grads, atol=1e-7, rtol=0)
    assert gathering.get_config_dict()["gather_across_devices"] is True
    assert reference.get_config_dict()["gather_across_devices"] is True
    assert plain.get_config_dict()["gather_across_devices"] is False


@pytest.fixture(scope="module")
def multi_vector(tmp_path_factory):
    """sentence-transformers' and sbert's MultiVectorEncoder on one saved tiny dropout-free folder."""
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("mv-options")
    bert = without_dropout(build_tiny_bert(root / "bert"))
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(root / "model"))
    return (
        sbert.MultiVectorEncoder(str(root / "model"), device="cpu"),
        MultiVectorEncoder(str(root / "model"), device="cpu"),
    )


@pytest.mark.parametrize("cached", [False, True], ids=["plain", "cached"])
def test_multi_vector_gathering_in_one_process_is_the_plain_loss(multi_vector, cached):
    """The multi-vector MNRL losses with gather_across_devices=True in one process: sentence-transformers'
    loss (1e-5) and the token projection's gradient; the option kept in the config."""
    import sentence_transformers.multi_vector_encoder.losses as reference

    from sbert.multi_vector_encoder import losses

    name = ("Cached" if cached else "") + "MultiVectorMultipleNegativesRankingLoss"
    results = []
    for model, library in zip(multi_vector, (losses, reference)):
        loss = getattr(library, name)(model, gather_across_devices=True, mini_batch_size=3)
        model[1].linear.weight.grad = None
        features = [model.preprocess(ANCHORS, task="query")]
        features += [model.preprocess(c, task="document") for c in (POSITIVES, NEGATIVES)]
        value = loss(features, None)
        value.backward()
        results.append((value.detach(), model[1].linear.weight.grad.clone(), loss.get_config_dict()))
    (value, grad, config), (ref_value, ref_grad, ref_config) = results
    torch.testing.assert_close(value, ref_value, atol=TOL, rtol=0)
    torch.testing.assert_close(grad, ref_grad, atol=TOL, rtol=1e-4)
    assert config["gather_across_devices"] is True and ref_config["gather_across_devices"] is True
