"""CrossEncoder behaviour found missing by running sentence-transformers 6.3's own cross-encoder tests: one
text scored alone, forward hooks and compile seeing predict's batches, and the listwise losses on any model
with sentence-transformers 6's ``preprocess`` + ``forward`` protocol. Each compared with ST.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier

TOL = 1e-5
PAIRS = [
    ("The weather is lovely today.", "It's so sunny outside!"),
    ("He drove to the stadium.", "The cat sat on the mat and the dog ran in the house " * 3),
    ("a man plays music", "a man plays the guitar"),
    ("the dog runs fast", "a dog is running"),
    ("numbers 12345", "and the red car"),
]


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    root = tmp_path_factory.mktemp("ce_gaps")
    return {n: build_tiny_classifier(root / f"labels{n}", num_labels=n) for n in (1, 3)}


def reference(path):
    from sentence_transformers import CrossEncoder as ReferenceModel

    return ReferenceModel(str(path), device="cpu")


@pytest.mark.parametrize("num_labels", [1, 3])
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_one_text_is_scored_alone_as_sentence_transformers(classifiers, num_labels, backend):
    from sbert import CrossEncoder

    ours, ref = CrossEncoder(classifiers[num_labels], backend=backend), reference(classifiers[num_labels])
    text = "The cat is on the mat."
    expected, found = ref.predict(text), ours.predict(text)
    assert type(found) is type(expected) and np.shape(found) == np.shape(expected)
    np.testing.assert_allclose(found, expected, atol=TOL, rtol=0)
    tensor = ours.predict(text, convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor)
    assert tensor.shape == ref.predict(text, convert_to_tensor=True).shape
    # a prompt goes before the text, as before a pair's first text
    prompted = ours.predict(text, prompt="query: ")
    np.testing.assert_allclose(prompted, ref.predict(text, prompt="query: "), atol=TOL, rtol=0)


def test_forward_hooks_see_every_batch_of_predict_as_sentence_transformers(classifiers):
    from sbert import CrossEncoder

    ours, ref = CrossEncoder(classifiers[1]), reference(classifiers[1])
    expected = ref.predict(PAIRS)
    seen, ref_seen, before = [], [], []

    def keep(into):
        return lambda module, args, output: into.append(output["scores"].detach().clone())

    handle = ours.register_forward_hook(keep(seen))
    pre_handle = ours.register_forward_pre_hook(lambda module, args: before.append(sorted(args[0])))
    ref_handle = ref.register_forward_hook(keep(ref_seen))
    found = ours.predict(PAIRS, batch_size=2)
    ref.predict(PAIRS, batch_size=2)
    np.testing.assert_allclose(found, expected, atol=TOL, rtol=0)
    assert len(seen) == len(ref_seen) == len(before) == 3  # one call per batch of two
    logits = torch.cat(seen).squeeze(-1).numpy()
    np.testing.assert_allclose(np.sort(logits), np.sort(torch.cat(ref_seen).squeeze(-1).numpy()), atol=TOL)
    assert {"input_ids", "attention_mask"} <= set(before[0])
    handle.remove(), pre_handle.remove(), ref_handle.remove()
    ours.predict(PAIRS)
    assert len(seen) == 3  # a removed hook sees nothing more


def test_compiled_modules_score_as_sentence_transformers(classifiers):
    from sbert import CrossEncoder

    ours, ref = CrossEncoder(classifiers[3]), reference(classifiers[3])
    ours.compile(backend="eager")  # torch.compile's cheapest backend: predict calls the compiled modules
    ref.compile(backend="eager")
    assert ours.backend == "torch"  # "auto" moved off the ONNX export to the modules it compiled
    np.testing.assert_allclose(ours.predict(PAIRS), ref.predict(PAIRS), atol=TOL, rtol=0)


def test_hooks_are_refused_where_the_onnx_backend_scores(classifiers):
    from sbert import CrossEncoder, InputError

    with pytest.raises(InputError, match="backend='torch'"):
        CrossEncoder(classifiers[1], backend="onnx").register_forward_hook(lambda *args: None)


class ScoreTable(torch.nn.Module):
    """A stand-in model of sentence-transformers 6's protocol: ``preprocess(pairs)``, then ``forward`` gives
    ``"scores"``; each document names the row of its score."""

    num_labels = 1

    def __init__(self, scores):
        super().__init__()
        self.scores = torch.nn.Parameter(torch.tensor(scores))

    @property
    def device(self):
        return self.scores.device

    def preprocess(self, pairs, **kwargs):
        return {"rows": torch.tensor([int(document) for _, document in pairs])}

    def forward(self, features):
        return {"scores": self.scores[features["rows"]].unsqueeze(-1)}


LISTWISE = ["LambdaLoss", "RankNetLoss", "ListNetLoss", "ListMLELoss", "ADRMSELoss"]


@pytest.mark.parametrize("name", LISTWISE)
def test_listwise_losses_train_a_model_of_the_protocol_as_sentence_transformers(name):
    import sentence_transformers.cross_encoder.losses as reference_losses

    import sbert.cross_encoder.losses as losses

    scores = [0.5, -1.0, 2.0, 0.0, 1.5]
    inputs = (["query a", "query b"], [["0", "1", "2"], ["3", "4"]])
    labels = [torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.0, 1.0])]
    ours, theirs = ScoreTable(scores), ScoreTable(scores)
    loss = getattr(losses, name)(ours)(inputs, labels)
    expected = getattr(reference_losses, name)(theirs)(inputs, labels)
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)
    loss.backward(), expected.backward()
    torch.testing.assert_close(ours.scores.grad, theirs.scores.grad, rtol=1e-5, atol=1e-6)


def test_an_untrusted_activation_path_is_logged_and_a_trusted_missing_one_raises_as_sentence_transformers(
    classifiers, tmp_path, caplog
):
    import json
    import logging
    import shutil

    from sbert import CrossEncoder

    folder = tmp_path / "custom_activation"
    shutil.copytree(classifiers[1], folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    custom = "my_package.activations.CustomActivation"
    config.setdefault("sentence_transformers", {})["activation_fn"] = custom
    config_path.write_text(json.dumps(config))
    for library in (CrossEncoder, reference):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            model = library(folder)
        assert f"Activation function path '{custom}' is not trusted" in caplog.text
        assert type(model.activation_fn).__name__ == "Sigmoid"  # the default instead
    with pytest.raises(ModuleNotFoundError):
        CrossEncoder(folder, trust_remote_code=True)


@pytest.mark.parametrize("name", ["MSELoss", "BinaryCrossEntropyLoss"])
def test_pointwise_losses_refuse_a_label_count_other_than_the_rows_as_sentence_transformers(
    classifiers, name
):
    import sentence_transformers.cross_encoder.losses as reference_losses

    import sbert.cross_encoder.losses as losses
    from sbert import CrossEncoder

    texts = [["q1", "q2", "q3"], ["d1", "d2", "d3"]]
    ours, ref = CrossEncoder(classifiers[1], backend="torch"), reference(classifiers[1])
    for loss, model in ((getattr(losses, name), ours), (getattr(reference_losses, name), ref)):
        with pytest.raises(ValueError, match="expects 3 labels|expected 3 labels"):
            loss(model)(texts, torch.tensor([1.0, 0.0]))  # no torch broadcast warning first (an error here)
        torch.testing.assert_close(  # a column of labels (n, 1) is one label per row
            loss(model)(texts, torch.tensor([[1.0], [0.0], [1.0]])),
            loss(model)(texts, torch.tensor([1.0, 0.0, 1.0])),
        )


INIT_CALLS = [
    ((), {"model_name": "m", "classifier_dropout": 0.25}),
    (
        ("m",),
        {"automodel_args": {"a": 1}, "tokenizer_args": {"b": 2}, "config_args": {"c": 3}, "cache_dir": "d"},
    ),
    (("m",), {"automodel_args": {"a": 1}, "model_kwargs": {"kept": 1}, "default_activation_function": "x"}),
    (("m", 3, 128), {"max_length": 64}),  # 5.3's positional order; a keyword given as well wins
    ((), {}),
]
PREDICT_CALLS = [
    {"sentences": [["a", "b"]], "num_workers": 2},
    {"inputs": [["a", "b"]], "activation_fct": "old", "activation_fn": "new"},
    {"inputs": [["a", "b"]], "convert_to_numpy": True, "apply_softmax": True},
]


@pytest.mark.parametrize(("args", "kwargs"), INIT_CALLS)
def test_init_args_decorator_maps_arguments_as_sentence_transformers(args, kwargs):
    from sentence_transformers.cross_encoder.util import cross_encoder_init_args_decorator as theirs

    from sbert.cross_encoder.util import cross_encoder_init_args_decorator as ours

    def seen(decorator):
        return decorator(lambda self, *a, **k: (a, k))(None, *args, **dict(kwargs))

    assert seen(ours) == seen(theirs)


@pytest.mark.parametrize("method", ["predict", "rank"])
@pytest.mark.parametrize("kwargs", PREDICT_CALLS)
def test_predict_rank_args_decorator_maps_arguments_as_sentence_transformers(method, kwargs):
    from sentence_transformers.util.decorators import cross_encoder_predict_rank_args_decorator as theirs

    from sbert.util.decorators import cross_encoder_predict_rank_args_decorator as ours

    def seen(decorator):
        def predict(self, inputs=None, activation_fn=None, convert_to_numpy=True, **k):
            return inputs, activation_fn, k

        def rank(self, query=None, documents=None, activation_fn=None, **k):
            return query, activation_fn, k

        return decorator({"predict": predict, "rank": rank}[method])(None, **dict(kwargs))

    assert seen(ours) == seen(theirs)
