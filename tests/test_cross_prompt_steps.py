"""Cross-encoder prompts reach a user's ``preprocess`` and a user's loss as sentence-transformers hands them
over: training with the arguments' ``prompts`` calls ``preprocess(pairs, prompt=..., task=None)`` on the
pairs as they are (the prompt is not put into the texts first), a loss gets ``prompt=`` as a keyword, and
``predict`` passes a model's default prompt, even an empty one, as given. Each case runs sbert and
sentence-transformers side by side on one tiny folder and compares the calls and the trained scores."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_tiny_classifier, without_dropout

pytest.importorskip("sentence_transformers")

QUERIES = ["a man plays music", "the cat sat", "he drove fast", "numbers 123"]
DOCS = ["a man plays the guitar", "the dog ran", "a red car", "12345 and more"]
PAIRS = [("a b", "c d"), ("a longer query here", "x")]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return without_dropout(build_tiny_classifier(tmp_path_factory.mktemp("ce-prompt-steps") / "labels1"))


def _libraries():
    import sentence_transformers

    import sbert

    return {"st": sentence_transformers, "sbert": sbert}


def _recording(cls, calls: list):
    """``cls`` with a user's ``preprocess`` that records each call of pairs and puts "zz " before the first
    text (so where the prompt lands, before or after it, changes the scores)."""

    class Recording(cls):
        def preprocess(self, inputs, prompt=None, **kwargs):
            if all(isinstance(x, (tuple, list)) for x in inputs):  # pairs (not a model card's column stats)
                calls.append((prompt, [tuple(x) for x in inputs], sorted(kwargs.items())))
            zz = [("zz " + x[0], *x[1:]) if isinstance(x, (tuple, list)) else x for x in inputs]
            return super().preprocess(zz, prompt=prompt, **kwargs)

    return Recording


def _train(lib, folder, out, calls, loss=None, steps=2):
    from datasets import Dataset

    data = Dataset.from_dict({"query": QUERIES, "document": DOCS, "label": [1.0, 0.0, 1.0, 0.3]})
    model = _recording(lib.CrossEncoder, calls)(str(folder), device="cpu")
    args = lib.CrossEncoderTrainingArguments(
        str(out), prompts="q: ", per_device_train_batch_size=2, max_steps=steps, learning_rate=1e-3, seed=3,
        save_strategy="no", report_to="none", disable_tqdm=True,
    )  # fmt: skip
    trainer = lib.CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss and loss(model))
    trainer.train()
    return model


def test_trainer_prompt_reaches_a_users_preprocess_as_in_sentence_transformers(classifier, tmp_path):
    calls, scores = {}, {}
    for name, lib in _libraries().items():
        calls[name] = []
        model = _train(lib.cross_encoder, classifier, tmp_path / name, calls[name])
        scores[name] = model.predict(PAIRS, prompt="")
    assert calls["sbert"] == calls["st"]
    first = calls["st"][0]
    assert first[0] == "q: " and not first[1][0][0].startswith("q: ")  # the prompt apart from the texts
    np.testing.assert_allclose(scores["sbert"], scores["st"], atol=1e-5, rtol=0)


def test_trainer_hands_the_prompt_to_a_users_loss_that_takes_it(classifier, tmp_path):
    """A user's loss whose forward takes ``prompt`` gets it apart from the texts; one that does not take
    it gets the texts alone (the prompt is left out, as there)."""
    import torch

    seen = {}

    def losses(record):
        class WithPrompt(torch.nn.Module):
            def __init__(self, model):
                super().__init__()
                self.model = model

            def forward(self, inputs, labels, prompt=None, task=None):
                record.append(("with", prompt, list(inputs[0])))
                features = self.model.preprocess(list(zip(*inputs)), prompt=prompt, task=task)
                logits = self.model(features)["scores"].view(-1)
                return torch.nn.functional.mse_loss(logits, labels.float())

        class WithoutPrompt(WithPrompt):
            def forward(self, inputs, labels):
                record.append(("without", None, list(inputs[0])))
                return super().forward(inputs, labels)

        return WithPrompt, WithoutPrompt

    for name, lib in _libraries().items():
        seen[name] = []
        for kind in losses(seen[name]):
            _train(lib.cross_encoder, classifier, tmp_path / name, [], loss=kind, steps=1)
    assert [r for r in seen["sbert"] if r[0] == "with"][0][1] == "q: "
    assert seen["sbert"] == seen["st"]


def test_predict_passes_a_default_empty_prompt_to_a_users_preprocess(classifier):
    calls = {}
    for name, lib in _libraries().items():
        calls[name] = []
        model = _recording(lib.CrossEncoder, calls[name])(
            str(classifier), device="cpu", prompts={"none": "", "web": "w: "}, default_prompt_name="none"
        )
        model.predict(PAIRS, batch_size=1)
        model.predict(PAIRS, prompt_name="web")
    assert calls["sbert"] == calls["st"]
    assert [c[0] for c in calls["st"]] == ["", "", "w: "]
