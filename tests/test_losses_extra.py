"""The rest of sentence-transformers' losses namespace: its distance-metric objects (TripletDistanceMetric,
SiameseDistanceMetric, BatchHardTripletLossDistanceFunction) taken by sbert's losses, and MegaBatchMargin,
GlobalOrthogonalRegularization, ContrastiveTension (+ in-batch negatives, + its data loader), EmbedDistill and
DenoisingAutoEncoder, against sentence-transformers' on identical inputs and weights; their data checks; a
Trainer step with each, and the classic fit() with the contrastive-tension loader."""

from __future__ import annotations

import json
import random
from functools import partial

import numpy as np
import pytest
import torch
from conftest import assert_trains_two_steps, classic_pooling, torch_model
from test_losses_retrieval import A, B, C  # the same 8-row batches as the other loss tests

import sbert
from sbert import losses

BINARY = torch.tensor([1, 0, 1, 1, 0, 0, 1, 0])
CLASSES = torch.tensor([0, 1, 0, 2, 1, 2, 0, 1])
NEW_LOSSES = [
    "MegaBatchMarginLoss",
    "GlobalOrthogonalRegularizationLoss",
    "ContrastiveTensionLoss",
    "ContrastiveTensionLossInBatchNegatives",
    "EmbedDistillLoss",
    "DenoisingAutoEncoderLoss",
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on these tiny batches a second thread costs more than it saves."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _st():
    from sentence_transformers.sentence_transformer import losses as reference

    return reference


def _run(model, loss, columns, labels):
    """The loss value (a dict of terms summed) and the gradient of every encoder weight."""
    encoder = [p for _, p in sorted(model[0].auto_model.named_parameters())]
    for p in encoder:
        p.grad = None
    value = loss([model.tokenize(c) for c in columns], labels)
    value = sum(value.values()) if isinstance(value, dict) else value
    value.backward()
    return value.item(), torch.cat(
        [(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in encoder]
    )


def _same(models, mine, reference, columns, labels=None):
    """Same value (within 1e-5 of its size) and the same encoder gradient as sentence-transformers'."""
    value, grad = _run(models[0], mine, columns, labels)
    ref_value, ref_grad = _run(models[1], reference, columns, labels)
    size = max(1.0, abs(ref_value))
    assert abs(value - ref_value) < 1e-5 * size, (value, ref_value)
    assert grad.norm() > 0
    torch.testing.assert_close(grad, ref_grad, atol=1e-5 * size, rtol=1e-4)


# ------------------------------------------------------------------ the distance-metric objects

# (loss, sbert's object, sentence-transformers' object (by path), options, columns, labels, recorded name)
METRIC_CASES = {
    "triplet cosine": (
        "TripletLoss",
        "TripletDistanceMetric.COSINE",
        {"triplet_margin": 0.5},
        3,
        None,
        "cosine",
    ),
    "triplet euclidean": ("TripletLoss", "TripletDistanceMetric.EUCLIDEAN", {}, 3, None, "euclidean"),
    "triplet manhattan": ("TripletLoss", "TripletDistanceMetric.MANHATTAN", {}, 3, None, "manhattan"),
    "online cosine": (
        "OnlineContrastiveLoss",
        "SiameseDistanceMetric.COSINE_DISTANCE",
        {"margin": 0.5},
        2,
        BINARY,
        "cosine",
    ),
    "contrastive euclidean": (
        "ContrastiveLoss",
        "SiameseDistanceMetric.EUCLIDEAN",
        {},
        2,
        BINARY,
        "euclidean",
    ),
    "contrastive manhattan": (
        "ContrastiveLoss",
        "SiameseDistanceMetric.MANHATTAN",
        {"margin": 20.0},
        2,
        BINARY,
        "manhattan",
    ),
    "batch hard cosine": (
        "BatchHardTripletLoss",
        "BatchHardTripletLossDistanceFunction.cosine_distance",
        {"margin": 0.02},
        1,
        CLASSES,
        "cosine",
    ),
    "batch all eucledian": (
        "BatchAllTripletLoss",
        "BatchHardTripletLossDistanceFunction.eucledian_distance",
        {"margin": 1.0},
        1,
        CLASSES,
        "euclidean",
    ),
}


def _member(namespace, path):
    owner, attribute = path.split(".")
    return getattr(getattr(namespace, owner), attribute)


@pytest.mark.parametrize("case", sorted(METRIC_CASES))
def test_distance_metric_objects_give_sentence_transformers_values(models, case):
    name, path, options, n_columns, labels, recorded = METRIC_CASES[case]
    ours, theirs = models
    mine = getattr(losses, name)(ours, distance_metric=_member(losses, path), **options)
    reference = getattr(_st(), name)(theirs, distance_metric=_member(_st(), path), **options)
    _same(models, mine, reference, [A, B, C][:n_columns], labels)
    # the loss keeps the plain name: its config, the model card and a training config stay plain strings
    assert mine.distance_metric == recorded and type(mine.config()["distance_metric"]) is str
    json.dumps(mine.config())
    # sentence-transformers' own object, and the name, give the same loss
    assert (
        getattr(losses, name)(ours, distance_metric=_member(_st(), path), **options).distance_metric
        == recorded
    )
    assert getattr(losses, name)(ours, distance_metric=recorded, **options).distance_metric == recorded


def test_distance_metric_objects_are_callable_like_sentence_transformers():
    x, y = torch.randn(5, 8), torch.randn(5, 8)
    st = _st()
    for path in [case[1] for case in METRIC_CASES.values()] + ["TripletDistanceMetric.MANHATTAN"]:
        arguments = (x,) if path.startswith("BatchHard") else (x, y)
        torch.testing.assert_close(_member(losses, path)(*arguments), _member(st, path)(*arguments))
    ours = losses.BatchHardTripletLossDistanceFunction.euclidean_distance(x, squared=True)
    torch.testing.assert_close(
        ours, st.BatchHardTripletLossDistanceFunction.euclidean_distance(x, squared=True)
    )
    assert repr(losses.TripletDistanceMetric.COSINE) == "TripletDistanceMetric.COSINE"


def test_squared_euclidean_partials_and_refusals(models):
    ours, _ = models
    function = losses.BatchHardTripletLossDistanceFunction
    for squared in (
        function.euclidean_distance,
        _st().BatchHardTripletLossDistanceFunction.eucledian_distance,
    ):
        loss = losses.BatchSemiHardTripletLoss(ours, distance_metric=partial(squared, squared=True))
        assert loss.distance_metric == "squared_euclidean"
    # a pairwise distance of the other family computes the same distance
    assert losses.TripletLoss(
        ours, distance_metric=losses.SiameseDistanceMetric.MANHATTAN
    ).distance_metric == ("manhattan")
    with pytest.raises(
        sbert.InputError, match=r"Unknown distance_metric TripletDistanceMetric.COSINE.*cosine_dist"
    ):
        losses.BatchHardTripletLoss(ours, distance_metric=losses.TripletDistanceMetric.COSINE)
    with pytest.raises(sbert.InputError, match="Unknown distance_metric 'dot'"):
        losses.TripletLoss(ours, distance_metric="dot")


def test_custom_distance_functions_are_called_as_in_sentence_transformers(models):
    """A distance of the caller's own (a function of two embedding batches, or of one for the batch
    triplets) is called as sentence-transformers calls it: the same loss and gradients."""

    def chebyshev(x, y):
        return (x - y).abs().max(dim=-1).values

    def squared_distances(embeddings):
        return torch.cdist(embeddings, embeddings) ** 2

    labels = torch.tensor([1, 0, 1, 1, 0, 0, 1, 0])
    classes = torch.tensor([0, 1, 0, 2, 1, 2, 0, 1])
    for name, distance, columns, batch_labels in (
        ("ContrastiveLoss", chebyshev, [A, B], labels),
        ("OnlineContrastiveLoss", chebyshev, [A, B], labels),
        ("TripletLoss", chebyshev, [A, B, C], None),
        ("BatchHardTripletLoss", squared_distances, [A], classes),
    ):
        mine = getattr(losses, name)(models[0], distance_metric=distance)
        assert mine.distance_metric is distance and mine.config()["distance_metric"] == distance.__name__
        _same(models, mine, getattr(_st(), name)(models[1], distance_metric=distance), columns, batch_labels)


# ------------------------------------------------------------------ the new losses


def _teacher(dim, columns=None, seed=0):
    generator = torch.Generator().manual_seed(seed)
    shape = (8, dim) if columns is None else (8, columns, dim)
    return torch.randn(*shape, generator=generator)


# case -> (loss name, options, columns, labels)
LOSS_CASES = {
    "mega batch, cached": ("MegaBatchMarginLoss", {"mini_batch_size": 3}, [A, B], None),
    "mega batch, plain": (
        "MegaBatchMarginLoss",
        {"use_mini_batched_version": False, "positive_margin": 0.9, "negative_margin": 0.1},
        [A, B],
        None,
    ),
    "GOR, 3 columns": ("GlobalOrthogonalRegularizationLoss", {}, [A, B, C], None),
    "GOR, sum, dot": (
        "GlobalOrthogonalRegularizationLoss",
        {
            "similarity_fct": "dot_score",
            "aggregation": "sum",
            "mean_weight": 0.5,
            "second_moment_weight": None,
        },
        [A, B],
        None,
    ),
    "CT, pairs found": ("ContrastiveTensionLoss", {}, [A, A[:3] + B[3:]], None),
    "CT, labelled": ("ContrastiveTensionLoss", {}, [A, B], BINARY.float()),
    "CT in-batch": ("ContrastiveTensionLossInBatchNegatives", {"scale": 10.0}, [A], None),
    "embed distill, cosine": ("EmbedDistillLoss", {}, [A, B], _teacher(32)),
    "embed distill, l2, per column": ("EmbedDistillLoss", {"distance_metric": "l2"}, [A, B], _teacher(32, 2)),
    "embed distill, mse, projected": (
        "EmbedDistillLoss",
        {"distance_metric": "mse", "projection_dim": 16},
        [A],
        _teacher(16),
    ),
}


@pytest.mark.parametrize("case", sorted(LOSS_CASES))
def test_new_losses_match_sentence_transformers(models, case):
    name, options, columns, labels = LOSS_CASES[case]
    ours, theirs = models
    reference_options = dict(options)
    if isinstance(options.get("similarity_fct"), str):  # sbert also takes util's function names
        from sentence_transformers import util

        reference_options["similarity_fct"] = getattr(util, options["similarity_fct"])
    torch.manual_seed(0)  # the same new weights (a projection) in both
    mine = getattr(losses, name)(ours, **options)
    torch.manual_seed(0)
    reference = getattr(_st(), name)(theirs, **reference_options)
    _same(models, mine, reference, columns, labels)
    json.dumps(mine.config())
    if name in (
        "GlobalOrthogonalRegularizationLoss",
    ):  # the terms apart, as sentence-transformers' returns them
        embeddings = [ours.forward(ours.tokenize(c))["sentence_embedding"] for c in columns]
        terms = mine.compute_loss_from_embeddings(embeddings)
        assert set(terms) == {"gor_mean"} | (
            {"gor_second_moment"} if "second_moment_weight" not in options else set()
        )
        # forward gives them by name too, as sentence-transformers' forward does
        features = [ours.tokenize(c) for c in columns]
        with torch.no_grad():
            forward, reference_forward = mine(features), reference([theirs.tokenize(c) for c in columns])
        assert isinstance(forward, dict) and list(forward) == list(reference_forward)


@pytest.mark.parametrize("cached", [True, False])
def test_matryoshka_around_mega_batch_margin(models, cached):
    """Cached or not, the sizes' losses summed, as sentence-transformers' MatryoshkaLoss sums them."""
    ours, theirs = models
    options = {"mini_batch_size": 3, "use_mini_batched_version": cached}
    mine = sbert.MatryoshkaLoss(ours, losses.MegaBatchMarginLoss(ours, **options), [32, 16])
    reference = _st().MatryoshkaLoss(theirs, _st().MegaBatchMarginLoss(theirs, **options), [32, 16])
    _same(models, mine, reference, [A, B])


def test_denoising_auto_encoder_matches_sentence_transformers(tiny_st_factory):
    """Built from the same folder under the same seed: the same decoder (new cross-attention included), tied
    to the encoder; the same loss and gradients."""
    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "mean"))
    models = (torch_model(path), Reference(str(path), device="cpu"))
    torch.manual_seed(0)
    mine = losses.DenoisingAutoEncoderLoss(models[0])
    torch.manual_seed(0)
    reference = _st().DenoisingAutoEncoderLoss(models[1])
    for model, loss in zip(models, (mine, reference)):
        model.eval()
        loss.eval()
    _same(models, mine, reference, [C, A])
    encoder_embeddings = models[0][0].auto_model.get_input_embeddings().weight
    assert encoder_embeddings is mine.decoder.get_input_embeddings().weight  # shared, as the paper trains it
    assert mine.config() == {"decoder_name_or_path": str(path), "need_retokenization": False}


