"""Session 41's client-library probes, as parity tests on the API calls the libraries make (the libraries
themselves are not imported).

datadreamer 0.46 (``TrainSentenceTransformer``) builds its loss on a wrapper object around the model and
calls it by keyword: ``loss_module(sentence_features=features, labels=labels)``; callers of cross-encoder
losses name ``inputs=`` the same way. So a loss's ``forward`` takes its arguments under
sentence-transformers' names."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
import torch

FAMILIES = {
    "dense": ("sentence_transformers.sentence_transformer.losses", "sbert.sentence_transformer.losses"),
    "sparse": ("sentence_transformers.sparse_encoder.losses", "sbert.sparse_encoder.losses"),
    "cross": ("sentence_transformers.cross_encoder.losses", "sbert.cross_encoder.losses"),
    "multi_vector": (
        "sentence_transformers.multi_vector_encoder.losses",
        "sbert.multi_vector_encoder.losses",
    ),
}
# sentence-transformers' MegaBatchMarginLoss binds ``forward`` per instance (the class has torch's own)
NOT_A_FORWARD = {"MegaBatchMarginLoss"}


def _loss_classes() -> list[tuple[str, str]]:
    """sentence-transformers' loss classes (modules with a ``forward`` of their own), by family."""
    cases = []
    for family, (theirs, _) in FAMILIES.items():
        namespace = importlib.import_module(theirs)
        for name in namespace.__all__:
            kind = getattr(namespace, name)
            if (
                isinstance(kind, type)
                and issubclass(kind, torch.nn.Module)
                and kind.forward is not torch.nn.Module.forward
                and name not in NOT_A_FORWARD
            ):
                cases.append((family, name))
    return cases


def _takes_as_sentence_transformers(ours, theirs) -> None:
    """``ours`` takes ``theirs``' parameters under the same names in the same places; what ``ours`` has
    beyond them is optional (a forwarding ``*args, **kwargs`` takes any)."""
    our_parameters = [p for p in inspect.signature(ours).parameters.values() if p.name != "self"]
    their_names = [name for name in inspect.signature(theirs).parameters if name != "self"]
    if [p.kind for p in our_parameters[1:]] == [
        inspect.Parameter.VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD,
    ]:
        our_parameters = our_parameters[:1]
        their_names = their_names[:1]
    assert [p.name for p in our_parameters[: len(their_names)]] == their_names
    assert all(p.default is not inspect.Parameter.empty for p in our_parameters[len(their_names) :])


@pytest.mark.parametrize(("family", "name"), _loss_classes())
def test_loss_forward_takes_sentence_transformers_parameter_names(family, name):
    theirs, ours = (getattr(importlib.import_module(path), name) for path in FAMILIES[family])
    _takes_as_sentence_transformers(ours.forward, theirs.forward)


@pytest.mark.parametrize(("family", "name"), _loss_classes())
def test_compute_loss_from_embeddings_takes_sentence_transformers_parameter_names(family, name):
    theirs, ours = (getattr(importlib.import_module(path), name) for path in FAMILIES[family])
    if hasattr(theirs, "compute_loss_from_embeddings"):
        _takes_as_sentence_transformers(
            ours.compute_loss_from_embeddings, theirs.compute_loss_from_embeddings
        )


class _Wrapper:
    """datadreamer's ``SentenceTransformerWrapper``: not a module; ``__call__`` runs the model's ``forward``
    and keeps each output under the id its features carry."""

    def __init__(self, model):
        self.model, self.results = model, {}

    def __call__(self, features):
        output = self.model.forward(features)
        self.results[features.pop("_uniq_id", None)] = output
        return output


def _features(tokenizer, columns):
    batches = []
    for index, texts in enumerate(columns):
        encoded = tokenizer(texts, padding=True, return_tensors="pt")
        batches.append(
            {
                "_uniq_id": str(index),
                "input_ids": encoded["input_ids"],
                "attention_mask": encoded["attention_mask"],
            }
        )
    return batches


ANCHORS = ["the cat sat", "a dog ran far", "hello"]
POSITIVES = ["a cat", "dog runs", "hi there you"]
NEGATIVES = ["tree", "sky blue", "no"]
DATADREAMER_LOSSES = {
    "MultipleNegativesSymmetricRankingLoss": (lambda lib, m: lib.MultipleNegativesSymmetricRankingLoss(m), 2),
    "TripletLoss": (
        lambda lib, m: lib.TripletLoss(
            m, distance_metric=lib.TripletDistanceMetric.COSINE, triplet_margin=0.5
        ),
        3,
    ),
    "CosineSimilarityLoss": (lambda lib, m: lib.CosineSimilarityLoss(m), 2),
}


