"""sentence-transformers' trainers where sbert's used to differ: a trainer made without datasets, a user's
``data_collator``, the arguments it passes to Hugging Face's trainer, and hard-negative mining of a dataset
read through a transform. Each compared with sentence-transformers itself on the tiny random models."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import build_tiny_classifier, without_dropout

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]
TOL = 1e-5


def _st():
    """sentence-transformers' bi-encoder training names."""
    import sentence_transformers as st
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

    return (
        st.SentenceTransformer,
        st.SentenceTransformerTrainer,
        st.SentenceTransformerTrainingArguments,
        losses,
        SentenceTransformerDataCollator,
    )


def _sbert():
    from sbert.sentence_transformer import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )
    from sbert.sentence_transformer.data_collator import SentenceTransformerDataCollator

    def model(path, device):
        return sbert.SentenceTransformer(path, device=device, backend="torch")

    trainer, arguments = SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    return model, trainer, arguments, losses, SentenceTransformerDataCollator


def test_a_trainer_without_datasets_refuses_and_evaluates_as_sentence_transformers(dropout_free_st, tmp_path):
    """Made with neither train_dataset nor eval_dataset: train() and evaluate() refuse with its ValueErrors;
    with an evaluator, evaluate() runs it; given an eval_dataset, evaluate() gives its loss."""
    from datasets import Dataset
    from sentence_transformers.sentence_transformer.evaluation import (
        EmbeddingSimilarityEvaluator as Reference,
    )

    data = Dataset.from_dict({"anchor": WORDS[:6], "positive": WORDS[3:9]})
    results = []
    for (make, trainer, arguments, losses, _), evaluator_class in (
        (_st(), Reference),
        (_sbert(), sbert.EmbeddingSimilarityEvaluator),
    ):
        model = make(str(dropout_free_st), device="cpu")
        args = arguments(str(tmp_path / "run"), per_device_eval_batch_size=4, report_to="none")
        bare = trainer(model=model, args=args, loss=losses.MultipleNegativesRankingLoss(model))
        for method, words in (("train", "Training"), ("evaluate", "Evaluation")):
            message = (
                f"{words} requires specifying a{'n eval' if words == 'Evaluation' else ' train'}_dataset "
            )
            with pytest.raises(ValueError, match=re.escape(message + f"to the {trainer.__name__}.")):
                getattr(bare, method)()
        evaluator = evaluator_class(WORDS[:4], WORDS[4:8], [0.1, 0.9, 0.4, 0.6], name="dev")
        scored = trainer(model=model, args=args, evaluator=evaluator).evaluate()
        results.append((scored["eval_dev_spearman_cosine"], bare.evaluate(data)["eval_loss"]))
    (spearman, loss), (our_spearman, our_loss) = results
    assert our_spearman == pytest.approx(spearman, abs=TOL)
    assert our_loss == pytest.approx(loss, abs=TOL)


def _train_with_collator(kit, path, out, *, cross: bool = False):
    """An epoch of a DatasetDict with a dict of losses and an eval_dataset, batches made by a subclass of
    the library's collator (a prompt for the anchors only; its own label column): the training loss, eval
    losses and model."""
    from datasets import Dataset, DatasetDict

    make, trainer, arguments, losses, collator = kit

    class AnchorPrompt(collator):
        def _get_prompt_for_column(self, prompts, column_name):
            return "query: " if column_name == "anchor" else None

    model = make(str(path), device="cpu")
    scores = [i / 8 for i in range(8)]
    rows = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:], "relevance": scores})
    data = DatasetDict({"a": rows, "b": rows.select(range(6))})
    args = arguments(
        str(out),
        per_device_train_batch_size=4,
        per_device_eval_batch_size=3,
        num_train_epochs=1,
        learning_rate=3e-3,
        save_strategy="no",
        disable_tqdm=True,
        report_to="none",
    )
    run = trainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=data,
        loss={"a": losses.CoSENTLoss(model), "b": losses.MultipleNegativesRankingLoss(model)},
        data_collator=AnchorPrompt(preprocess_fn=model.preprocess, valid_label_columns=["relevance"]),
    )
    return run.train().training_loss, run.evaluate(), model


