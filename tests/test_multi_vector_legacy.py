"""MultiVectorEncoder loads the ColBERT checkpoints older than sentence-transformers' own format, as
sentence-transformers 6.3 loads them: PyLate's (``model_type: "ColBERT"`` of PyLate 3, earlier saves without a
``model_type``, later ones as a ``"SentenceTransformer"``; only [Transformer, pylate Dense] in modules.json,
the settings at the top of config_sentence_transformers.json) and Stanford-NLP ColBERT's (``HF_ColBERT``, the
projection as ``linear.weight``, ``artifact.metadata``). Same modules, prompts, prefix tokens, skiplist and
similarity, so encode_query / encode_document / similarity agree within 1e-5; a save is sentence-transformers
6.3's format, which it loads back with the same outputs; broken old configs raise ModelLoadError naming the
file and the field.

The checkpoints are written here by hand as PyLate and Stanford-NLP write them, around a tiny random BERT.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert

import sbert
from sbert import ModelLoadError

TOL = 1e-5
QUERIES = ["what is the weather like", "who drove to the stadium?", "a cat"]
DOCUMENTS = [
    "The weather is lovely today. It's so sunny outside!",
    "He drove to the stadium, (fast); the car was red.",
    "The cat sat on the mat, and the dog ran in the house!",
    "a",
]
HIDDEN, DIM = 32, 16
CONFIG, METADATA = "config_sentence_transformers.json", "artifact.metadata"
ST_VERSION = {"sentence_transformers": "3.4.1", "transformers": "4.48.3", "pytorch": "2.5.1"}


def _encoder(folder: Path, extra_tokens: list[str]) -> tuple[Path, dict]:
    """The tiny BERT with every punctuation mark (a real vocabulary has them) and ``extra_tokens`` in its
    WordPiece vocabulary, its embeddings grown to match: the encoder's folder and its state dict."""
    from transformers import BertModel

    base = build_tiny_bert(folder.parent / f"{folder.name}-base")
    tokenizer = json.loads((base / "tokenizer.json").read_text())
    vocab = tokenizer["model"]["vocab"]
    for token in [*string.punctuation, *extra_tokens]:
        vocab.setdefault(token, len(vocab))
    folder.mkdir(parents=True)
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    (folder / "tokenizer_config.json").write_text((base / "tokenizer_config.json").read_text())
    model = BertModel.from_pretrained(base)
    torch.manual_seed(3)
    model.resize_token_embeddings(len(vocab), mean_resizing=False)
    return folder, model


def _projection(seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randn(DIM, HIDDEN)


def _write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))


def build_pylate(folder: Path, config: dict, *, transformer_type: str, dense_config: dict) -> Path:
    """A PyLate save: the encoder at the root with "[Q] " / "[D] " added to its tokenizer (PyLate's
    ``tokenizer.add_tokens``, embeddings resized), ``1_Dense`` of PyLate's Dense and PyLate's top-level
    settings in config_sentence_transformers.json."""
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    folder, model = _encoder(folder, [])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.add_tokens(["[Q] ", "[D] "])
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": 40, "do_lower_case": False})
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": transformer_type},
            {"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense.Dense"},
        ],
    )
    _write_json(folder / "1_Dense" / "config.json", dense_config)
    save_file({"linear.weight": _projection(5)}, folder / "1_Dense" / "model.safetensors")
    _write_json(folder / "config_sentence_transformers.json", config)
    return folder


def build_stanford(folder: Path, metadata: dict | None) -> Path:
    """A Stanford-NLP ColBERT checkpoint: ``HF_ColBERT`` in config.json, the encoder's weights under ``bert.``
    with the projection ``linear.weight`` beside them, the ``[unused0]`` / ``[unused1]`` markers in the
    vocabulary and, when given, ``artifact.metadata``."""
    from safetensors.torch import save_file

    folder, model = _encoder(folder, ["[unused0]", "[unused1]"])
    weights = {f"bert.{name}": value.contiguous() for name, value in model.state_dict().items()}
    save_file({**weights, "linear.weight": _projection(7)}, folder / "model.safetensors", {"format": "pt"})
    _write_json(folder / "config.json", {**model.config.to_dict(), "architectures": ["HF_ColBERT"]})
    if metadata is not None:
        _write_json(folder / "artifact.metadata", metadata)
    return folder


