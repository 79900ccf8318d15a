"""The remaining losses (online contrastive, the batch triplets, AnglE, adaptive layer and 2D Matryoshka) and
MatryoshkaLoss around more losses, against sentence-transformers' on identical inputs and weights; their data
checks; and a couple of Trainer steps with each."""

from __future__ import annotations

import random
import warnings
from functools import partial

import numpy as np
import pytest
import torch
from conftest import assert_trains_two_steps, classic_pooling, torch_model
from test_losses_retrieval import A, B, C, D  # the same 8-row batches as the other loss tests

import sbert

CLASSES = torch.tensor([0, 1, 0, 2, 1, 2, 0, 1])
BINARY = torch.tensor([1, 0, 1, 1, 0, 0, 1, 0])
SCORES = torch.tensor([0.9, 0.1, 0.5, 0.7, 0.2, 0.0, 1.0, 0.4])


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread while this module runs: on these tiny batches waking a second thread costs more than
    it saves, many times more on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _st(name: str, *args, **kwargs):
    from sentence_transformers.sentence_transformer import losses

    return getattr(losses, name)(*args, **kwargs)


def _run(model, loss, columns, labels, seed):
    """The loss value and the gradient of every encoder weight and of the loss's own weights."""
    in_model = {id(p) for module in model for p in module.parameters()}
    own = [p for _, p in sorted(loss.named_parameters()) if id(p) not in in_model]  # a classifier's
    encoder = [p for _, p in sorted(model[0].auto_model.named_parameters())]
    for p in encoder + own:
        p.grad = None
    random.seed(seed)  # the same draws of layers and sizes in both libraries
    value = loss([model.tokenize(c) for c in columns], labels)
    value.backward()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in encoder + own]
    return value.item(), torch.cat([g.flatten() for g in grads])


def _same(models, mine, reference, columns, labels=None, seed=0):
    """Same value and same gradient of every weight (within 1e-5) as sentence-transformers; for a loss
    above 1 (sums of squared manhattan distances reach hundreds) within 1e-5 of the loss's size."""
    ours, theirs = models
    value, grad = _run(ours, mine, columns, labels, seed)
    ref_value, ref_grad = _run(theirs, reference, columns, labels, seed)
    print(
        f"sbert={value:.8f} reference={ref_value:.8f} grad diff={(grad - ref_grad).abs().max():.2e}", end=" "
    )
    size = max(1.0, abs(ref_value))
    assert abs(value - ref_value) < 1e-5 * size, (value, ref_value)
    assert grad.norm() > 0
    torch.testing.assert_close(grad, ref_grad, atol=1e-5 * size, rtol=1e-4)


# ------------------------------------------------------------------ parity with sentence-transformers

BATCH_TRIPLETS = ["BatchAllTripletLoss", "BatchHardTripletLoss", "BatchSemiHardTripletLoss"]
BATCH_TRIPLETS += ["BatchHardSoftMarginTripletLoss"]
MARGINS = {"euclidean": 1.0, "squared_euclidean": 2.0, "cosine": 0.02}


@pytest.mark.parametrize("metric", sorted(MARGINS))
@pytest.mark.parametrize("name", BATCH_TRIPLETS)
def test_batch_triplet_losses(models, name, metric):
    from sentence_transformers.sentence_transformer.losses import BatchHardTripletLossDistanceFunction as F

    distance = {
        "euclidean": F.euclidean_distance,
        "squared_euclidean": partial(F.euclidean_distance, squared=True),
        "cosine": F.cosine_distance,
    }[metric]
    ours, theirs = models
    options = {} if name == "BatchHardSoftMarginTripletLoss" else {"margin": MARGINS[metric]}
    mine = getattr(sbert, name)(ours, distance_metric=metric, **options)
    _same(models, mine, _st(name, theirs, distance_metric=distance, **options), [A], CLASSES)


