"""The retrieval losses (cached in-batch negatives, symmetric, GIST, margin-MSE, KL distillation) against
sentence-transformers' on identical inputs and weights, the cached ones against their plain versions, their
memory bound and their data checks."""

from __future__ import annotations

import math
import random
import warnings
import weakref

import numpy as np
import pytest
import torch
from conftest import WORDS, classic_pooling

import sbert

A = ["the cat sat on the mat", "a man plays guitar", "the weather is lovely", "he drove to the stadium"]
A += ["a dog runs in the house", "she is happy", "they eat food", "the red car is fast"]
B = ["it is so sunny outside", "a woman plays music", "the dog sat on the mat", "she walked to the tree"]
B += ["the big dog ran", "he is sad", "we eat", "a blue car is slow"]
C = ["the tree is green", "a small house", "i ran fast", "the music was bad"]
C += ["this is good", "an apple", "the weather was bad", "cats sit"]
D = list(reversed(C))


@pytest.fixture(scope="module")
def guides(tiny_st_factory):
    """A guide per library: the same tiny BERT with max pooling (it ranks differently; the random BERT's CLS
    vectors are all alike)."""
    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "max"))
    ours = sbert.SentenceTransformer(path, device="cpu", backend="torch")
    theirs = Reference(str(path), device="cpu")
    ours.eval()
    theirs.eval()
    return ours, theirs


def _texts(n: int, seed: int, words: int | None = None) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(words or rng.randint(2, 9))) for _ in range(n)]


def _run(model, loss, columns, labels):
    for p in model.parameters():
        p.grad = None
    value = loss([model.tokenize(c) for c in columns], labels)
    value.backward()
    encoder = [p for _, p in sorted(model[0].auto_model.named_parameters())]
    grads = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in encoder])
    return value.item(), grads


def _same(first, second, columns, labels=None, names=("sbert", "reference")):
    """Same value and same gradient of every encoder weight (within 1e-5)."""
    (value, grad), (ref_value, ref_grad) = _run(*first, columns, labels), _run(*second, columns, labels)
    worst = (grad - ref_grad).abs().max().item()
    print(f"{names[0]}={value:.8f} {names[1]}={ref_value:.8f} grad max abs diff={worst:.2e}", end=" ")
    assert abs(value - ref_value) < 1e-5, (value, ref_value)
    assert grad.norm() > 0
    torch.testing.assert_close(grad, ref_grad, atol=1e-5, rtol=1e-4)


def _reference(name: str, *args, **kwargs):
    from sentence_transformers.sentence_transformer import losses

    with warnings.catch_warnings():  # the symmetric losses are deprecated there (same maths, other name)
        warnings.simplefilter("ignore", DeprecationWarning)
        return getattr(losses, name)(*args, **kwargs)


# ------------------------------------------------------------------ parity with sentence-transformers


@pytest.mark.parametrize("columns", [2, 3])
def test_cached_multiple_negatives_ranking_loss(models, columns):
    ours, theirs = models
    texts = [A, B, C][:columns]
    mine = sbert.CachedMultipleNegativesRankingLoss(ours, mini_batch_size=3)
    ref = _reference("CachedMultipleNegativesRankingLoss", theirs, mini_batch_size=3)
    _same((ours, mine), (theirs, ref), texts)
    # every option, the defaults too, in sentence-transformers' order
    assert list(mine.get_config_dict().items()) == list(ref.get_config_dict().items())
    assert (
        sbert.CachedMultipleNegativesRankingLoss(ours).mini_batch_size == 32
    )  # sentence-transformers' default


@pytest.mark.parametrize("columns", [2, 3])
def test_symmetric_ranking_losses(models, columns):
    ours, theirs = models
    texts = [A, B, C][:columns]
    plain = _reference("MultipleNegativesSymmetricRankingLoss", theirs)
    _same((ours, sbert.MultipleNegativesSymmetricRankingLoss(ours)), (theirs, plain), texts)
    cached = _reference("CachedMultipleNegativesSymmetricRankingLoss", theirs, mini_batch_size=3)
    mine = sbert.CachedMultipleNegativesSymmetricRankingLoss(ours, mini_batch_size=3)
    _same((ours, mine), (theirs, cached), texts)