PYLATE_SETTINGS = {
    "query_prefix": "[Q] ",
    "document_prefix": "[D] ",
    "query_length": 12,
    "document_length": 20,
    "attend_to_expansion_tokens": False,
    "skiplist_words": list(string.punctuation),
}
OLD_DENSE = {"in_features": HIDDEN, "out_features": DIM, "bias": False}
OLD_DENSE["activation_function"] = "torch.nn.modules.linear.Identity"
# What each checkpoint is, and what loading it gives (prompts, query expansion, query_length, skiplist size)
CHECKPOINTS = {
    # PyLate 3: model_type "ColBERT", only [Transformer, Dense]; the mask and Normalize are added on load
    "pylate-3": (
        lambda folder: build_pylate(
            folder,
            {"model_type": "ColBERT", "__version__": ST_VERSION, "prompts": {}}
            | {"similarity_fn_name": "MaxSim"}
            | PYLATE_SETTINGS
            | {"do_query_expansion": True},
            transformer_type="sentence_transformers.models.Transformer",
            dense_config=OLD_DENSE,
        ),
        {"query": "[Q] ", "document": "[D] "},
        {"strategy": "fixed", "attend": False, "token": None, "length": 12},
        None,
        len(string.punctuation),
    ),
    # an earlier PyLate save: no model_type (a SentenceTransformer's folder, converted), no skiplist_words
    # (PyLate's punctuation), expansion tokens attended, a saved prompt the prefix goes before
    "pylate-1": (
        lambda folder: build_pylate(
            folder,
            {"__version__": ST_VERSION, "prompts": {"query": "search: "}, "default_prompt_name": None}
            | {k: v for k, v in PYLATE_SETTINGS.items() if k != "skiplist_words"}
            | {"attend_to_expansion_tokens": True, "similarity_fn_name": "MaxSim"},
            transformer_type="sentence_transformers.models.Transformer",
            dense_config=OLD_DENSE,
        ),
        {"query": "[Q] search: ", "document": "[D] "},
        {"strategy": "fixed", "attend": True, "token": None, "length": 12},
        None,
        len(string.punctuation),
    ),
    # a later PyLate save, on sentence-transformers 6: a "SentenceTransformer" with the 6.x type names and
    # Dense options, query expansion off (query_length then caps queries), its own skiplist
    "pylate-st6": (
        lambda folder: build_pylate(
            folder,
            {"model_type": "SentenceTransformer", "__version__": ST_VERSION, "prompts": {}}
            | PYLATE_SETTINGS
            | {"query_length": 10, "do_query_expansion": False, "skiplist_words": [".", ",", "!"]},
            transformer_type="sentence_transformers.base.modules.transformer.Transformer",
            dense_config=OLD_DENSE | {"module_input_name": "token_embeddings", "use_residual": False},
        ),
        {"query": "[Q] ", "document": "[D] "},
        None,
        10,
        3,
    ),
    "stanford": (
        lambda folder: build_stanford(
            folder,
            {
                "query_token_id": "[unused0]",
                "doc_token_id": "[unused1]",
                "query_maxlen": 12,
                "doc_maxlen": 20,
                "mask_punctuation": True,
                "attend_to_mask_tokens": False,
                "dim": DIM,
                "similarity": "cosine",
            },
        ),
        {"query": "[unused0] ", "document": "[unused1] "},
        {"strategy": "fixed", "attend": False, "token": None, "length": 12},
        None,
        len(string.punctuation),
    ),
    # no artifact.metadata: ColBERT's defaults (queries 32 wide, the punctuation skiplist)
    "stanford-bare": (
        lambda folder: build_stanford(folder, None),
        {"query": "[unused0] ", "document": "[unused1] "},
        {"strategy": "fixed", "attend": False, "token": None, "length": 32},
        None,
        len(string.punctuation),
    ),
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("legacy-colbert")
    return {name: spec[0](root / name) for name, spec in CHECKPOINTS.items()}


def _reference(folder, **options):
    from sentence_transformers import MultiVectorEncoder

    return MultiVectorEncoder(str(folder), device="cpu", **options)


def _both(folder, **options):
    return sbert.MultiVectorEncoder(str(folder), device="cpu", **options), _reference(folder, **options)


def _assert_same(ours, reference):
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=TOL)


