"""sentence-transformers' SentenceTransformer methods that sbert inherits from ``sbert._st_methods`` and the
top-level names its scripts import (model card data, LoggingHandler, quantize_embeddings, ...), each compared
with sentence-transformers itself where it computes something."""

from __future__ import annotations

import logging
import shutil
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import SENTENCES, classic_pooling

import sbert
from sbert import EmbeddingSimilarityEvaluator, InputError, SentenceTransformer

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
    assert SentenceTransformer.load(mean_path).get_sentence_embedding_dimension() == DIM
    with ours.truncate_sentence_embeddings(8), ref.truncate_embeddings(8):  # ST 6: the old name warns
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


def test_push_to_hub_saves_the_model_and_uploads_it(mean_path, tmp_path, monkeypatch):
    import huggingface_hub

    calls: dict = {}

    class FakeApi:  # the hub, without the network: what sbert asks of it, and the folder it would upload
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, private=None, exist_ok=False, **options):
            calls["repo"] = (repo_id, private, exist_ok)
            return SimpleNamespace(repo_id=f"someone/{repo_id}")

        def create_branch(self, repo_id, branch, exist_ok=False):
            calls["branch"] = branch

        def upload_folder(self, repo_id, folder_path, commit_message, create_pr, revision):
            shutil.copytree(folder_path, tmp_path / "uploaded", dirs_exist_ok=True)
            calls["upload"] = (repo_id, commit_message, create_pr, revision)
            return SimpleNamespace(commit_url=f"https://hub/{repo_id}/commit/1", pr_url="https://hub/pr/1")

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    ours = SentenceTransformer(mean_path)
    url = ours.push_to_hub("tiny", token="t", private=True)
    assert url == "https://hub/someone/tiny/commit/1"
    assert calls["repo"] == ("tiny", True, False) and calls["token"] == "t"
    message = "Add new SentenceTransformer model with an onnx backend"  # sentence-transformers' wording
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


def test_encode_takes_sentence_transformers_6_inputs_keyword(mean_path):
    ours, ref = SentenceTransformer(mean_path), reference(mean_path)
    want = ref.encode(inputs=SENTENCES)
    np.testing.assert_allclose(ours.encode(inputs=SENTENCES), want, atol=1e-5)
    np.testing.assert_allclose(
        ours.encode_query(inputs=SENTENCES), ref.encode_query(inputs=SENTENCES), atol=1e-5
    )
    np.testing.assert_allclose(ours.encode_document(inputs="a"), ref.encode_document(inputs="a"), atol=1e-5)
    with pytest.raises(InputError, match="inputs="):
        ours.encode(SENTENCES, inputs=SENTENCES)
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
    assert type(ours[0].model) is type(ref[0].model) and ours[0].model is ours[0].auto_model
    assert ours.processor is ours.tokenizer is ours[0].processor
    assert ours.requires_grad_(False) is ours and not any(p.requires_grad for p in ours.parameters())
    assert ours.cpu() is ours and ours.device == "cpu"
    with pytest.raises(InputError, match="cuda"):
        ours.cuda()

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
