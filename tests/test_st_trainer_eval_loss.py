"""The eval dataset's loss as sentence-transformers 6.3's trainer reports it, where the batches are not
all full: Hugging Face's evaluation loop counts each batch's mean loss ``per_device_eval_batch_size`` times
(a no-duplicates batch may hold fewer rows), the last batch's count cut to ``len(dataset) % batch size``. A
SPLADE loss's ``eval_loss`` is then the same weighted mean of its parts' sum, and the parts come after the
metrics in the logged record. EmbedDistillLoss evaluates on teacher embeddings added with ``datasets.map``
(a label column holding a vector per row), as it trains on them."""

from __future__ import annotations

import importlib
import shutil

import numpy as np
import pytest
from conftest import without_dropout

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

# duplicated texts: the no-duplicates sampler leaves some batches short of 4 rows (8 rows, 3 batches)
ANCHORS = ["the cat sat", "the cat sat", "the cat sat", "a dog ran", "a dog ran", "a man plays guitar"]
ANCHORS += ["they eat food", "a big tree"]
POSITIVES = ["a cat is here", "the dog runs", "a dog is running", "it is sunny", "a woman sings"]
POSITIVES += ["we eat bread", "he is sad", "a small house"]
TIMINGS = ("_runtime", "_per_second", "preparation_time")


@pytest.fixture(scope="module")
def splade(masked_lm, tmp_path_factory):
    return without_dropout(shutil.copytree(masked_lm, tmp_path_factory.mktemp("evalloss") / "mlm"))


def splade_run(library: str, folder, out):
    """``evaluate()`` before training, and the history's record of the evaluation after one training step."""
    from datasets import Dataset

    namespace = importlib.import_module(f"{library}.sparse_encoder")
    losses = namespace.losses
    model = namespace.SparseEncoder(str(folder), device="cpu", similarity_fn_name="dot")
    loss = losses.SpladeLoss(
        model,
        losses.SparseMultipleNegativesRankingLoss(model, scale=1, similarity_fct=model.similarity),
        document_regularizer_weight=3e-3,
        use_document_regularizer_only=True,
    )
    data = Dataset.from_dict({"anchor": ANCHORS, "positive": POSITIVES})
    args = namespace.SparseEncoderTrainingArguments(
        str(out),
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        batch_sampler="no_duplicates",
        max_steps=1,
        eval_strategy="steps",
        eval_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=3,
    )
    trainer = namespace.SparseEncoderTrainer(
        model=model, args=args, train_dataset=data, eval_dataset=data, loss=loss
    )
    before = trainer.evaluate()
    trainer.train()
    return before, next(r for r in trainer.state.log_history if "eval_base_loss" in r)


def test_splade_eval_loss_and_its_parts_as_sentence_transformers(splade, tmp_path):
    before, theirs = splade_run("sentence_transformers", splade, tmp_path / "st")
    our_before, ours = splade_run("sbert", splade, tmp_path / "sbert")
    assert our_before["eval_loss"] == pytest.approx(before["eval_loss"], rel=1e-5)
    # the parts after the loss, the preparation time and the timings; then the epoch and the step
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        if key.endswith(TIMINGS):
            continue
        assert ours[key] == pytest.approx(value, rel=1e-5, abs=1.01e-4), key
    # the reported loss is the (rounded) sum of the reported parts, as there
    parts = ours["eval_base_loss"] + ours["eval_document_regularizer_loss"]
    assert ours["eval_loss"] == pytest.approx(parts, abs=2e-4)


def distill_eval_loss(library: str, folder, out, projection):
    """``evaluate()``'s loss of EmbedDistillLoss (with a projection to the teacher's 12 dimensions) on
    teacher vectors added by ``Dataset.map``; 10 rows in batches of 4, so the last batch is short."""
    from datasets import Dataset

    st = importlib.import_module(library)
    losses = importlib.import_module(f"{library}.sentence_transformer.losses")
    model = st.SentenceTransformer(str(folder), device="cpu")
    teacher = np.random.default_rng(0).normal(size=(10, 12))

    def add_teacher(batch, indices):
        return {"label": teacher[indices].tolist()}

    texts = Dataset.from_dict({"sentence": ANCHORS + ["a red car", "the sun is up"]})
    data = texts.map(add_teacher, batched=True, with_indices=True)
    loss = losses.EmbedDistillLoss(model, distance_metric="cosine", projection_dim=12)
    loss.projection.load_state_dict(projection)
    args = st.SentenceTransformerTrainingArguments(
        str(out), per_device_eval_batch_size=4, report_to="none", disable_tqdm=True
    )
    trainer = st.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, eval_dataset=data, loss=loss
    )
    return trainer.evaluate()["eval_loss"]


def test_embed_distill_eval_loss_on_mapped_teacher_vectors_as_sentence_transformers(
    dropout_free_st, tmp_path
):
    import torch

    width = (
        importlib.import_module("sbert").SentenceTransformer(str(dropout_free_st)).get_embedding_dimension()
    )
    projection = torch.nn.Linear(width, 12).state_dict()
    theirs = distill_eval_loss("sentence_transformers", dropout_free_st, tmp_path / "st", projection)
    ours = distill_eval_loss("sbert", dropout_free_st, tmp_path / "sbert", projection)
    assert ours == pytest.approx(theirs, rel=1e-5)
