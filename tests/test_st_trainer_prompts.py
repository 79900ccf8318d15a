"""Prompts in training with sentence-transformers' trainer API, side by side with sentence-transformers 6.3
(the cases of its own ``test_trainer_prompts``): a string, a dict per column, per dataset, per dataset and
column, with Pooling's ``include_prompt`` on or off, a transform and a stream. The features each loss call
gets (tokens, ``prompt_length``), its loss, the logged losses and the trained weights are the same."""

from __future__ import annotations

import pytest
import torch

TEXTS = {
    "train": (["red a cat sat", "red the dog ran on the mat"], ["red she is happy", "red a big tree"]),
    "train2": (["blue a man plays guitar", "blue we eat food"], ["blue the car is fast", "blue it is sunny"]),
    "eval": (["green a cat ran", "green the dog sat"], ["green he is sad", "green a small house"]),
    "eval2": (["fast the man walk", "fast a woman sat"], ["fast good music", "fast they eat"]),
}
PER_DATASET = {"stsb-1": "car: ", "stsb-2": "the house of: "}
PER_COLUMN = {"sentence1": "car: ", "sentence2": "the house of: "}
NESTED = {"stsb-1": PER_COLUMN, "stsb-2": {"sentence1": "weather: ", "sentence2": "food is good: "}}


def _data(split: str, as_dict: bool, streaming: bool, transform: bool):
    from datasets import Dataset, DatasetDict, IterableDatasetDict

    def dataset(name):
        first, second = TEXTS[name]
        data = Dataset.from_dict({"sentence1": first, "sentence2": second})
        return data.to_iterable_dataset() if streaming else data

    def with_word(batch):  # a transform that changes the tokens: the trainers train on its rows
        return {column: [text + " today" for text in texts] for column, texts in batch.items()}

    sets = {"stsb-1": dataset(split), "stsb-2": dataset(split + "2")}
    if transform:
        for name, data in sets.items():
            stream = data.map(with_word, batched=True, features=data.features) if streaming else None
            sets[name] = stream if streaming else data.with_transform(with_word)
    if not as_dict:
        return sets["stsb-1"]
    return IterableDatasetDict(sets) if streaming else DatasetDict(sets)


def _train(library: str, path, out, prompts, include_prompt, as_dict, loss_dict, streaming, transform):
    """Train 2 steps with an eval dataset; each loss call's features (tokens, prompt_length) and loss."""
    if library == "st":
        import sentence_transformers as lib
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    else:
        import sbert as lib
        from sbert.sentence_transformer.losses import MultipleNegativesRankingLoss

    calls = []

    class Recording(MultipleNegativesRankingLoss):
        def forward(self, features, labels=None):
            value = super().forward(features, labels)
            seen = [(f["input_ids"].tolist(), _count(f.get("prompt_length"))) for f in features]
            calls.append((seen, float(value.detach())))
            return value

    model = lib.SentenceTransformer(str(path), device="cpu")
    model[1].include_prompt = include_prompt
    loss = Recording(model)
    args = lib.SentenceTransformerTrainingArguments(
        str(out), prompts=prompts, max_steps=2, eval_strategy="steps", eval_steps=2,
        per_device_train_batch_size=2, per_device_eval_batch_size=2, learning_rate=1e-3, seed=3,
        save_strategy="no", report_to="none", disable_tqdm=True,
    )  # fmt: skip
    trainer = lib.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=_data("train", as_dict, streaming, transform),
        eval_dataset=_data("eval", as_dict, streaming, transform),
        loss={"stsb-1": loss, "stsb-2": loss} if loss_dict else loss,
    )
    trainer.train()
    logged = [(k, v) for r in trainer.state.log_history for k, v in r.items() if k.endswith("loss")]
    weights = {k.replace("auto_model", "model"): v for k, v in model[0].state_dict().items()}
    return calls, logged, weights


def _count(prompt_length) -> int | None:
    """A prompt length as one count: sentence-transformers' int (or one per row, from a stream), sbert's
    0-d tensor."""
    if prompt_length is None:
        return None
    return int(prompt_length.flatten()[0]) if torch.is_tensor(prompt_length) else int(prompt_length)


