"""Training SparseEncoder (SPLADE) models as sentence-transformers 6.3 does: its sparse losses (each one's
value and gradients on a fixed batch), SparseEncoderTrainer (the same logged losses and parts, regularizer
weights and final weights, step for step, on a dropout-free tiny masked LM), the regularizer weight schedule,
the default loss, and a trained model that sentence-transformers loads with the same outputs."""

from __future__ import annotations

import logging
import shutil
import warnings

import numpy as np
import pytest
import torch
from conftest import record_compute_loss_inputs, without_dropout

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

TOL = 1e-5
QUERIES = ["the cat sat on the mat", "a dog ran", "who plays guitar", "what is the weather today"]
POSITIVES = ["a cat is here", "the dog runs fast", "a man plays guitar", "it is sunny outside"]
NEGATIVES = ["it is sunny", "she is happy", "they eat food", "a big red car"]
WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


@pytest.fixture(scope="module")
def splade(masked_lm, tmp_path_factory):
    """The tiny masked LM without dropout: both trainers compute the same function, step for step."""
    return without_dropout(shutil.copytree(masked_lm, tmp_path_factory.mktemp("splade") / "mlm"))


def models(path):
    from sentence_transformers.sparse_encoder import SparseEncoder as Reference

    from sbert.sparse_encoder import SparseEncoder

    return Reference(str(path), device="cpu"), SparseEncoder(str(path), device="cpu")


@pytest.fixture(scope="module")
def pair(splade):
    """sentence-transformers' model and sbert's, for the losses on one batch (which leave the weights as
    they are)."""
    return models(splade)


def losses_of(library: str):
    if library == "st":
        from sentence_transformers.sparse_encoder import losses
    else:
        from sbert.sparse_encoder import losses
    return losses


# ------------------------------------------------------------------ each loss on one batch


# name -> (columns, labels, inner loss and its options, SpladeLoss options); None: the loss itself, unwrapped
SCORES = [0.1, 0.9, 0.4, 0.7]
FORWARD_CASES = {
    "mnrl": ([QUERIES, POSITIVES, NEGATIVES], None, ("SparseMultipleNegativesRankingLoss", {}), {}),
    "mnrl-scaled-cosine": (
        [QUERIES, POSITIVES],
        None,
        ("SparseMultipleNegativesRankingLoss", {"scale": 20.0, "similarity_fct": "cos_sim"}),
        {},
    ),
    "margin-mse": ([QUERIES, POSITIVES, NEGATIVES], [0.5, -1.0, 2.0, 0.3], ("SparseMarginMSELoss", {}), {}),
    "distill-kl": (
        [QUERIES, POSITIVES, NEGATIVES],
        [[1.0, 0.2], [0.3, 0.9], [2.0, -1.0], [0.5, 0.5]],
        ("SparseDistillKLDivLoss", {}),
        {},
    ),
    "triplet": ([QUERIES, POSITIVES, NEGATIVES], None, ("SparseTripletLoss", {}), {}),
    "cosine": ([QUERIES, POSITIVES], SCORES, ("SparseCosineSimilarityLoss", {}), {"doc_only": True}),
    "cosent": ([QUERIES, POSITIVES], SCORES, ("SparseCoSENTLoss", {}), {"doc_only": True}),
    "angle": ([QUERIES, POSITIVES], SCORES, ("SparseAnglELoss", {}), {"doc_only": True}),
    "thresholds": (
        [QUERIES, POSITIVES, NEGATIVES],
        None,
        ("SparseMultipleNegativesRankingLoss", {}),
        {"document_regularizer_threshold": 300, "query_regularizer_threshold": 200},
    ),
    "no-query-weight": (
        [QUERIES, POSITIVES],
        None,
        ("SparseMultipleNegativesRankingLoss", {}),
        {"query": None},
    ),
    "mse-alone": ([QUERIES, POSITIVES], "teacher", ("SparseMSELoss", {}), None),
    "cached": (
        [QUERIES, POSITIVES, NEGATIVES],
        None,
        ("SparseMultipleNegativesRankingLoss", {}),
        {"cached": 3},
    ),
    # sentence-transformers' token-budget mini-batches: consecutive rows of at most 15 real tokens together
    "cached-token-budget": (
        [QUERIES, POSITIVES, NEGATIVES],
        None,
        ("SparseMultipleNegativesRankingLoss", {}),
        {"cached": 3, "mini_batch_num_tokens": 15},
    ),
}


def _make_loss(library, model, inner, options):
    losses = losses_of(library)
    name, kwargs = inner
    kwargs = dict(kwargs)
    if kwargs.get("similarity_fct") == "cos_sim":
        from sentence_transformers import util as st_util

        from sbert import util

        kwargs["similarity_fct"] = (st_util if library == "st" else util).cos_sim
    loss = getattr(losses, name)(model, **kwargs)
    if options is None:
        return loss
    options = dict(options)
    doc_only, cached = options.pop("doc_only", False), options.pop("cached", None)
    weights = {"document_regularizer_weight": 3e-2, "query_regularizer_weight": options.pop("query", 5e-2)}
    if doc_only:
        weights = {"document_regularizer_weight": 3e-2, "use_document_regularizer_only": True}
    if cached:
        return losses.CachedSpladeLoss(model, loss=loss, mini_batch_size=cached, **weights, **options)
    return losses.SpladeLoss(model, loss=loss, **weights, **options)


def _labels(labels, width):
    if labels == "teacher":
        generator = torch.Generator().manual_seed(0)
        return torch.rand(len(QUERIES), width, generator=generator) * (
            torch.rand(width, generator=generator) > 0.9
        )
    return None if labels is None else torch.tensor(labels)


