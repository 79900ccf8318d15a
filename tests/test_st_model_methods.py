"""sentence-transformers' SentenceTransformer methods that sbert inherits from ``sbert._st_methods`` and the
top-level names its scripts import (model card data, LoggingHandler, quantize_embeddings, ...), each compared
with sentence-transformers itself where it computes something."""

from __future__ import annotations

import copy
import logging
import warnings

import numpy as np
import pytest
import torch
from conftest import SENTENCES, classic_pooling, save_to_hub_calls

import sbert
from sbert import BackendUnavailableError, EmbeddingSimilarityEvaluator, InputError, SentenceTransformer

DIM = 32


def reference(path, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    return ReferenceModel(str(path), device="cpu", **kwargs)


@pytest.fixture(scope="module")
def mean_path(tiny_st_factory):
    return tiny_st_factory(classic_pooling(DIM, "mean"))


def test_top_level_names_of_sentence_transformers_scripts():
    import sbert.cross_encoder
    import sbert.util

    assert sbert.quantize_embeddings is sbert.util.quantize_embeddings
    assert sbert.mine_hard_negatives is sbert.util.mine_hard_negatives
    assert sbert.LoggingHandler is sbert.util.LoggingHandler
    assert sbert.CrossEncoderTrainer is sbert.cross_encoder.CrossEncoderTrainer
    assert sbert.CrossEncoderTrainingArguments is sbert.cross_encoder.CrossEncoderTrainingArguments
    assert SentenceTransformer.SUPPORTED_SIMILARITY_FN_NAMES == ("cosine", "dot", "euclidean", "manhattan")


def test_logging_handler_writes_through_tqdm(capsys):
    logger = logging.getLogger("sbert-test-logging-handler")
    handler = sbert.LoggingHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("step %d done", 3)
    finally:
        logger.removeHandler(handler)
    assert "WARNING step 3 done" in capsys.readouterr().out


def test_evaluate_truncate_backend_and_dtype_as_sentence_transformers(mean_path, tmp_path):
    ours, ref = SentenceTransformer(mean_path, backend="torch"), reference(mean_path)
    assert ours.get_backend() == ref.get_backend() == "torch"
    assert ours.dtype == ref.dtype == torch.float32
    with pytest.warns(DeprecationWarning, match=r"SentenceTransformer.load\(\.\.\.\) is deprecated"):
        assert SentenceTransformer.load(mean_path).get_embedding_dimension() == DIM  # as ST 6 warns
    with pytest.warns(FutureWarning, match="`truncate_sentence_embeddings` method has been renamed"):
        truncated = ours.truncate_sentence_embeddings(8)  # ST 6: the old name warns
    with truncated, ref.truncate_embeddings(8):
        got, want = ours.encode(SENTENCES), ref.encode(SENTENCES)
    assert got.shape == want.shape == (len(SENTENCES), 8)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert ours.encode(SENTENCES[:1]).shape == (1, DIM)

    evaluator = EmbeddingSimilarityEvaluator(SENTENCES[:4], SENTENCES[1:5], [0.1, 0.9, 0.4, 0.6], name="dev")
    results = ours.evaluate(evaluator, output_path=tmp_path / "eval" / "run")
    assert results == evaluator(ours)
    assert (tmp_path / "eval" / "run" / "similarity_evaluation_dev_results.csv").is_file()

    onnx = SentenceTransformer(mean_path)
    assert onnx.get_backend() == "onnx" and onnx.dtype == torch.float32


def test_transformers_model_and_gradient_checkpointing(mean_path):
    ours, ref = SentenceTransformer(mean_path), reference(mean_path)
    encoder = ours.transformers_model  # on ONNX until asked: the caller may change the weights
    assert type(encoder) is type(ref.transformers_model) and ours.get_backend() == "torch"
    for (name, a), (_, b) in zip(encoder.state_dict().items(), ref.transformers_model.state_dict().items()):
        assert torch.equal(a, b), name
    ours.gradient_checkpointing_enable({"use_reentrant": False})
    assert encoder.is_gradient_checkpointing
    for model in (SentenceTransformer(mean_path), reference(mean_path)):  # sentence-transformers 6's name
        assert not model.transformers_model.is_gradient_checkpointing
        model.activation_checkpointing_enable({"use_reentrant": False})
        assert model.transformers_model.is_gradient_checkpointing


# Inputs of is_singular_input: strings, sequences, text and number arrays, chat messages, other objects.
SINGULAR_PROBES = [
    "a",
    ["a"],
    ("a", "b"),
    [],
    np.array(["a", "b"]),
    np.array("a"),
    np.array([["a"]], dtype=object),
    np.zeros(3),
    [{"role": "user", "content": "hi"}],
    [{"text": "a"}],
    {"text": "a"},
    None,
]


def test_model_attributes_and_input_checks_as_sentence_transformers(mean_path):
    from datasets import Dataset

    ours, ref = SentenceTransformer(mean_path), reference(mean_path)
    assert ours.model_type == ref.model_type == "SentenceTransformer"
    assert ours.default_huggingface_organization == ref.default_huggingface_organization
    assert ours.model_card_data_class is sbert.SentenceTransformerModelCardData
    assert ours.model_card_data_class.__name__ == ref.model_card_data_class.__name__
    assert ours.get_model_kwargs() == ref.get_model_kwargs() == []
    assert ours.modalities == ref.modalities == ["text"]
    for modality in ("text", "image", "message", ("text",), ("image", "text")):
        assert ours.supports(modality) == ref.supports(modality) == (modality == "text"), modality
    column = Dataset.from_dict({"text": ["a", "b"]})["text"]  # a datasets Column: a batch
    for inputs in [*SINGULAR_PROBES, column]:
        assert ours.is_singular_input(inputs) == ref.is_singular_input(inputs), inputs
    assert ours.is_singular_input("a") and not ours.is_singular_input(column)
    assert ours.get_backend() == "onnx"  # nothing above needed the torch modules


@pytest.mark.parametrize(
    "modalities",
    [["text", "image"], ["text", "image", "message"], ["text", ("image", "text")], ["text", "message"]],
)
def test_supports_follows_declared_modalities_as_sentence_transformers(mean_path, monkeypatch, modalities):
    """A subclass declaring more modalities: a tuple is supported where "message" combines its parts."""
    ours, ref = SentenceTransformer(mean_path), reference(mean_path)
    for model in (ours, ref):
        monkeypatch.setattr(type(model), "modalities", property(lambda self: modalities))
    for modality in ("text", "image", "audio", "message", ("image", "text"), ("audio", "text"), ("text",)):
        assert ours.supports(modality) == ref.supports(modality), modality


def test_config_is_the_transformers_config_as_in_sentence_transformers(mean_path, monkeypatch):
    from sentence_transformers import SentenceTransformer as ReferenceModel
    from sentence_transformers.sentence_transformer import modules as st_models
    from tokenizers import Tokenizer

    ours, ref = SentenceTransformer(mean_path), reference(mean_path)
    assert type(ours.config) is type(ref.config) and ours.config.hidden_size == DIM
    # sentence-transformers 6 also turns the (decoder) KV cache off in the config; sbert leaves it as saved
    assert {**ours.config.to_diff_dict(), "use_cache": False} == ref.config.to_diff_dict()
    assert ours.get_backend() == "onnx"  # reading it leaves the model on its graph
    changed = copy.deepcopy(ours.config)
    changed.hidden_dropout_prob = 0.0
    ours.config = changed
    assert ours.transformers_model.config is changed and ours.config.hidden_dropout_prob == 0.0
    tokenizer = Tokenizer.from_file(str(mean_path / "tokenizer.json"))
    static = SentenceTransformer(modules=[sbert.models.StaticEmbedding(tokenizer, embedding_dim=4)])
    ref_static = ReferenceModel(modules=[st_models.StaticEmbedding(tokenizer, embedding_dim=4)], device="cpu")
    assert static.config is ref_static.config is None and static.transformers_model is None

    monkeypatch.setattr("sbert._errors.torch_installed", lambda: False)  # the base install: no torch
    with pytest.raises(BackendUnavailableError, match=r"model\.config.*sbert\[torch\]"):
        _ = SentenceTransformer(mean_path, backend="onnx").config


def test_get_model_kwargs_names_a_routers_task_as_sentence_transformers(tiny_bert):
    from sentence_transformers import SentenceTransformer as ReferenceModel
    from sentence_transformers.sentence_transformer import modules as st_models

    def routed(m):
        router = m.Router.for_query_document(
            query_modules=[m.Pooling(DIM, "mean")], document_modules=[m.Pooling(DIM, "cls")]
        )
        return [m.Transformer(str(tiny_bert)), router]

    ours = SentenceTransformer(modules=routed(sbert.models), device="cpu")
    ref = ReferenceModel(modules=routed(st_models), device="cpu")
    assert sorted(ours.get_model_kwargs()) == sorted(ref.get_model_kwargs()) == ["modality", "task"]
    for task in ("query", "document"):
        got, want = ours.encode(SENTENCES, task=task), ref.encode(SENTENCES, task=task)
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_set_pooling_include_prompt_leaves_the_prompt_out_as_sentence_transformers(mean_path, backend):
    prompt = "query: the instruction"
    ours, ref = SentenceTransformer(mean_path, backend=backend), reference(mean_path)
    ours.max_seq_length = 40
    ref.max_seq_length = 40
    with_prompt = ours.encode(SENTENCES, prompt=prompt)
    ours.set_pooling_include_prompt(False)
    ref.set_pooling_include_prompt(False)
    assert ours.get_backend() == "torch" and ours.max_seq_length == 40  # "auto" moved off its ONNX graph
    got, want = ours.encode(SENTENCES, prompt=prompt), ref.encode(SENTENCES, prompt=prompt)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(got - with_prompt).max() > 1e-3  # the prompt's tokens really left the mean
    with pytest.raises(InputError, match="include_prompt"):
        ours.set_pooling_include_prompt("no")
    onnx = SentenceTransformer(mean_path, backend="onnx")
    onnx.set_pooling_include_prompt(True)  # no change: nothing to refuse
    with pytest.raises(InputError, match="backend='auto' or 'torch'"):
        onnx.set_pooling_include_prompt(False)


def test_model_card_data_reaches_the_saved_card(mean_path, tmp_path):
    card_data = sbert.SentenceTransformerModelCardData(
        language="en",
        license="apache-2.0",
        model_name="Tiny BERT trained on pairs",
        train_datasets=[{"name": "pairs", "id": "org/pairs"}],
        tags=["tiny"],
    )
    ours = SentenceTransformer(mean_path, model_card_data=card_data)
    ours.save(tmp_path / "m")
    card = (tmp_path / "m" / "README.md").read_text()
    front = card.split("---")[1]
    assert "language:\n- en" in front and "license: apache-2.0" in front
    assert "- tiny" in front and "- org/pairs" in front
    assert "# Tiny BERT trained on pairs" in card
    np.testing.assert_allclose(reference(tmp_path / "m").encode(SENTENCES), ours.encode(SENTENCES), atol=1e-5)
    with pytest.raises(InputError, match="model_card_data"):
        SentenceTransformer(mean_path, model_card_data="en")


def test_push_to_hub_saves_the_model_and_uploads_it(mean_path, tmp_path, fake_hub):
    calls = fake_hub
    ours = SentenceTransformer(mean_path)
    url = ours.push_to_hub("tiny", token="t", private=True)
    assert url == "https://hub/someone/tiny/commit/1"
    assert calls["repo"] == ("tiny", True, False) and calls["token"] == "t"
    # backend="auto" chose ONNX, but the folder is a torch model's: sentence-transformers' torch wording
    message = "Add new SentenceTransformer model"
    assert calls["upload"] == ("someone/tiny", message, False, None)
    assert "SentenceTransformer('someone/tiny')" in (tmp_path / "uploaded" / "README.md").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = reference(tmp_path / "uploaded")
    np.testing.assert_allclose(loaded.encode(SENTENCES), ours.encode(SENTENCES), atol=1e-5)

    pr = ours.push_to_hub("tiny", local_model_path=mean_path, revision="dev", create_pr=True)
    assert pr == "https://hub/pr/1" and calls["branch"] == "dev" and calls["repo"][2] is True
    with pytest.raises(InputError, match="safetensors"):
        ours.push_to_hub("tiny", safe_serialization=False)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("tiny",), {"token": "t"}),
        (("tiny", "org", True, False), {}),  # positional: private, then safe_serialization
        ((), {"repo_name": "org/tiny", "organization": "org", "commit_message": "m", "exist_ok": True}),
        (("org/tiny",), {"local_model_path": "folder", "replace_model_card": True, "train_datasets": ["d"]}),
    ],
)
def test_save_to_hub_maps_its_arguments_as_sentence_transformers(mean_path, monkeypatch, args, kwargs):
    ours, ref = SentenceTransformer(mean_path), reference(mean_path)
    with pytest.warns(DeprecationWarning, match="push_to_hub"):
        passed = save_to_hub_calls(ours, monkeypatch, *args, **kwargs)
    assert passed == save_to_hub_calls(ref, monkeypatch, *args, **kwargs)
    assert passed["repo_id"] == ("tiny" if args == ("tiny",) else "org/tiny")
    assert passed["private"] is (True if len(args) > 2 else None)
    with pytest.raises(ValueError, match="organization"), pytest.warns(DeprecationWarning):
        ours.save_to_hub("other/tiny", "org")
    with pytest.raises(ValueError, match="organization"):
        ref.save_to_hub("other/tiny", "org")


