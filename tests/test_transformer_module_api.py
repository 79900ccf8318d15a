"""sbert.Transformer's public behaviour against sentence-transformers 6's ``base.modules.Transformer``: the
constructor's keywords, errors, ``preprocess``, ``forward``, widths, ``get_config_dict`` / repr, and folders
one library saves loading in the other with the same outputs."""

from __future__ import annotations

import json
import logging
import re
import warnings

import numpy as np
import pytest
import torch

from sbert import InputError, Transformer

LONG = "this is a longer sentence that should get truncated somewhere"
TEXTS = ["hello world", "Goodbye WORLD, see you", LONG]


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers.base.modules import Transformer as ReferenceTransformer

    return ReferenceTransformer


def _plain(features: dict) -> dict:
    return {k: v.tolist() if hasattr(v, "tolist") else v for k, v in features.items()}


def _quiet(factory, *args, **kwargs):
    """sentence-transformers' constructor (its own warnings are not under test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory(*args, **kwargs)


def _embeddings(module, texts=TEXTS, key="token_embeddings"):
    """The module's output for ``texts``; token embeddings at real tokens only (padded positions carry no
    meaning, and sbert's padding-free inference leaves them zero)."""
    features = module.preprocess(texts)
    with torch.no_grad():
        output = module(features)[key]
    if output.ndim == 3:
        output = output * features["attention_mask"][..., None]
    return output


# --- constructor keywords and errors ------------------------------------------------------------------------


def test_transformer_task_errors_and_classification_head(tiny_bert, reference):
    for task in ("nonexistent-task", "text-generation"):
        with pytest.raises(InputError, match="transformer_task"):
            Transformer(tiny_bert, transformer_task=task)
    with pytest.raises(ValueError, match="Unsupported transformer_task"):
        Transformer(tiny_bert, transformer_task="nonexistent-task")
    ours = Transformer(tiny_bert, transformer_task="sequence-classification")
    theirs = _quiet(reference, str(tiny_bert), transformer_task="sequence-classification")
    assert ours.config.num_labels == theirs.config.num_labels == 1
    assert ours.get_config_dict() == theirs.get_config_dict()
    ours.auto_model.load_state_dict(theirs.model.state_dict())  # the new head is random: share it
    scores = _embeddings(ours, key="scores")
    assert scores.shape == (3, 1)
    torch.testing.assert_close(scores, _embeddings(theirs, key="scores"), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backend", ["invalid_backend", "onnx", "openvino"])
def test_backend_other_than_torch_is_a_clear_error(tiny_bert, backend):
    with pytest.raises(InputError, match="Unsupported backend"):
        Transformer(tiny_bert, backend=backend)


@pytest.mark.parametrize(
    ("old", "new"), [("model_args", "model_kwargs"), ("tokenizer_args", "processor_kwargs")]
)
def test_older_option_names_are_logged_and_still_apply(tiny_bert, old, new, caplog, monkeypatch):
    """Logged once, as sentence-transformers' ``logger.warning_once``: no Python warning (a client passing
    them on every load would fail under ``-W error``, where sentence-transformers runs)."""
    monkeypatch.setattr("sbert._errors._LOGGED", set())  # once per process: earlier tests may have logged
    options = {"model_args": {"attn_implementation": "eager"}, "tokenizer_args": {"model_max_length": 7}}[old]
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="sbert"):
        warnings.simplefilter("error")
        module = Transformer(tiny_bert, **{old: options})
        same = Transformer(tiny_bert, **{new: options})
        Transformer(tiny_bert, config_args={})
    assert re.search(f"`{old}`.*deprecated.*`{new}`", caplog.text) and "`config_args`" in caplog.text
    assert module.max_seq_length == same.max_seq_length
    assert module.config._attn_implementation == same.config._attn_implementation


def test_processing_kwargs_stored_and_unknown_keys_warn(tiny_bert):
    assert Transformer(tiny_bert).processing_kwargs == {}
    kwargs = {"text": {"truncation": "only_first"}, "chat_template": {"add_generation_prompt": True}}
    assert Transformer(tiny_bert, processing_kwargs=kwargs).processing_kwargs == kwargs
    with pytest.warns(UserWarning, match="padding_side"):
        Transformer(
            tiny_bert, processing_kwargs={"padding_side": {"value": "left"}, "text": {"truncation": True}}
        )