@pytest.mark.parametrize("labels", [BINARY, torch.zeros(8)], ids=["mixed", "negatives"])
@pytest.mark.parametrize(("metric", "margin"), [("cosine", 0.5), ("euclidean", 3.0), ("manhattan", 15.0)])
def test_online_contrastive_loss(models, metric, margin, labels):
    from sentence_transformers.sentence_transformer.losses import SiameseDistanceMetric

    ours, theirs = models
    distance = {"cosine": "COSINE_DISTANCE", "euclidean": "EUCLIDEAN", "manhattan": "MANHATTAN"}[metric]
    mine = sbert.OnlineContrastiveLoss(ours, distance_metric=metric, margin=margin)
    reference = _st("OnlineContrastiveLoss", theirs, getattr(SiameseDistanceMetric, distance), margin)
    _same(models, mine, reference, [A, B], labels)


@pytest.mark.parametrize(
    ("columns", "labels"), [([A, B], SCORES), ([A, B, C], None), ([A, B, C, D], None), ([A, B, C], SCORES)]
)
def test_angle_loss(models, columns, labels):
    ours, theirs = models
    _same(models, sbert.AnglELoss(ours), _st("AnglELoss", theirs), columns, labels)
    assert sbert.AnglELoss(ours, scale=10).config()["scale"] == 10


ADAPTIVE = {
    "every layer": ({"n_layers_per_step": -1}, None),
    "one layer, log, no KL": (
        {"layer_weighting": "log", "kl_temperature": 0, "last_layer_weight": 0.5, "prior_layers_weight": 2},
        SCORES,
    ),
    "linear, KL weight 2": ({"layer_weighting": "linear", "kl_div_weight": 2.0, "kl_temperature": 1.0}, None),
}


@pytest.mark.parametrize("case", sorted(ADAPTIVE))
def test_adaptive_layer_loss(models, case):
    ours, theirs = models
    options, labels = ADAPTIVE[case]
    inner = "MultipleNegativesRankingLoss" if labels is None else "CoSENTLoss"
    mine = sbert.AdaptiveLayerLoss(ours, getattr(sbert, inner)(ours), **options)
    reference = _st("AdaptiveLayerLoss", theirs, _st(inner, theirs), **options)
    for seed in (0, 1):  # the drawn layer differs between these seeds
        _same(models, mine, reference, [A, B], labels, seed=seed)


@pytest.mark.parametrize("every", [False, True])
def test_matryoshka_2d_loss(models, every):
    ours, theirs = models
    options = {"n_layers_per_step": -1, "n_dims_per_step": -1, "kl_div_weight": 0.5} if every else {}
    dims, weights = [32, 16, 8], [1.0, 0.5, 2.0]
    for inner, columns, labels in (
        ("MultipleNegativesRankingLoss", [A, B, C], None),
        ("CoSENTLoss", [A, B], SCORES),
    ):
        mine = sbert.Matryoshka2dLoss(ours, getattr(sbert, inner)(ours), dims, weights, **options)
        reference = _st("Matryoshka2dLoss", theirs, _st(inner, theirs), dims, weights, **options)
        for seed in (0, 3):
            _same(models, mine, reference, columns, labels, seed=seed)
    # the inner loss by its class, the sizes as tuples: sentence-transformers' record
    config = sbert.Matryoshka2dLoss(ours, sbert.CoSENTLoss(ours), dims).get_config_dict()
    assert config == _st("Matryoshka2dLoss", theirs, _st("CoSENTLoss", theirs), dims).get_config_dict()
    assert config["loss"] == "CoSENTLoss" and config["matryoshka_dims"] == (32, 16, 8)


MATRYOSHKA_INNER = {
    "BatchHardTripletLoss": ([A], CLASSES, {"margin": 1.0}),
    "BatchAllTripletLoss": ([A], CLASSES, {"margin": 1.0}),
    "BatchSemiHardTripletLoss": ([A], CLASSES, {"margin": 1.0}),
    "OnlineContrastiveLoss": ([A, B], BINARY, {}),
    "AnglELoss": ([A, B, C], None, {}),
    "CachedMultipleNegativesRankingLoss": ([A, B, C], None, {"mini_batch_size": 3}),
}