def test_save_to_hub_uploads_with_its_old_commit_message(mean_path, fake_hub):
    ours = SentenceTransformer(mean_path)
    with pytest.warns(DeprecationWarning, match="push_to_hub"):
        url = ours.save_to_hub("tiny", organization="org", private=True, token="t")
    assert url == "https://hub/someone/org/tiny/commit/1" and fake_hub["token"] == "t"
    assert fake_hub["repo"] == ("org/tiny", True, False)
    assert fake_hub["upload"][1] == "Add new model."  # sentence-transformers' default there


def test_encode_takes_sentence_transformers_6_inputs_keyword(mean_path):
    ours, ref = SentenceTransformer(mean_path), reference(mean_path)
    want = ref.encode(inputs=SENTENCES)
    np.testing.assert_allclose(ours.encode(inputs=SENTENCES), want, atol=1e-5)
    np.testing.assert_allclose(
        ours.encode_query(inputs=SENTENCES), ref.encode_query(inputs=SENTENCES), atol=1e-5
    )
    np.testing.assert_allclose(ours.encode_document(inputs="a"), ref.encode_document(inputs="a"), atol=1e-5)
    for model in (ours, ref):  # the texts given twice: Python's TypeError, as sentence-transformers 6.3
        with pytest.raises(TypeError, match="inputs"):
            model.encode(SENTENCES, inputs=SENTENCES)
    with pytest.raises(TypeError):
        ours.encode()


