"""The other module types (WordEmbeddings, WordWeights, LayerNorm, Dropout, WeightedLayerPooling, CNN,
LSTM): tiny models built with sentence-transformers load in sbert with equal embeddings and losses, save
back in sentence-transformers' layout, train, and show in the model card."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import classic_pooling

import sbert
from sbert._tokens.whitespace import ENGLISH_STOP_WORDS

VOCAB = [
    "PADDING_TOKEN", "weather", "lovely", "today", "sunny", "outside", "cat", "sat", "mat", "dog", "ran",
    "house", "big", "red", "ball", "drove", "stadium", "The", "It's", "guitar", "plays", "man",
]  # fmt: skip
TEXTS = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "",
    "cat",
    "The cat sat on the mat and the dog ran in the house with a big red ball",
    "Unknown wörds 🙂 CAT, dog... (weather)",
]
PAIRS = [
    ("the cat sat on the mat", "a dog ran in the house", 0.2),
    ("a man plays guitar", "the man plays a big guitar", 0.9),
    ("lovely weather today", "sunny outside", 0.7),
    ("a red ball", "the stadium", 0.1),
]
# The module each model is about, and its index in the pipeline.
KINDS = {
    "WordWeights": 1,
    "LSTM": 1,
    "CNN": 1,
    "WeightedLayerPooling": 1,
    "LayerNorm": 2,
    "Dropout": 3,
}


def _randomize(module: torch.nn.Module, seed: int) -> None:
    """Weights far from their initial values, so a load that ignores them shows."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5 + 0.2)


def _reference_modules(kind: str, bert: Path) -> list:
    from sentence_transformers.sentence_transformer import modules as models
    from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

    torch.manual_seed(0)
    if kind in ("WordWeights", "LSTM"):  # the GloVe average baseline, and an LSTM over word vectors
        words = models.WordEmbeddings(WhitespaceTokenizer(VOCAB), torch.randn(len(VOCAB), 8), kind == "LSTM")
        if kind == "WordWeights":
            weights = models.WordWeights(VOCAB, {"weather": 2.0, "cat": 0.5, "dog": 3.0, "The": 0.1}, 0.7)
            return [words, weights, models.Pooling(8, "mean")]
        return [words, models.LSTM(8, 6), models.Pooling(12, "mean")]
    transformer = models.Transformer(str(bert))
    if kind == "CNN":
        return [transformer, models.CNN(32, 4, [1, 3, 5]), models.Pooling(12, "mean")]
    if kind == "WeightedLayerPooling":
        transformer.auto_model.config.output_hidden_states = True
        return [transformer, models.WeightedLayerPooling(32, 2, 1), models.Pooling(32, "mean")]
    return [transformer, models.Pooling(32, "mean"), models.LayerNorm(32), models.Dropout(0.25)]


@pytest.fixture(scope="session")
def reference_folders(tiny_bert, tmp_path_factory) -> dict[str, Path]:
    """One model per kind, built and saved by sentence-transformers (LayerNorm and Dropout share one)."""
    from sentence_transformers import SentenceTransformer as Reference

    folders = {}
    for kind, index in KINDS.items():
        if kind == "Dropout":
            folders[kind] = folders["LayerNorm"]
            continue
        modules = _reference_modules(kind, tiny_bert)
        _randomize(modules[index], seed=len(folders))
        folders[kind] = tmp_path_factory.mktemp("reference") / kind
        Reference(modules=modules, device="cpu").save(str(folders[kind]))
    return folders


def _reference(folder: Path):
    from sentence_transformers import SentenceTransformer as Reference

    return Reference(str(folder), device="cpu")


@pytest.mark.parametrize("kind", KINDS)
def test_reference_model_loads_with_equal_embeddings(kind, reference_folders):
    model = sbert.SentenceTransformer(reference_folders[kind], device="cpu")  # backend auto: torch
    assert model.backend == "torch" and type(model[KINDS[kind]]).__name__ == kind
    expected = _reference(reference_folders[kind]).encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=1e-5, rtol=0)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and "onnx" not in p.parts}