@pytest.mark.parametrize("case", list(FORWARD_CASES))
def test_loss_value_and_gradients_equal_sentence_transformers(pair, case):
    """Each loss, on one fixed batch: its value (each named part of a SpladeLoss) and the gradient of every
    weight of the model equal sentence-transformers' within 1e-5."""
    columns, labels, inner, options = FORWARD_CASES[case]
    reference, model = pair
    labels = _labels(labels, model.get_embedding_dimension())
    results = {}
    for library, encoder in (("st", reference), ("ours", model)):
        encoder.zero_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # query_regularizer_weight=None warns (there, it logs)
            loss = _make_loss(library, encoder, inner, options)
        features = [encoder.preprocess(texts) for texts in columns]
        out = loss(features, labels)
        parts = out if isinstance(out, dict) else {"loss": out}
        sum(parts.values()).backward()
        grads = {name: p.grad.clone() for name, p in encoder[0].named_parameters() if p.grad is not None}
        results[library] = ({k: float(v.detach()) for k, v in parts.items()}, grads)
    (theirs, their_grads), (ours, our_grads) = results["st"], results["ours"]
    assert list(ours) == list(theirs)
    np.testing.assert_allclose(list(ours.values()), list(theirs.values()), atol=TOL, rtol=1e-6)
    assert our_grads.keys() == their_grads.keys() and our_grads
    for name, grad in our_grads.items():
        torch.testing.assert_close(grad, their_grads[name], atol=TOL, rtol=1e-4, msg=name)


def test_splade_with_mse_fits_each_row_to_its_teacher_embedding(splade):
    """SpladeLoss(SparseMSELoss): the base loss is SparseMSELoss's own (each row against its teacher row), and
    the regularizer FLOPS of the rows. sentence-transformers 6.3 differs here: its SpladeLoss hands the label
    tensor to MSELoss.compute_loss_from_embeddings, which takes a list of teacher tensors, one per column, so
    it pairs the column with the first teacher row only (torch warns of the broadcast)."""
    from sentence_transformers.sparse_encoder.losses import FlopsLoss as ReferenceFlops
    from sentence_transformers.sparse_encoder.losses import SparseMSELoss as ReferenceMSE

    from sbert.sparse_encoder.losses import SparseMSELoss, SpladeLoss

    torch.set_grad_enabled(False)
    reference, model = models(splade)
    teacher = _labels("teacher", model.get_embedding_dimension())
    expected = ReferenceMSE(reference)([reference.preprocess(QUERIES)], teacher)
    embeddings = reference.encode(QUERIES, convert_to_sparse_tensor=False)
    flops = ReferenceFlops(reference).compute_loss_from_embeddings(embeddings)
    loss = SpladeLoss(
        model, SparseMSELoss(model), document_regularizer_weight=0.5, use_document_regularizer_only=True
    )
    parts = loss([model.preprocess(QUERIES)], teacher)
    assert list(parts) == ["base_loss", "document_regularizer_loss"]
    assert float(parts["base_loss"]) == pytest.approx(float(expected), abs=TOL)
    assert float(parts["document_regularizer_loss"]) == pytest.approx(0.5 * float(flops), abs=TOL)
    torch.set_grad_enabled(True)


def test_flops_loss_equals_sentence_transformers():
    from sentence_transformers.sparse_encoder.losses import FlopsLoss as Reference

    from sbert.sparse_encoder.losses import FlopsLoss

    embeddings = torch.relu(torch.randn(6, 50, generator=torch.Generator().manual_seed(1)))
    for threshold in (None, 20, 100):
        expected = Reference(None, threshold=threshold).compute_loss_from_embeddings(embeddings)
        got = FlopsLoss(None, threshold=threshold).compute_loss_from_embeddings(embeddings)
        torch.testing.assert_close(got, expected, atol=1e-7, rtol=1e-6)


INNER_ON_SPARSE = {
    # inner loss, its options, embedding columns, labels
    "SparseCoSENTLoss": ({}, 2, [0.9, 0.1, 0.8, 0.2]),
    "SparseAnglELoss": ({}, 2, [0.9, 0.1, 0.8, 0.2]),
    "SparseDistillKLDivLoss": ({"student_temperature": 0.5}, 3, [[4.0, 1.0], [3.5, 0.5], [2.0, 1.5], [5, 0]]),
    "SparseMarginMSELoss": ({}, 3, [0.5, -1.0, 2.0, 0.0]),
}


@pytest.mark.parametrize("name", sorted(INNER_ON_SPARSE))
def test_inner_losses_on_sparse_embeddings_and_their_config_as_sentence_transformers(pair, name):
    """compute_loss_from_embeddings takes encode()'s sparse tensors, and get_config_dict is the loss's
    settings, as in sentence-transformers."""
    options, columns, labels = INNER_ON_SPARSE[name]
    generator = torch.Generator().manual_seed(21)
    embeddings = [torch.randn(4, 8, generator=generator).relu().to_sparse() for _ in range(columns)]
    labels = torch.tensor(labels)
    results = []
    for library, model in zip(("st", "sbert"), pair):
        loss = getattr(losses_of(library), name)(model, **options)
        results.append((loss.compute_loss_from_embeddings(embeddings, labels), loss.get_config_dict()))
    (expected, expected_config), (got, config) = results
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
    assert config == expected_config


# ------------------------------------------------------------------ the trainer, step for step