def test_modules_answer_sentence_transformers_6_get_embedding_dimension(tiny_bert):
    from sentence_transformers.sentence_transformer import modules as st_models

    ours_t, ref_t = sbert.models.Transformer(str(tiny_bert)), st_models.Transformer(str(tiny_bert))
    assert ours_t.get_embedding_dimension() == ref_t.get_embedding_dimension() == DIM
    ours_p = sbert.models.Pooling(ours_t.get_embedding_dimension(), pooling_mode=["cls", "max"])
    ref_p = st_models.Pooling(ref_t.get_embedding_dimension(), pooling_mode=["cls", "max"])
    assert ours_p.get_embedding_dimension() == ref_p.get_embedding_dimension() == 2 * DIM
    dense = sbert.models.Dense(2 * DIM, 8)
    assert dense.get_embedding_dimension() == st_models.Dense(2 * DIM, 8).get_embedding_dimension() == 8
    model = SentenceTransformer(modules=[ours_t, ours_p, dense])
    assert model.get_embedding_dimension() == 8


def test_module_methods_act_on_the_torch_modules_as_in_sentence_transformers(mean_path):
    ours, ref = SentenceTransformer(mean_path), reference(mean_path)
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in ref.children()]
    assert len(list(ours.modules())) > 2 and ours.get_backend() == "torch"  # "auto" moved to the modules
    assert [n for n, _ in ours.named_modules()][:2] == [n for n, _ in ref.named_modules()][:2]
    assert list(ours._modules) == list(ref._modules) and ours._modules["0"] is ours[0]  # setfit's ONNX export
    assert type(ours[0].model) is type(ref[0].model) and ours[0].model is ours[0].auto_model
    assert ours.processor is ours.tokenizer is ours[0].processor
    assert ours[0].config is ours[0].model.config and type(ours[0].config) is type(ref[0].config)
    assert ours[0].config.hidden_size == ref[0].config.hidden_size
    assert ours.requires_grad_(False) is ours and not any(p.requires_grad for p in ours.parameters())
    assert ours.cpu() is ours and ours.device == "cpu"
    # compared with a torch.device either way round, as sentence-transformers' torch.device compares
    assert torch.zeros(1).device == ours.device == ref.device and not ours.device != torch.device("cpu")
    assert ours.device != torch.device("meta") and {ours.device: 1}["cpu"] == 1
    with pytest.raises(InputError, match="cuda"):  # sbert's device check names the devices there are
        ours.to("cuda")
    with pytest.raises(Exception) as theirs:  # cuda(): torch's own error, as sentence-transformers gives it
        ref.cuda()
    with pytest.raises(type(theirs.value)) as mine:
        ours.cuda()
    assert str(mine.value) == str(theirs.value)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bf16 may be emulated on this CPU: the slow-precision warning
        ours.bfloat16(), ref.bfloat16()
        assert ours.dtype == ref.dtype == torch.bfloat16 and ours.precision == "bf16"
        got, want = ours.encode(SENTENCES), ref.encode(SENTENCES)
    assert got.dtype == np.float32  # sbert's encode returns float32 whatever the encoder computes in
    cosines = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cosines.min() > 0.999
    ours.float(), ref.float()
    np.testing.assert_allclose(ours.encode(SENTENCES), ref.encode(SENTENCES), atol=1e-5)

    onnx = SentenceTransformer(mean_path, backend="onnx")
    with pytest.raises(InputError, match="backend='torch'"):
        onnx.half()