def _module_configs(folder: Path) -> dict[str, dict]:
    """The modules' config files, in a form that does not depend on who wrote them."""
    configs = {}
    for path in folder.rglob("*.json"):
        name = str(path.relative_to(folder))
        if path.parent == folder and name not in (
            "wordembedding_config.json",
            "whitespacetokenizer_config.json",
        ):
            continue  # the encoder's and the model's own files
        if "Pooling" in path.parent.name and "Weighted" not in path.parent.name:
            continue  # sbert writes the classic pooling config (tested elsewhere)
        config = json.loads(path.read_text())
        config.pop("tokenizer_class", None)  # each library writes its own spelling of the class path
        if "stop_words" in config:
            config["stop_words"] = sorted(config["stop_words"])  # a set, saved in any order
        configs[name] = config
    return configs


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "Dropout"])
def test_saved_model_has_the_reference_layout_and_loads_in_sentence_transformers(
    kind, reference_folders, tmp_path
):
    model = sbert.SentenceTransformer(reference_folders[kind], device="cpu")
    model.save(tmp_path / "saved")
    saved, original = tmp_path / "saved", reference_folders[kind]
    assert _files(saved) == _files(original)
    assert _module_configs(saved) == _module_configs(original)
    entries = json.loads((saved / "modules.json").read_text())
    reference_entries = json.loads((original / "modules.json").read_text())
    assert [e["path"] for e in entries] == [e["path"] for e in reference_entries]
    assert [e["type"].rsplit(".", 1)[-1] for e in entries] == [
        e["type"].rsplit(".", 1)[-1] for e in reference_entries
    ]
    reloaded = _reference(saved).encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(reloaded, model.encode(TEXTS), atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_model_card_lists_the_module(kind, reference_folders, tmp_path):
    model = sbert.SentenceTransformer(reference_folders[kind], device="cpu")
    model.save(tmp_path / "saved")
    card = (tmp_path / "saved" / "README.md").read_text()
    assert f"({KINDS[kind]}): {kind}(" in card
    assert f"({KINDS[kind]}): {repr(model[KINDS[kind]])}" in repr(model)


@pytest.mark.parametrize("kind", KINDS)
def test_loss_on_a_batch_equals_sentence_transformers(kind, reference_folders):
    from sentence_transformers.sentence_transformer import losses

    model = sbert.SentenceTransformer(reference_folders[kind], device="cpu", backend="torch")
    reference = _reference(reference_folders[kind])
    model.eval(), reference.eval()  # Dropout draws differ between libraries; its maths is checked above
    a, b, scores = (list(column) for column in zip(*PAIRS))
    labels = torch.tensor(scores)
    ours = sbert.CosineSimilarityLoss(model)([model.tokenize(a), model.tokenize(b)], labels)
    theirs = losses.CosineSimilarityLoss(reference)([reference.tokenize(a), reference.tokenize(b)], labels)
    assert abs(float(ours.detach()) - float(theirs.detach())) <= 1e-5
    ours = sbert.MultipleNegativesRankingLoss(model)([model.tokenize(a), model.tokenize(b)], None)
    theirs = losses.MultipleNegativesRankingLoss(reference)(
        [reference.tokenize(a), reference.tokenize(b)], None
    )
    assert abs(float(ours.detach()) - float(theirs.detach())) <= 1e-5


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "Dropout"])
def test_one_training_step_changes_the_module_weights(kind, reference_folders, tmp_path):
    model = sbert.SentenceTransformer(reference_folders[kind], device="cpu", backend="torch")
    module = model[KINDS[kind]]
    before = {k: v.clone() for k, v in module.state_dict().items()}
    trained = [n for n, p in module.named_parameters() if p.requires_grad]
    assert trained, f"{kind} has no trainable weights"
    model.fit(
        [(sbert.load_dataset(PAIRS), sbert.CosineSimilarityLoss(model))],
        output_path=tmp_path,
        batch_size=4,
        learning_rate=1e-2,
        warmup_steps=0,
        max_steps=1,
        show_progress_bar=False,
        plot=False,
        save_final_model=False,
    )
    after = module.state_dict()
    assert all(not torch.equal(before[name], after[name]) for name in trained)


def test_word_embeddings_follow_the_update_flag(reference_folders):
    frozen = sbert.SentenceTransformer(reference_folders["WordWeights"], device="cpu")
    trained = sbert.SentenceTransformer(reference_folders["LSTM"], device="cpu")
    assert not frozen[0].emb_layer.weight.requires_grad and trained[0].emb_layer.weight.requires_grad


