"""Loss differences a seeded differential fuzzer over every loss class and its options found against
sentence-transformers 6.3 (session 39): each case builds both libraries' loss of the same name on the same
dropout-free tiny model and compares the value, every weight's gradient, or the exception type."""

from __future__ import annotations

import re
import shutil

import pytest
import torch
from conftest import without_dropout

TOL = 1e-5
QUERIES = ["the cat sat on the mat", "a dog ran", "who plays guitar", "what is the weather", "red car"]
DOCS = ["a cat is here", "the dog runs fast", "a man plays guitar", "it is sunny outside", "a fast car"]
NEGATIVES = ["it is sunny", "she is happy", "they eat food", "a big red car", "music is good"]
MORE = ["the tree is green", "a small house", "numbers 123", "the music was bad", "cats sit"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dense(dropout_free_st):
    from sentence_transformers import SentenceTransformer as Reference

    import sbert

    return Reference(str(dropout_free_st), device="cpu"), sbert.SentenceTransformer(
        dropout_free_st, device="cpu", backend="torch"
    )


@pytest.fixture(scope="module")
def sparse(masked_lm, tmp_path_factory):
    """sentence-transformers' and sbert's SparseEncoder of the dropout-free tiny masked LM (in training mode,
    as a trainer runs them: sentence-transformers' SpladePooling cannot back-propagate in eval mode)."""
    from sentence_transformers.sparse_encoder import SparseEncoder as Reference

    from sbert.sparse_encoder import SparseEncoder

    path = without_dropout(shutil.copytree(masked_lm, tmp_path_factory.mktemp("fuzz-sparse") / "mlm"))
    return Reference(str(path), device="cpu"), SparseEncoder(str(path), device="cpu")


def _value_and_gradients(loss, model, encoder, columns, labels, *, sparse=False):
    """The loss (each named part) and the gradient of every weight of ``encoder``."""
    encoder.zero_grad(set_to_none=True)
    features = [model.preprocess(c) if sparse else model.tokenize(c) for c in columns]
    out = loss(features, labels)
    parts = out if isinstance(out, dict) else {"loss": out}
    sum(parts.values()).backward()
    grads = {n: p.grad.clone() for n, p in encoder.named_parameters() if p.grad is not None}
    return {k: float(v.detach()) for k, v in parts.items()}, grads


def _assert_same(ours, theirs):
    (values, grads), (expected, expected_grads) = ours, theirs
    assert list(values) == list(expected)
    for key, value in values.items():
        assert value == pytest.approx(expected[key], abs=TOL, rel=1e-4), key
    assert grads.keys() == expected_grads.keys() and grads
    largest = max(float(g.abs().max()) for g in expected_grads.values())
    assert largest > 1e-4
    for name, grad in grads.items():  # float rounding at 1e-5 of the largest gradient (sbert's length groups)
        torch.testing.assert_close(
            grad, expected_grads[name], atol=TOL * max(1.0, largest), rtol=1e-4, msg=name
        )


BOTH = ("query_to_doc", "doc_to_query")
ALL = ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")
# sentence-transformers 6.3's ranking options beyond the two combinations sbert took before (the default and
# the symmetric loss): each was refused with "... is not supported by sbert" (an InputError at construction)
RANKING_CASES = [
    {"directions": ALL},  # GTE's improved contrastive loss
    {"directions": ("query_to_doc", "doc_to_doc"), "scale": 5.0},
    {"directions": ("query_to_doc", "query_to_query")},
    {"directions": BOTH},  # both directions in one softmax
    {
        "directions": BOTH,
        "partition_mode": "per_direction",
        "hardness_mode": "in_batch_negatives",
        "hardness_strength": 1.0,
    },
    {"hardness_mode": "hard_negatives", "hardness_strength": 5.0},
    {"hardness_mode": "all_negatives", "hardness_strength": 0.5, "directions": ALL},
]


@pytest.mark.parametrize("cached", [False, True])
@pytest.mark.parametrize("case", range(len(RANKING_CASES)))
def test_ranking_directions_and_hardness_as_sentence_transformers(dense, case, cached):
    from sentence_transformers.sentence_transformer import losses as st

    from sbert.sentence_transformer import losses

    reference, model = dense
    name = "CachedMultipleNegativesRankingLoss" if cached else "MultipleNegativesRankingLoss"
    options = dict(RANKING_CASES[case], **({"mini_batch_size": 2} if cached else {}))
    columns = [QUERIES, DOCS, NEGATIVES, MORE][: 3 + case % 2]
    _assert_same(
        _value_and_gradients(
            getattr(losses, name)(model, **options), model, model[0].auto_model, columns, None
        ),
        _value_and_gradients(
            getattr(st, name)(reference, **options), reference, reference[0].auto_model, columns, None
        ),
    )


def test_sparse_ranking_directions_inside_splade_loss(sparse):
    from sentence_transformers.sparse_encoder import losses as st

    from sbert.sparse_encoder import losses

    reference, model = sparse
    options = {"directions": ALL, "hardness_mode": "all_negatives", "hardness_strength": 0.5, "scale": 2.0}
    weights = {"document_regularizer_weight": 3e-2, "query_regularizer_weight": 5e-2}
    results = []
    for namespace, encoder in ((losses, model), (st, reference)):
        loss = namespace.SpladeLoss(
            encoder, namespace.SparseMultipleNegativesRankingLoss(encoder, **options), **weights
        )
        results.append(
            _value_and_gradients(loss, encoder, encoder[0], [QUERIES, DOCS, NEGATIVES], None, sparse=True)
        )
    _assert_same(*results)


@pytest.mark.parametrize(
    "options",
    [
        {"directions": ()},
        {"directions": ("doc_to_query",)},
        {"directions": ("query_to_doc", "sideways")},
        {"directions": ALL, "partition_mode": "per_direction"},
        {"partition_mode": "both"},
        {"hardness_mode": "soft"},
        {"hardness_mode": "hard_negatives", "hardness_strength": -1.0},
    ],
)
def test_ranking_options_refused_with_sentence_transformers_messages(dense, options):
    from sentence_transformers.sentence_transformer import losses as st

    from sbert.sentence_transformer import losses

    reference, model = dense
    with pytest.raises(ValueError) as expected:
        st.MultipleNegativesRankingLoss(reference, **options)
    with pytest.raises(ValueError) as ours:
        losses.MultipleNegativesRankingLoss(model, **options)
    assert _sets_sorted(str(ours.value)) == _sets_sorted(str(expected.value))


def _sets_sorted(message: str) -> str:
    """``message`` with each printed set's items sorted: a set's printed order follows string hashes, which
    change from process to process (sentence-transformers prints a set display compiled elsewhere)."""
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message)


