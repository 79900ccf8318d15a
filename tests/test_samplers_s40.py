"""What sentence-transformers' trainer hands its loss, batch by batch, against sbert's trainer (session 40's
sampler and collator fuzzer, /tmp/s40/samplers): a loss that records the features and labels it gets runs
under both trainers on the same dataset, arguments and seed, and the records must be equal."""

from __future__ import annotations

import pytest
from conftest import WORDS
from trainer_subclass_probe import RecordingLoss


def _recorded_batches(library, model_path, tmp_path, data, **args):
    """Each batch's features (per column, key -> type and value) and labels as the loss receives them."""
    from datasets import Dataset

    if library == "st":
        import sentence_transformers as module
    else:
        import sbert as module
    model = module.SentenceTransformer(str(model_path), device="cpu")
    loss = RecordingLoss(model)
    arguments = module.SentenceTransformerTrainingArguments(
        str(tmp_path / library), report_to="none", save_strategy="no", disable_tqdm=True, **args
    )
    module.SentenceTransformerTrainer(
        model=model,
        args=arguments,
        train_dataset=Dataset.from_dict(data),
        loss=loss,
    ).train()
    return loss.seen


@pytest.mark.parametrize("prompts", ["query: ", {"anchor": "a: "}])
def test_the_loss_gets_an_int_prompt_length_as_in_sentence_transformers(dropout_free_st, tmp_path, prompts):
    data = {"anchor": WORDS[:6], "positive": WORDS[10:16]}
    args = {"per_device_train_batch_size": 3, "max_steps": 2, "prompts": prompts, "seed": 7}
    theirs = _recorded_batches("st", dropout_free_st, tmp_path, data, **args)
    ours = _recorded_batches("sbert", dropout_free_st, tmp_path, data, **args)
    assert any("prompt_length" in f for features, _ in theirs for f in features)
    assert ours == theirs