@pytest.mark.parametrize(
    "name", ["MultipleNegativesSymmetricRankingLoss", "CachedMultipleNegativesSymmetricRankingLoss"]
)
def test_symmetric_ranking_losses_are_deprecated_as_in_sentence_transformers(models, name):
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    with pytest.warns(DeprecationWarning) as expected:
        getattr(losses, name)(theirs)
    with pytest.warns(DeprecationWarning) as seen:
        getattr(sbert, name)(ours)
    assert [str(w.message) for w in seen] == [str(w.message) for w in expected]
    assert seen[0].filename == __file__  # at the user's line


@pytest.mark.parametrize(
    ("columns", "strategy", "margin", "contrast"),
    [
        (2, "absolute", 0.0, True),
        (3, "absolute", 0.05, True),
        (2, "relative", 0.02, False),
        (3, "relative", 0.02, True),
    ],
)
def test_gist_embed_losses(models, guides, columns, strategy, margin, contrast):
    ours, theirs = models
    texts = [A, B, C][:columns]
    options = {"margin_strategy": strategy, "margin": margin, "contrast_anchors": contrast}
    mine = sbert.GISTEmbedLoss(ours, guides[0], temperature=0.05, **options)
    ref = _reference("GISTEmbedLoss", theirs, guides[1], temperature=0.05, **options)
    _same((ours, mine), (theirs, ref), texts)
    mine = sbert.CachedGISTEmbedLoss(ours, guides[0], temperature=0.05, mini_batch_size=3, **options)
    ref = _reference("CachedGISTEmbedLoss", theirs, guides[1], temperature=0.05, mini_batch_size=3, **options)
    _same((ours, mine), (theirs, ref), texts)


@pytest.mark.parametrize("name", ["GISTEmbedLoss", "CachedGISTEmbedLoss"])
def test_matryoshka_around_gist_losses(models, guides, name):
    """The guide scores the texts at its own full size; only the trained model's embeddings are truncated."""
    ours, theirs = models
    options = {"temperature": 0.05, **({"mini_batch_size": 3} if name.startswith("Cached") else {})}
    dims, weights = [32, 16, 8], [1.0, 0.5, 2.0]
    mine = sbert.MatryoshkaLoss(ours, getattr(sbert, name)(ours, guides[0], **options), dims, weights)
    inner = _reference(name, theirs, guides[1], **options)
    _same((ours, mine), (theirs, _reference("MatryoshkaLoss", theirs, inner, dims, weights)), [A, B, C])


def test_gist_guide_reading_its_own_tokens(models, guides, tiny_st_factory):
    """A guide that reads fewer tokens gets the texts back and tokenizes them itself, as in
    sentence-transformers."""
    from sentence_transformers import SentenceTransformer as Reference

    ours, theirs = models
    path = tiny_st_factory(classic_pooling(32, "max"))
    short, short_ref = sbert.SentenceTransformer(path, backend="torch"), Reference(str(path), device="cpu")
    short.eval()
    short_ref.eval()
    short.max_seq_length = short_ref.max_seq_length = 5
    mine, ref = sbert.GISTEmbedLoss(ours, short), _reference("GISTEmbedLoss", theirs, short_ref)
    assert mine.must_retokenize and ref.must_retokenize
    assert not sbert.GISTEmbedLoss(ours, guides[0]).must_retokenize
    _same((ours, mine), (theirs, ref), [A, B])
    mine = sbert.CachedGISTEmbedLoss(ours, short, mini_batch_size=3)
    ref = _reference("CachedGISTEmbedLoss", theirs, short_ref, mini_batch_size=3)
    _same((ours, mine), (theirs, ref), [A, B])


@pytest.mark.parametrize("shape", ["margin", "margins", "scores"])
def test_margin_mse_loss(models, shape):
    ours, theirs = models
    rng = np.random.default_rng(1)
    texts, labels = {
        "margin": ([A, B, C], rng.normal(size=8)),
        "margins": ([A, B, C, D], rng.normal(size=(8, 2))),
        "scores": ([A, B, C, D], rng.normal(size=(8, 3))),
    }[shape]
    labels = torch.tensor(labels, dtype=torch.float32)
    _same((ours, sbert.MarginMSELoss(ours)), (theirs, _reference("MarginMSELoss", theirs)), texts, labels)