@pytest.mark.parametrize(
    ("prompts", "include_prompt", "as_dict", "loss_dict", "streaming", "transform", "prompted"),
    [
        ("music: ", False, False, False, False, False, True),
        (PER_COLUMN, True, False, False, False, True, True),  # the length reaches the loss all the same
        (PER_DATASET, False, True, False, False, False, True),
        (PER_DATASET, False, False, False, False, False, False),  # no dataset names: read as column names
        (NESTED, False, True, True, False, False, True),
        (PER_COLUMN, False, False, False, True, True, True),
    ],
    ids=["string", "per-column-include-prompt", "per-dataset", "per-dataset-one-dataset", "nested", "stream"],
)
def test_prompts_reach_the_loss_as_in_sentence_transformers(
    dropout_free_st, tmp_path, prompts, include_prompt, as_dict, loss_dict, streaming, transform, prompted
):
    options = (prompts, include_prompt, as_dict, loss_dict, streaming, transform)
    their_calls, their_log, theirs = _train("st", dropout_free_st, tmp_path / "st", *options)
    our_calls, our_log, ours = _train("sbert", dropout_free_st, tmp_path / "ours", *options)
    assert len(our_calls) == len(their_calls) > 2  # 2 training steps, then the eval batches
    for (our_features, our_loss), (their_features, their_loss) in zip(our_calls, their_calls):
        assert our_features == their_features
        assert our_loss == pytest.approx(their_loss, abs=1e-5)
    lengths = {length for features, _ in their_calls for _, length in features}
    assert (lengths != {None}) == prompted  # the case's prompts were applied (or, as there, were not)
    assert [k for k, _ in our_log] == [k for k, _ in their_log]  # the same records: eval losses only
    assert [v for _, v in our_log] == pytest.approx([v for _, v in their_log], abs=1e-4)
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, atol=1e-5, rtol=0, msg=name)


def _train_cross(library: str, path, out, prompts, as_dict: bool):
    """A CrossEncoderTrainer (default loss) run of 2 steps with an eval dataset: weights and logged losses."""
    from datasets import Dataset, DatasetDict

    namespace = "sentence_transformers.cross_encoder" if library == "st" else "sbert.cross_encoder"
    lib = __import__(namespace, fromlist=["CrossEncoder"])
    words = [text for pair in TEXTS.values() for column in pair for text in column]
    first = Dataset.from_dict({"query": words[:6], "document": words[6:12], "label": [1.0, 0.0] * 3})
    second = Dataset.from_dict({"query": words[8:14], "document": words[:6], "label": [0.0, 1.0] * 3})
    data = DatasetDict({"stsb-1": first, "stsb-2": second}) if as_dict else first
    model = lib.CrossEncoder(str(path), device="cpu")
    args = lib.CrossEncoderTrainingArguments(
        str(out), prompts=prompts, per_device_train_batch_size=3, num_train_epochs=1, learning_rate=1e-3,
        seed=5, eval_strategy="steps", eval_steps=2, logging_steps=1, save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    trainer = lib.CrossEncoderTrainer(model=model, args=args, train_dataset=data, eval_dataset=data)
    trainer.train()
    logged = [(k, v) for r in trainer.state.log_history for k, v in r.items() if k.endswith("loss")]
    return {k: v.detach() for k, v in model.model.named_parameters()}, logged


@pytest.mark.parametrize(
    ("prompts", "as_dict"),
    [("query: ", False), (PER_DATASET, True), ({"stsb-1": PER_COLUMN}, True)],
    ids=["string", "per-dataset", "per-column-refused"],
)
def test_cross_encoder_prompts_go_before_each_query_as_in_sentence_transformers(tmp_path, prompts, as_dict):
    """A cross-encoder's prompt goes before the first text of each pair; per-column prompts are refused with
    sentence-transformers' message."""
    from conftest import build_tiny_classifier, without_dropout

    path = without_dropout(build_tiny_classifier(tmp_path / "classifier"))
    if isinstance(prompts, dict) and isinstance(next(iter(prompts.values())), dict):
        for library in ("st", "sbert"):
            with pytest.raises(ValueError, match="CrossEncoder prompts cannot be per-column"):
                _train_cross(library, path, tmp_path / library, prompts, as_dict)
        return
    theirs, their_log = _train_cross("st", path, tmp_path / "st", prompts, as_dict)
    ours, our_log = _train_cross("sbert", path, tmp_path / "ours", prompts, as_dict)
    assert [k for k, _ in our_log] == [k for k, _ in their_log]
    assert [v for _, v in our_log] == pytest.approx([v for _, v in their_log], abs=1e-5)
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, atol=1e-5, rtol=0, msg=name)