def test_a_collator_subclass_gives_the_batches_and_training_of_sentence_transformers(
    dropout_free_st, tmp_path
):
    """data_collator= (a subclass of the library's SentenceTransformerDataCollator that changes the prompts,
    with its own label column) runs every batch, training and evaluation, of a DatasetDict with dataset
    names: the same losses and weights as sentence-transformers'."""
    loss, evaluation, reference = _train_with_collator(_st(), dropout_free_st, tmp_path / "st")
    our_loss, our_evaluation, model = _train_with_collator(_sbert(), dropout_free_st, tmp_path / "ours")
    assert our_loss == pytest.approx(loss, abs=TOL)
    for name in ("a", "b"):
        assert our_evaluation[f"eval_{name}_loss"] == pytest.approx(evaluation[f"eval_{name}_loss"], abs=TOL)
    theirs = dict(reference[0].auto_model.named_parameters())
    for name, value in model[0].auto_model.named_parameters():  # AdamW's steps amplify float noise a little
        torch.testing.assert_close(value, theirs[name], atol=1e-4, rtol=0, msg=name)


def test_a_cross_encoder_collator_subclass_trains_as_sentence_transformers(tmp_path):
    """CrossEncoderTrainer with data_collator= a subclass of CrossEncoderDataCollator that changes the
    texts: the same training loss as sentence-transformers' trainer."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoder as Reference
    from sentence_transformers.cross_encoder import CrossEncoderTrainer as ReferenceTrainer
    from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments as ReferenceArguments
    from sentence_transformers.cross_encoder.data_collator import (
        CrossEncoderDataCollator as ReferenceCollator,
    )

    from sbert.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sbert.cross_encoder.data_collator import CrossEncoderDataCollator

    path = build_tiny_classifier(tmp_path / "ce")
    without_dropout(path)
    data = Dataset.from_dict({"query": WORDS[:8], "document": WORDS[2:10], "label": [1, 0] * 4})
    losses = []
    for model_class, trainer, arguments, collator_class in (
        (Reference, ReferenceTrainer, ReferenceArguments, ReferenceCollator),
        (CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments, CrossEncoderDataCollator),
    ):
        model = model_class(str(path), device="cpu")

        class Shouting(collator_class):
            def __call__(self, features):
                batch = super().__call__(features)
                return {**batch, "document": [text.upper() for text in batch["document"]]}

        args = arguments(
            str(tmp_path / trainer.__module__), per_device_train_batch_size=4, max_steps=2,
            learning_rate=1e-2, save_strategy="no", disable_tqdm=True, report_to="none",
        )  # fmt: skip
        losses.append(
            trainer(
                model=model, args=args, train_dataset=data, data_collator=Shouting(preprocess_fn=None)
            ).train()
        )
    assert losses[1].training_loss == pytest.approx(losses[0].training_loss, abs=TOL)


def test_mining_reads_a_transformed_dataset_as_sentence_transformers(dropout_free_st):
    """A dataset with a with_transform is read as sentence-transformers reads it: each column in one batch
    through the transform (a transform that sees its batch gives the same texts), so the same output."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.util import mine_hard_negatives as reference_mining

    from sbert.util import mine_hard_negatives

    def batch_aware(batch):  # one word more for a batch of several rows than for a single row
        return {k: [f"{text} {'big' if len(v) > 1 else 'small'}" for text in v] for k, v in batch.items()}

    rows = Dataset.from_dict({"anchor": WORDS[:10], "positive": WORDS[2:12]})
    options = {"num_negatives": 2, "output_format": "labeled-pair", "verbose": False, "batch_size": 16}
    outputs = []
    for mine, model in (
        (reference_mining, Reference(str(dropout_free_st), device="cpu")),
        (mine_hard_negatives, sbert.SentenceTransformer(dropout_free_st, device="cpu")),
    ):
        outputs.append(mine(rows.with_transform(batch_aware), model, **options).to_dict())
    assert outputs[1] == outputs[0]
    assert all(text.endswith(" big") for text in outputs[1]["anchor"])


def test_hub_model_id_names_the_card_and_compute_metrics_is_accepted_as_in_sentence_transformers(
    dropout_free_st, tmp_path
):
    """Arguments sentence-transformers passes on without pushing anything: hub_model_id becomes the card's
    model_id (where it has none); compute_metrics and preprocess_logits_for_metrics are taken and unused."""
    from datasets import Dataset

    data = Dataset.from_dict({"anchor": WORDS[:4], "positive": WORDS[4:8], "score": [0.1, 0.2, 0.3, 0.4]})
    names = []
    for make, trainer, arguments, _, _ in (_st(), _sbert()):
        model = make(str(dropout_free_st), device="cpu")
        args = arguments(str(tmp_path), hub_model_id="someone/tiny", push_to_hub=False, report_to="none")
        trainer(
            model=model, args=args, train_dataset=data, compute_metrics=len, preprocess_logits_for_metrics=max
        )
        names.append(model.model_card_data.model_id)
    assert names[1] == names[0] == "someone/tiny"
    with pytest.raises(sbert.InputError, match="push_to_hub=True is not supported"):
        _sbert()[2](str(tmp_path), push_to_hub=True)