def test_onnx_model_kwargs_of_sentence_transformers_choose_the_precision(mean_path):
    fp32 = SentenceTransformer(mean_path, backend="onnx")
    ours = SentenceTransformer(
        mean_path,
        backend="onnx",
        model_kwargs={"file_name": "onnx/model_O3.onnx", "provider": "CPUExecutionProvider"},
    )
    assert ours.precision == "fp32"
    np.testing.assert_array_equal(ours.encode(SENTENCES), fp32.encode(SENTENCES))
    quantized = SentenceTransformer(
        mean_path, backend="onnx", model_kwargs={"file_name": "model_qint8_avx512_vnni.onnx", "export": False}
    )
    assert quantized.precision == "int8" and quantized.get_backend() == "onnx"
    with pytest.raises(InputError, match="CPUExecutionProvider"):
        SentenceTransformer(mean_path, backend="onnx", model_kwargs={"provider": "CUDAExecutionProvider"})
    with pytest.raises(InputError, match="disagree"):
        SentenceTransformer(
            mean_path, backend="onnx", precision="int8", model_kwargs={"file_name": "model.onnx"}
        )


def test_encode_in_training_mode_is_without_dropout_and_leaves_eval_mode_as_sentence_transformers(mean_path):
    ours, ref = SentenceTransformer(mean_path, backend="torch"), reference(mean_path)
    expected = ref.encode(SENTENCES)
    ours.train(), ref.train()  # e.g. a training loop that encodes now and then
    first, second = ours.encode(SENTENCES), ours.encode(SENTENCES)
    ref.encode(SENTENCES)
    np.testing.assert_allclose(first, expected, atol=1e-6)
    np.testing.assert_array_equal(first, second)
    assert ours.training is ref.training is False