RECIPE = {
    "per_device_train_batch_size": 4, "num_train_epochs": 3, "learning_rate": 2e-3, "warmup_steps": 0.1,
    "weight_decay": 0.01, "save_strategy": "no", "disable_tqdm": True, "logging_steps": 1, "seed": 3,
}  # fmt: skip
TRAIN_CASES = {
    # inner loss, its data's extra columns, SpladeLoss options, recipe changes
    "mnrl": ("SparseMultipleNegativesRankingLoss", {}, {}, {"gradient_accumulation_steps": 2}),
    "margin-mse": (
        "SparseMarginMSELoss",
        {"negative": WORDS[2:10], "label": [0.5 * i - 1 for i in range(8)]},
        {},
        {"prompts": {"anchor": "query: ", "positive": "passage: ", "negative": "passage: "}},
    ),
    "cosent-linear-schedule": (
        "SparseCoSENTLoss",
        {"score": [i / 8 for i in range(8)]},
        {"doc_only": True},
        {},
    ),
}


def _train(library, path, out, case):
    from datasets import Dataset
    from transformers import TrainerCallback

    if library == "st":
        from sentence_transformers import sparse_encoder as namespace
        from sentence_transformers.sparse_encoder.callbacks import SpladeRegularizerWeightSchedulerCallback
    else:
        from sbert import sparse_encoder as namespace
        from sbert.sparse_encoder.callbacks import SpladeRegularizerWeightSchedulerCallback

    class Record(TrainerCallback):
        def __init__(self):
            self.logs = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            if "loss" in logs:
                self.logs.append(dict(logs))

    inner, extra, options, recipe = TRAIN_CASES[case]
    model = namespace.SparseEncoder(str(path), device="cpu")
    data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:], **extra})
    options = {"doc_only": False, **options}
    doc_only = options.pop("doc_only")
    weights = (
        {"document_regularizer_weight": 3e-2, "use_document_regularizer_only": True}
        if doc_only
        else {"document_regularizer_weight": 3e-3, "query_regularizer_weight": 5e-3}
    )
    losses = losses_of(library)
    loss = losses.SpladeLoss(model, loss=getattr(losses, inner)(model), **weights)
    record = Record()
    callbacks = [record]
    if case.endswith(
        "linear-schedule"
    ):  # the user's own schedule is the one used (and run before the others)
        callbacks.append(
            SpladeRegularizerWeightSchedulerCallback(loss, scheduler_type="linear", warmup_ratio=0.5)
        )
    args = namespace.SparseEncoderTrainingArguments(str(out), **{**RECIPE, **recipe})
    trainer = namespace.SparseEncoderTrainer(
        model=model, args=args, train_dataset=data, loss=loss, callbacks=callbacks
    )
    output = trainer.train()
    return model, record.logs, trainer.state.log_history, output


