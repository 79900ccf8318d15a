"""StaticEmbedding against sentence-transformers 6.3 side by side: the module's tokenizer answers
``tokenizers.Tokenizer``'s calls as ST's bare one does, the module shows ST's ``num_embeddings`` /
``embedding_dim``, a text model refuses chat messages in ST's words, and MNRL training logs ST's losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sbert

TEXTS = ["hello world", "the cat sat", ""]
MESSAGES = [
    [[{"role": "user", "content": "hello"}]],  # one conversation in a batch
    [{"role": "user", "content": "hello"}],  # a conversation as one input
    {"role": "user", "content": "hello"},  # one message
    ["hello", [{"role": "user", "content": "hello"}]],  # mixed with a text
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """ST's StaticEmbedding and sbert's on one table and one tiny WordPiece tokenizer."""
    from conftest import build_tiny_bert
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(build_tiny_bert(tmp_path_factory.mktemp("bert")))
    table = torch.randn(
        tokenizer.backend_tokenizer.get_vocab_size(), 8, generator=torch.Generator().manual_seed(0)
    )
    return StaticEmbedding(tokenizer, embedding_weights=table.clone()), sbert.StaticEmbedding(
        tokenizer, table.clone()
    )


TOKENIZER_CALLS = {
    "get_vocab_size": lambda t: t.get_vocab_size(),
    "encode": lambda t: t.encode("hello world").ids,
    "encode_plain": lambda t: t.encode("hello world", add_special_tokens=False).ids,
    "encode_batch": lambda t: [e.ids for e in t.encode_batch(TEXTS, add_special_tokens=False)],
    "token_to_id": lambda t: t.token_to_id("the"),
    "id_to_token": lambda t: t.id_to_token(5),
    "decode": lambda t: t.decode([5, 39]),
    "padding": lambda t: t.padding,
    "truncation": lambda t: t.truncation,
    "to_str": lambda t: t.to_str(),
    "normalizer": lambda t: type(t.normalizer).__name__,
}


@pytest.mark.parametrize("call", sorted(TOKENIZER_CALLS))
def test_tokenizer_answers_as_sentence_transformers_bare_tokenizer(pair, call):
    reference, ours = pair
    assert TOKENIZER_CALLS[call](ours.tokenizer) == TOKENIZER_CALLS[call](reference.tokenizer)


def test_tokenizer_of_a_saved_model_on_the_static_backend(pair, tmp_path):
    reference, ours = pair
    sbert.SentenceTransformer(modules=[ours]).save(tmp_path / "m")
    loaded = sbert.SentenceTransformer(tmp_path / "m")
    assert loaded.backend == "static"
    for call in ("get_vocab_size", "encode", "encode_batch"):
        assert TOKENIZER_CALLS[call](loaded.tokenizer) == TOKENIZER_CALLS[call](reference.tokenizer)
    np.testing.assert_allclose(
        loaded.encode(TEXTS),
        reference(reference.preprocess(TEXTS))["sentence_embedding"].detach().numpy(),
        atol=1e-6,
    )


def test_table_sizes_as_attributes(pair):
    reference, ours = pair
    assert (ours.num_embeddings, ours.embedding_dim) == (reference.num_embeddings, reference.embedding_dim)


@pytest.mark.parametrize("inputs", MESSAGES, ids=["batch", "conversation", "message", "mixed"])
def test_chat_messages_refused_in_sentence_transformers_words(pair, inputs):
    import sentence_transformers as st

    reference, ours = pair
    with pytest.raises(ValueError) as expected:
        st.SentenceTransformer(modules=[reference], device="cpu").encode(inputs)
    with pytest.raises(
        sbert.InputError, match=f"^{expected.value.args[0]}$".replace("(", r"\(").replace(")", r"\)")
    ):
        sbert.SentenceTransformer(modules=[ours]).encode(inputs)


def test_mnrl_training_logs_sentence_transformers_losses(pair, tmp_path):
    import sentence_transformers as st
    from datasets import Dataset
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    data = Dataset.from_dict(
        {
            "anchor": ["hello world", "the cat sat", "a dog", "good"],
            "positive": ["world", "cat sat", "dog", "a"],
        }
    )
    reference, ours = pair
    logged = []
    for lib, module in ((st, type(reference)), (sbert, sbert.StaticEmbedding)):
        model = lib.SentenceTransformer(
            modules=[module(reference.tokenizer, reference.embedding.weight.detach().clone())]
        )
        args = lib.SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / lib.__name__),
            per_device_train_batch_size=4,
            num_train_epochs=2,
            learning_rate=0.1,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
        )
        loss = (MultipleNegativesRankingLoss if lib is st else sbert.MultipleNegativesRankingLoss)(model)
        trainer = lib.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
        trainer.train()
        logged.append([h["loss"] for h in trainer.state.log_history if "loss" in h])
    np.testing.assert_allclose(logged[1], logged[0], rtol=1e-6)
