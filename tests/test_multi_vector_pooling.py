"""MultiVectorEncoder token pooling as sentence-transformers 6.3 has it: HierarchicalTokenPooling and
LambdaTokenPooling pool the same vectors (within 1e-5) on their own (lists, padded batches), per encode call,
as the model's default and as the pipeline's last module; folders with a pooling module load both ways; the
straight-through gradient and the distance-threshold calibration match; bad settings raise sbert's errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert

import sbert
from sbert import InputError

TOL = 1e-5
DOCUMENTS = [
    "The weather is lovely today. It's so sunny outside! We went to the beach and swam for hours.",
    "He drove to the stadium.",
    "The cat sat on the mat, and the dog ran in the house!",
    "a",
]
QUERIES = ["what is the weather like", "who drove to the stadium?"]
SETTINGS = [
    {"pool_factor": 2},
    {"pool_factor": 1.5, "num_protected_tokens": 0},
    {"max_tokens": 4},
    {"distance_threshold": 0.6},
    {"pool_factor": 3, "normalize_embeddings": False},
    {},
]


def _poolings(**settings):
    """sbert's and sentence-transformers' HierarchicalTokenPooling with ``settings``."""
    from sentence_transformers.multi_vector_encoder.modules import HierarchicalTokenPooling

    return sbert.multi_vector_encoder.modules.HierarchicalTokenPooling(**settings), HierarchicalTokenPooling(
        **settings
    )


def _texts(*lengths, seed=0, dim=16):
    generator = torch.Generator().manual_seed(seed)
    return [torch.nn.functional.normalize(torch.randn(n, dim, generator=generator), dim=-1) for n in lengths]


def _assert_same(ours, reference):
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
        a, b = (x.float() if isinstance(x, torch.Tensor) else x for x in (a, b))
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=TOL)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """sentence-transformers' saves of one tiny ColBERT-style model: ``plain`` and ``pooled`` (the same with
    a HierarchicalTokenPooling module last)."""
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import HierarchicalTokenPooling, MultiVectorMask

    root = tmp_path_factory.mktemp("multi-vector-pooling")
    bert = build_tiny_bert(root / "bert")
    torch.manual_seed(1)
    modules = [
        Transformer(str(bert)),
        Dense(
            32, 16, bias=False, activation_function=torch.nn.Identity(), module_input_name="token_embeddings"
        ),
        MultiVectorMask(skiplist_words=[".", "!"]),
        Normalize(module_input_name="token_embeddings"),
    ]
    MultiVectorEncoder(modules=modules, device="cpu").save(str(root / "plain"))
    pooling = HierarchicalTokenPooling(pool_factor=2, tasks=["query", "document"])
    MultiVectorEncoder(modules=[*modules, pooling], device="cpu").save(str(root / "pooled"))
    return root


def _both(folder, **options):
    from sentence_transformers import MultiVectorEncoder

    return (
        sbert.MultiVectorEncoder(str(folder), device="cpu", **options),
        MultiVectorEncoder(str(folder), device="cpu", **options),
    )


@pytest.mark.parametrize("settings", SETTINGS)
def test_pools_as_sentence_transformers(settings):
    ours, reference = _poolings(**settings)
    texts = _texts(1, 2, 3, 7, 20, 33)
    _assert_same(ours.pool(texts), reference.pool(texts))
    assert repr(ours) == repr(reference) and ours.get_config_dict() == reference.get_config_dict()
    padded = torch.nn.utils.rnn.pad_sequence(texts, batch_first=True)
    left = torch.stack([torch.cat([torch.zeros(33 - len(t), 16), t]) for t in texts])
    mask = torch.nn.utils.rnn.pad_sequence([torch.ones(len(t)) for t in texts], batch_first=True)
    for batch, options in (
        (padded, {}),
        (left, {"padding_side": "left"}),
        (padded, {"attention_mask": mask}),
    ):
        torch.testing.assert_close(
            ours.pool(batch, **options), reference.pool(batch, **options), atol=TOL, rtol=0
        )
    features = {"token_embeddings": padded.clone(), "attention_mask": mask.clone()}
    out, expected = ours(dict(features)), reference(dict(features))
    for key in ("token_embeddings", "attention_mask"):
        torch.testing.assert_close(out[key], expected[key], atol=TOL, rtol=0)
    # queries pass through (the default tasks are documents), and so does an empty batch
    assert ours.pool(texts, task="query") is texts and ours.pool([]) == reference.pool([]) == []


def test_half_precision_gradient_and_calibration():
    ours, reference = _poolings(pool_factor=2)
    texts = [t.bfloat16() for t in _texts(5, 12, seed=3)]
    _assert_same(ours.pool(texts), reference.pool(texts))
    # the straight-through gradient: each cluster member gets its cluster's full gradient
    grads = []
    for pooling in (ours, reference):
        leaf = _texts(9, 14, seed=4)[1].requires_grad_()
        (pooling.pool([leaf])[0] * torch.arange(16.0)).sum().backward()
        grads.append(leaf.grad)
    torch.testing.assert_close(grads[0], grads[1], atol=TOL, rtol=0)
    texts = _texts(4, 10, 25, seed=5)
    for target in (3.0, 8.5, 40.0):
        assert ours.calibrate_distance_threshold(texts, target_tokens=target) == pytest.approx(
            reference.calibrate_distance_threshold(texts, target_tokens=target), abs=TOL
        )


def test_lambda_pooling_as_sentence_transformers(tmp_path):
    from sentence_transformers.multi_vector_encoder.modules import LambdaTokenPooling

    def first_two(tokens):
        return tokens[:2]

    ours = sbert.multi_vector_encoder.modules.LambdaTokenPooling(first_two, tasks="query")
    texts = _texts(1, 5, 9)
    _assert_same(
        ours.pool(texts, task="query"), LambdaTokenPooling(first_two, tasks="query").pool(texts, task="query")
    )
    assert ours.pool(texts) is texts  # documents are not its task
    with pytest.raises(NotImplementedError, match="cannot be saved"):
        ours.save(str(tmp_path))


@pytest.mark.parametrize("tasks", [None, ["query", "document"]])
def test_encode_pools_as_sentence_transformers(folders, tasks):
    """Per call, as the model's default (with normalize_embeddings and truncate_dim), and raw features."""
    ours, reference = _both(folders / "plain")
    per_call = {"token_pooling": _poolings(pool_factor=2, tasks=tasks)[0]}
    expected_call = {"token_pooling": _poolings(pool_factor=2, tasks=tasks)[1]}
    for method in ("encode_query", "encode_document"):
        _assert_same(
            getattr(ours, method)(DOCUMENTS, **per_call),
            getattr(reference, method)(DOCUMENTS, **expected_call),
        )
    ours.token_pooling, reference.token_pooling = _poolings(max_tokens=5, tasks=tasks)
    options = {"normalize_embeddings": True, "truncate_dim": 8, "batch_size": 3, "convert_to_numpy": True}
    for method in ("encode_query", "encode_document"):
        _assert_same(
            getattr(ours, method)(DOCUMENTS, **options), getattr(reference, method)(DOCUMENTS, **options)
        )
    raw, raw_expected = (
        ours.encode(DOCUMENTS, output_value=None),
        reference.encode(DOCUMENTS, output_value=None),
    )
    for item, expected_item in zip(raw, raw_expected):
        for key in ("token_embeddings", "attention_mask", "input_ids"):
            torch.testing.assert_close(item[key], expected_item[key], atol=TOL, rtol=0)