@pytest.mark.parametrize("n_dims_per_step", [-1, 2])
@pytest.mark.parametrize("name", sorted(MATRYOSHKA_INNER))
def test_matryoshka_around_more_losses(models, name, n_dims_per_step):
    ours, theirs = models
    columns, labels, options = MATRYOSHKA_INNER[name]
    dims, weights = [32, 15, 8], [1.0, 0.5, 2.0]  # 15: AnglE's odd size, padded
    mine = sbert.MatryoshkaLoss(
        ours, getattr(sbert, name)(ours, **options), dims, weights, n_dims_per_step=n_dims_per_step
    )
    reference = _st(
        "MatryoshkaLoss", theirs, _st(name, theirs, **options), dims, weights, n_dims_per_step=n_dims_per_step
    )
    for seed in (0, 1) if n_dims_per_step > 0 else (0,):  # seeds that draw different sizes
        _same(models, mine, reference, columns, labels, seed=seed)


def test_matryoshka_around_softmax_loss(models):
    """sentence-transformers' classifier takes the embeddings truncated to each size, so it gives a value only
    at the size the classifier was built for; sbert gives the same value and gradients (the classifier's
    included) there, and refuses other sizes before training."""
    ours, theirs = models
    for size in (32, 16):
        torch.manual_seed(0)
        inner = sbert.SoftmaxLoss(ours, embedding_dimension=size, num_labels=3)
        reference_inner = _st("SoftmaxLoss", theirs, size, 3)
        reference_inner.classifier.load_state_dict(inner.classifier.state_dict())
        mine = sbert.MatryoshkaLoss(ours, inner, [size, size], [0.5, 2.0])
        reference = _st("MatryoshkaLoss", theirs, reference_inner, [size, size], [0.5, 2.0])
        _same(models, mine, reference, [A, B], CLASSES)
    with pytest.raises(sbert.InputError, match=r"cannot wrap this SoftmaxLoss at sizes \[16\]"):
        sbert.MatryoshkaLoss(ours, sbert.SoftmaxLoss(ours, num_labels=3), [32, 16])


def test_matryoshka_keeps_a_cached_loss_cached(models, monkeypatch):
    """Around a cached loss, MatryoshkaLoss embeds without a graph first and replays each mini-batch on
    backward, as the cached loss alone does (its memory stays that of one mini-batch)."""
    ours, _ = models
    calls = []
    forward = ours.forward
    monkeypatch.setattr(ours, "forward", lambda f: calls.append(torch.is_grad_enabled()) or forward(f))
    cached = sbert.CachedMultipleNegativesRankingLoss(ours, mini_batch_size=4)
    loss = sbert.MatryoshkaLoss(ours, cached, [32, 16])
    loss([ours.tokenize(A), ours.tokenize(B)], None).backward()
    assert calls == [False] * 4 + [True] * 4  # 2 columns x 2 mini-batches, embedded then replayed
    assert "loss_terms" not in vars(cached)  # the inner loss is left as it was


# ------------------------------------------------------------------ data checks