def test_model_card_data_fields_read_as_attributes_as_in_sentence_transformers(mean_path, tmp_path):
    # mteb reads model_card_data.model_name / base_model / base_model_revision of any model it is given
    fields = ("model_name", "model_id", "base_model", "base_model_revision", "language", "license")
    plain_ours, plain_ref = SentenceTransformer(mean_path), reference(mean_path)
    assert {f: getattr(plain_ours.model_card_data, f) for f in fields} == {
        f: getattr(plain_ref.model_card_data, f) for f in fields
    }
    given = {"language": "en", "license": "mit", "model_name": "Tiny", "model_id": "me/tiny"}
    ours = SentenceTransformer(mean_path, model_card_data=sbert.SentenceTransformerModelCardData(**given))
    from sentence_transformers import SentenceTransformerModelCardData as ReferenceCardData

    ref = reference(mean_path, model_card_data=ReferenceCardData(**given))
    read = {f: getattr(ours.model_card_data, f) for f in fields}
    assert read == {f: getattr(ref.model_card_data, f) for f in fields}
    ours.model_card_data.base_model = "base/model"  # written as an attribute, read by the card writer
    ours.save(tmp_path / "saved")
    assert "base_model: base/model" in (tmp_path / "saved" / "README.md").read_text()
    with pytest.raises(AttributeError, match="no field 'colour'"):
        ours.model_card_data.colour = "red"


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_a_model_pickles_and_deep_copies_as_sentence_transformers_does(mean_path, backend):
    import pickle

    model = SentenceTransformer(mean_path, backend=backend)  # BERTopic pickles the model it holds
    expected = model.encode(SENTENCES)
    for copied in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert copied.backend == backend
        np.testing.assert_allclose(copied.encode(SENTENCES), expected, atol=1e-6)  # torch: not bit-exact