def _hub_named_tiny(folder, tmp_path, monkeypatch) -> str:
    """``folder`` as the Hugging Face cache's ``someone/tiny-tsdae`` (offline): a model loaded by that name
    records it as its ``name_or_path``, as the default model records its hub name."""
    import shutil

    import huggingface_hub.constants

    cache, sha = tmp_path / "hub", "0" * 40
    repo = cache / "models--someone--tiny-tsdae"
    shutil.copytree(folder, repo / "snapshots" / sha)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no hub look-ups
    return "someone/tiny-tsdae"


@pytest.mark.parametrize("tie", [True, False])
def test_denoising_auto_encoder_seeded_as_sentence_transformers_for_a_hub_named_model(
    tiny_st_factory, tmp_path, monkeypatch, tie
):
    """A model loaded by hub name (from the cache, as the default model): under one seed the decoder built
    from that name is sentence-transformers' to the bit (tied or named), and with the encoder's dropout on
    (the decoder in eval mode, as from_pretrained leaves it) a seeded call gives its loss."""
    from sentence_transformers import SentenceTransformer as Reference

    name = _hub_named_tiny(tiny_st_factory(classic_pooling(32, "cls")), tmp_path, monkeypatch)
    options = {} if tie else {"decoder_name_or_path": name, "tie_encoder_decoder": False}
    models = (torch_model(name), Reference(name, device="cpu"))
    built = []
    for make, model in zip((losses.DenoisingAutoEncoderLoss, _st().DenoisingAutoEncoderLoss), models):
        torch.manual_seed(0)
        built.append(make(model, **options))
    mine, reference = (loss.decoder.state_dict() for loss in built)
    assert mine.keys() == reference.keys()
    assert [k for k in mine if not torch.equal(mine[k], reference[k])] == []
    damaged = [" ".join(text.split()[::2]) for text in B]  # rows of several lengths
    values = []
    for model, loss in zip(models, built):
        model.train()
        torch.manual_seed(1)
        values.append(loss([model.tokenize(damaged), model.tokenize(B)], None).item())
    assert abs(values[0] - values[1]) < 1e-5 * max(1.0, abs(values[1])), values