def test_ranking_options_in_the_config_as_given(dense):
    from sbert.sentence_transformer import losses

    loss = losses.MultipleNegativesRankingLoss(
        dense[1], directions=ALL, hardness_mode="all_negatives", hardness_strength=0.5
    )
    config = loss.get_config_dict()
    assert config["directions"] == ALL and config["hardness_mode"] == "all_negatives"
    assert config["hardness_strength"] == 0.5


def test_contrastive_tension_in_batch_negatives_reads_the_first_of_several_columns(dense):
    """sentence-transformers' loss embeds only the first column (a dataset of (s, s) pairs trains on s); sbert
    refused a second column (InputError: takes one text column, got 2 columns)."""
    from sentence_transformers.sentence_transformer import losses as st

    from sbert.sentence_transformer import losses

    reference, model = dense
    results = []
    for namespace, encoder in ((losses, model), (st, reference)):
        torch.manual_seed(0)
        loss = namespace.ContrastiveTensionLossInBatchNegatives(encoder, scale=5.0)
        results.append(_value_and_gradients(loss, encoder, encoder[0].auto_model, [QUERIES, DOCS], None))
    _assert_same(*results)


def test_contrastive_loss_refuses_a_label_count_torch_would_broadcast(dense):
    """sentence-transformers 6.3 raises a ValueError for a label count other than the batch's; sbert
    broadcast one label over the batch (a wrong loss) or failed with torch's RuntimeError."""
    from sentence_transformers.sentence_transformer import losses as st

    from sbert.sentence_transformer import losses

    reference, model = dense
    for labels in (torch.tensor([1.0]), torch.tensor([1, 0, 1, 1])):
        with pytest.raises(ValueError, match="expects 5 labels"):
            st.ContrastiveLoss(reference)([reference.tokenize(c) for c in (QUERIES, DOCS)], labels)
        with pytest.raises(ValueError, match="expects 5 labels"):
            losses.ContrastiveLoss(model)([model.tokenize(c) for c in (QUERIES, DOCS)], labels)


def test_flops_loss_alone_raises_not_implemented_error_as_sentence_transformers(sparse):
    """sentence-transformers raises NotImplementedError; sbert raised WrappedLossError, an AttributeError."""
    from sentence_transformers.sparse_encoder import losses as st

    from sbert.sparse_encoder import losses

    reference, model = sparse
    with pytest.raises(NotImplementedError, match="FlopsLoss is not intended to be used directly"):
        st.FlopsLoss(reference)([reference.preprocess(QUERIES)], None)
    with pytest.raises(NotImplementedError, match="FlopsLoss is not intended to be used directly"):
        losses.FlopsLoss(model)([model.preprocess(QUERIES)], None)