def test_modality_config_validation_as_sentence_transformers(tiny_bert, reference):
    good = {"text": {"method": "forward", "method_output_name": "last_hidden_state"}}
    assert Transformer(tiny_bert, modality_config=good, module_output_name="token_embeddings").modalities == [
        "text"
    ]
    for bad, match in [
        ({"text": {"method_output_name": "last_hidden_state"}}, "'method' and 'method_output_name'"),
        ({"text": {"method": "forward"}}, "'method' and 'method_output_name'"),
    ]:
        with pytest.raises(ValueError, match=match):
            _quiet(reference, str(tiny_bert), modality_config=bad, module_output_name="token_embeddings")
        with pytest.raises(InputError, match=match):
            Transformer(tiny_bert, modality_config=bad, module_output_name="token_embeddings")
    with pytest.raises(InputError, match="module_output_name"):
        Transformer(tiny_bert, modality_config=good)


def test_do_lower_case_lowercases_in_the_tokenizer(tmp_path, reference):
    from conftest import build_tiny_bert

    cased = build_tiny_bert(tmp_path / "cased", uncased=False)
    ours = Transformer(cased, do_lower_case=True)
    theirs = _quiet(reference, str(cased), do_lower_case=True)
    assert ours.tokenizer.tokenize("Hello WORLD") == theirs.tokenizer.tokenize("Hello WORLD")
    assert ours.tokenizer.tokenize("Hello WORLD") == ours.tokenizer.tokenize("hello world")
    assert _plain(ours.preprocess(["HELLO World"])) == _plain(theirs.preprocess(["HELLO World"]))
    assert _plain(ours.tokenizer(["HeLLo"], padding=True)) == _plain(ours.tokenizer(["hello"], padding=True))
    assert str(Transformer(cased).tokenizer.backend_tokenizer.normalizer) == str(
        _quiet(reference, str(cased)).tokenizer.backend_tokenizer.normalizer
    )


# --- max_seq_length -----------------------------------------------------------------------------------------


def test_max_seq_length_without_a_tokenizer_and_truncation(tiny_bert, reference):
    module = Transformer(tiny_bert, max_seq_length=5)
    theirs = _quiet(reference, str(tiny_bert), max_seq_length=5)
    assert module.preprocess([LONG])["input_ids"].shape[1] == 5
    assert _plain(module.preprocess([LONG])) == _plain(theirs.preprocess([LONG]))
    assert module.tokenizer.model_max_length == theirs.tokenizer.model_max_length == 5
    module.tokenizer = None
    assert module.max_seq_length == module.config.max_position_embeddings
    module.max_seq_length = 42  # nothing to limit: no error, as sentence-transformers


# --- preprocess ---------------------------------------------------------------------------------------------


def test_preprocess_matches_sentence_transformers(tiny_bert, reference):
    ours, theirs = Transformer(tiny_bert), _quiet(reference, str(tiny_bert))
    assert ours.preprocess([]) == theirs.preprocess([]) == {}
    for args, kwargs in [
        ((TEXTS,), {}),
        ((TEXTS,), {"prompt": "search query: "}),
        (([("first text", "second one"), ("a", "b c d")],), {}),
        (([LONG],), {"processing_kwargs": {"text": {"max_length": 5, "truncation": True}}}),
        ((TEXTS,), {"processing_kwargs": {"text": {"padding": "max_length", "max_length": 12}}}),
        (([LONG],), {"max_length": 6}),
    ]:
        mine, reference_features = ours.preprocess(*args, **kwargs), theirs.preprocess(*args, **kwargs)
        assert _plain(mine) == _plain(reference_features), kwargs
        assert all(type(mine[k]) is type(reference_features[k]) for k in mine)
    numpy_features = ours.preprocess(["hello world"], processing_kwargs={"common": {"return_tensors": "np"}})
    assert isinstance(numpy_features["input_ids"], np.ndarray)
    assert isinstance(ours.preprocess(["hello world"])["input_ids"], torch.Tensor)
    assert ours.processing_kwargs == {}  # a call's options change nothing after it