def test_denoising_auto_encoder_trains_as_sentence_transformers(tiny_st_factory, tmp_path, monkeypatch):
    """Two seeded steps of sentence-transformers' trainer API in each library from a loss built under one
    seed: the same weights after. The trainers switch the model to training and never the loss, so the
    decoder runs without dropout (from_pretrained leaves it in eval mode)."""
    import sentence_transformers
    from datasets import Dataset

    name = _hub_named_tiny(tiny_st_factory(classic_pooling(32, "cls")), tmp_path, monkeypatch)
    data = Dataset.from_dict({"damaged": [" ".join(text.split()[::2]) for text in B], "text": B})
    trained, modes = [], []
    for library in (sbert, sentence_transformers):
        model = library.SentenceTransformer(name, device="cpu")
        torch.manual_seed(0)
        loss = library.sentence_transformer.losses.DenoisingAutoEncoderLoss(model)
        args = library.SentenceTransformerTrainingArguments(
            str(tmp_path / library.__name__), per_device_train_batch_size=4, max_steps=2, learning_rate=1e-3,
            seed=3, save_strategy="no", report_to="none", disable_tqdm=True,
        )  # fmt: skip
        library.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss).train()
        modes.append(loss.decoder.training)
        trained.append(
            torch.cat([p.detach().flatten() for _, p in sorted(model[0].auto_model.named_parameters())])
        )
    torch.testing.assert_close(trained[0], trained[1], atol=1e-6, rtol=1e-5)
    assert modes == [False, False]


