"""``model_init=`` of sentence-transformers' trainers (Hugging Face's): the model made by a function, and a
fresh one, made after seeding with ``args.seed``, for each ``train()``, put in place inside the losses."""

from __future__ import annotations

import pytest
import torch

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _train_with_model_init(library: str, path, out):
    """Train twice on a trainer made from a model_init whose Dense layer is random (so the seed before the
    call matters); the loss is an instance built on another model, which the trainer replaces."""
    from datasets import Dataset

    if library == "st":
        import sentence_transformers as lib
        from sentence_transformers.sentence_transformer import losses
        from sentence_transformers.sentence_transformer import modules as models
    else:
        import sbert as lib
        from sbert.sentence_transformer import losses
        from sbert.sentence_transformer import modules as models

    calls = []

    def model_init():
        calls.append(1)
        transformer = models.Transformer(str(path))
        dense = models.Dense(32, 16)
        return lib.SentenceTransformer(modules=[transformer, models.Pooling(32), dense], device="cpu")

    data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:]})
    args = lib.SentenceTransformerTrainingArguments(
        str(out), per_device_train_batch_size=4, num_train_epochs=1, learning_rate=3e-3, seed=7,
        logging_steps=1, save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    loss = losses.MultipleNegativesRankingLoss(lib.SentenceTransformer(str(path), device="cpu"))
    trainer = lib.SentenceTransformerTrainer(model_init=model_init, args=args, train_dataset=data, loss=loss)
    first = trainer.model
    output = trainer.train()
    assert output.global_step == 2
    assert trainer.model is not first and trainer.loss.model is trainer.model  # a fresh model, in the loss
    trained = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    runs = len(calls)
    trainer.train()  # again from a fresh model: the same weights
    assert len(calls) == runs + 1
    again = trainer.model.state_dict()
    assert all(torch.equal(value, again[name]) for name, value in trained.items())
    losses_logged = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    return {k.replace(".auto_model.", ".model."): v for k, v in trained.items()}, losses_logged


def test_model_init_trains_a_fresh_seeded_model_as_sentence_transformers(dropout_free_st, tmp_path):
    theirs, their_losses = _train_with_model_init("st", dropout_free_st, tmp_path / "st")
    ours, our_losses = _train_with_model_init("sbert", dropout_free_st, tmp_path / "ours")
    assert sorted(ours) == sorted(theirs)
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, atol=1e-5, rtol=0, msg=name)
    assert our_losses == pytest.approx(their_losses, abs=1e-5)


def test_trainer_without_model_or_model_init_says_so_as_sentence_transformers():
    import sentence_transformers

    import sbert

    message = "`SentenceTransformerTrainer` requires either a `model` or `model_init` argument"
    for library in (sentence_transformers, sbert):
        with pytest.raises(Exception, match=message):
            library.SentenceTransformerTrainer()