def test_data_checks_name_the_loss_and_the_fix(models):
    ours, _ = models
    hard = sbert.BatchHardTripletLoss(ours)
    with pytest.raises(
        sbert.InputError, match="faq.tsv: BatchHardTripletLoss takes 1 text columns, the data has 2"
    ):
        hard.check_data(2, np.array([0, 1]), "faq.tsv")
    with pytest.raises(sbert.InputError, match="BatchHardTripletLoss needs a label column"):
        hard.check_data(1, None, "faq.tsv")
    with pytest.raises(sbert.InputError, match="needs one integer class id per text.*load_dataset"):
        hard.check_data(1, np.array([0.5, 1.0]), "faq.tsv")
    with pytest.raises(sbert.InputError, match="every class of BatchAllTripletLoss's data has a single text"):
        sbert.BatchAllTripletLoss(ours).check_data(1, np.array([0, 1, 2]), "faq.tsv")
    hard.check_data(1, np.array([0, 1, 1, 0]), "faq.tsv")
    with pytest.raises(
        sbert.InputError,
        match=r"BatchHardTripletLoss expects \d+ labels \(one per example\), but got no labels",
    ):
        hard([ours.tokenize(A)], None)
    with pytest.raises(sbert.InputError, match="Unknown distance_metric 'dot'"):
        sbert.BatchSemiHardTripletLoss(ours, distance_metric="dot")

    online = sbert.OnlineContrastiveLoss(ours)
    online.check_data(2, np.array([1.0, 0.5]), "pairs")  # the 0.5 pair is left out, as there (warned)
    with pytest.raises(sbert.InputError, match="row 1 has a label that is not a finite number"):
        online.check_data(2, np.array([1.0, np.inf]), "pairs")
    with pytest.raises(sbert.InputError, match="OnlineContrastiveLoss needs a label column"):
        online.check_data(2, None, "pairs")

    angle = sbert.AnglELoss(ours)
    with pytest.raises(sbert.InputError, match="AnglELoss needs a score label for each pair.*negative"):
        angle.check_data(2, None, "sts")
    with pytest.raises(sbert.InputError, match="AnglELoss takes 2 or more text columns, the data has 1"):
        angle.check_data(1, np.zeros(3), "sts")
    angle.check_data(3, None, "triplets")
    with pytest.raises(sbert.InputError, match="AnglELoss needs a score per pair"):
        angle([ours.tokenize(A), ours.tokenize(B)], None)

    # the wrappers ask their inner loss
    for wrapper in (
        sbert.AdaptiveLayerLoss(ours, sbert.AnglELoss(ours)),
        sbert.MatryoshkaLoss(ours, sbert.AnglELoss(ours), [32, 16]),
        sbert.Matryoshka2dLoss(ours, sbert.AnglELoss(ours), [32, 16]),
    ):
        wrapper.check_data(3, None, "triplets")
        with pytest.raises(sbert.InputError, match="AnglELoss needs a score label for each pair"):
            wrapper.check_data(2, None, "sts")


