"""Whether sbert's tokenizer gives ``token_type_ids`` follows the class transformers 5's ``AutoTokenizer``
loads, against sentence-transformers 6.3: a folder whose tokenizer_config.json names no class gets its model
type's (config.json: bert -> BertTokenizer, which makes them; roberta -> RobertaTokenizer, which does not),
for ``model.tokenizer(a, b)``, ``preprocess`` keys and the numbers of SentenceTransformer, CrossEncoder,
SparseEncoder and MultiVectorEncoder on torch and ONNX; folders that name their class keep it."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import WORDS, build_tiny_bert, copy_tokenizer_files, with_tokenizer_class

import sbert

TEXTS = ["a cat sits on the mat", "hello world"]
PAIRS = [("a cat sits", "the dog runs far away"), ("hello", "world is big")]
SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
# model_type -> (transformers config class, the tokenizer class its folders name, extra config values)
FAMILIES = {
    "bert": ("BertConfig", "BertTokenizer", {}),
    "roberta": ("RobertaConfig", "RobertaTokenizer", {"pad_token_id": 1}),
    "distilbert": ("DistilBertConfig", "DistilBertTokenizer", {}),
    "mpnet": ("MPNetConfig", "MPNetTokenizer", {}),
    "electra": ("ElectraConfig", "ElectraTokenizer", {"embedding_size": 32}),
    "deberta-v2": ("DebertaV2Config", "BertTokenizer", {}),
}
TASKS = {"st": "AutoModel", "ce": "AutoModelForSequenceClassification", "sparse": "AutoModelForMaskedLM"}


def _roberta_tokenizer(folder):
    """A byte-level BPE (RoBERTa's own kind of file), trained on the test words."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(WORDS + TEXTS * 3, vocab_size=300, special_tokens=specials, show_progress=False)
    bpe.save_model(str(folder))
    fast = RobertaTokenizerFast(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=64)
    (folder / "vocab.json").unlink()
    (folder / "merges.txt").unlink()
    fast.save_pretrained(folder)
    return len(fast)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """(family, task, named) -> a tiny Hugging Face folder; ``named``: tokenizer_config.json names the
    family's class (else no tokenizer_class at all)."""
    import torch
    import transformers

    root = tmp_path_factory.mktemp("tokclass")
    bert = build_tiny_bert(root / "tiny-bert")
    made = {}

    def make(family: str, task: str, named: bool):
        key = (family, task, named)
        if key not in made:
            config_class, class_name, extra = FAMILIES[family]
            folder = root / f"{family}-{task}-{named}"
            folder.mkdir()
            if family == "roberta":
                vocab = _roberta_tokenizer(folder)
            else:
                copy_tokenizer_files(bert, folder)
                vocab = json.loads((bert / "config.json").read_text())["vocab_size"]
            distil = {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64}
            sizes = distil if family == "distilbert" else SIZES
            config = getattr(transformers, config_class)(
                vocab_size=vocab,
                max_position_embeddings=72,
                num_labels=1,
                initializer_range=0.2,
                **sizes,
                **extra,
            )
            torch.manual_seed(3)
            getattr(transformers, TASKS[task]).from_config(config).eval().save_pretrained(folder)
            made[key] = with_tokenizer_class(folder, class_name if named else None)
        return made[key]

    return make


def _keys(features) -> list[str]:
    return [key for key in features if key != "modality"]


def _preprocess_keys(model, inputs) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tokenize's deprecation notice
        return _keys(model.preprocess(inputs))


def _same_calls(ours, reference) -> None:
    """``model.tokenizer`` called as transformers' tokenizer is: keys and values."""
    for args in (("a cat sits", "the dog"), (TEXTS,)):
        assert dict(ours.tokenizer(*args)) == dict(reference.tokenizer(*args))
    assert ours.tokenizer.model_input_names == reference.tokenizer.model_input_names


# DeBERTa-v2 only as its hub folders name BertTokenizer: without a class, transformers' DebertaV2Tokenizer
# cannot read the tiny BERT's WordPiece file (sentence-transformers fails to load it).
@pytest.mark.parametrize(
    ("family", "named"), [(f, n) for f in FAMILIES for n in (False, True) if (f, n) != ("deberta-v2", False)]
)
def test_sentence_transformer(folders, family, named):
    from sentence_transformers import SentenceTransformer

    folder = str(folders(family, "st", named))
    reference = SentenceTransformer(folder)
    ours = sbert.SentenceTransformer(folder)
    _same_calls(ours, reference)
    assert _preprocess_keys(ours, TEXTS) == _preprocess_keys(reference, TEXTS)  # read by the encoder or not
    np.testing.assert_allclose(ours.encode(TEXTS), reference.encode(TEXTS), atol=1e-5)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("named", [False, True])
@pytest.mark.parametrize("family", ["bert", "roberta", "electra"])
def test_cross_encoder_pairs(folders, family, named, backend):
    from sentence_transformers import CrossEncoder

    folder = str(folders(family, "ce", named))
    reference = CrossEncoder(folder)
    ours = sbert.CrossEncoder(folder, backend=backend)
    np.testing.assert_allclose(ours.predict(PAIRS), reference.predict(PAIRS), atol=1e-5)
    assert _preprocess_keys(ours, PAIRS) == _preprocess_keys(reference, PAIRS)
    assert dict(ours.tokenizer(*zip(*PAIRS))) == dict(reference.tokenizer(*map(list, zip(*PAIRS))))


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("named", [False, True])
@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_sparse_encoder(folders, family, named, backend):
    from sentence_transformers import SparseEncoder

    folder = str(folders(family, "sparse", named))
    reference = SparseEncoder(folder)
    ours = sbert.SparseEncoder(folder, backend=backend)
    expected = reference.encode(TEXTS, convert_to_tensor=True).to_dense().numpy()
    got = ours.encode(TEXTS, convert_to_tensor=True).to_dense().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert _preprocess_keys(ours, TEXTS) == _preprocess_keys(reference, TEXTS)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("named", [False, True])
@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_multi_vector_encoder(folders, family, named, backend):
    from sentence_transformers import MultiVectorEncoder

    folder = folders(family, "st", named)
    saved = folder.parent / f"{folder.name}-multi-vector"
    if not saved.exists():  # the random projection a plain folder gets, saved once by sentence-transformers
        MultiVectorEncoder(str(folder), device="cpu").save(str(saved))
        with_tokenizer_class(
            saved, FAMILIES[family][1] if named else None
        )  # its save names the class it loaded
    reference = MultiVectorEncoder(str(saved), device="cpu")
    ours = sbert.MultiVectorEncoder(str(saved), device="cpu", backend=backend)
    assert _preprocess_keys(ours, TEXTS) == _preprocess_keys(reference, TEXTS)
    for got, expected in zip(ours.encode(TEXTS), reference.encode(TEXTS)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=1e-5)


def test_no_class_follows_the_model_type(folders):
    """makes_token_types' "no class named" branch is decided by the class AutoTokenizer loads."""
    from sbert._tokens.hf_methods import makes_token_types
    from sbert._tokens.tokenizer import TextTokenizer

    bert = TextTokenizer.from_folder(folders("bert", "st", False))
    roberta = TextTokenizer.from_folder(folders("roberta", "st", False))
    assert (bert.tokenizer_class, bert.loaded_class, makes_token_types(bert)) == (None, "BertTokenizer", True)
    assert (roberta.tokenizer_class, makes_token_types(roberta)) == (None, False)