def test_denoising_auto_encoder_ignored_decoder_name_warns_as_sentence_transformers(tiny_st_factory, caplog):
    """A decoder named with tie_encoder_decoder=True (the TSDAE example does so): sentence-transformers'
    warning, on its logger, and no other warning."""
    import warnings

    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "mean"))
    records = []
    for make, model in ((_st().DenoisingAutoEncoderLoss, Reference(str(path), device="cpu")),
                        (losses.DenoisingAutoEncoderLoss, torch_model(path))):  # fmt: skip
        caplog.clear()
        with warnings.catch_warnings(record=True) as caught, caplog.at_level("WARNING"):
            warnings.simplefilter("always")
            make(model, decoder_name_or_path=str(path), tie_encoder_decoder=True)
        notices = [
            (r.name, r.levelname, r.getMessage()) for r in caplog.records if "decoder_name" in r.getMessage()
        ]
        records.append((notices, [str(w.message) for w in caught if "decoder_name" in str(w.message)]))
    assert records[1] == records[0]
    assert records[0][0] and not records[0][1]


# ------------------------------------------------------------------ the contrastive-tension data loader

SENTENCES = [f"{a} {b}" for a in A for b in ("today", "the red car", "a dog")]  # 24 sentences


def test_contrastive_tension_loader_batches_as_sentence_transformers():
    mine = losses.ContrastiveTensionDataLoader(list(SENTENCES), batch_size=4, pos_neg_ratio=2)
    reference = _st().ContrastiveTensionDataLoader(list(SENTENCES), batch_size=4, pos_neg_ratio=2)
    assert len(mine) == len(reference) == 4
    for _ in range(2):  # each pass reshuffles, from Python's random
        random.seed(7)
        ours = [[(e.texts, e.label) for e in batch] for batch in mine]
        random.seed(7)
        theirs = [[(e.texts, e.label) for e in batch] for batch in reference]
        assert ours == theirs
    assert [label for _, label in ours[0]] == [1, 0, 1, 0]
    with pytest.raises(sbert.InputError, match="not a multiple of pos_neg_ratio 8; choose e.g. batch_size=8"):
        losses.ContrastiveTensionDataLoader(SENTENCES, batch_size=12)