def test_dropout_is_active_only_in_training(reference_folders):
    from sentence_transformers import SentenceTransformer as Reference

    model = sbert.SentenceTransformer(reference_folders["Dropout"], device="cpu", backend="torch")
    reference = Reference(str(reference_folders["Dropout"]), device="cpu")
    # a loaded model's modules train until encode() (or eval()) as sentence-transformers' do
    assert model[3].training == reference[3].training
    dropout, embeddings = model.eval()[3], torch.rand(4, 32) + 0.1
    assert torch.equal(dropout({"sentence_embedding": embeddings})["sentence_embedding"], embeddings)
    dropout.train()
    dropped = dropout({"sentence_embedding": embeddings})["sentence_embedding"]
    kept = dropped != 0
    assert 0 < int(kept.sum()) < embeddings.numel()
    torch.testing.assert_close(dropped[kept], embeddings[kept] / 0.75)


def test_models_built_from_sbert_modules_encode_like_sentence_transformers(tiny_bert, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import modules as models

    torch.manual_seed(3)
    table = torch.randn(len(VOCAB), 8)
    words = sbert.WordEmbeddings(sbert.WhitespaceTokenizer(VOCAB, do_lower_case=True), table)
    weights = sbert.WordWeights(VOCAB, {"weather": 2.0, "cat": 0.5}, 0.7)
    ours = sbert.SentenceTransformer(
        modules=[
            words,
            weights,
            sbert.LSTM(8, 5),
            sbert.Pooling(10),
            sbert.LayerNorm(10),
            sbert.Dropout(0.1),
        ],
        device="cpu",
    )
    ours.save(tmp_path / "glove")
    expected = Reference(str(tmp_path / "glove"), device="cpu").encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5, rtol=0)
    transformer = sbert.Transformer(tiny_bert)
    transformer.auto_model.config.output_hidden_states = True
    layers = sbert.WeightedLayerPooling(32, num_hidden_layers=2, layer_start=0)
    cnn = sbert.CNN(32, out_channels=3, kernel_sizes=[3])
    ours = sbert.SentenceTransformer(modules=[transformer, layers, cnn, sbert.Pooling(3)], device="cpu")
    ours.save(tmp_path / "cnn")
    expected = Reference(str(tmp_path / "cnn"), device="cpu").encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5, rtol=0)
    # sbert's own modules, not a wrapper, which count as sentence-transformers' in isinstance
    assert type(ours[0]) is sbert.Transformer and isinstance(ours[0], models.Transformer)