def test_constructor_argument_as_sentence_transformers(folders):
    from sentence_transformers import MultiVectorEncoder

    ours_pooling, reference_pooling = _poolings(pool_factor=2)
    ours = sbert.MultiVectorEncoder(str(folders / "plain"), device="cpu", token_pooling=ours_pooling)
    reference = MultiVectorEncoder(str(folders / "plain"), device="cpu", token_pooling=reference_pooling)
    _assert_same(ours.encode_document(DOCUMENTS), reference.encode_document(DOCUMENTS))
    assert isinstance(ours.token_pooling, sbert.multi_vector_encoder.modules.HierarchicalTokenPooling)
    with pytest.raises(InputError, match="token pooling"):
        sbert.MultiVectorEncoder(str(folders / "plain"), device="cpu", token_pooling="hierarchical")
    with pytest.raises(InputError, match="token pooling"):
        ours.token_pooling = object()


def test_pooling_module_loads_and_saves_both_ways(folders, tmp_path):
    from sentence_transformers import MultiVectorEncoder

    ours, reference = _both(folders / "pooled")
    assert repr(ours[4]) == repr(reference[4])
    for method in ("encode_query", "encode_document"):
        _assert_same(getattr(ours, method)(DOCUMENTS), getattr(reference, method)(DOCUMENTS))
    ours.save(tmp_path / "sbert")
    entries = json.loads((tmp_path / "sbert" / "modules.json").read_text())
    assert entries[4] == json.loads((folders / "pooled" / "modules.json").read_text())[4]
    config = (tmp_path / "sbert" / "4_HierarchicalTokenPooling" / "config.json").read_text()
    assert json.loads(config) == json.loads(
        (folders / "pooled" / "4_HierarchicalTokenPooling" / "config.json").read_text()
    )
    again = MultiVectorEncoder(str(tmp_path / "sbert"), device="cpu")
    _assert_same(again.encode_document(DOCUMENTS), reference.encode_document(DOCUMENTS))
    # a pooling given on top of the pipeline's compounds, with a warning
    with pytest.warns(UserWarning, match="compounding"):
        pooled_twice = ours.encode_document(DOCUMENTS, token_pooling=_poolings(pool_factor=2)[0])
    reference_twice = reference.encode_document(DOCUMENTS, token_pooling=_poolings(pool_factor=2)[1])
    _assert_same(pooled_twice, reference_twice)