def test_fit_trains_on_the_contrastive_tension_loader(tiny_st_factory, tmp_path):
    """sentence-transformers' CT example: model.fit with the loader, read once as the training data."""
    model = torch_model(tiny_st_factory(classic_pooling(32, "mean")))
    loader = losses.ContrastiveTensionDataLoader(list(SENTENCES), batch_size=4, pos_neg_ratio=4)
    loss = losses.ContrastiveTensionLoss(model)
    before = torch.cat([p.detach().flatten().clone() for p in model[0].parameters()])
    copy_before = torch.cat([p.detach().flatten().clone() for p in loss.model1[0].parameters()])
    options = {"learning_rate": 1e-3, "logging_steps": 1, "show_progress_bar": False, "plot": False}
    options |= {"save_final_model": False, "report_to": "none", "warmup_steps": 0}
    out = model.fit(train_objectives=[(loader, loss)], epochs=1, output_path=str(tmp_path), **options)
    # 24 sentences make 3 batches of 4 pairs (7 sentences each): 12 labelled rows, 3 steps of 4
    assert out.global_step == 3 and np.isfinite(out.training_loss)
    assert not torch.equal(before, torch.cat([p.detach().flatten() for p in model[0].parameters()]))
    assert not torch.equal(
        copy_before, torch.cat([p.detach().flatten() for p in loss.model1[0].parameters()])
    )