@pytest.mark.parametrize("cumulative", [True, False])
def test_bow_encodes_saves_and_loads_as_sentence_transformers(cumulative, tmp_path):
    """BoW's tf-idf vectors (words looked up as the whitespace tokenizer does, without stop words), its
    folder (``0_BoW/config.json`` only) and its loading, both ways."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.modules import BoW as ReferenceBoW

    from sbert.models import BoW

    vocab = [*VOCAB, "cat", "the", "a", "is"]  # a repeated word counts once; "the" and "The" are two words
    options = {
        "word_weights": {"weather": 2.0, "cat": 0.5, "the": 0.25, "is": 1.5},
        "unknown_word_weight": 0.7,
        "cumulative_term_frequency": cumulative,
    }
    theirs = Reference(modules=[ReferenceBoW(vocab, **options)], device="cpu")
    ours = sbert.SentenceTransformer(modules=[BoW(vocab, **options)], device="cpu")
    texts = [*TEXTS, "the the The cat cat, is a cat!"]
    expected = theirs.encode(texts, convert_to_numpy=True)
    assert expected.shape == (len(texts), len(vocab) - 1) and np.count_nonzero(expected) > 20
    np.testing.assert_allclose(ours.encode(texts), expected, atol=1e-6, rtol=0)
    assert ours.get_embedding_dimension() == theirs.get_embedding_dimension() == len(vocab) - 1
    ours.save(tmp_path / "ours")
    theirs.save(str(tmp_path / "theirs"))
    assert sorted(p.name for p in (tmp_path / "ours" / "0_BoW").iterdir()) == ["config.json"]
    saved = [json.loads((tmp_path / side / "0_BoW/config.json").read_text()) for side in ("ours", "theirs")]
    assert saved[0] == saved[1]
    loaded = Reference(str(tmp_path / "ours"), device="cpu")  # each loads the other's folder
    np.testing.assert_allclose(loaded.encode(texts), expected, atol=1e-6, rtol=0)
    loaded = sbert.SentenceTransformer(tmp_path / "theirs")
    np.testing.assert_allclose(loaded.encode(texts), expected, atol=1e-6, rtol=0)


def test_whitespace_tokenizer_matches_sentence_transformers(tmp_path):
    from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer as Reference
    from sentence_transformers.sentence_transformer.modules.tokenizer.word import (
        ENGLISH_STOP_WORDS as REFERENCE_STOP_WORDS,
    )

    assert set(ENGLISH_STOP_WORDS) == set(REFERENCE_STOP_WORDS)
    vocab = [*VOCAB, "", "?", "über", "i̇stanbul"]
    texts = [*TEXTS, "?? ... ¿Über İstanbul", "a\u2003cat\x1csat\u00a0dog", "!!!"]
    for lower in (False, True):
        ours, theirs = (
            sbert.WhitespaceTokenizer(vocab, do_lower_case=lower),
            Reference(vocab, do_lower_case=lower),
        )
        assert [e.ids for e in ours.encode_texts(texts)] == [theirs.tokenize(t) for t in texts]
        ours.save(tmp_path)
        assert [e.ids for e in sbert.WhitespaceTokenizer.load(tmp_path).encode_texts(texts)] == [
            Reference.load(str(tmp_path)).tokenize(t) for t in texts
        ]


def test_word_offsets_point_at_the_words_and_truncation_is_counted():
    tokenizer = sbert.WhitespaceTokenizer(VOCAB, do_lower_case=True)
    text = "  İ the CAT,  sat\ton (the) mat!"
    (encoding,) = tokenizer.encode_untruncated([text])
    assert [text[start:end] for start, end in encoding.offsets] == ["CAT,", "sat", "mat!"]
    tokenizer.max_length = 2
    (cut,) = tokenizer.encode_texts([text])
    assert cut.ids == encoding.ids[:2] and cut.overflowing
    batch = tokenizer.pad_encodings(tokenizer.encode_texts([text, ""]))
    assert batch["input_ids"].shape == (2, 2) and batch["attention_mask"].tolist() == [[1, 1], [0, 0]]


def test_word_embeddings_from_a_text_file(tmp_path):
    lines = ["3 2", "cat 0.5 1.0", "dog -1 2", "bad 1 2 3", "sat 0 1"]
    (tmp_path / "vectors.txt").write_text("\n".join(lines) + "\n")
    module = sbert.WordEmbeddings.from_text_file(tmp_path / "vectors.txt")
    assert module.tokenizer.vocab == ["PADDING_TOKEN", "cat", "dog", "sat"]
    np.testing.assert_array_equal(
        module.emb_layer.weight.detach().numpy(), [[0, 0], [0.5, 1], [-1, 2], [0, 1]]
    )


BAD_CONFIGS = [
    ("LSTM", "1_LSTM/lstm_config.json", {"embedding_dimension": 8, "hidden_dim": -1}),
    ("CNN", "1_CNN/cnn_config.json", {"in_embedding_dimension": 32, "kernel_sizes": "3"}),
    ("LayerNorm", "2_LayerNorm/config.json", {"dimension": "wide"}),
    ("Dropout", "3_Dropout/config.json", {"dropout": 1.5}),
    (
        "WeightedLayerPooling",
        "1_WeightedLayerPooling/config.json",
        {"embedding_dimension": 32, "num_hidden_layers": 2, "layer_start": 5},
    ),
    ("WordWeights", "1_WordWeights/config.json", {"vocab": "cat dog"}),
    ("WordWeights", "wordembedding_config.json", {"tokenizer_class": "my.own.Tokenizer"}),
    ("WordWeights", "whitespacetokenizer_config.json", {"stop_words": []}),
]


@pytest.mark.parametrize(("kind", "file", "config"), BAD_CONFIGS)
def test_bad_config_is_a_model_load_error_naming_the_file(kind, file, config, reference_folders, tmp_path):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(reference_folders[kind], folder)
    (folder / file).write_text(json.dumps(config))
    with pytest.raises(sbert.ModelLoadError, match=Path(file).name):
        sbert.SentenceTransformer(folder, device="cpu")


@pytest.mark.parametrize(
    "options",
    [
        {"module_input_name": "token_embeddings"},  # every token projected before the pooling
        {"use_residual": True},  # 32 -> 16: the input added back through a bias-free projection
        {"use_residual": True, "out_features": 32},  # the input added back as it is
        {"module_output_name": "projected"},  # written beside the sentence embedding
    ],
    ids=["tokens", "residual-projected", "residual", "other-output"],
)
def test_dense_options_of_sentence_transformers_load_save_and_encode_as_there(options, tiny_bert, tmp_path):
    """A Dense saved by sentence-transformers with its newer options (feature names, residual) encodes the
    same in sbert, saves a config sentence-transformers reads back, and is not built into an ONNX graph."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.base.modules import Dense, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    out = options.get("out_features", 16)
    kwargs = {k: v for k, v in options.items() if k != "out_features"}
    torch.manual_seed(0)
    dense = Dense(32, out, activation_function=torch.nn.Tanh(), **kwargs)
    on_tokens = kwargs.get("module_input_name") == "token_embeddings"
    modules = (
        [Transformer(str(tiny_bert)), dense, Pooling(out)]
        if on_tokens
        else [
            Transformer(str(tiny_bert)),
            Pooling(32),
            dense,
        ]
    )
    reference = Reference(modules=modules, device="cpu")
    reference.save(str(tmp_path / "st"))
    expected = reference.encode(TEXTS, convert_to_numpy=True, output_value=None)
    ours = sbert.SentenceTransformer(tmp_path / "st")
    assert ours.backend == "torch"  # not written by the graph builder
    name = kwargs.get("module_output_name", "sentence_embedding")
    got = ours.encode(TEXTS, output_value=None)
    for mine, theirs in zip(got, expected):
        torch.testing.assert_close(mine[name], theirs[name], atol=1e-5, rtol=0)
        torch.testing.assert_close(
            mine["sentence_embedding"], theirs["sentence_embedding"], atol=1e-5, rtol=0
        )
    ours._model_card_text = None  # a new card, not the loaded README.md (untrained: kept)
    ours.save(tmp_path / "ours")
    saved = json.loads(
        (tmp_path / "ours" / ("2_Dense" if not on_tokens else "1_Dense") / "config.json").read_text()
    )
    assert {k: saved[k] for k in kwargs} == kwargs
    again = Reference(str(tmp_path / "ours"), device="cpu").encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(again, ours.encode(TEXTS), atol=1e-5, rtol=0)
    assert "plain `transformers` does not provide" in (tmp_path / "ours" / "README.md").read_text()