@pytest.fixture
def one_torch_thread():
    """Both trainings on one thread: a multi-threaded reduction sums in another order (the loss of
    cosent-linear-schedule then differs by 1.1e-5 on two threads, which this module met when it ran first in
    its worker, before another test left torch on one thread)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("case", list(TRAIN_CASES))
def test_training_equals_sentence_transformers_trainer(splade, tmp_path, case, one_torch_thread):
    """SparseEncoderTrainer with a SpladeLoss, as sentence-transformers': each logged loss (1e-5) and its
    parts (as rounded there), the scheduled regularizer weights each record shows, the steps, and every weight
    of the trained model (1e-5), which moved well beyond that; saved, sentence-transformers loads it and
    encodes as its own trained model (1e-5)."""
    reference, theirs, their_history, their_output = _train("st", splade, tmp_path / "st", case)
    model, ours, our_history, our_output = _train("ours", splade, tmp_path / "ours", case)
    assert our_output.global_step == their_output.global_step > 2
    assert len(ours) == len(theirs) == our_output.global_step
    for got, expected in zip(ours, theirs):
        assert set(got) == set(expected)
        for key in ("loss", "base_loss", "document_regularizer_loss", "query_regularizer_loss"):
            if key in expected:
                assert got[key] == pytest.approx(expected[key], abs=TOL if key == "loss" else 1.01e-4), key
        for key in ("document_regularizer_weight", "query_regularizer_weight", "learning_rate"):
            if key in expected:
                assert got[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-15), key
    weights = [r["document_regularizer_weight"] for r in ours]
    assert weights[0] == 0.0 and 0 < weights[1] and weights[-1] == max(weights)  # the warm-up, then the value
    # the history (trainer.state.log_history) has the parts, but not the weights, as there
    assert {k for r in our_history if "loss" in r for k in r} == {
        k for r in their_history if "loss" in r for k in r
    }
    their_weights = reference.state_dict()
    our_weights = model.state_dict()
    assert our_weights.keys() == their_weights.keys()
    initial = models(splade)[1].state_dict()
    moved = 0.0
    for name, value in our_weights.items():
        torch.testing.assert_close(value, their_weights[name], atol=TOL, rtol=0, msg=name)
        moved = max(moved, float((value - initial[name]).abs().max()))
    assert moved > 1e-3
    if case == "margin-mse":  # saved, the trained model loads in sentence-transformers with equal outputs
        from sentence_transformers.sparse_encoder import SparseEncoder as Reference

        model.save(str(tmp_path / "saved"))
        loaded = Reference(str(tmp_path / "saved"), device="cpu")
        expected = reference.encode(QUERIES, convert_to_sparse_tensor=False)
        got = loaded.encode(QUERIES, convert_to_sparse_tensor=False)
        torch.testing.assert_close(got, expected, atol=TOL, rtol=0)
        torch.testing.assert_close(
            model.encode(QUERIES, convert_to_sparse_tensor=False), got, atol=TOL, rtol=0
        )


# ------------------------------------------------------------------ the weight schedule


@pytest.mark.parametrize(
    ("scheduler_type", "warmup_ratio", "steps"),
    [("quadratic", 1 / 3, 10), ("linear", 0.5, 7), ("QUADRATIC", 1.0, 4), ("linear", 0.01, 5)],
)
def test_regularizer_weight_schedule_equals_sentence_transformers(
    splade, scheduler_type, warmup_ratio, steps
):
    """The callback's weights before each step (and what it adds to a logged record), for each scheduler type
    and warm-up, are sentence-transformers' callback's."""
    from types import SimpleNamespace

    from sentence_transformers.sparse_encoder.callbacks import (
        SpladeRegularizerWeightSchedulerCallback as Reference,
    )

    from sbert.sparse_encoder.callbacks import SpladeRegularizerWeightSchedulerCallback

    reference, model = models(splade)
    seen = {}
    for library, encoder, schedule in (
        ("st", reference, Reference),
        ("ours", model, SpladeRegularizerWeightSchedulerCallback),
    ):
        losses = losses_of(library)
        loss = losses.SpladeLoss(
            encoder, losses.SparseMultipleNegativesRankingLoss(encoder), 3e-5, query_regularizer_weight=5e-5
        )
        callback = schedule(loss, scheduler_type=scheduler_type, warmup_ratio=warmup_ratio)
        state = SimpleNamespace(max_steps=steps, global_step=0)
        callback.on_train_begin(None, state, None)
        weights = [(loss.query_regularizer_weight, loss.document_regularizer_weight)]
        for step in range(steps + 1):  # the last: after the run, the full weights
            state.global_step = step
            callback.on_step_begin(None, state, None)
            logs = {"loss": 1.0}
            callback.on_log(None, state, None, logs=logs)
            weights.append((loss.query_regularizer_weight, loss.document_regularizer_weight, logs))
        seen[library] = weights
    assert seen["ours"] == seen["st"]
    assert seen["ours"][-1][:2] == (5e-5, 3e-5)


def test_schedule_refuses_what_it_cannot_schedule(splade):
    from sbert.sparse_encoder import SparseEncoder, losses
    from sbert.sparse_encoder.callbacks import SpladeRegularizerWeightSchedulerCallback

    model = SparseEncoder(str(splade), device="cpu")
    with pytest.raises(ValueError, match="SpladeLoss"):
        SpladeRegularizerWeightSchedulerCallback(losses.SparseMultipleNegativesRankingLoss(model))
    loss = losses.SpladeLoss(model, losses.SparseMultipleNegativesRankingLoss(model), 3e-5, 5e-5)
    with pytest.raises(ValueError, match="scheduler_type must be one of"):
        SpladeRegularizerWeightSchedulerCallback(loss, scheduler_type="cubic")
    with pytest.raises(ValueError, match=r"warmup_ratio must be in \(0, 1\]"):
        SpladeRegularizerWeightSchedulerCallback(loss, warmup_ratio=0)


def test_the_schedule_runs_on_every_process(splade):
    """Under torchrun sbert runs callbacks on the main process only, but the schedule changes the loss every
    process computes: it runs on each one (as every callback does under Hugging Face's trainer)."""
    from transformers import TrainerCallback

    from sbert._training.callbacks import Callbacks
    from sbert.sparse_encoder import SparseEncoder, losses
    from sbert.sparse_encoder.callbacks import SpladeRegularizerWeightSchedulerCallback

    model = SparseEncoder(str(splade), device="cpu")
    loss = losses.SpladeLoss(model, losses.SparseMultipleNegativesRankingLoss(model), 3e-5, 5e-5)
    schedule = SpladeRegularizerWeightSchedulerCallback(loss)
    everywhere = type("Everywhere", (TrainerCallback,), {"every_process": True})()
    other = TrainerCallback()
    callbacks = Callbacks([schedule, everywhere, other], None, 9, main=False, dispatch=print)
    assert callbacks.hf == [schedule, everywhere] and callbacks.dispatch is None
    callbacks.train_begin(0, 0.0)
    callbacks.step_begin(3, 1.0)
    assert (loss.query_regularizer_weight, loss.document_regularizer_weight) == (5e-5, 3e-5)  # 3 >= 9 // 3
    assert Callbacks([schedule, other], None, 9).hf == [schedule, other]


# ------------------------------------------------------------------ the trainer's defaults and refusals


def test_default_loss_and_schedule_as_sentence_transformers(splade, tmp_path, caplog):
    """Without a loss: SpladeLoss(SparseMultipleNegativesRankingLoss) with sentence-transformers' weights, and
    its schedule callback added (with the warning there) before the user's callbacks."""
    from datasets import Dataset
    from sentence_transformers.sparse_encoder import SparseEncoderTrainer as ReferenceTrainer
    from transformers import TrainerCallback

    from sbert import SparseEncoderTrainer, SparseEncoderTrainingArguments
    from sbert.sparse_encoder.callbacks import SpladeRegularizerWeightSchedulerCallback
    from sbert.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

    reference, model = models(splade)
    data = Dataset.from_dict({"anchor": WORDS[:4], "positive": WORDS[4:8]})
    theirs = ReferenceTrainer(model=reference, train_dataset=data).loss
    mine = TrainerCallback()
    with caplog.at_level(logging.WARNING):
        args = SparseEncoderTrainingArguments(str(tmp_path), disable_tqdm=True)
        trainer = SparseEncoderTrainer(model=model, args=args, train_dataset=data, callbacks=[mine])
    (loss,) = trainer.losses
    assert isinstance(loss, SpladeLoss) and isinstance(loss.loss, SparseMultipleNegativesRankingLoss)
    for name in ("query_regularizer_weight", "document_regularizer_weight", "use_document_regularizer_only"):
        assert getattr(loss, name) == getattr(theirs, name), name
    assert (loss.loss.scale, loss.loss.similarity_fct.__name__) == (theirs.loss.scale, "dot_score")
    first = trainer.callbacks[0]
    assert isinstance(first, SpladeRegularizerWeightSchedulerCallback) and first.loss is loss
    assert first.warmup_ratio == pytest.approx(1 / 3) and first.scheduler_type.value == "quadratic"
    assert len(trainer.callbacks) == 2
    assert "Adding default SpladeRegularizerWeightSchedulerCallback" in caplog.text


def _schedule_layout(library, trainer, user):
    """The trainer's callbacks, as ``schedule[<its loss's key>,<type>]`` and ``user<i>`` (the trainer's own
    callbacks left out; sbert's wrapping of a user's callback looked through)."""
    callbacks = trainer.callback_handler.callbacks if library == "st" else trainer.callbacks
    spec = trainer.loss
    named = list(spec.items()) if isinstance(spec, dict) else [("loss", spec)]
    layout = []
    for callback in callbacks:
        if type(callback).__name__ == "AppliedRate":
            callback = callback.on_train_begin.__self__
        if type(callback).__name__ == "SpladeRegularizerWeightSchedulerCallback":
            key = next((k for k, loss in named if loss is callback.loss), "other")
            layout.append(f"schedule[{key},{callback.scheduler_type.value}]")
        elif any(callback is u for u in user):
            layout.append(f"user{next(i for i, u in enumerate(user) if u is callback)}")
    return layout, [k for k, _ in named]


def _schedule_cases(library, path, tmp_path):
    """Trainers made as a user makes them: the layout of their weight schedules (and trainer.loss's keys),
    and the regularizer weights logged by a 3-step run with a dict of losses."""
    from datasets import Dataset, DatasetDict
    from transformers import TrainerCallback

    if library == "st":
        from sentence_transformers import sparse_encoder as namespace
        from sentence_transformers.sparse_encoder.callbacks import SpladeRegularizerWeightSchedulerCallback
    else:
        from sbert import sparse_encoder as namespace
        from sbert.sparse_encoder.callbacks import SpladeRegularizerWeightSchedulerCallback

    class Record(TrainerCallback):
        def __init__(self):
            self.weights = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            if "loss" in logs:
                self.weights.append((logs["document_regularizer_weight"], logs["query_regularizer_weight"]))

    model = namespace.SparseEncoder(str(path), device="cpu")
    L = namespace.losses

    def splade(document=3e-3):
        return L.SpladeLoss(model, L.SparseMultipleNegativesRankingLoss(model), document, 5e-3)

    def data():  # new each time: sentence-transformers' trainer marks the rows of a DatasetDict's datasets
        return Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:]})

    def layout(callbacks=(), **options):
        args = namespace.SparseEncoderTrainingArguments(str(tmp_path / library), disable_tqdm=True)
        trainer = namespace.SparseEncoderTrainer(model=model, args=args, callbacks=list(callbacks), **options)
        return _schedule_layout(library, trainer, list(callbacks))

    a, b, c = splade(), splade(), splade()
    user = [TrainerCallback(), SpladeRegularizerWeightSchedulerCallback(c, scheduler_type="linear")]
    layouts = {
        "no data": layout(),
        "eval data only": layout(eval_dataset=data(), loss=a, callbacks=[*user, TrainerCallback()]),
        "eval data only, its schedule given": layout(
            eval_dataset=data(), loss=c, callbacks=[*user, SpladeRegularizerWeightSchedulerCallback(a)]
        ),
        "a schedule of another loss": layout(train_dataset=data(), loss=a, callbacks=user),
        "a function of the model": layout(train_dataset=data(), loss=lambda m: a),
        "dicts": layout(
            train_dataset=DatasetDict(y=data(), x=data()),
            eval_dataset=DatasetDict(z=data()),
            loss={"x": a, "y": b, "z": c, "again": a},
            callbacks=[SpladeRegularizerWeightSchedulerCallback(b, warmup_ratio=0.5), *user],
        ),
    }
    record = Record()
    args = namespace.SparseEncoderTrainingArguments(
        str(tmp_path / library), **{**RECIPE, "max_steps": 3, "report_to": "none"}
    )
    trainer = namespace.SparseEncoderTrainer(
        model=model,
        args=args,
        train_dataset=DatasetDict(y=data()),
        loss={"x": splade(3e-2), "y": splade()},  # x's schedule runs last: its weights are logged
        callbacks=[record],
    )
    trainer.train()
    return layouts, record.weights


