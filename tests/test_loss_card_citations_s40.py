"""The model card's "Citation" section after a short training run, against sentence-transformers 6.3's card
for the same run: Sentence-BERT, then the BibTeX entry of each training loss (a wrapped loss's inner one too),
the losses citing one entry named together. sbert's card cited Sentence-BERT alone."""

from __future__ import annotations

import warnings

import pytest
from datasets import Dataset

PAIRS = {"anchor": ["a b", "c d", "e f", "g h"], "positive": ["a c", "c e", "e g", "g a"]}
SCORED = {**PAIRS, "score": [0.1, 0.9, 0.5, 0.3]}
LABELLED = {**PAIRS, "label": [0, 1, 2, 1]}
# name -> (data, the loss of a losses namespace and a model)
RUNS = {
    "matryoshka": (
        PAIRS,
        lambda losses, model: losses.MatryoshkaLoss(
            model, losses.MultipleNegativesRankingLoss(model), [32, 16]
        ),
    ),
    "cosent": (SCORED, lambda losses, model: losses.CoSENTLoss(model)),
    "softmax": (  # cites Sentence-BERT too: one entry named "Sentence Transformers and SoftmaxLoss"
        LABELLED,
        lambda losses, model: losses.SoftmaxLoss(model, model.get_embedding_dimension(), num_labels=3),
    ),
}


def citation_section(card: str) -> str:
    """The card's text from "## Citation" to the next section or comment."""
    lines = card[card.index("## Citation") :].splitlines()
    end = next(
        (i for i, line in enumerate(lines[1:], 1) if line.startswith(("## ", "<!--"))),
        len(lines),
    )
    return "\n".join(lines[:end]).strip()


def _card_after_one_step(library: str, folder, data: dict, make_loss, out) -> str:
    if library == "st":
        import sentence_transformers as lib
        from sentence_transformers.sentence_transformer import losses
    else:
        import sbert as lib
        from sbert.sentence_transformer import losses
    model = lib.SentenceTransformer(str(folder), device="cpu")
    args = lib.SentenceTransformerTrainingArguments(
        output_dir=str(out / "run"),
        max_steps=1,
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
    )
    loss = make_loss(losses, model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib.SentenceTransformerTrainer(
            model=model, args=args, train_dataset=Dataset.from_dict(data), loss=loss
        ).train()
    model.save(str(out / "model"))
    return (out / "model" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("run", sorted(RUNS))
def test_card_cites_the_training_losses_as_sentence_transformers(dropout_free_st, tmp_path, run):
    data, make_loss = RUNS[run]
    theirs = _card_after_one_step("st", dropout_free_st, data, make_loss, tmp_path / "st")
    ours = _card_after_one_step("sbert", dropout_free_st, data, make_loss, tmp_path / "sbert")
    assert citation_section(ours) == citation_section(theirs)


def test_card_of_an_untrained_model_cites_sentence_bert_as_sentence_transformers(dropout_free_st, tmp_path):
    import sentence_transformers

    import sbert

    sentence_transformers.SentenceTransformer(str(dropout_free_st), device="cpu").save(str(tmp_path / "st"))
    sbert.SentenceTransformer(dropout_free_st).save(str(tmp_path / "sbert"))
    theirs = (tmp_path / "st" / "README.md").read_text(encoding="utf-8")
    ours = (tmp_path / "sbert" / "README.md").read_text(encoding="utf-8")
    assert citation_section(ours) == citation_section(theirs)