def test_to_takes_a_dtype_as_torch_modules_do(mean_path):
    ours, ref = SentenceTransformer(mean_path, backend="torch"), reference(mean_path)
    for model in (ours, ref):
        assert model.to("cpu", torch.bfloat16) is model
    assert ours.precision == "bf16" and ours.dtype == ref.dtype == torch.bfloat16
    np.testing.assert_allclose(ours.encode(SENTENCES), ref.encode(SENTENCES), atol=2e-2)
    for model in (ours, ref):
        model.to(torch.zeros(1))  # a tensor: its device and dtype
    assert ours.precision == "fp32" and ours.dtype == ref.dtype == torch.float32
    with pytest.raises(sbert.InputError, match="float32, bfloat16 or float16"):
        ours.to(torch.float64)


def test_pipeline_edits_as_sentence_transformers(mean_path, tmp_path):
    """nn.Sequential's pop / append / insert / item assignment, as on sentence-transformers' model: the same
    returns, lengths, widths and embeddings (1e-5) after each, and the edited model saves a folder
    sentence-transformers loads with equal embeddings. A model on an explicit ONNX backend refuses (its graph
    is the saved pipeline's)."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.modules import Dense as ReferenceDense
    from sentence_transformers.sentence_transformer.modules import Normalize as ReferenceNormalize

    ours, reference = SentenceTransformer(str(mean_path)), Reference(str(mean_path), device="cpu")

    def same():
        assert len(ours) == len(reference)
        assert ours.get_embedding_dimension() == reference.get_embedding_dimension()
        np.testing.assert_allclose(ours.encode(SENTENCES), reference.encode(SENTENCES), atol=1e-5, rtol=0)

    assert ours.append(sbert.models.Normalize()) is ours
    assert reference.append(ReferenceNormalize()) is reference
    same()
    torch.manual_seed(0)
    dense = sbert.models.Dense(ours.get_embedding_dimension(), 8)
    torch.manual_seed(0)
    reference_dense = ReferenceDense(reference.get_embedding_dimension(), 8)
    assert ours.insert(2, dense) is ours
    reference.insert(2, reference_dense)
    same()
    assert type(ours.pop(3)).__name__ == type(reference.pop(3)).__name__ == "Normalize"
    same()
    ours[2], reference[2] = sbert.models.Normalize(), ReferenceNormalize()
    same()
    ours.save(str(tmp_path / "edited"))
    np.testing.assert_allclose(
        Reference(str(tmp_path / "edited"), device="cpu").encode(SENTENCES),
        reference.encode(SENTENCES),
        atol=1e-5,
        rtol=0,
    )
    graph = SentenceTransformer(str(mean_path), backend="onnx")
    with pytest.raises(InputError, match="backend='auto' or 'torch'"):
        graph.append(sbert.models.Normalize())
    # sentence-transformers' nn.Sequential lets the input module go (its encode then fails): so does sbert,
    # whose encode says why; put back, the pipeline encodes as before
    first, reference_first = ours.pop(0), reference.pop(0)
    with pytest.raises(InputError, match="cannot be the first module"):
        ours.encode(SENTENCES)
    ours.insert(0, first)
    reference.insert(0, reference_first)
    same()