def test_weight_schedules_as_sentence_transformers_trainer(splade, tmp_path):
    """A SpladeRegularizerWeightSchedulerCallback for every SpladeLoss of trainer.loss, where
    sentence-transformers' trainer adds one: made without data or with eval data only, for a loss given as a
    function of the model, for each loss of a dict (those only an eval dataset or no dataset names too), the
    user's schedule of a loss moved first and one of another loss left where it was; a run logs the weights of
    the same schedule (a dict loss's that no dataset names)."""
    theirs, their_weights = _schedule_cases("st", splade, tmp_path)
    ours, our_weights = _schedule_cases("ours", splade, tmp_path)
    assert ours == theirs
    assert theirs["no data"] == (["schedule[loss,quadratic]"], ["loss"])
    assert our_weights == pytest.approx(their_weights, rel=1e-9, abs=1e-15)
    assert their_weights[0] == (0.0, 0.0) and their_weights[-1][0] > 3e-3


@pytest.mark.parametrize("library", ["st", "ours"])
def test_an_inner_loss_alone_is_refused_as_sentence_transformers(splade, tmp_path, library):
    """SparseMultipleNegativesRankingLoss without SpladeLoss: an AttributeError naming SpladeLoss (sbert's
    when the trainer is made, before any step; sentence-transformers' at the first step)."""
    from datasets import Dataset

    namespace = __import__("sentence_transformers" if library == "st" else "sbert").sparse_encoder
    model = models(splade)[0 if library == "st" else 1]
    loss = losses_of(library).SparseMultipleNegativesRankingLoss(model)
    data = Dataset.from_dict({"anchor": WORDS[:4], "positive": WORDS[4:8]})
    with pytest.raises(AttributeError, match="should not be used alone. Use it with SpladeLoss"):
        args = namespace.SparseEncoderTrainingArguments(str(tmp_path), disable_tqdm=True, save_strategy="no")
        namespace.SparseEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss).train()
    with pytest.raises(AttributeError, match="should not be used alone"):
        loss([model.preprocess(QUERIES), model.preprocess(POSITIVES)], None)