def test_adaptive_layer_refuses_what_it_cannot_wrap(models, tiny_bert, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer

    ours, _ = models
    # a cached loss: warned of when built, as in sentence-transformers (tests/test_wrappers_s44.py)
    with pytest.warns(UserWarning, match="not compatible with CachedMultipleNegativesRankingLoss"):
        sbert.AdaptiveLayerLoss(ours, sbert.CachedMultipleNegativesRankingLoss(ours))
    with pytest.warns(UserWarning, match="not compatible with MatryoshkaLoss"):
        sbert.Matryoshka2dLoss(ours, sbert.CachedMultipleNegativesRankingLoss(ours), [32, 16])
    with pytest.raises(sbert.InputError, match="layer_weighting must be one of"):
        sbert.AdaptiveLayerLoss(ours, sbert.CoSENTLoss(ours), layer_weighting="square")
    with pytest.raises(sbert.InputError, match="wraps an sbert loss or a torch.nn.Module loss, got str"):
        sbert.AdaptiveLayerLoss(ours, "CoSENTLoss")  # a user's nn.Module is wrapped (tests/test_user_loss.py)
    static = StaticEmbedding(Tokenizer.from_file(str(tiny_bert / "tokenizer.json")), embedding_dim=8)
    Reference(modules=[static], device="cpu").save(str(tmp_path / "static"))
    model = sbert.SentenceTransformer(tmp_path / "static", backend="torch")
    with pytest.raises(sbert.InputError, match="hidden states of a transformer.*StaticEmbedding"):
        sbert.AdaptiveLayerLoss(model, sbert.MultipleNegativesRankingLoss(model))


# ------------------------------------------------------------------ in the Trainer


def _trainer_case(name, model):
    rows = list(zip(A, B, C))
    if name in BATCH_TRIPLETS:
        return sbert.load_dataset([(a,) for a in A], label_values=CLASSES.numpy()), getattr(sbert, name)(
            model
        )
    if name == "OnlineContrastiveLoss":
        return sbert.load_dataset(list(zip(A, B)), label_values=BINARY.numpy()), sbert.OnlineContrastiveLoss(
            model
        )
    if name == "AnglELoss":
        return sbert.load_dataset(rows), sbert.AnglELoss(model)
    if name == "AdaptiveLayerLoss":
        return sbert.load_dataset(rows), sbert.AdaptiveLayerLoss(
            model, sbert.MultipleNegativesRankingLoss(model)
        )
    pairs = sbert.load_dataset(list(zip(A, B)), label_values=SCORES.numpy())
    return pairs, sbert.Matryoshka2dLoss(model, sbert.CoSENTLoss(model), [32, 16])


NEW_LOSSES = [*BATCH_TRIPLETS, "OnlineContrastiveLoss", "AnglELoss", "AdaptiveLayerLoss", "Matryoshka2dLoss"]


@pytest.mark.parametrize("name", NEW_LOSSES)
def test_trainer_trains_with_each(tiny_st_factory, tmp_path, name):
    from sbert._training.recipes import config_losses

    assert (name in config_losses()) == (name not in ("AdaptiveLayerLoss", "Matryoshka2dLoss"))
    model = torch_model(tiny_st_factory(classic_pooling(32, "mean")))
    assert_trains_two_steps(model, *_trainer_case(name, model), tmp_path)


BOTH_WAYS = ("query_to_doc", "doc_to_query")  # with per_direction: the symmetric loss
TEACHER_MARGINS = torch.tensor([0.5, -0.2, 1.0, 0.3, 0.0, 0.8, -0.4, 0.6])
TEACHER_SCORES = torch.stack([TEACHER_MARGINS, -TEACHER_MARGINS], dim=1) * 3


def _similarity_options(util, nn_module):
    """(loss, options built from a library's util module, columns, labels): each loss with the scores and
    loss functions sentence-transformers' users pass, positionally where they pass them so."""
    return [
        ("MultipleNegativesRankingLoss", (1.0, util.dot_score), {}, [A, B, C], None),
        (
            "MultipleNegativesRankingLoss",
            (),
            {"similarity_fct": util.euclidean_sim, "scale": 0.5},
            [A, B],
            None,
        ),
        (
            "CachedMultipleNegativesRankingLoss",
            (2.0,),
            {"similarity_fct": util.dot_score, "mini_batch_size": 3},
            [A, B, C],
            None,
        ),
        ("MultipleNegativesSymmetricRankingLoss", (1.0, util.dot_score), {}, [A, B], None),
        (
            "CachedMultipleNegativesSymmetricRankingLoss",
            (1.0, util.manhattan_sim),
            {"mini_batch_size": 3},
            [A, B],
            None,
        ),
        ("CoSENTLoss", (1.0, util.pairwise_dot_score), {}, [A, B], SCORES),
        ("CosineSimilarityLoss", (nn_module.L1Loss(), nn_module.ReLU()), {}, [A, B], SCORES),
        ("MarginMSELoss", (util.pairwise_cos_sim,), {}, [A, B, C], TEACHER_MARGINS),
        (
            "MultipleNegativesRankingLoss",
            (),
            {"directions": BOTH_WAYS, "partition_mode": "per_direction"},
            [A, B, C],
            None,
        ),
        (
            "CachedMultipleNegativesRankingLoss",
            (1.0, util.dot_score),
            {"directions": BOTH_WAYS, "partition_mode": "per_direction", "mini_batch_size": 3},
            [A, B],
            None,
        ),
        (
            "DistillKLDivLoss",
            (util.pairwise_cos_sim,),
            {"student_temperature": 0.5, "teacher_temperature": 2.0},
            [A, B, C],
            TEACHER_SCORES,
        ),
    ]


@pytest.mark.parametrize("case", range(11))
def test_losses_take_the_similarity_and_loss_functions_of_sentence_transformers(models, case):
    """``similarity_fct``, ``loss_fct`` and ``cos_score_transformation`` as sentence-transformers' users pass
    them (its util functions under the import switch, sbert's here): the same loss and gradients."""
    from sentence_transformers import util as st_util

    import sbert.util as our_util

    name, args, options, columns, labels = _similarity_options(our_util, torch.nn)[case]
    _, ref_args, ref_options, _, _ = _similarity_options(st_util, torch.nn)[case]
    mine = getattr(sbert, name)(models[0], *args, **options)
    with warnings.catch_warnings():  # its symmetric losses are deprecated for MNRL's directions
        warnings.simplefilter("ignore", DeprecationWarning)
        reference = _st(name, models[1], *ref_args, **ref_options)
    _same(models, mine, reference, columns, labels)
    if "similarity_fct" in mine.config():
        assert mine.config()["similarity_fct"] == reference.get_config_dict()["similarity_fct"]


def test_losses_refuse_the_newer_options_they_do_not_have(models):
    # MultipleNegativesRankingLoss's directions and hardness: tests/test_loss_fuzz_cases_s39.py
    with pytest.raises(sbert.InputError, match="'query_to_doc' direction is required"):
        sbert.MultipleNegativesRankingLoss(models[0], directions=("doc_to_query",))
    with pytest.raises(sbert.InputError, match="mini_batch_num_tokens must be a positive integer"):
        sbert.CachedMultipleNegativesRankingLoss(models[0], mini_batch_num_tokens=0.5)
    with pytest.raises(sbert.InputError, match="similarity_fct must be a function"):
        sbert.CoSENTLoss(models[0], similarity_fct="cosine")
    with pytest.raises(sbert.InputError, match="teacher_temperature must be a positive finite number"):
        sbert.DistillKLDivLoss(models[0], teacher_temperature=0)
    assert sbert.MultipleNegativesRankingLoss(models[0], directions=["query_to_doc"]).scale == 20.0
    # sentence-transformers' positional order: (model, guide, temperature, mini_batch_size)
    assert sbert.CachedGISTEmbedLoss(models[0], models[0], 0.05, 4).mini_batch_size == 4
    assert sbert.MSELoss(models[0], projection_dim=64).get_config_dict() == {"projection_dim": 64}
    distill, columns = sbert.DistillKLDivLoss(models[0]), [models[0].tokenize(c) for c in (A, B, C)]
    with pytest.raises(ValueError, match="the teacher scores contain NaN"):  # every gradient would be NaN
        distill(columns, torch.tensor([[1.0, float("nan")]] * 8))
    # two columns: the loss would always be 0
    with pytest.raises(ValueError, match="at least 3 columns .a query and 2 candidates., got 2"):
        distill(columns[:2], torch.ones(8, 1))
    features = models[0].tokenize(A[:3])
    for name in ("CoSENTLoss", "CosineSimilarityLoss"):  # a label count torch would broadcast or reject
        with pytest.raises(
            ValueError, match=rf"{name} expects 3 labels \(one per example\), but got 2 labels"
        ):
            getattr(sbert, name)(models[0])([features, features], torch.tensor([0.1, 0.5]))


def test_a_plain_torch_loop_over_the_loss_parameters_trains_as_in_sentence_transformers(tiny_st_factory):
    """``loss.parameters()`` holds the model's (sentence-transformers' loss has it as a submodule), so a
    hand-written loop stepping an optimizer over them trains the model: the same new embeddings."""
    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "mean"))
    ours = sbert.SentenceTransformer(path, device="cpu", backend="torch")
    theirs = Reference(str(path), device="cpu")
    before = ours.encode(A)
    for model, loss in (
        (ours, sbert.SoftmaxLoss(ours, num_labels=3)),
        (theirs, _st("SoftmaxLoss", theirs, 32, 3)),
    ):
        torch.manual_seed(0)
        loss.classifier.reset_parameters()  # the same head in both
        model.eval()
        optimizer = torch.optim.SGD(loss.parameters(), lr=0.5)
        loss([model.tokenize(A), model.tokenize(B)], CLASSES).backward()
        optimizer.step()
    assert len(list(sbert.MultipleNegativesRankingLoss(ours).parameters())) == len(list(theirs.parameters()))
    after = ours.encode(A)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, theirs.encode(A), atol=1e-5, rtol=0)