# ------------------------------------------------------------------ in the Trainer, configs and namespaces


def _trainer_case(name, model):
    pairs = list(zip(A, B))
    if name == "ContrastiveTensionLossInBatchNegatives":
        return sbert.load_dataset([(a,) for a in A]), losses.ContrastiveTensionLossInBatchNegatives(model)
    if name == "EmbedDistillLoss":
        data = sbert.load_dataset(pairs, label_values=_teacher(16).numpy())
        return data, losses.EmbedDistillLoss(model, projection_dim=16)
    if name == "DenoisingAutoEncoderLoss":
        return sbert.load_dataset(
            [(" ".join(b.split()[::2]), b) for b in B]
        ), losses.DenoisingAutoEncoderLoss(model)
    if name == "ContrastiveTensionLoss":
        return sbert.load_dataset(pairs, label_values=BINARY.numpy()), losses.ContrastiveTensionLoss(model)
    return sbert.load_dataset(pairs), getattr(losses, name)(model)


@pytest.mark.parametrize("name", NEW_LOSSES)
def test_trainer_trains_with_each(tiny_st_factory, tmp_path, name):
    from sbert._training.recipes import config_losses

    assert name in config_losses() and getattr(sbert, name) is getattr(losses, name)
    model = torch_model(tiny_st_factory(classic_pooling(32, "mean")))
    assert_trains_two_steps(model, *_trainer_case(name, model), tmp_path)


def test_namespace_and_bad_input(models):
    ours, _ = models
    helpers = {"TripletDistanceMetric", "SiameseDistanceMetric", "BatchHardTripletLossDistanceFunction"}
    helpers.add("ContrastiveTensionDataLoader")
    assert helpers | set(NEW_LOSSES) <= set(losses.__all__)
    assert set(_st().__all__) <= set(losses.__all__)  # every name of sentence-transformers' namespace
    assert not helpers & set(dir(sbert))  # not losses: sbert's top level is unchanged by them
    with pytest.raises(sbert.InputError, match="mean_weight and second_moment_weight are both 0"):
        losses.GlobalOrthogonalRegularizationLoss(ours, mean_weight=0, second_moment_weight=None)
    with pytest.raises(sbert.InputError, match="aggregation must be 'mean' or 'sum'"):
        losses.GlobalOrthogonalRegularizationLoss(ours, aggregation="max")
    with pytest.raises(sbert.InputError, match="cannot be wrapped in MatryoshkaLoss"):
        sbert.MatryoshkaLoss(ours, losses.GlobalOrthogonalRegularizationLoss(ours), [32, 16])
    with pytest.raises(sbert.InputError, match="expects exactly 2 input columns.*but got 3"):
        losses.MegaBatchMarginLoss(ours)([ours.tokenize(c) for c in (A, B, C)], None)
    with pytest.raises(sbert.InputError, match="distance_metric must be one of"):
        losses.EmbedDistillLoss(ours, distance_metric="dot")
    with pytest.raises(
        sbert.InputError, match="teacher embeddings of dimension 32 as labels .or set projection_dim"
    ):
        losses.EmbedDistillLoss(ours).check_data(1, np.zeros((4, 16)), "train")
    with pytest.raises(
        sbert.InputError, match="labels hold teacher embeddings for 3 columns, the data has 2"
    ):
        losses.EmbedDistillLoss(ours).check_data(2, np.zeros((4, 3, 32)), "train")
    with pytest.raises(sbert.InputError, match="row 1 has label 2; ContrastiveTensionLoss takes 1"):
        losses.ContrastiveTensionLoss(ours).check_data(2, np.array([1, 2]), "train")
    with pytest.raises(sbert.InputError, match="scale must be a positive number"):
        losses.ContrastiveTensionLossInBatchNegatives(ours, scale=0)
    with pytest.raises(sbert.InputError, match="name the decoder"):
        losses.DenoisingAutoEncoderLoss(ours, tie_encoder_decoder=False)
