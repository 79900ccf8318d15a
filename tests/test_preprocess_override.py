"""A user's ``preprocess`` (in a subclass, or set on the model) is called as sentence-transformers calls it:
by ``encode`` for every batch, and by the trainer's collator for every column of every batch, with the
column's prompt. Each test runs sbert and sentence-transformers side by side on the same tiny folder."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
datasets = pytest.importorskip("datasets")

TEXTS = ["hello world", "a somewhat longer sentence here", "abc", "one two three four"]
PROMPTS = {"anchor": "qa: ", "positive": "qb: "}


def _libraries():
    import sentence_transformers

    import sbert

    return {"st": sentence_transformers, "sbert": sbert}


def _model(lib, module, path, kind: str, calls: list):
    """A model of ``module`` (sbert or sentence-transformers) whose preprocess a user replaced (``kind``:
    in a subclass or on the instance): it records ``(prompt, texts)`` and puts "zz " before each text."""
    options = {"backend": "torch"} if lib == "sbert" else {}

    def changed(texts):
        return ["zz " + t for t in texts]

    if kind == "subclass":

        class Sub(module.SentenceTransformer):
            def preprocess(self, inputs, prompt=None, **kwargs):
                calls.append((prompt, list(inputs)))
                return super().preprocess(changed(inputs), prompt=prompt, **kwargs)

        return Sub(str(path), device="cpu", **options)
    model = module.SentenceTransformer(str(path), device="cpu", **options)
    own = model.preprocess

    def tracker(inputs, prompt=None, **kwargs):
        calls.append((prompt, list(inputs)))
        return own(changed(inputs), prompt=prompt, **kwargs)

    model.preprocess = tracker
    return model


def _train(module, model, out) -> None:
    data = datasets.Dataset.from_dict(
        {
            "anchor": ["x one", "x two", "x three", "x four"],
            "positive": ["y one", "y two", "y three", "y four"],
        }
    )
    args = module.SentenceTransformerTrainingArguments(
        output_dir=str(out),
        max_steps=2,
        per_device_train_batch_size=2,
        prompts=PROMPTS,
        report_to=["none"],
        save_strategy="no",
        disable_tqdm=True,
    )
    loss = importlib.import_module(
        module.__name__ + ".sentence_transformer.losses"
    ).MultipleNegativesRankingLoss(model)
    module.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss).train()


@pytest.mark.parametrize("kind", ["subclass", "instance"])
def test_a_users_preprocess_is_called_by_encode_and_training_as_in_sentence_transformers(
    kind, dropout_free_st, tmp_path
):
    embeddings, encode_calls, trained = {}, {}, {}
    for lib, module in _libraries().items():
        calls: list = []
        model = _model(lib, module, dropout_free_st, kind, calls)
        embeddings[lib] = model.encode(TEXTS, prompt="p: ", batch_size=2, normalize_embeddings=True)
        encode_calls[lib], calls[:] = list(calls), []
        _train(module, model, tmp_path / lib)
        # the collator's calls (sentence-transformers' model card also encodes some texts unprompted)
        trained[lib] = {prompt + text for prompt, texts in calls if prompt for text in texts}

    # encode: the same batches (longest first, batch_size at a time) through the override, the same numbers
    assert encode_calls["sbert"] == encode_calls["st"]
    assert encode_calls["sbert"][0] == ("p: ", ["a somewhat longer sentence here", "one two three four"])
    np.testing.assert_allclose(embeddings["sbert"], embeddings["st"], atol=1e-5)
    plain = _libraries()["sbert"].SentenceTransformer(str(dropout_free_st), device="cpu", backend="torch")
    assert not np.allclose(embeddings["sbert"], plain.encode(TEXTS, prompt="p: ", normalize_embeddings=True))
    # training: each column's texts reach the override with that column's prompt
    expected = {PROMPTS["anchor"] + f"x {n}" for n in ("one", "two", "three", "four")}
    expected |= {PROMPTS["positive"] + f"y {n}" for n in ("one", "two", "three", "four")}
    assert trained["sbert"] == trained["st"] == expected


def test_preprocess_takes_processing_kwargs_as_sentence_transformers(dropout_free_st):
    import sentence_transformers

    import sbert

    ours = sbert.SentenceTransformer(str(dropout_free_st), device="cpu", backend="torch")
    reference = sentence_transformers.SentenceTransformer(str(dropout_free_st), device="cpu")
    options = {"text": {"max_length": 4}}
    got = ours.preprocess(["a longer sentence than four tokens"], processing_kwargs=options)
    want = reference.preprocess(["a longer sentence than four tokens"], processing_kwargs=options)
    assert got["input_ids"].tolist() == want["input_ids"].tolist()
    assert got["attention_mask"].tolist() == want["attention_mask"].tolist()


@pytest.mark.parametrize("kind", ["subclass", "instance"])
def test_a_users_forward_is_run_by_encode_as_in_sentence_transformers(kind, dropout_free_st):
    """A ``forward`` replaced in a subclass or on the instance shapes ``encode``'s embeddings, as
    sentence-transformers' encode runs the model's forward for every batch (here: it scales them)."""
    embeddings, counts = {}, {}
    for lib, module in _libraries().items():
        calls: list = []
        options = {"backend": "torch"} if lib == "sbert" else {}
        if kind == "subclass":

            class Sub(module.SentenceTransformer):
                seen = calls

                def forward(self, features, **kwargs):
                    self.seen.append(len(features["input_ids"]))
                    out = super().forward(features, **kwargs)
                    return {**out, "sentence_embedding": out["sentence_embedding"] * 3}

            model = Sub(str(dropout_free_st), device="cpu", **options)
        else:
            model = module.SentenceTransformer(str(dropout_free_st), device="cpu", **options)
            own = model.forward

            def scaled(features, own=own, calls=calls, **kwargs):
                calls.append(len(features["input_ids"]))
                out = own(features, **kwargs)
                return {**out, "sentence_embedding": out["sentence_embedding"] * 3}

            model.forward = scaled
        embeddings[lib] = model.encode(TEXTS, batch_size=3)
        counts[lib] = calls
    assert counts["sbert"] == counts["st"] == [3, 1]
    np.testing.assert_allclose(embeddings["sbert"], embeddings["st"], atol=1e-5)
    plain = _libraries()["sbert"].SentenceTransformer(str(dropout_free_st), device="cpu", backend="torch")
    np.testing.assert_allclose(embeddings["sbert"], 3 * plain.encode(TEXTS), atol=1e-5)