def _assert_same_outputs(ours, reference) -> None:
    queries, documents = ours.encode_query(QUERIES), ours.encode_document(DOCUMENTS)
    _assert_same(queries, reference.encode_query(QUERIES))
    _assert_same(documents, reference.encode_document(DOCUMENTS))
    expected = reference.similarity(queries, documents)
    torch.testing.assert_close(ours.similarity(queries, documents), expected, atol=TOL, rtol=0)


@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_loads_as_sentence_transformers(checkpoints, name):
    _, prompts, expansion, query_length, skipped = CHECKPOINTS[name]
    ours, reference = _both(checkpoints[name])
    assert ours.prompts == reference.prompts and ours.prompts == prompts
    assert [type(m).__name__ for m in ours] == ["Transformer", "Dense", "MultiVectorMask", "Normalize"]
    assert [type(m).__name__ for m in reference] == ["Transformer", "Dense", "MultiVectorMask", "Normalize"]
    assert ours[0].query_expansion == reference[0].query_expansion == expansion
    assert ours[0].query_length == reference[0].query_length == query_length
    assert ours[0].document_length == reference[0].document_length
    assert ours[2].skiplist_words == reference[2].skiplist_words and len(ours[2].skiplist_words) == skipped
    assert ours.similarity_fn_name == reference.similarity_fn_name == "maxsim"
    # the prefix stays one token (PyLate and ColBERT inserted it as one), as sentence-transformers keeps it
    prefix = prompts["query"].split()[0]
    assert ours.tokenizer.tokenize(prompts["query"] + "a cat")[0].strip() == prefix
    assert reference.tokenizer.tokenize(prompts["query"] + "a cat")[0].strip() == prefix
    _assert_same_outputs(ours, reference)


@pytest.mark.parametrize("name", ["pylate-1", "stanford"])
def test_saves_sentence_transformers_format(checkpoints, name, tmp_path):
    """A save is sentence-transformers 6.3's own MultiVectorEncoder format: it (and sbert) load it back with
    the same outputs, prefixes still single tokens, no trace of the old format left."""
    ours = sbert.MultiVectorEncoder(str(checkpoints[name]), device="cpu")
    ours.save(tmp_path / "saved")
    config = json.loads((tmp_path / "saved" / CONFIG).read_text())
    assert config["model_type"] == "MultiVectorEncoder" and "query_prefix" not in config
    types = [entry["type"] for entry in json.loads((tmp_path / "saved" / "modules.json").read_text())]
    assert not any(t.startswith("pylate") for t in types) and len(types) == 4
    for again in _both(tmp_path / "saved"):
        assert again.prompts == ours.prompts
        assert again[0].query_expansion == ours[0].query_expansion
        _assert_same_outputs(ours, again)


def test_caller_settings_win(checkpoints):
    """The caller's prompts and similarity go over the checkpoint's, as in sentence-transformers."""
    options = {"prompts": {"query": "[unused0] q: "}, "similarity_fn_name": "meanmaxsim"}
    ours, reference = _both(checkpoints["stanford"], **options)
    assert ours.prompts == reference.prompts and ours.similarity_fn_name == "meanmaxsim"
    _assert_same_outputs(ours, reference)


def test_sentence_transformer_folder_converted(checkpoints, tmp_path):
    """A SentenceTransformer's folder (Transformer, Pooling, a Dense saved before ``module_input_name``,
    Normalize) becomes a multi-vector model as sentence-transformers converts it: no pooling, the Dense on the
    tokens, then a mask (no skiplist) and a token Normalize; the saved prompts kept, MaxSim scoring."""
    from conftest import classic_pooling, write_st_folder

    dense = {"in_features": HIDDEN, "out_features": DIM, "bias": True}
    dense["activation_function"] = "torch.nn.modules.activation.Tanh"
    encoder = tmp_path / "encoder"
    encoder.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        (encoder / name).write_bytes((checkpoints["pylate-1"] / name).read_bytes())
    folder = write_st_folder(
        encoder, tmp_path / "st", classic_pooling(HIDDEN, "mean"), normalize=True, dense=dense
    )
    _write_json(folder / CONFIG, {"prompts": {"query": "query: "}, "similarity_fn_name": "cosine"})
    ours, reference = _both(folder)
    assert [type(m).__name__ for m in ours] == ["Transformer", "Dense", "MultiVectorMask", "Normalize"]
    assert ours[1].module_input_name == reference[1].module_input_name == "token_embeddings"
    assert ours[2].skiplist_words == reference[2].skiplist_words == []
    assert ours.prompts == reference.prompts and ours.similarity_fn_name == reference.similarity_fn_name
    _assert_same_outputs(ours, reference)