def test_older_config_loads_unnormalized(folders, tmp_path):
    """A saved pooling config without normalize_embeddings loads as False, as in sentence-transformers."""
    import shutil

    shutil.copytree(folders / "pooled", tmp_path / "old")
    path = tmp_path / "old" / "4_HierarchicalTokenPooling" / "config.json"
    config = json.loads(path.read_text())
    del config["normalize_embeddings"]
    path.write_text(json.dumps(config))
    ours, reference = _both(tmp_path / "old")
    assert ours[4].normalize_embeddings is reference[4].normalize_embeddings is False
    _assert_same(ours.encode_document(DOCUMENTS), reference.encode_document(DOCUMENTS))


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"pool_factor": 0.5}, "pool_factor"),
        ({"pool_factor": 2, "max_tokens": 4}, "one of"),
        ({"max_tokens": 4, "distance_threshold": 0.0}, "one of"),
        ({"max_tokens": 1}, "num_protected_tokens"),
        ({"distance_threshold": -1.0}, "distance_threshold"),
        ({"num_protected_tokens": -1}, "num_protected_tokens"),
    ],
)
def test_bad_settings_raise_input_errors(settings, match):
    with pytest.raises(InputError, match=match):
        sbert.multi_vector_encoder.modules.HierarchicalTokenPooling(**settings)
    with pytest.raises(ValueError):  # sentence-transformers refuses them too
        _poolings(**settings)


def test_bad_pool_input_raises_input_errors():
    pooling = sbert.multi_vector_encoder.modules.HierarchicalTokenPooling(pool_factor=2)
    with pytest.raises(InputError, match="padded"):
        pooling.pool(torch.zeros(3, 4))
    with pytest.raises(InputError, match="padding_side"):
        pooling.pool(torch.zeros(1, 3, 4), padding_side="top")
    with pytest.raises(InputError, match="target_tokens"):
        pooling.calibrate_distance_threshold(_texts(5), target_tokens=0)