def test_softmax_loss_takes_class_probabilities_and_predicts_without_labels(
    models, tiny_st_factory, tmp_path
):
    """Labels as one row of class probabilities per pair (soft or one-hot) give sentence-transformers' soft
    cross-entropy, also through the Trainer from a label column of lists; without labels the loss returns
    (embeddings, logits) as there."""
    from datasets import Dataset

    ours, theirs = models
    probabilities = torch.rand(8, 3, generator=torch.Generator().manual_seed(0)).softmax(dim=1)
    one_hot = torch.nn.functional.one_hot(CLASSES, 3).float()
    for labels in (probabilities, one_hot):
        mine, reference = sbert.SoftmaxLoss(ours, num_labels=3), _st("SoftmaxLoss", theirs, 32, 3)
        torch.manual_seed(1)
        mine.classifier.reset_parameters()
        torch.manual_seed(1)
        reference.classifier.reset_parameters()
        _same(models, mine, reference, [A, B], labels)
    same_as_ids = sbert.SoftmaxLoss(ours, num_labels=3)
    features = [ours.tokenize(A), ours.tokenize(B)]
    assert same_as_ids(features, one_hot).item() == pytest.approx(
        same_as_ids(features, CLASSES).item(), abs=1e-6
    )
    embeddings, logits = same_as_ids(features, None)
    assert len(embeddings) == 2 and logits.shape == (8, 3)
    fresh = sbert.SentenceTransformer(tiny_st_factory(classic_pooling(32, "mean")), backend="torch")
    loss = sbert.SoftmaxLoss(fresh, num_labels=3)  # trained here: not the module's shared models
    data = Dataset.from_dict({"premise": A, "hypothesis": B, "label": probabilities.tolist()})
    args = sbert.SentenceTransformerTrainingArguments(output_dir=str(tmp_path), max_steps=1, report_to=[])
    sbert.SentenceTransformerTrainer(model=fresh, args=args, train_dataset=data, loss=loss).train()
    bad = Dataset.from_dict({"premise": A, "hypothesis": B, "label": probabilities[:, :2].tolist()})
    with pytest.raises(sbert.InputError, match="class probabilities as 3 non-negative numbers a row"):
        sbert.SentenceTransformerTrainer(model=fresh, args=args, train_dataset=bad, loss=loss).train()