def test_splade_loss_refuses_bad_settings(splade):
    from datasets import Dataset

    from sbert.sparse_encoder import SparseEncoder, SparseEncoderTrainer, losses

    model = SparseEncoder(str(splade), device="cpu")
    inner = losses.SparseMultipleNegativesRankingLoss(model)
    with pytest.raises(ValueError, match="compute_loss_from_embeddings"):
        losses.SpladeLoss(model, torch.nn.Linear(2, 2), 3e-5)
    with pytest.raises(ValueError, match="document_regularizer_weight must be a number >= 0"):
        losses.SpladeLoss(model, inner, None)
    with pytest.warns(UserWarning, match="query_regularizer_weight is ignored"):
        loss = losses.SpladeLoss(model, inner, 3e-5, 5e-5, use_document_regularizer_only=True)
    assert loss.query_regularizer_weight is None
    with pytest.warns(UserWarning, match="queries are not regularized"):
        loss = losses.SpladeLoss(model, losses.SparseMSELoss(model), 3e-5)
    data = Dataset.from_dict({"text": WORDS[:4], "label": [[0.0] * 99] * 4})
    with pytest.raises(ValueError, match="use_document_regularizer_only=True"):
        SparseEncoderTrainer(model=model, train_dataset=data, loss=loss)


def test_evaluation_gives_the_loss_parts_as_sentence_transformers(splade, tmp_path):
    """The eval dataset's loss, as sentence-transformers' trainer gives it: ``trainer.evaluate()`` has
    ``eval_loss`` (1e-5), and the record logged at an evaluation has each part too (``eval_base_loss``,
    ``eval_document_regularizer_loss``, ``eval_query_regularizer_loss``)."""
    from datasets import Dataset
    from transformers import TrainerCallback

    class Record(TrainerCallback):
        logged: dict = {}

        def on_log(self, args, state, control, logs=None, **kwargs):
            Record.logged = dict(logs)

    data = Dataset.from_dict({"anchor": WORDS[:6], "positive": WORDS[6:]})
    results = {}
    for library in ("st", "ours"):
        namespace = __import__("sentence_transformers" if library == "st" else "sbert").sparse_encoder
        model = models(splade)[0 if library == "st" else 1]
        losses = losses_of(library)
        loss = losses.SpladeLoss(model, losses.SparseMultipleNegativesRankingLoss(model), 3e-1, 5e-1)
        args = namespace.SparseEncoderTrainingArguments(
            str(tmp_path / library), per_device_eval_batch_size=4, disable_tqdm=True
        )
        trainer = namespace.SparseEncoderTrainer(
            model=model, args=args, train_dataset=data, eval_dataset=data, loss=loss, callbacks=[Record()]
        )
        returned = trainer.evaluate()
        # sbert logs an evaluation's record while it trains; this is what it logs
        logged = Record.logged if library == "st" else trainer.eval_loss()
        results[library] = returned, logged
    (returned, theirs), (our_returned, ours) = results["st"], results["ours"]
    parts = {"eval_base_loss", "eval_document_regularizer_loss", "eval_query_regularizer_loss"}
    assert not parts & set(returned) and not parts & set(our_returned)
    assert our_returned["eval_loss"] == pytest.approx(returned["eval_loss"], abs=TOL)
    assert set(ours) == {"eval_loss", *parts} and parts <= set(theirs)
    for key in parts:
        assert ours[key] == pytest.approx(theirs[key], abs=1.01e-4), key


def test_namespaces_match_sentence_transformers():
    """The losses, trainer, arguments and callback at sentence-transformers' paths, and the trainer at the top
    level."""
    import importlib

    import sentence_transformers
    import sentence_transformers.sparse_encoder.losses as reference_losses

    import sbert
    import sbert.sparse_encoder.losses as our_losses
    from sbert._losses.sparse import SPARSE_LOSSES

    assert set(reference_losses.__all__) == set(our_losses.__all__)
    assert set(our_losses.__all__) == set(SPARSE_LOSSES)  # the registry is the public module's
    for name in ("SparseEncoderTrainer", "SparseEncoderTrainingArguments"):
        assert name in sentence_transformers.__all__ and name in sbert.__all__
        assert getattr(sbert, name) is getattr(sbert.sparse_encoder, name)
    assert (
        importlib.import_module("sbert.sparse_encoder.trainer").SparseEncoderTrainer
        is sbert.SparseEncoderTrainer
    )
    module = importlib.import_module("sbert.sparse_encoder.training_args")
    assert module.SparseEncoderTrainingArguments is sbert.SparseEncoderTrainingArguments
    from sbert.sparse_encoder.callbacks.splade_callbacks import (
        SchedulerType,
        SpladeRegularizerWeightSchedulerCallback,
    )
    from sbert.sparse_encoder.losses.csr import CSRLoss
    from sbert.sparse_encoder.losses.splade import SpladeLoss

    assert CSRLoss is our_losses.CSRLoss
    assert SpladeLoss is our_losses.SpladeLoss and SchedulerType.LINEAR.value == "linear"
    assert SpladeRegularizerWeightSchedulerCallback.__name__ == "SpladeRegularizerWeightSchedulerCallback"


