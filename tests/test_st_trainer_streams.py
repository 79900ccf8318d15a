"""Streamed data (``datasets.IterableDataset``) in sentence-transformers' trainer API, side by side with
sentence-transformers 6.3: a stream trains in its own order, one pass an epoch (reshuffled by ``set_epoch``
when shuffled) up to ``max_steps``, with no batch sampler; an eval stream is evaluated in order; the loss of
each call, the logged records and the trained weights are the same. What it refuses, sbert refuses with its
words."""

from __future__ import annotations

import pytest
import torch
from conftest import WORDS, build_tiny_classifier, random_sentences

ANCHORS, POSITIVES = random_sentences(WORDS, 12, 1), random_sentences(WORDS, 12, 2)


def _library(name: str):
    if name == "st":
        import sentence_transformers as lib
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    else:
        import sbert as lib
        from sbert.sentence_transformer.losses import MultipleNegativesRankingLoss
    return lib, MultipleNegativesRankingLoss


def _streams(case: str):
    """The case's train dataset, eval dataset and arguments."""
    from datasets import Dataset, DatasetDict, Features, Value

    data = Dataset.from_dict({"anchor": ANCHORS, "positive": POSITIVES})
    stream = data.to_iterable_dataset()
    if case == "passes":  # 7 steps over 6-batch passes of a shuffled stream, evaluated on a stream
        options = {"max_steps": 7, "eval_strategy": "steps", "eval_steps": 6}
        return stream.shuffle(seed=1, buffer_size=4), stream, options
    if case == "last-batch":  # 5 rows: 2 whole batches a pass, steps of 2 batches; the sampler is ignored
        options = {"max_steps": 3, "dataloader_drop_last": True, "gradient_accumulation_steps": 2}
        return data.select(range(5)).to_iterable_dataset(), None, options | {"batch_sampler": "no_duplicates"}
    # "on-the-fly": columns renamed, added, removed and rewritten on the stream; eval streams by name (there
    # a loss dict, which adds a dataset_name column, fails on eval streams: accelerate joins no strings)
    features = Features({"query": Value("string"), "positive": Value("string"), "extra": Value("int64")})
    train = stream.rename_column("anchor", "query").map(lambda row: {"extra": 1}, features=features)
    train = train.remove_columns("extra").map(
        lambda batch: {"query": [q + " today" for q in batch["query"]]}, batched=True, features=train.features
    )
    options = {"max_steps": 3, "eval_strategy": "steps", "eval_steps": 3}
    return train, DatasetDict({"a": train, "b": stream}), options


def _train(library: str, path, out, case: str):
    lib, Loss = _library(library)
    calls = []

    class Recording(Loss):
        def forward(self, features, labels=None):
            value = super().forward(features, labels)
            calls.append((features[0]["input_ids"].tolist(), float(value.detach())))
            return value

    train, eval_data, options = _streams(case)
    model = lib.SentenceTransformer(str(path), device="cpu")
    loss = Recording(model)
    args = lib.SentenceTransformerTrainingArguments(
        str(out), per_device_train_batch_size=2, per_device_eval_batch_size=2, learning_rate=1e-3, seed=3,
        logging_steps=1, save_strategy="no", report_to="none", disable_tqdm=True, **options,
    )  # fmt: skip
    trainer = lib.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=train, eval_dataset=eval_data,
        loss=loss,
    )  # fmt: skip
    trainer.train()
    # by step and key (each of a dict's eval datasets is a record of its own)
    history = trainer.state.log_history
    logged = sorted(
        {(r["step"], k, v) for r in history for k, v in r.items() if k.endswith(("loss", "epoch"))}
    )
    return calls, logged, {k: v.detach().clone() for k, v in model[0].auto_model.named_parameters()}


@pytest.mark.parametrize("case", ["passes", "last-batch", "on-the-fly"])
def test_streams_train_as_in_sentence_transformers(dropout_free_st, tmp_path, case):
    their_calls, their_log, theirs = _train("st", dropout_free_st, tmp_path / "st", case)
    our_calls, our_log, ours = _train("sbert", dropout_free_st, tmp_path / "sbert", case)
    assert len(our_calls) == len(their_calls)
    for (our_ids, our_loss), (their_ids, their_loss) in zip(our_calls, their_calls):
        assert our_ids == their_ids  # the same rows, in the same batches
        assert our_loss == pytest.approx(their_loss, abs=1e-5)
    assert [(s, k) for s, k, _ in our_log] == [(s, k) for s, k, _ in their_log]  # epochs as counted there
    assert [v for *_, v in our_log] == pytest.approx([v for *_, v in their_log], abs=1e-4)
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, atol=1e-5, rtol=0, msg=name)


def _refused(library: str, path, out, case: str) -> ValueError:
    from datasets import Dataset, IterableDatasetDict

    lib, Loss = _library(library)
    data = Dataset.from_dict({"anchor": ANCHORS[:4], "positive": POSITIVES[:4], "label": [1.0, 0.0] * 2})
    stream = data.to_iterable_dataset()
    options, train, trainer_class = {"max_steps": 2}, stream, lib.SentenceTransformerTrainer
    if case == "no-max-steps":
        options = {"num_train_epochs": 1}
    elif case == "no-features":
        train = stream.map(lambda row: {"anchor": row["anchor"].upper()})
    elif case == "dict":
        train = IterableDatasetDict({"a": stream, "b": stream})
    elif case == "one-in-a-dict":  # refused when training starts, after the trainer was made
        train = {"a": stream}
    if case == "cross-encoder":
        model = lib.CrossEncoder(str(path), device="cpu")
        trainer_class, args_class, loss = lib.CrossEncoderTrainer, lib.CrossEncoderTrainingArguments, None
    else:
        model = lib.SentenceTransformer(str(path), device="cpu")
        args_class, loss = lib.SentenceTransformerTrainingArguments, Loss(model)
    args = args_class(
        str(out), per_device_train_batch_size=2, report_to="none", save_strategy="no", **options
    )
    with pytest.raises(ValueError) as raised:
        trainer = trainer_class(model=model, args=args, train_dataset=train, loss=loss)
        trainer.train()
    return raised.value


@pytest.mark.parametrize("case", ["no-max-steps", "no-features", "dict", "one-in-a-dict", "cross-encoder"])
def test_stream_refusals_say_what_sentence_transformers_says(dropout_free_st, tmp_path, case):
    path = build_tiny_classifier(tmp_path / "classifier") if case == "cross-encoder" else dropout_free_st
    theirs = _refused("st", path, tmp_path / "st", case)
    ours = _refused("sbert", path, tmp_path / "sbert", case)
    assert str(ours) == str(theirs)
