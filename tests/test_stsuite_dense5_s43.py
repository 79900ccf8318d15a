"""Scenarios of sentence-transformers' own test suite (part 5: the losses' and the CNN / WordEmbeddings /
StaticEmbedding modules' tests) run against sbert and sentence-transformers 6.3 on the same inputs.

sentence-transformers 6.3's Pooling pools over every token where the features hold no attention mask of the
token axis's width: a strided or even-kernel CNN shortens that axis, and a pipeline fed ``sentence_lengths``
only has no mask at all."""

from __future__ import annotations

import pytest
import sentence_transformers as st
import sentence_transformers.sentence_transformer.modules as st_modules
import torch
from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer as StWhitespace

import sbert
import sbert.sentence_transformer.modules as sb_modules
from sbert.sentence_transformer.modules.tokenizer import WhitespaceTokenizer as SbWhitespace

VOCAB = ["<pad>", "a", "b", "c", "d", "e", "f"]


def _unit_cnn(modules, kernel_sizes, stride_sizes):
    """A CNN whose every kernel copies its centre token and adds 0.25."""
    cnn = modules.CNN(1, out_channels=1, kernel_sizes=kernel_sizes, stride_sizes=stride_sizes)
    with torch.no_grad():
        for conv in cnn.convs:
            conv.weight.zero_()
            conv.weight[:, :, (conv.kernel_size[0] - 1) // 2] = 1
            conv.bias.fill_(0.25)
    return cnn


def _cnn_model(library, modules, whitespace, kernel_sizes, stride_sizes):
    words = modules.WordEmbeddings(
        whitespace(vocab=VOCAB, stop_words=[]), torch.arange(len(VOCAB), dtype=torch.float32).unsqueeze(1)
    )
    cnn = _unit_cnn(modules, kernel_sizes, stride_sizes)
    return library.SentenceTransformer(modules=[words, cnn, modules.Pooling(2, "mean")], device="cpu")


@pytest.mark.parametrize(
    ("kernel_sizes", "stride_sizes", "short"),
    [([1, 3], [2, 2], "a b"), ([2, 4], [1, 1], "a b c"), ([2, 4], [2, 2], "a b c")],
    ids=["strided", "even-kernel", "strided-even-kernel"],
)
def test_cnn_that_changes_the_token_count_encodes_as_sentence_transformers(kernel_sizes, stride_sizes, short):
    """WordEmbeddings -> CNN -> Pooling: where the CNN's output is shorter or longer than the attention mask,
    sentence-transformers 6.3 pools every output token (sbert raised 'The size of tensor a (3) must match the
    size of tensor b (5)')."""
    ours = _cnn_model(sbert, sb_modules, SbWhitespace, kernel_sizes, stride_sizes)
    theirs = _cnn_model(st, st_modules, StWhitespace, kernel_sizes, stride_sizes)
    for texts in ([short], [short, "a b c d e"]):
        torch.testing.assert_close(
            ours.encode(texts, batch_size=2, convert_to_tensor=True),
            theirs.encode(texts, batch_size=2, convert_to_tensor=True),
        )


@pytest.mark.parametrize("with_mask", [False, True])
def test_pooling_without_a_mask_of_the_token_width_pools_every_token(with_mask):
    """Features with ``sentence_lengths`` and no attention mask (an LSTM / CNN pipeline fed by hand), or a
    mask of another width: every token is pooled, as there (sbert raised KeyError 'attention_mask')."""
    tokens = torch.tensor([[[1.0], [2.0], [3.0]], [[4.0], [6.0], [9.0]]])
    outputs = []
    for modules in (sb_modules, st_modules):
        features = {"token_embeddings": tokens.clone(), "sentence_lengths": torch.tensor([3, 2])}
        if with_mask:
            features["attention_mask"] = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]])
        pooled = {}
        for mode in ("mean", "max", "cls", "lasttoken", "mean_sqrt_len_tokens", "weightedmean"):
            pooled[mode] = modules.Pooling(1, mode)(dict(features))["sentence_embedding"]
        outputs.append(pooled)
    for mode, value in outputs[1].items():
        torch.testing.assert_close(outputs[0][mode], value, msg=mode)


@pytest.mark.parametrize("features_kind", ["lengths-only", "mask-only", "both"])
def test_lstm_reads_sentence_lengths_and_keeps_the_token_width(features_kind):
    """sentence-transformers' LSTM packs each row by ``sentence_lengths`` and unpacks to the input's width, so
    a mask wider than the longest text still lines up with its output for Pooling (sbert unpacked to the
    longest text, (2, 4, 4) for (2, 6, 4), and read the lengths off the mask: KeyError 'attention_mask'
    without one). A mask alone (a Transformer before the LSTM) still gives the lengths in sbert, where
    sentence-transformers raises KeyError 'sentence_lengths': compared with its result given both."""
    tokens = torch.arange(12, dtype=torch.float32).reshape(2, 6, 1)
    lengths = torch.tensor([2, 4])
    mask = (torch.arange(6) < lengths[:, None]).long()  # wider than the longest text
    torch.manual_seed(4)
    theirs = st_modules.LSTM(1, hidden_dim=2)
    ours = sb_modules.LSTM(1, hidden_dim=2)
    ours.load_state_dict(theirs.state_dict())
    outputs = []
    for modules, lstm in ((sb_modules, ours), (st_modules, theirs)):
        features = {"token_embeddings": tokens.clone()}
        if features_kind != "mask-only" or modules is st_modules:
            features["sentence_lengths"] = lengths
        if features_kind != "lengths-only":
            features["attention_mask"] = mask
        with torch.no_grad():
            out = lstm(features)
            outputs.append((out["token_embeddings"], modules.Pooling(4, "mean")(out)["sentence_embedding"]))
    torch.testing.assert_close(outputs[0], outputs[1])