@pytest.mark.parametrize(("columns", "temperature"), [(3, 1.0), (4, 2.0), (4, 0.5)])
def test_distill_kl_div_loss(models, columns, temperature):
    ours, theirs = models
    labels = torch.tensor(np.random.default_rng(2).normal(size=(8, columns - 1)) * 3, dtype=torch.float32)
    mine = sbert.DistillKLDivLoss(ours, temperature=temperature)
    ref = _reference("DistillKLDivLoss", theirs, temperature=temperature)
    _same((ours, mine), (theirs, ref), [A, B, C, D][:columns], labels)
    rows = list(labels.unbind(0))  # the Trainer's form for a label column of lists: one tensor a row
    assert mine([ours.tokenize(c) for c in [A, B, C, D][:columns]], rows).item() == pytest.approx(
        mine([ours.tokenize(c) for c in [A, B, C, D][:columns]], labels).item(), abs=1e-7
    )


# ------------------------------------------------------------------ cached == plain


def test_cached_losses_equal_plain_ones_at_batch_64(models, guides):
    ours, _ = models
    columns = [_texts(64, 1), _texts(64, 2), _texts(64, 3)]
    pairs = [
        (
            sbert.CachedMultipleNegativesRankingLoss(ours, mini_batch_size=8),
            sbert.MultipleNegativesRankingLoss(ours),
        ),
        (
            sbert.CachedMultipleNegativesSymmetricRankingLoss(ours, mini_batch_size=8),
            sbert.MultipleNegativesSymmetricRankingLoss(ours),
        ),
        (
            sbert.CachedGISTEmbedLoss(ours, guides[0], mini_batch_size=8, margin=0.02),
            sbert.GISTEmbedLoss(ours, guides[0], margin=0.02),
        ),
    ]
    for cached, plain in pairs:
        for n_columns in (2, 3):
            _same((ours, cached), (ours, plain), columns[:n_columns], names=("cached", "plain"))


def test_cached_loss_replays_dropout(models):
    """In train mode (dropout on), the re-embedding of step 3 sees the same dropout masks as step 1."""
    ours, _ = models
    loss = sbert.CachedMultipleNegativesRankingLoss(ours, mini_batch_size=4)
    seen: list = []
    forward = ours.forward

    def recording(features):
        out = forward(features)
        seen.append((torch.is_grad_enabled(), out["sentence_embedding"].detach().clone()))
        return out

    ours.train()
    try:
        features = [ours.tokenize(A), ours.tokenize(B)]
        first = ours.forward(dict(features[0]))["sentence_embedding"]
        assert not torch.allclose(
            first, ours.forward(dict(features[0]))["sentence_embedding"]
        )  # dropout is on
        ours.forward = recording
        loss(features, None).backward()
    finally:
        del ours.forward
        ours.eval()
    without = [e for grad, e in seen if not grad]
    again = [e for grad, e in seen if grad]
    assert len(without) == len(again) == 4  # 2 columns x 2 mini-batches, embedded twice each
    for a, b in zip(without, again):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


class _SavedTensors:
    """The bytes autograd holds for backward, now and at most (saved-tensor hooks)."""

    def __init__(self) -> None:
        self.now = self.peak = 0

    def pack(self, tensor):
        box = _Box(tensor)
        size = tensor.numel() * tensor.element_size()
        self.now += size
        self.peak = max(self.peak, self.now)
        weakref.finalize(box, self._free, size)  # the box dies with the graph that saved it
        return box

    def _free(self, size):
        self.now -= size

    @staticmethod
    def unpack(box):
        return box.tensor


class _Box:
    def __init__(self, tensor):
        # detached: a saved output holding its own grad_fn would be a reference cycle that outlives backward
        self.tensor = tensor.detach()


def _peak_saved_bytes(model, loss, columns):
    meter = _SavedTensors()
    with torch.autograd.graph.saved_tensors_hooks(meter.pack, meter.unpack):
        loss([model.tokenize(c) for c in columns], None).backward()
    return meter.peak