def test_dense_default_options_stay_out_of_its_config_and_unknown_ones_are_logged(tmp_path, caplog):
    """An unknown option in a Dense config (a newer or another library's) is logged, as
    sentence-transformers logs it: no Python warning, so the folder loads under ``-W error`` as there."""
    import warnings

    from sentence_transformers.base.modules import Dense as ReferenceDense

    dense = sbert.Dense(8, 4)
    reference_config = ReferenceDense(8, 4).get_config_dict()
    assert dense.get_config_dict() == reference_config  # as sentence-transformers 6 reports and prints it
    assert repr(dense) == f"Dense({reference_config})"
    dense.save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert set(config) == {"in_features", "out_features", "bias", "activation_function"}  # older loaders
    (tmp_path / "config.json").write_text(json.dumps({**config, "future_option": 42}))
    for load in (ReferenceDense.load, sbert.Dense.load):
        caplog.clear()
        with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
            warnings.simplefilter("error")
            loaded = load(str(tmp_path))
        assert [r.levelname for r in caplog.records if "future_option" in r.getMessage()] == ["WARNING"]
        torch.testing.assert_close(loaded.linear.weight, dense.linear.weight)


def test_normalize_of_the_token_embeddings_loads_saves_and_encodes_as_there(tiny_bert, tmp_path):
    """sentence-transformers 6's Normalize on another feature (each token, before the pooling): its
    config.json is read and written, and the pipeline stays on torch."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    modules = [Transformer(str(tiny_bert)), Normalize("token_embeddings"), Pooling(32)]
    reference = Reference(modules=modules, device="cpu")
    reference.save(str(tmp_path / "st"))
    expected = reference.encode(TEXTS, convert_to_numpy=True)
    ours = sbert.SentenceTransformer(tmp_path / "st")
    assert ours.backend == "torch" and ours[1].module_input_name == "token_embeddings"
    np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5, rtol=0)
    assert np.abs(np.linalg.norm(expected, axis=1) - 1).max() > 1e-3  # the sentence embedding is not unit
    ours.save(tmp_path / "ours")
    again = Reference(str(tmp_path / "ours"), device="cpu")
    assert again[1].module_input_name == "token_embeddings"
    np.testing.assert_allclose(again.encode(TEXTS, convert_to_numpy=True), expected, atol=1e-5, rtol=0)
    plain = sbert.Normalize()
    for name, module in (("plain", plain), ("reference", Normalize())):
        (tmp_path / name).mkdir()
        module.save(str(tmp_path / name))  # the default's config.json too, as sentence-transformers 6
    assert (tmp_path / "plain" / "config.json").read_text() == (
        tmp_path / "reference" / "config.json"
    ).read_text()
    assert repr(plain) == repr(Normalize())  # its settings shown, as sentence-transformers 6 shows them


@pytest.mark.parametrize("modes", [("mean",), ("cls", "max"), ("max", "cls")])
def test_pooling_settings_and_repr_are_sentence_transformers_6s(tiny_st_factory, modes, tmp_path):
    """Code written for sentence-transformers 6 reads ``model[1].get_config_dict()["pooling_mode"]``, and a
    printed model (LangChain's ``HuggingFaceEmbeddings`` repr holds it) shows Pooling's and Normalize's
    settings; the saved file keeps the classic layout."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.modules import Pooling as ReferencePooling

    mode = modes[0] if len(modes) == 1 else modes
    ours, ref = sbert.models.Pooling(32, pooling_mode=mode), ReferencePooling(32, pooling_mode=mode)
    assert ours.get_config_dict() == ref.get_config_dict() and repr(ours) == repr(ref)
    folder = tiny_st_factory(classic_pooling(32, *modes), normalize=True)
    model, reference = sbert.SentenceTransformer(folder), Reference(str(folder), device="cpu")
    if modes == ("mean",):  # the canonical order: the same model from the classic file
        assert repr(model) == repr(reference)  # described from the files
        assert model[1].get_config_dict() == reference[1].get_config_dict()
        assert repr(model) == repr(reference)  # the torch modules
    model.save(tmp_path / "saved")
    saved = json.loads((tmp_path / "saved" / "1_Pooling" / "config.json").read_text())
    assert saved["word_embedding_dimension"] == 32 and "pooling_mode" not in saved


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_normalize_of_half_precision_rows_is_computed_in_float32(dtype):
    """A zero row stays zero (the float32 floor underflows in float16: 0/0 gave NaN), and rows too large or
    too small for a half-precision squared norm still come out unit length: normalized in float32 and cast
    back, as the newest sentence-transformers Normalize does (6.3.0 gives NaN and 0 here)."""
    rows = torch.tensor([[0.0, 0.0], [1e-7, 1e-7], [60000.0, 60000.0], [3.0, 4.0]], dtype=dtype)
    ours = sbert.Normalize()({"sentence_embedding": rows.clone()})["sentence_embedding"]
    expected = torch.nn.functional.normalize(rows.float(), p=2, dim=-1).to(dtype)
    assert ours.dtype == dtype and torch.isfinite(ours).all()
    torch.testing.assert_close(ours, expected, rtol=0, atol=0)
    assert ours[2].float().norm().item() == pytest.approx(1.0, abs=1e-2)


@pytest.mark.parametrize(
    ("name", "old", "options"),
    [
        ("CNN", "in_word_embedding_dimension", {"out_channels": 4}),
        ("LSTM", "word_embedding_dimension", {"hidden_dim": 4}),
        ("WeightedLayerPooling", "word_embedding_dimension", {"num_hidden_layers": 2, "layer_start": 1}),
    ],
)
def test_older_dimension_keywords_are_taken_as_in_sentence_transformers(
    name, old, options, caplog, monkeypatch
):
    import sentence_transformers.sentence_transformer.modules as reference_models

    monkeypatch.setattr("sbert._errors._LOGGED", set())  # logged once per process: this test's own log

    with caplog.at_level("WARNING"):
        ours = getattr(sbert.models, name)(**{old: 8}, **options)
    theirs = getattr(reference_models, name)(**{old: 8}, **options)
    assert ours.get_config_dict() == theirs.get_config_dict()
    assert any(old in record.getMessage() and "renamed" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_dense_config_without_an_activation_has_sentence_transformers_default_tanh(
    tiny_st_factory, backend
):
    """A Dense config.json without ``activation_function`` (older writers): sentence-transformers builds its
    Dense with the default, tanh; so do sbert's torch module and its built graph."""
    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"), dense={"in_features": 32, "out_features": 8})
    texts = ["a cat on a mat", "stocks fell"]
    expected = Reference(str(folder), device="cpu").encode(texts)
    np.testing.assert_allclose(
        sbert.SentenceTransformer(str(folder), backend=backend).encode(texts), expected, atol=1e-5
    )