# ------------------------------------------------------------------ get_config_dict, new trainer card data


def _config_cases(losses, util, model):
    mnrl = getattr(losses, "SparseMultipleNegativesRankingLoss", None)
    weights = {"document_regularizer_weight": 3e-5, "query_regularizer_weight": 5e-5}
    return {
        "mnrl": lambda: mnrl(model),
        "mnrl-cosine": lambda: mnrl(model, scale=20.0, similarity_fct=util.cos_sim),
        "margin-mse": lambda: losses.SparseMarginMSELoss(model),
        "distill-kl": lambda: losses.SparseDistillKLDivLoss(model, temperature=3.0),
        "triplet": lambda: losses.SparseTripletLoss(model),
        "cosine": lambda: losses.SparseCosineSimilarityLoss(model),
        "cosent": lambda: losses.SparseCoSENTLoss(model),
        "angle": lambda: losses.SparseAnglELoss(model),
        "mse": lambda: losses.SparseMSELoss(model),
        "flops": lambda: losses.FlopsLoss(model, threshold=10),
        "splade": lambda: losses.SpladeLoss(model, mnrl(model), **weights),
        "splade-doc-only": lambda: losses.SpladeLoss(
            model,
            losses.SparseCoSENTLoss(model),
            document_regularizer_weight=3e-5,
            use_document_regularizer_only=True,
        ),
        "cached-splade": lambda: losses.CachedSpladeLoss(model, mnrl(model), mini_batch_size=4, **weights),
        "cached-splade-tokens": lambda: losses.CachedSpladeLoss(
            model, mnrl(model), mini_batch_num_tokens=64, **weights
        ),
    }


@pytest.mark.parametrize("case", sorted(_config_cases(*[None] * 3)))
def test_sparse_losses_get_config_dict_as_sentence_transformers(pair, case):
    """Every sparse loss's get_config_dict has sentence-transformers' keys and values (a wrapper's inner loss
    is the module itself there)."""
    from sentence_transformers import util as st_util

    from sbert import util

    configs = []
    for library, model, lib_util in (("st", pair[0], st_util), ("sbert", pair[1], util)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss = _config_cases(losses_of(library), lib_util, model)[case]()
        config = loss.get_config_dict()
        if "loss" in config and not isinstance(config["loss"], str):
            assert config["loss"] is loss.loss
            config["loss"] = type(config["loss"]).__name__
        configs.append(config)
    assert configs[1] == configs[0]


def test_cosent_default_similarity_is_util_pairwise_cos_sim(pair):
    """SparseCoSENTLoss's default similarity_fct is util.pairwise_cos_sim itself, as in sentence-transformers,
    and the loss is the same as with it given."""
    from sbert import util

    loss = losses_of("sbert").SparseCoSENTLoss(pair[1])
    assert loss.similarity_fct is util.pairwise_cos_sim
    embeddings = [torch.randn(4, 8, generator=torch.Generator().manual_seed(s)).relu() for s in (1, 2)]
    labels = torch.tensor([0.9, 0.1, 0.8, 0.2])
    given = losses_of("sbert").SparseCoSENTLoss(pair[1], similarity_fct=util.pairwise_cos_sim)
    torch.testing.assert_close(
        loss.compute_loss_from_embeddings(embeddings, labels),
        given.compute_loss_from_embeddings(embeddings, labels),
    )


ST_BASE_TAGS = ("sentence-transformers", "sparse-encoder", "sparse", "splade")


def test_trainer_records_datasets_and_losses_in_card_data_at_construction(splade, tmp_path):
    """Made, not yet trained, SparseEncoderTrainer has written the datasets (a transform's columns, the
    first examples, the size), the loss tags, dataset_size and generated_from_trainer into
    model.model_card_data, as sentence-transformers' model card callback does."""
    from datasets import Dataset, DatasetDict

    train = Dataset.from_dict({"anchor": QUERIES, "positive": POSITIVES})
    transformed = Dataset.from_dict({"anchor": QUERIES[:3], "positive": POSITIVES[:3]})
    transformed.set_transform(lambda batch: {f"new_{k}": [t.upper() for t in v] for k, v in batch.items()})
    train_sets = DatasetDict({"plain": train, "transformed": transformed})
    eval_set = Dataset.from_dict({"anchor": QUERIES[:2], "positive": POSITIVES[:2]})
    keys = ("name", "split", "size", "columns", "examples")
    seen = []
    for library in ("st", "sbert"):
        if library == "st":
            from sentence_transformers import sparse_encoder as namespace
        else:
            from sbert import sparse_encoder as namespace
        model = namespace.SparseEncoder(str(splade), device="cpu")
        losses = losses_of(library)
        loss = losses.SpladeLoss(
            model, losses.SparseMultipleNegativesRankingLoss(model), document_regularizer_weight=3e-5,
            query_regularizer_weight=5e-5,
        )  # fmt: skip
        args = namespace.SparseEncoderTrainingArguments(output_dir=str(tmp_path / library), report_to="none")
        namespace.SparseEncoderTrainer(
            model=model, args=args, train_dataset=train_sets, eval_dataset=eval_set, loss=loss
        )
        card = model.model_card_data
        seen.append(
            (
                [{k: d.get(k) for k in keys} for d in card.train_datasets],
                [{k: d.get(k) for k in keys} for d in card.eval_datasets],
                [tag for tag in card.tags if tag not in ST_BASE_TAGS],
            )
        )
    assert seen[1] == seen[0]
    assert "<code>new_anchor</code>" in seen[1][0][1]["columns"]


def _override_run(library, path, out):
    """A SparseEncoderTrainer subclass overriding compute_loss (half of SpladeLoss's, via super()), trained 3
    steps on a DatasetDict with a loss per dataset, then evaluated."""
    from datasets import Dataset, DatasetDict

    if library == "st":
        from sentence_transformers import sparse_encoder as namespace
    else:
        from sbert import sparse_encoder as namespace
    seen: dict = {"loss": [], "columns": [], "labels": [], "eval": []}

    class Halved(namespace.SparseEncoderTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            record_compute_loss_inputs(seen, self, inputs)
            out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            loss = out[0] if return_outputs else out
            seen["eval" if return_outputs else "loss"].append(loss.detach().item())
            return (loss * 0.5, {}) if return_outputs else loss * 0.5

    model = namespace.SparseEncoder(str(path), device="cpu")
    losses = namespace.losses
    pairs = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:]})
    sts = Dataset.from_dict(
        {"sentence1": WORDS[:6], "sentence2": WORDS[6:], "score": [i / 5 for i in range(6)]}
    )
    loss = {
        "pairs": losses.SpladeLoss(
            model, losses.SparseMultipleNegativesRankingLoss(model), document_regularizer_weight=3e-2,
            query_regularizer_weight=5e-2,
        ),
        "sts": losses.SpladeLoss(
            model, losses.SparseCoSENTLoss(model), document_regularizer_weight=3e-2,
            use_document_regularizer_only=True,
        ),
    }  # fmt: skip
    args = namespace.SparseEncoderTrainingArguments(
        str(out), max_steps=3, per_device_train_batch_size=4, per_device_eval_batch_size=4,
        learning_rate=1e-3, logging_steps=1, save_strategy="no", disable_tqdm=True, seed=7, report_to="none",
    )  # fmt: skip
    data = DatasetDict({"pairs": pairs, "sts": sts})
    trainer = Halved(model=model, args=args, train_dataset=data, eval_dataset=data, loss=loss)
    trainer.train()
    seen["history"] = [
        {k: v for k, v in r.items() if "loss" in k} for r in trainer.state.log_history if "loss" in r
    ]
    seen["evaluated"] = trainer.evaluate()
    seen["weights"] = {n: p.detach().clone() for n, p in model[0].auto_model.named_parameters()}
    return seen