def test_cached_loss_holds_one_mini_batch_graph(models):
    """What autograd keeps for backward does not grow with the batch: one mini-batch's graph at a time."""
    ours, _ = models
    columns = [_texts(48, 5, words=10), _texts(48, 6, words=10)]  # one length: every mini-batch alike
    peaks = {}
    for rows in (16, 48):
        batch = [c[:rows] for c in columns]
        cached = sbert.CachedMultipleNegativesRankingLoss(ours, mini_batch_size=8)
        peaks["cached", rows] = _peak_saved_bytes(ours, cached, batch)
        peaks["plain", rows] = _peak_saved_bytes(ours, sbert.MultipleNegativesRankingLoss(ours), batch)
    print({key: f"{value / 1e6:.2f} MB" for key, value in peaks.items()})
    assert peaks["plain", 48] > 2 * peaks["plain", 16]  # the plain loss holds the whole batch's graph
    assert peaks["cached", 48] < 1.1 * peaks["cached", 16]
    assert peaks["cached", 48] < peaks["plain", 48] / 5


# ------------------------------------------------------------------ data checks


def test_data_checks_name_the_loss_and_the_fix(models):
    ours, _ = models
    for loss in (
        sbert.CachedMultipleNegativesRankingLoss(ours),
        sbert.MultipleNegativesSymmetricRankingLoss(ours),
    ):
        with pytest.raises(
            sbert.InputError, match=f"pairs.tsv: {type(loss).__name__} takes 2 or more text columns"
        ):
            loss.check_data(1, None, "pairs.tsv")
        loss.check_data(5, None, "pairs.tsv")
    margin, kl = sbert.MarginMSELoss(ours), sbert.DistillKLDivLoss(ours)
    with pytest.raises(sbert.InputError, match="MarginMSELoss takes 3 or more text columns, the data has 2"):
        margin.check_data(2, np.zeros(4), "distil.tsv")
    with pytest.raises(
        sbert.InputError, match="MarginMSELoss needs the teacher's margins as labels.*cross-encoder"
    ):
        margin.check_data(3, None, "distil.tsv")
    with pytest.raises(sbert.InputError, match="needs 2 margins or 3 teacher scores a row.*have 4"):
        margin.check_data(4, np.zeros((5, 4)), "distil.tsv")
    with pytest.raises(sbert.InputError, match="row 1 has a label that is not a finite number"):
        margin.check_data(3, np.array([0.5, np.nan]), "distil.tsv")
    margin.check_data(3, np.zeros(5), "distil.tsv")
    margin.check_data(4, np.zeros((5, 3)), "distil.tsv")
    with pytest.raises(
        sbert.InputError, match="DistillKLDivLoss takes 3 or more text columns, the data has 2"
    ):
        kl.check_data(2, np.zeros((4, 1)), "kl.tsv")
    with pytest.raises(
        sbert.InputError, match="DistillKLDivLoss needs the teacher's scores as labels.*cross-encoder"
    ):
        kl.check_data(4, None, "kl.tsv")
    with pytest.raises(sbert.InputError, match="needs 3 teacher scores a row.*have 2"):
        kl.check_data(4, np.zeros((5, 2)), "kl.tsv")
    column_of_lists = np.empty(2, dtype=object)
    column_of_lists[0], column_of_lists[1] = np.zeros(3), np.array([1.0, 2.0, -np.inf])  # -inf: left out
    kl.check_data(4, column_of_lists, "kl.tsv")
    column_of_lists[1] = np.zeros(2)
    with pytest.raises(sbert.InputError, match="same number of teacher scores in every row"):
        kl.check_data(4, column_of_lists, "kl.tsv")


def test_bad_options_and_guides(models, guides):
    ours, _ = models
    for bad in ("all-MiniLM-L6-v2", None, ours.tokenizer):
        for cls in (sbert.GISTEmbedLoss, sbert.CachedGISTEmbedLoss):
            with pytest.raises(
                sbert.InputError, match=f"{cls.__name__}: guide must be a SentenceTransformer"
            ):
                cls(ours, bad)
    with pytest.raises(sbert.InputError, match="margin_strategy must be one of"):
        sbert.GISTEmbedLoss(ours, guides[0], margin_strategy="percent")
    with pytest.raises(sbert.InputError, match="mini_batch_size must be a positive int"):
        sbert.CachedMultipleNegativesRankingLoss(ours, mini_batch_size=0)
    with pytest.raises(sbert.InputError, match="scale must be positive"):
        sbert.MultipleNegativesSymmetricRankingLoss(ours, scale=0)
    with pytest.raises(sbert.InputError, match="temperature must be a positive finite number"):
        sbert.DistillKLDivLoss(ours, temperature=0)
    with pytest.raises(sbert.InputError, match="labels of shape"):
        sbert.MarginMSELoss(ours)([ours.tokenize(c) for c in (A, B, C)], torch.zeros(8, 5))