def test_bad_input_errors_name_it_as_sentence_transformers():
    """A pool_factor below 1 and an unpadded tensor: a ValueError in both libraries whose message has
    sentence-transformers' words for the problem ("pool_factor must be >= 1", "Tensor input must be 3D")."""
    from sentence_transformers.multi_vector_encoder.modules import HierarchicalTokenPooling

    for make, phrase in (
        (lambda cls: cls(pool_factor=0), "pool_factor must be >= 1"),
        (lambda cls: cls(pool_factor=2).pool(torch.zeros(3, 4)), "Tensor input must be 3D"),
    ):
        for cls in (sbert.multi_vector_encoder.modules.HierarchicalTokenPooling, HierarchicalTokenPooling):
            with pytest.raises(ValueError, match=phrase):
                make(cls)


class _MaxSimLoss(torch.nn.Module):
    """A small multi-vector loss that runs on either library's model: mean MaxSim of each query with its
    document, through ``model(features, task=...)``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, sentence_features, labels=None):
        queries = self.model(sentence_features[0], task="query")
        documents = self.model(sentence_features[1], task="document")
        scores = torch.einsum("bqd,btd->bqt", queries["token_embeddings"], documents["token_embeddings"])
        scores = scores.masked_fill(~documents["attention_mask"].bool()[:, None, :], -1e4).amax(dim=-1)
        return -(scores * queries["attention_mask"]).sum() / len(scores)


def test_token_pooling_loss_as_sentence_transformers(folders):
    """MultiVectorTokenPoolingLoss: the same weighted loss over variants and the same gradients."""
    from sentence_transformers.multi_vector_encoder.losses import MultiVectorTokenPoolingLoss as Reference

    from sbert.multi_vector_encoder.losses import MultiVectorTokenPoolingLoss

    results = []
    for model, loss_class, poolings in zip(
        _both(folders / "plain"),
        (MultiVectorTokenPoolingLoss, Reference),
        zip(_poolings(pool_factor=2), _poolings(max_tokens=3)),
    ):
        model.eval()  # no dropout: the two runs compute the same function
        loss = loss_class(model, _MaxSimLoss(model), [None, *poolings], weights=[1.0, 0.5, 0.25])
        features = [model.preprocess(QUERIES, task="query"), model.preprocess(DOCUMENTS[:2], task="document")]
        value = loss(features, None)
        value.backward()
        results.append((value.detach(), model[1].linear.weight.grad.clone(), loss.get_config_dict()))
        assert "forward" not in vars(model) or model.forward == type(model).forward.__get__(model)
    torch.testing.assert_close(results[0][0], results[1][0], atol=TOL, rtol=0)
    torch.testing.assert_close(results[0][1], results[1][1], atol=TOL, rtol=0)
    assert results[0][2] == results[1][2]


def test_token_pooling_loss_with_a_gradient_cache_as_sentence_transformers(folders):
    """A cached loss: the variants pool its cached token embeddings (trained against sentence-transformers'
    trainer in test_multi_vector_training.py); without gradients the same weighted loss; a pooling with
    trainable parameters is refused there, as by sentence-transformers."""
    import sentence_transformers.multi_vector_encoder.losses as reference

    from sbert.multi_vector_encoder import losses

    values = []
    for model, library, poolings in zip(
        _both(folders / "plain"), (losses, reference), zip(_poolings(pool_factor=2), _poolings(max_tokens=3))
    ):
        model.eval()
        cached = library.CachedMultiVectorMultipleNegativesRankingLoss(model, mini_batch_size=2)
        loss = library.MultiVectorTokenPoolingLoss(model, cached, [None, *poolings], weights=[1.0, 0.5, 0.25])
        assert loss.uses_gradient_cache
        features = [model.preprocess(QUERIES, task="query"), model.preprocess(DOCUMENTS[:3], task="document")]
        with torch.no_grad():
            values.append(loss(features, None))
        trainable = poolings[0]
        trainable.scale = torch.nn.Parameter(torch.ones(1))
        cached = library.CachedMultiVectorMultipleNegativesRankingLoss(model)
        with pytest.raises(ValueError, match="trainable parameters"):
            library.MultiVectorTokenPoolingLoss(model, cached, [None, trainable])
    torch.testing.assert_close(values[0], values[1], atol=TOL, rtol=0)