def test_compute_loss_override_trains_as_sentence_transformers(splade, tmp_path):
    """A subclass's compute_loss gets sentence-transformers' collated batches (columns, labels, dataset
    names), and what it returns (half the loss) is back-propagated and logged with SpladeLoss's parts:
    the same losses, log, eval losses and final weights as its trainer."""
    theirs = _override_run("st", splade, tmp_path / "st")
    ours = _override_run("sbert", splade, tmp_path / "sbert")
    assert ours["columns"] == theirs["columns"] and ours["labels"] == theirs["labels"]
    assert ours["loss"] == pytest.approx(theirs["loss"], abs=TOL)
    assert ours["eval"] == pytest.approx(theirs["eval"], abs=TOL)
    assert len(ours["history"]) == len(theirs["history"]) == 3
    for mine, reference in zip(ours["history"], theirs["history"]):
        assert mine == pytest.approx(reference, abs=TOL)
    assert [r["loss"] for r in ours["history"]] == pytest.approx([v / 2 for v in ours["loss"]], abs=1e-6)
    for key in ("eval_pairs_loss", "eval_sts_loss"):
        assert ours["evaluated"][key] == pytest.approx(theirs["evaluated"][key], abs=TOL)
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=TOL, rtol=0, msg=name)
    initial = models(splade)[1][0].auto_model.named_parameters()
    assert any(not torch.equal(p.detach(), ours["weights"][n]) for n, p in initial)  # training moved them


def test_card_data_datasets_given_up_front_are_filled_in_as_sentence_transformers(splade, tmp_path):
    """train_datasets given in the card data (one per dataset) keep their name and get the size and columns;
    given for another number of datasets they are replaced, as sentence-transformers does. (Its check of
    the id against the Hub, which drops it offline, is not made: sbert's card needs no Hub lookups.)"""
    from datasets import Dataset, DatasetDict

    data = Dataset.from_dict({"anchor": QUERIES, "positive": POSITIVES})
    keys = ("name", "size", "columns")
    seen = []
    for library in ("st", "sbert"):
        if library == "st":
            from sentence_transformers import sparse_encoder as namespace
        else:
            from sbert import sparse_encoder as namespace
        records = []
        for train in (data, DatasetDict({"a": data, "b": data})):
            card_data = namespace.SparseEncoderModelCardData(
                train_datasets=[{"name": "Pairs", "id": "org/pairs"}]
            )
            model = namespace.SparseEncoder(str(splade), device="cpu", model_card_data=card_data)
            loss = namespace.losses.SpladeLoss(
                model, namespace.losses.SparseMultipleNegativesRankingLoss(model),
                document_regularizer_weight=3e-5, query_regularizer_weight=5e-5,
            )  # fmt: skip
            args = namespace.SparseEncoderTrainingArguments(
                output_dir=str(tmp_path / library), report_to="none"
            )
            namespace.SparseEncoderTrainer(model=model, args=args, train_dataset=train, loss=loss)
            records.append([{k: d.get(k) for k in keys} for d in model.model_card_data.train_datasets])
        seen.append(records)
    assert seen[1] == seen[0]
    assert seen[1][0][0]["name"] == "Pairs" and seen[1][1][0]["name"] == "a"
