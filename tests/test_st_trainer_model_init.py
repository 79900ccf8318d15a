"""``model_init=`` of sentence-transformers' trainers (Hugging Face's): the model made by a function, and a
fresh one, made after seeding with ``args.seed``, for each ``train()``, put in place inside the losses."""

from __future__ import annotations

import pytest
import torch

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _train_with_model_init(library: str, path, out):
    """Train 2 steps from a model_init whose Dense layer is random (so the seed before the call matters),
    sbert twice; the loss is an instance built on another model, which the trainer replaces."""
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
    if library == "sbert":
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


def _train_other_kind(kind: str, library: str, path, out):
    """A CrossEncoderTrainer (default loss) or SparseEncoderTrainer (SpladeLoss as a function of the model)
    made from model_init alone; its trained weights, and whether train() made a fresh model."""
    from datasets import Dataset

    if kind == "cross":
        namespace = "sentence_transformers.cross_encoder" if library == "st" else "sbert.cross_encoder"
        names = ("CrossEncoder", "CrossEncoderTrainer", "CrossEncoderTrainingArguments")
        columns = {"query": WORDS[:6], "document": WORDS[2:8], "label": [1.0, 0.0] * 3}
    else:
        namespace = "sentence_transformers.sparse_encoder" if library == "st" else "sbert.sparse_encoder"
        names = ("SparseEncoder", "SparseEncoderTrainer", "SparseEncoderTrainingArguments")
        columns = {"query": WORDS[:6], "document": WORDS[2:8]}
    module = __import__(namespace, fromlist=list(names))
    model_class, trainer_class, args_class = (getattr(module, name) for name in names)
    options = {}
    if kind == "sparse":
        losses = module.losses

        def splade(model):
            inner = losses.SparseMultipleNegativesRankingLoss(model)
            return losses.SpladeLoss(
                model, inner, query_regularizer_weight=5e-3, document_regularizer_weight=3e-3
            )

        options["loss"] = splade
    args = args_class(
        str(out), per_device_train_batch_size=3, num_train_epochs=1, learning_rate=1e-3, seed=5,
        save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    trainer = trainer_class(
        model_init=lambda: model_class(str(path), device="cpu"),
        args=args,
        train_dataset=Dataset.from_dict(columns),
        **options,
    )
    first = trainer.model
    assert trainer.train().global_step == 2 and trainer.model is not first
    network = trainer.model.model if kind == "cross" else trainer.model
    return {k.replace(".auto_model.", ".model."): v.detach() for k, v in network.state_dict().items()}


@pytest.mark.parametrize("kind", ["cross", "sparse"])
def test_cross_and_sparse_trainers_take_model_init_as_sentence_transformers(kind, masked_lm, tmp_path):
    import shutil

    from conftest import build_tiny_classifier, without_dropout

    if kind == "cross":
        path = without_dropout(build_tiny_classifier(tmp_path / "classifier"))
    else:
        path = without_dropout(shutil.copytree(masked_lm, tmp_path / "mlm"))
    theirs = _train_other_kind(kind, "st", path, tmp_path / "st")
    ours = _train_other_kind(kind, "sbert", path, tmp_path / "ours")
    assert sorted(ours) == sorted(theirs)
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, atol=1e-5, rtol=0, msg=name)