# ------------------------------------------------------------------ in the Trainer


def test_trainer_and_configs_take_them(tiny_st_factory, tmp_path):
    from sbert._training.recipes import config_losses

    names = set(config_losses())
    assert {"CachedMultipleNegativesRankingLoss", "MarginMSELoss", "DistillKLDivLoss"} <= names
    model = sbert.SentenceTransformer(tiny_st_factory(classic_pooling(32, "mean")), backend="torch")
    rows = list(zip(A, B, C))
    args = {
        "batch_size": 4,
        "learning_rate": 1e-3,
        "warmup_steps": 0,
        "show_progress_bar": False,
        "plot": False,
    }
    args["save_final_model"] = False
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    dicts = [{"q": q, "p": p, "n": n, "label": [1.0, -1.0]} for q, p, n in rows]
    for data, loss in (
        (sbert.load_dataset(rows), sbert.CachedMultipleNegativesRankingLoss(model, mini_batch_size=3)),
        (sbert.load_dataset(rows, label_values=np.linspace(0, 1, 8)), sbert.MarginMSELoss(model)),
        (sbert.load_dataset(dicts, columns=["q", "p", "n"]), sbert.DistillKLDivLoss(model)),
    ):
        out = sbert.Trainer(
            model, data, loss, args=sbert.TrainingArguments(output_dir=tmp_path / type(loss).__name__, **args)
        ).train()
        assert out.global_step == 2 and np.isfinite(out.training_loss)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert not torch.equal(before, after)


def test_gist_losses_train_a_router_of_static_embeddings(guides, tiny_bert):
    """A Router whose routes start with a StaticEmbedding has no length limit (max_seq_length math.inf, as
    in sentence-transformers 6.3); the guide then reads the model's tokens without a length limit, and the
    loss is the one of the same StaticEmbedding without the Router (sentence-transformers refuses both: its
    GIST losses want a transformers tokenizer)."""
    from tokenizers import Tokenizer

    from sbert.sentence_transformer.modules import Router, StaticEmbedding

    weights = np.random.default_rng(0).random((100, 8), dtype=np.float32)
    tokenizer = Tokenizer.from_file(str(tiny_bert / "tokenizer.json"))
    static = StaticEmbedding(tokenizer, embedding_weights=np.resize(weights, (tokenizer.get_vocab_size(), 8)))
    plain = sbert.SentenceTransformer(modules=[static], device="cpu")
    routed = sbert.SentenceTransformer(
        modules=[Router.for_query_document(query_modules=[static], document_modules=[static])], device="cpu"
    )
    assert routed.max_seq_length == math.inf
    for name, options in (("GISTEmbedLoss", {}), ("CachedGISTEmbedLoss", {"mini_batch_size": 3})):
        values = []
        for model in (plain, routed):
            loss = getattr(sbert, name)(model, guides[0], **options)
            tasks = ("query", "document") if model is routed else (None, None)
            features = [model.preprocess(texts, task=task) for texts, task in zip((A, B), tasks)]
            values.append(loss(features, None).item())
        assert values[1] == pytest.approx(values[0], abs=1e-6), name


def test_adaptive_layer_around_gist(models, guides):
    """AdaptiveLayerLoss wraps GISTEmbedLoss as in sentence-transformers: the guide reads the texts at its own
    last layer, each of the model's layers is scored against it (same value and gradients); the GIST loss
    inside another AdaptiveLayerLoss stays refused (test_cached_loss_mixin.py: inside MatryoshkaLoss)."""
    ours, theirs = models
    options = {"n_layers_per_step": -1, "layer_weighting": "linear"}  # every layer: no random draw
    mine = sbert.AdaptiveLayerLoss(ours, sbert.GISTEmbedLoss(ours, guides[0], margin=0.02), **options)
    inner = _reference("GISTEmbedLoss", theirs, guides[1], margin=0.02)
    _same((ours, mine), (theirs, _reference("AdaptiveLayerLoss", theirs, inner, **options)), [A, B, C])
    with pytest.raises(sbert.InputError, match=r"cannot wrap GISTEmbedLoss inside AdaptiveLayerLoss"):
        sbert.AdaptiveLayerLoss(ours, sbert.AdaptiveLayerLoss(ours, sbert.GISTEmbedLoss(ours, guides[0])))