@pytest.mark.parametrize("loss_name", sorted(DATADREAMER_LOSSES))
def test_datadreamer_loss_on_a_wrapped_model_called_by_keyword(dropout_free_st, loss_name):
    """datadreamer's ``SentenceTransformerLossWrapper.forward``: the loss holds the wrapper, and is called as
    ``loss_module(sentence_features=..., labels=...)``; loss, embeddings and gradients as
    sentence-transformers'."""
    import sentence_transformers as st
    from sentence_transformers.sentence_transformer import losses
    from transformers import AutoTokenizer

    import sbert

    build, n_columns = DATADREAMER_LOSSES[loss_name]
    labels = torch.tensor([0.9, 0.1, 0.5]) if loss_name == "CosineSimilarityLoss" else None
    tokenizer = AutoTokenizer.from_pretrained(str(dropout_free_st))
    columns = [ANCHORS, POSITIVES, NEGATIVES][:n_columns]
    outcomes = []
    for lib, model in (
        (losses, st.SentenceTransformer(str(dropout_free_st), device="cpu")),
        (sbert.losses, sbert.SentenceTransformer(dropout_free_st)),
    ):
        wrapper = _Wrapper(model)
        loss = build(lib, wrapper)(sentence_features=_features(tokenizer, columns), labels=labels)
        loss.backward()
        embeddings = [
            wrapper.results[str(index)]["sentence_embedding"].detach() for index in range(n_columns)
        ]
        grad = model[0].auto_model.embeddings.word_embeddings.weight.grad.clone()
        outcomes.append((loss.detach(), embeddings, grad))
    (their_loss, their_embeddings, their_grad), (our_loss, our_embeddings, our_grad) = outcomes
    torch.testing.assert_close(our_loss, their_loss, atol=1e-5, rtol=1e-5)
    for ours, theirs in zip(our_embeddings, their_embeddings):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(our_grad, their_grad, atol=1e-5, rtol=1e-4)


def test_cross_encoder_loss_called_with_inputs_keyword(tmp_path):
    """A cross-encoder loss called as ``loss(inputs=[queries, documents], labels=...)``."""
    import sentence_transformers as st
    import sentence_transformers.cross_encoder.losses
    from conftest import build_tiny_classifier

    import sbert

    folder = build_tiny_classifier(tmp_path / "ce")
    inputs = [["a query", "another one"], ["a document", "a passage"]]
    labels = torch.tensor([1.0, 0.0])
    values = []
    for lib, model in (
        (st.cross_encoder.losses, st.CrossEncoder(str(folder), device="cpu")),
        (sbert.cross_encoder.losses, sbert.CrossEncoder(folder)),
    ):
        model.eval()
        values.append(lib.BinaryCrossEntropyLoss(model)(inputs=inputs, labels=labels).detach())
    torch.testing.assert_close(values[1], values[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("key", ["torch_dtype", "dtype"])
@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder", "SparseEncoder"])
def test_model_kwargs_dtype_none_loads_as_sentence_transformers(
    dropout_free_st, masked_lm, tmp_path, key, kind
):
    """optimum's ``TasksManager.get_model_from_task(..., library_name="sentence_transformers")`` builds the
    model as ``SentenceTransformer(path, device=..., cache_folder=None, token=None, revision=None,
    trust_remote_code=False, model_kwargs={"torch_dtype": None})``: None is transformers' default dtype."""
    import sentence_transformers as st
    from conftest import build_tiny_classifier

    import sbert

    folder = {
        "SentenceTransformer": dropout_free_st,
        "CrossEncoder": build_tiny_classifier(tmp_path / "ce"),
        "SparseEncoder": masked_lm,
    }[kind]
    options = {"cache_folder": None, "token": None, "revision": None, "trust_remote_code": False}
    options["model_kwargs"] = {key: None}
    theirs = getattr(st, kind)(str(folder), device="cpu", **options)
    ours = getattr(sbert, kind)(str(folder), device="cpu", **options)
    if kind == "CrossEncoder":
        pairs = [("a query", "a document"), ("another", "one more text")]
        np.testing.assert_allclose(ours.predict(pairs), theirs.predict(pairs), atol=1e-5)
    else:
        texts = ["the cat sat on the mat", "a man plays guitar"]
        torch.testing.assert_close(
            ours.encode(texts, convert_to_tensor=True).to_dense(),
            theirs.encode(texts, convert_to_tensor=True).to_dense(),
            atol=1e-5,
            rtol=1e-5,
        )