def test_pylate_settings_in_a_multi_vector_encoder_save(checkpoints, tmp_path):
    """A MultiVectorEncoder save whose config holds PyLate's flat settings instead of ``query_expansion``
    (and a Dense config without ``module_input_name``) loads as sentence-transformers reads it."""
    _reference(checkpoints["stanford"]).save(str(tmp_path / "saved"))
    folder = tmp_path / "saved"
    transformer = json.loads((folder / "sentence_bert_config.json").read_text())
    del transformer["query_expansion"]
    _write_json(folder / "sentence_bert_config.json", transformer)
    config = json.loads((folder / CONFIG).read_text())
    _write_json(folder / CONFIG, config | {"query_length": 10, "attend_to_expansion_tokens": True})
    dense = json.loads((folder / "1_Dense" / "config.json").read_text())
    _write_json(folder / "1_Dense" / "config.json", {k: v for k, v in dense.items() if "module" not in k})
    ours, reference = _both(folder)
    expansion = {"strategy": "fixed", "attend": True, "token": None, "length": 10}
    assert ours[0].query_expansion == reference[0].query_expansion == expansion
    assert ours[1].module_input_name == reference[1].module_input_name == "token_embeddings"
    _assert_same_outputs(ours, reference)


def _broken_copy(source: Path, target: Path, file: str, change: dict) -> Path:
    import shutil

    shutil.copytree(source, target)
    path = target / file
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    return target


@pytest.mark.parametrize(
    ("name", "file", "change", "message"),
    [
        ("pylate-3", CONFIG, {"query_length": "32"}, "query_length must be"),
        ("pylate-3", CONFIG, {"document_length": 0}, "document_length must be"),
        ("pylate-1", CONFIG, {"skiplist_words": "!?"}, "skiplist_words must"),
        ("pylate-1", CONFIG, {"query_prefix": 1}, "query_prefix must be"),
        ("pylate-3", CONFIG, {"do_query_expansion": "yes"}, "do_query_expansion"),
        (
            "pylate-3",
            CONFIG,
            {"query_expansion": {"strategy": "bogus", "length": 8}},
            "query_expansion",
        ),
        ("stanford", METADATA, {"query_maxlen": -1}, "query_maxlen must be"),
        ("stanford", METADATA, {"doc_token_id": 1}, "doc_token_id must be"),
    ],
)
def test_bad_legacy_config_raises(checkpoints, tmp_path, name, file, change, message):
    broken = _broken_copy(checkpoints[name], tmp_path / "broken", file, change)
    with pytest.raises(ModelLoadError, match=message) as raised:
        sbert.MultiVectorEncoder(str(broken), device="cpu")
    assert file in str(raised.value)


def test_corrupt_stanford_files_raise(checkpoints, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    broken = tmp_path / "metadata"
    shutil.copytree(checkpoints["stanford"], broken)
    (broken / "artifact.metadata").write_text("{not json")
    with pytest.raises(ModelLoadError, match="artifact.metadata is not valid JSON"):
        sbert.MultiVectorEncoder(str(broken), device="cpu")
    no_projection = tmp_path / "projection"
    shutil.copytree(checkpoints["stanford"], no_projection)
    weights = load_file(no_projection / "model.safetensors")
    del weights["linear.weight"]
    save_file(weights, no_projection / "model.safetensors", {"format": "pt"})
    with pytest.raises(ModelLoadError, match=r"model.safetensors has no 2-D linear.weight"):
        sbert.MultiVectorEncoder(str(no_projection), device="cpu")