def test_preprocess_merges_call_options_over_the_modules(tiny_bert):
    module = Transformer(tiny_bert, processing_kwargs={"text": {"max_length": 5, "truncation": True}})
    assert module.preprocess([LONG])["input_ids"].shape[1] == 5
    assert module.preprocess([LONG], processing_kwargs={"text": {"max_length": 8}})["input_ids"].shape[1] == 8
    assert (
        module.preprocess([LONG], processing_kwargs={"text": {"pad_to_multiple_of": 8}})["input_ids"].shape[1]
        == 8
    )
    # transformers' tokenizer call ignores a name it does not take; sbert names it
    with pytest.raises(InputError, match="truncation_side"):
        module.preprocess([LONG], processing_kwargs={"text": {"truncation_side": "left"}})
    with pytest.raises(InputError, match="text only|no image"):
        module.preprocess([np.zeros((4, 4))])


# --- forward and widths -------------------------------------------------------------------------------------


def test_forward_outputs_match_sentence_transformers(tiny_bert, reference):
    ours, theirs = Transformer(tiny_bert), _quiet(reference, str(tiny_bert))
    torch.testing.assert_close(_embeddings(ours), _embeddings(theirs), atol=1e-5, rtol=1e-5)
    for module in (ours, theirs):
        module.model.config.output_hidden_states = True
    with torch.no_grad():
        mine, reference_out = ours(ours.preprocess(TEXTS)), theirs(theirs.preprocess(TEXTS))
    assert len(mine["all_layer_embeddings"]) == len(reference_out["all_layer_embeddings"])
    torch.testing.assert_close(mine["all_layer_embeddings"][-1], reference_out["all_layer_embeddings"][-1])


@pytest.mark.parametrize(
    ("method_output_name", "module_output_name"),
    [(["hidden_states", 1], "token_embeddings"), ("pooler_output", "sentence_embedding")],
)
def test_modality_config_chooses_the_output(tiny_bert, reference, method_output_name, module_output_name):
    config = {"text": {"method": "forward", "method_output_name": method_output_name}}
    options = {"modality_config": config, "module_output_name": module_output_name}
    ours, theirs = Transformer(tiny_bert, **options), _quiet(reference, str(tiny_bert), **options)
    torch.testing.assert_close(
        _embeddings(ours, key=module_output_name), _embeddings(theirs, key=module_output_name)
    )
    ours.modality_config["text"]["method"] = "nonexistent_method"
    with pytest.raises(ValueError, match="does not have the requested 'nonexistent_method' method"):
        _embeddings(ours, key=module_output_name)


def test_embedding_dimension_read_as_sentence_transformers(tiny_bert, monkeypatch):
    module = Transformer(tiny_bert)
    assert module.get_embedding_dimension() == 32
    module.module_output_name = "sentence_embedding"
    module.config.projection_dim = 512
    assert module.get_embedding_dimension() == 512
    module.module_output_name = "token_embeddings"
    monkeypatch.delattr(module.config, "hidden_size", raising=False)
    monkeypatch.delattr(type(module.config), "hidden_size", raising=False)
    module.config.hidden_sizes = [64, 128, 256]
    assert module.get_embedding_dimension() == 256
    del module.config.hidden_sizes
    with pytest.raises(ValueError, match="Could not determine embedding dimension"):
        module.get_embedding_dimension()


def test_unpad_inputs_switches_padding_free_inference(tiny_bert):
    assert Transformer(tiny_bert).unpad_inputs is None and Transformer(tiny_bert).padding_free
    module = Transformer(tiny_bert, unpad_inputs=False)
    assert module.padding_free is False
    module.unpad_inputs = None
    assert module.padding_free
    with pytest.warns(UserWarning, match="unpad_inputs=True"):
        Transformer(tiny_bert, transformer_task="sequence-classification", unpad_inputs=True)


# --- config dict, repr, save and load across the two libraries ---------------------------------------------