@pytest.mark.parametrize("name", ["ContrastiveLoss", "OnlineContrastiveLoss"])
def test_contrastive_losses_take_non_binary_labels_with_one_warning_as_sentence_transformers(models, name):
    """Labels other than 0/1 are accepted as there (ContrastiveLoss weighs its two terms by them,
    OnlineContrastiveLoss leaves those pairs out), with one UserWarning per loss; the same value and
    gradients as sentence-transformers'."""
    labels = torch.tensor([1.0, 0.0, 0.7, 1.0, 0.2, 0.0, 1.0, 0.5])
    mine = getattr(sbert, name)(models[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # its own, checked below for ours
        reference = _st(name, models[1])
        _same(models, mine, reference, [A, B], labels)
    fresh = getattr(sbert, name)(models[0])
    with pytest.warns(UserWarning, match=f"{name} expects binary labels"):
        fresh([models[0].tokenize(A), models[0].tokenize(B)], labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: the second batch says nothing
        fresh([models[0].tokenize(A), models[0].tokenize(B)], labels)


@pytest.mark.parametrize("num_labels", [1, 3])
def test_softmax_loss_hands_a_custom_loss_fct_the_labels_as_sentence_transformers(models, num_labels):
    """With a loss_fct of the user's own, SoftmaxLoss takes num_labels=1 (a regression head) and hands the
    float labels over flattened and uncast, as sentence-transformers: the same value and gradients, from a
    label vector or a label column."""

    def regression(logits, labels):
        return torch.nn.functional.mse_loss(logits[:, 0], labels)

    ours, theirs = models
    for labels in (SCORES, SCORES.view(-1, 1)):
        mine = sbert.SoftmaxLoss(ours, num_labels=num_labels, loss_fct=regression)
        reference = _st("SoftmaxLoss", theirs, 32, num_labels, loss_fct=regression)
        for loss in (mine, reference):
            torch.manual_seed(2)
            loss.classifier.reset_parameters()
        _same(models, mine, reference, [A, B], labels)
    mine.check_data(2, SCORES.numpy(), "scores")  # float labels are the loss_fct's business
    with pytest.raises(sbert.InputError, match="num_labels=1, a regression head, needs a loss_fct"):
        sbert.SoftmaxLoss(ours, num_labels=1)


def test_adaptive_layer_wraps_mega_batch_margin_without_its_gradient_cache(models):
    """MegaBatchMarginLoss(use_mini_batched_version=False) embeds in one graph, so AdaptiveLayerLoss wraps it
    as sentence-transformers does (same value and gradients); the mini-batched one cannot train (there it
    only warns, then fails in training, as in sbert)."""
    ours, theirs = models
    mine = sbert.AdaptiveLayerLoss(ours, sbert.MegaBatchMarginLoss(ours, use_mini_batched_version=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sentence-transformers says nothing for this one either
        reference = _st(
            "AdaptiveLayerLoss", theirs, _st("MegaBatchMarginLoss", theirs, use_mini_batched_version=False)
        )
    for seed in (0, 1):
        _same(models, mine, reference, [A, B], seed=seed)
    with pytest.warns(UserWarning, match="not compatible with MegaBatchMarginLoss"):
        cached = sbert.AdaptiveLayerLoss(ours, sbert.MegaBatchMarginLoss(ours))
    with pytest.raises(KeyError, match="cannot train with MegaBatchMarginLoss"):
        cached([ours.preprocess(A), ours.preprocess(B)], None)


def _note_size(sizes: list[int], tensor: torch.Tensor) -> torch.Tensor:
    sizes.append(tensor.numel())
    return tensor


@pytest.mark.parametrize("name", ["CoSENTLoss", "AnglELoss"])
def test_cosent_and_angle_keep_no_pairwise_matrix_for_the_backward(models, name):
    """The ranking loss over every pair of pairs saves O(batch) tensors for the backward, not a
    (batch, batch) matrix, as sentence-transformers 6.3; the same value and gradient as there, with ties and
    bool labels."""
    batch = 96
    generator = torch.Generator().manual_seed(3)
    embeddings = [torch.randn(batch, 4, generator=generator, dtype=torch.float64) for _ in range(2)]
    for labels in (torch.randint(0, 5, (batch,), generator=generator).float(), torch.arange(batch) % 2 == 0):
        results = []
        for loss in (getattr(sbert, name)(models[0]), _st(name, models[1])):
            leaves = [e.clone().requires_grad_() for e in embeddings]
            saved: list[int] = []
            with torch.autograd.graph.saved_tensors_hooks(partial(_note_size, saved), lambda t: t):
                value = loss.compute_loss_from_embeddings(leaves, labels)
            value.backward()
            results.append((value.detach(), [leaf.grad for leaf in leaves], max(saved)))
        (value, grads, most), (ref_value, ref_grads, _) = results
        torch.testing.assert_close(value, ref_value)
        for grad, ref_grad in zip(grads, ref_grads):
            torch.testing.assert_close(grad, ref_grad)
        assert most <= batch * 4 + 1, most