SETTINGS = [
    {},
    {"processing_kwargs": {"text": {"max_length": 6}}, "unpad_inputs": False},
    {
        "modality_config": {"text": {"method": "forward", "method_output_name": "pooler_output"}},
        "module_output_name": "sentence_embedding",
    },
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_config_dict_and_repr_as_sentence_transformers(tiny_bert, reference, settings):
    ours, theirs = Transformer(tiny_bert, **settings), _quiet(reference, str(tiny_bert), **settings)
    assert ours.get_config_dict() == theirs.get_config_dict()
    assert repr(ours) == repr(theirs)
    ours.modality_config[("image", "text")] = {"method": "forward", "method_output_name": "last_hidden_state"}
    assert "image+text" in ours.get_config_dict()["modality_config"]


@pytest.mark.parametrize("settings", SETTINGS)
def test_saved_by_sbert_loads_in_sentence_transformers(tiny_bert, reference, tmp_path, settings):
    ours = Transformer(tiny_bert, max_seq_length=9, **settings)
    ours.save(tmp_path / "ours")
    theirs = _quiet(reference.load, str(tmp_path / "ours"))
    again = Transformer.load(tmp_path / "ours")
    key = ours.module_output_name
    for other in (theirs, again):
        assert other.get_config_dict() == ours.get_config_dict()
        assert other.max_seq_length == 9
        torch.testing.assert_close(
            _embeddings(other, key=key), _embeddings(ours, key=key), atol=1e-5, rtol=1e-5
        )
    assert Transformer.load_config(tmp_path / "ours") == reference.load_config(str(tmp_path / "ours"))
    if not settings:  # a default module's file keeps the classic keys every release (and TEI) reads
        saved = json.loads((tmp_path / "ours" / "sentence_bert_config.json").read_text())
        assert saved == {"max_seq_length": 9, "do_lower_case": False}
        assert json.loads((tmp_path / "ours" / "tokenizer_config.json").read_text())["model_max_length"] == 9


@pytest.mark.parametrize("settings", SETTINGS)
def test_saved_by_sentence_transformers_loads_in_sbert(tiny_bert, reference, tmp_path, settings):
    theirs = _quiet(reference, str(tiny_bert), max_seq_length=11, do_lower_case=True, **settings)
    theirs.save(str(tmp_path / "theirs"))
    ours = Transformer.load(tmp_path / "theirs")
    assert ours.get_config_dict() == theirs.get_config_dict()
    assert repr(ours) == repr(theirs)
    assert ours.max_seq_length == 11
    key = theirs.module_output_name
    torch.testing.assert_close(_embeddings(ours, key=key), _embeddings(theirs, key=key), atol=1e-5, rtol=1e-5)
    assert _plain(ours.preprocess(["HELLO there"])) == _plain(theirs.preprocess(["HELLO there"]))


def test_load_config_restores_tuple_keys_and_drops_trust_remote_code(tiny_bert, reference, tmp_path):
    module = Transformer(tiny_bert)
    module.modality_config[("image", "text")] = {
        "method": "forward",
        "method_output_name": "last_hidden_state",
    }
    module.save(tmp_path / "m")
    path = tmp_path / "m" / "sentence_bert_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "model_args": {"trust_remote_code": True}}))
    loaded = Transformer.load_config(tmp_path / "m")
    assert ("image", "text") in loaded["modality_config"]
    assert "trust_remote_code" not in loaded["model_args"]
    assert loaded == reference.load_config(str(tmp_path / "m"))


def test_model_features_list_their_keys_in_sentence_transformers_order(tiny_bert, reference, tmp_path):
    # transformers' order (input_ids, token_type_ids, attention_mask), which a trainer's batch and a loss's
    # features show, then sentence-transformers' "modality": "text"
    from sentence_transformers import SentenceTransformer as Reference

    import sbert

    _quiet(Reference, modules=[_quiet(reference, str(tiny_bert))]).save(str(tmp_path / "st"))
    ours, theirs = sbert.SentenceTransformer(tmp_path / "st"), _quiet(Reference, str(tmp_path / "st"))
    for method in ("tokenize", "preprocess"):
        assert list(getattr(ours, method)(TEXTS)) == list(getattr(theirs, method)(TEXTS)), method
    assert list(ours[0].tokenize(TEXTS)) == list(theirs[0].tokenize(TEXTS))
