"""Torch-free ONNX graphs built from config.json + model.safetensors (sbert._backends.graph_builder): the same
numbers as the torch pipeline and sentence-transformers for tiny random models of each encoder family,
every pooling mode, prompts left out of the pooling, Dense + Normalize, left padding; the traced export's
graph contract; no torch; clear errors for corrupt files and False for what it does not build."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    BLOCK_TORCH,
    ENCODER_FAMILIES,
    POOLING_MODES,
    SENTENCES,
    build_tiny_encoder,
    classic_pooling,
    cosines,
    int8_weights,
    write_st_folder,
)

from sbert import ModelLoadError
from sbert._backends import graph_builder
from sbert._backends.graph_builder import build_pipeline_graph, can_build
from sbert._backends.graph_builder.ops import Graph
from sbert._backends.onnx_runner import OnnxRunner

ATOL = 1e-5
TANH = "torch.nn.modules.activation.Tanh"


@pytest.fixture(scope="module")
def encoders(tiny_bert, tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {kind: build_tiny_encoder(kind, tiny_bert, root / kind) for kind in ENCODER_FAMILIES}


def st_folder(encoder: Path, folder: Path, pooling: dict, **modules) -> Path:
    return write_st_folder(encoder, folder, pooling, **modules)


def built_runner(path: Path, tmp_path: Path, dimension: int) -> OnnxRunner:
    graph = tmp_path / "built" / "model.onnx"
    assert build_pipeline_graph(path, graph)
    return OnnxRunner(graph, dimension=dimension, threads=1)


def torch_and_built(path: Path, tmp_path: Path):
    from sbert import SentenceTransformer

    model = SentenceTransformer(path, backend="torch")
    return model, built_runner(path, tmp_path, model.get_embedding_dimension())


def assert_parity(path: Path, tmp_path: Path, texts=SENTENCES) -> np.ndarray:
    """The built graph on one right-padded batch of mixed lengths equals the torch pipeline's encode."""
    model, runner = torch_and_built(path, tmp_path)
    reference = model.encode(texts)
    ours = runner.embed(model.tokenizer.encode_padded(texts))
    np.testing.assert_allclose(ours, reference, atol=ATOL, rtol=0)
    return reference


@pytest.mark.parametrize("kind", ENCODER_FAMILIES)
def test_each_family_matches_the_torch_pipeline(kind, encoders, tmp_path):
    path = st_folder(encoders[kind], tmp_path / "m", classic_pooling(32, "mean"), normalize=True)
    assert can_build(path)
    reference = assert_parity(path, tmp_path)
    assert np.abs(reference).max() > 0.1  # the comparison is on real numbers, not near-zeros


def test_fp32_graph_kernels_as_chosen(encoders, tmp_path):
    """Every layer norm is one LayerNormalization node, which ONNX Runtime's full optimization (as
    ``open_session`` asks for) keeps apart from the residual Add before it (the fused
    SkipLayerNormalization ran slower on 384-wide rows; a version that fused them would need
    ``disabled_optimizers=["SkipLayerNormFusion"]``); every up-projection's MatMul adds its bias through a
    column of ones, and the bias-free Gelu follows."""
    import onnxruntime as ort

    path = st_folder(encoders["bert"], tmp_path / "m", classic_pooling(32, "mean"))
    built_runner(path, tmp_path, 32)
    graph = onnx_graph(tmp_path / "built" / "model.onnx")
    ops = [node.op_type for node in graph.node]
    layers = json.loads((encoders["bert"] / "config.json").read_text())["num_hidden_layers"]
    assert ops.count("LayerNormalization") == 1 + 2 * layers and "ReduceMean" not in ops
    producers = {out: node for node in graph.node for out in node.output}
    up_projections = [producers[node.input[0]] for node in graph.node if node.op_type == "Gelu"]
    assert len(up_projections) == layers and "BiasGelu" not in ops
    for matmul in up_projections:
        widened = producers[matmul.input[0]]
        assert (matmul.op_type, widened.op_type) == ("MatMul", "Concat")
        assert producers[widened.input[1]].op_type == "Expand"  # the ones
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(tmp_path / "built" / "model.onnx"), options, ["CPUExecutionProvider"])
    optimized = [node.op_type for node in onnx_graph(tmp_path / "optimized.onnx").node]
    assert optimized.count("LayerNormalization") == 1 + 2 * layers
    assert "SkipLayerNormalization" not in optimized


@pytest.mark.parametrize("kind", ENCODER_FAMILIES)
def test_graph_inputs_are_those_of_the_traced_export(kind, encoders, tmp_path):
    from sbert import SentenceTransformer
    from sbert._backends.onnx_export import graph_inputs

    pooling = {**classic_pooling(32, "mean"), "include_prompt": False}
    path = st_folder(encoders[kind], tmp_path / "m", pooling)
    model = SentenceTransformer(path, backend="torch")
    runner = built_runner(path, tmp_path, 32)
    assert runner.input_names == graph_inputs(model) == graph_builder.graph_inputs(path)
    assert runner.input_names[-1] == "prompt_length"
    outputs = {o.name: o.shape for o in runner.session.get_outputs()}
    assert outputs == {"sentence_embedding": ["batch", 32], "token_embeddings": ["batch", "sequence", 32]}


@pytest.mark.parametrize("modes", [(m,) for m in POOLING_MODES] + [("cls", "mean", "max")])
def test_every_pooling_mode_with_dense_and_normalize(modes, encoders, tmp_path):
    dense = {"in_features": 32 * len(modes), "out_features": 16, "bias": True, "activation_function": TANH}
    path = st_folder(
        encoders["bert"], tmp_path / "m", classic_pooling(32, *modes), dense=dense, normalize=True
    )
    assert assert_parity(path, tmp_path).shape == (len(SENTENCES), 16)


@pytest.mark.parametrize("activation", ["Identity", "ReLU", "GELU", "Sigmoid", "SiLU"])
def test_dense_activations(activation, encoders, tmp_path):
    module = "linear" if activation == "Identity" else "activation"
    dense = {
        "in_features": 32,
        "out_features": 8,
        "bias": activation != "ReLU",
        "activation_function": f"torch.nn.modules.{module}.{activation}",
    }
    assert_parity(
        st_folder(encoders["roberta"], tmp_path / "m", classic_pooling(32, "mean"), dense=dense), tmp_path
    )


@pytest.mark.parametrize("kind", ["bert", "mpnet"])
@pytest.mark.parametrize("mode", ["mean", "weightedmean", "cls", "lasttoken", "max"])
def test_prompt_left_out_of_the_pooling(kind, mode, encoders, tmp_path):
    pooling = {**classic_pooling(32, mode), "include_prompt": False}
    path = st_folder(encoders[kind], tmp_path / "m", pooling)
    model, runner = torch_and_built(path, tmp_path)
    prompt = "the weather is "
    reference = model.encode(SENTENCES, prompt=prompt)
    batch = model.tokenizer.encode_padded([prompt + text for text in SENTENCES])
    batch["prompt_length"] = np.array(model.prompt_length(prompt), dtype=np.int64)
    assert batch["prompt_length"] > 0
    np.testing.assert_allclose(runner.embed(batch), reference, atol=ATOL, rtol=0)
    without = model.tokenizer.encode_padded(SENTENCES)  # no prompt: prompt_length 0 pools every token
    np.testing.assert_allclose(runner.embed(without), model.encode(SENTENCES), atol=ATOL, rtol=0)


def left_padded(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same batch with each row's padding moved to the left."""
    lengths = batch["attention_mask"].sum(1)
    width = batch["attention_mask"].shape[1]
    return {k: np.stack([np.roll(row, width - n) for row, n in zip(v, lengths)]) for k, v in batch.items()}


@pytest.mark.parametrize("kind", ENCODER_FAMILIES)
def test_left_padding_matches_sentence_transformers(kind, encoders, tmp_path):
    import torch
    from sentence_transformers import SentenceTransformer as Reference

    pooling = classic_pooling(32, "mean", "cls", "weightedmean", "lasttoken")
    path = st_folder(encoders[kind], tmp_path / "m", pooling, normalize=True)
    reference = Reference(str(path), device="cpu")
    features = reference.preprocess(SENTENCES[:3] + SENTENCES[5:])
    batch = left_padded({k: v.numpy() for k, v in features.items() if hasattr(v, "numpy")})
    assert batch["attention_mask"][:, 0].min() == 0  # some rows really are left-padded
    runner = built_runner(path, tmp_path, 128)
    sentences, tokens = runner.session.run(
        ["sentence_embedding", "token_embeddings"], {name: batch[name] for name in runner.input_names}
    )
    with torch.no_grad():
        expected = reference({k: torch.from_numpy(v) for k, v in batch.items()})
    np.testing.assert_allclose(sentences, expected["sentence_embedding"].numpy(), atol=ATOL, rtol=0)
    real = batch["attention_mask"].astype(bool)
    np.testing.assert_allclose(tokens[real], expected["token_embeddings"].numpy()[real], atol=ATOL, rtol=0)


def test_default_model_matches_torch_and_sentence_transformers(
    default_model_path, st_default_model, tmp_path
):
    from sbert import SentenceTransformer

    model = SentenceTransformer(default_model_path, backend="torch")
    runner = built_runner(default_model_path, tmp_path, 384)
    ours = runner.embed(model.tokenizer.encode_padded(SENTENCES))
    np.testing.assert_allclose(ours, model.encode(SENTENCES), atol=ATOL, rtol=0)
    np.testing.assert_allclose(ours, st_default_model.encode(SENTENCES), atol=ATOL, rtol=0)
    assert not (default_model_path / "onnx").exists()  # built into the destination only


TORCH_FREE_BUILD = (
    BLOCK_TORCH
    + """import json
from pathlib import Path
import numpy as np
from sbert._backends.graph_builder import build_pipeline_graph
from sbert._backends.onnx_runner import OnnxRunner
from sbert._format.layout import read_transformer_options
from sbert._tokens.tokenizer import TextTokenizer
folder, graph = Path(sys.argv[1]), Path(sys.argv[2])
print(json.dumps(build_pipeline_graph(folder, graph)))
runner = OnnxRunner(graph, dimension=32)
tokenizer = TextTokenizer.from_folder(folder)
tokenizer.max_length = read_transformer_options(folder)["max_seq_length"]
batch = tokenizer.encode_padded(json.loads(sys.argv[3]))
np.save(sys.argv[4], runner.embed(batch))
int8 = graph.with_name("int8.onnx")
assert build_pipeline_graph(folder, int8, precision="int8")
np.save(sys.argv[4] + ".int8.npy", OnnxRunner(int8, dimension=32).embed(batch))
print(json.dumps(sorted(m for m in ("torch", "transformers", "onnx") if m in sys.modules)))
"""
)


def test_builds_and_runs_with_torch_blocked(encoders, tmp_path):
    from sbert import SentenceTransformer

    path = st_folder(encoders["mpnet"], tmp_path / "m", classic_pooling(32, "mean"), normalize=True)
    args = [str(path), str(tmp_path / "g.onnx"), json.dumps(SENTENCES), str(tmp_path / "e.npy")]
    result = subprocess.run([sys.executable, "-c", TORCH_FREE_BUILD, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    built, imported = map(json.loads, result.stdout.splitlines())
    assert built is True and imported == []  # neither torch nor even the onnx package, int8 included
    reference = SentenceTransformer(path, backend="torch").encode(SENTENCES)
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), reference, atol=ATOL, rtol=0)
    int8 = np.load(tmp_path / "e.npy.int8.npy")  # normalized: the dot product is the cosine
    assert (int8 * reference).sum(1).min() > 0.95  # tiny random weights round badly: 0.98-0.99


def bfloat16_copy(encoder: Path, folder: Path) -> Path:
    """The encoder with its weights stored in bfloat16, as many checkpoints on the hub are."""
    import torch
    from safetensors.torch import load_file, save_file

    shutil.copytree(encoder, folder)
    weights = load_file(encoder / "model.safetensors")
    halves = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in weights.items()}
    save_file(halves, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


@pytest.mark.parametrize("kind", ENCODER_FAMILIES)
def test_bfloat16_checkpoint_is_built_and_matches_sentence_transformers_in_fp32(kind, encoders, tmp_path):
    """numpy has no bfloat16: its tensors are widened to float32 (exactly), so such a checkpoint runs on the
    built graph, torch-free, with the numbers of the same weights computed in fp32."""
    import torch
    from sentence_transformers import SentenceTransformer as Reference

    from sbert import SentenceTransformer

    encoder = bfloat16_copy(encoders[kind], tmp_path / "encoder")
    path = st_folder(encoder, tmp_path / "m", classic_pooling(32, "mean"), normalize=True)
    assert can_build(path)
    model = SentenceTransformer(path)
    assert model.backend == "onnx"
    reference = Reference(str(path), device="cpu", model_kwargs={"dtype": torch.float32})
    expected = reference.encode(SENTENCES)
    np.testing.assert_allclose(model.encode(SENTENCES), expected, atol=ATOL, rtol=0)
    args = [str(path), str(tmp_path / "g.onnx"), json.dumps(SENTENCES), str(tmp_path / "e.npy")]
    result = subprocess.run([sys.executable, "-c", TORCH_FREE_BUILD, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[1]) == []  # built and run without torch
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), expected, atol=ATOL, rtol=0)


def edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del config[key]
    (folder / "config.json").write_text(json.dumps(config))


def test_unknown_architecture_is_not_built(encoders, tmp_path):
    path = st_folder(encoders["bert"], tmp_path / "m", classic_pooling(32, "mean"))
    edit_config(path, model_type="electra")
    assert not can_build(path)
    assert build_pipeline_graph(path, tmp_path / "g.onnx") is False
    assert not (tmp_path / "g.onnx").exists()


def test_config_values_it_does_not_write_are_not_built(encoders, tmp_path):
    path = st_folder(encoders["bert"], tmp_path / "m", classic_pooling(32, "mean"))
    edit_config(path, hidden_act="prelu")  # learned weights: left to the torch export
    assert not can_build(path) and not build_pipeline_graph(path, tmp_path / "g.onnx")
    edit_config(path, hidden_act="gelu", position_embedding_type="relative_key")
    assert not can_build(path) and not build_pipeline_graph(path, tmp_path / "g.onnx")
    edit_config(path, position_embedding_type="absolute", is_decoder=True)  # causal attention
    assert not can_build(path) and not build_pipeline_graph(path, tmp_path / "g.onnx")


def test_static_embedding_pipeline_is_not_built(tiny_bert, tmp_path):
    from tokenizers import Tokenizer

    from sbert import SentenceTransformer, StaticEmbedding

    tokenizer = Tokenizer.from_file(str(tiny_bert / "tokenizer.json"))
    table = np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 8)).astype(np.float32)
    SentenceTransformer(modules=[StaticEmbedding(tokenizer, table)]).save(tmp_path / "static")
    assert not can_build(tmp_path / "static")
    assert build_pipeline_graph(tmp_path / "static", tmp_path / "g.onnx") is False


def test_missing_config_field_is_a_model_load_error(encoders, tmp_path):
    path = st_folder(encoders["bert"], tmp_path / "m", classic_pooling(32, "mean"))
    edit_config(path, num_attention_heads=None)
    assert not can_build(path)
    with pytest.raises(ModelLoadError, match=r"config\.json has no 'num_attention_heads'.*backend='torch'"):
        build_pipeline_graph(path, tmp_path / "g.onnx")
    assert not (tmp_path / "g.onnx").exists()


def rewrite_weights(folder: Path, change) -> None:
    from safetensors.numpy import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    change(tensors)
    save_file(tensors, folder / "model.safetensors")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.pop("encoder.layer.1.output.dense.weight"),
            "has no tensor 'encoder.layer.1.output.dense.weight'",
        ),
        (
            lambda t: t.update({"encoder.layer.0.attention.self.value.bias": np.zeros(31, np.float32)}),
            r"'encoder.layer.0.attention.self.value.bias' has shape \[31\], config.json says \[32\]",
        ),
    ],
)
def test_missing_or_misshapen_tensor_is_a_model_load_error(change, message, encoders, tmp_path):
    path = st_folder(encoders["bert"], tmp_path / "m", classic_pooling(32, "mean"))
    rewrite_weights(path, change)
    with pytest.raises(ModelLoadError, match=message) as error:
        build_pipeline_graph(path, tmp_path / "g.onnx")
    assert str(path / "model.safetensors") in str(error.value)


def test_weights_go_to_one_aligned_side_file_replaced_on_rebuild(encoders, tmp_path):
    """Weights sit outside the graph at 64 KiB-aligned offsets (ONNX Runtime maps them rather than copying),
    in a side file named after their hash: a rebuild of the same weights keeps it; new weights get a new
    side file, written before the graph that names it, and the old one is removed."""
    import onnx

    path = st_folder(encoders["distilbert"], tmp_path / "m", classic_pooling(32, "mean"))
    model, runner = torch_and_built(path, tmp_path)
    folder = tmp_path / "built"
    (first,) = folder.glob("model.onnx.*.data")
    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
    places = [{e.key: e.value for e in t.external_data} for t in graph.initializer if t.external_data]
    assert {p["location"] for p in places} == {first.name}
    assert len(places) >= 10 and all(int(p["offset"]) % 65536 == 0 for p in places)
    batch = model.tokenizer.encode_padded(SENTENCES)
    np.testing.assert_allclose(runner.embed(batch), model.encode(SENTENCES), atol=ATOL, rtol=0)
    again = built_runner(path, tmp_path, 32)
    assert list(folder.glob("model.onnx.*.data")) == [first]
    np.testing.assert_array_equal(again.embed(batch), runner.embed(batch))
    rewrite_weights(path, lambda t: t.update({k: v * 0.5 for k, v in t.items() if k.endswith("lin1.weight")}))
    changed = built_runner(path, tmp_path, 32)
    (second,) = folder.glob("model.onnx.*.data")
    assert second != first and not first.exists()
    assert not np.allclose(changed.embed(batch), runner.embed(batch), atol=1e-4)


def test_processes_building_the_same_graph_at_once_leave_a_loadable_graph(encoders, tmp_path, monkeypatch):
    """Two processes (torchrun ranks, server workers) building one model's graph at once: the second writes
    its side file, graph and clean-up while the first is between writing its side file and its graph. Each
    clean-up removes only side files no graph names, so the graph left behind loads (a random side file
    name per build had the second remove the first's, whose graph then named a missing file)."""
    from sbert._backends.graph_builder import writer

    path = st_folder(encoders["bert"], tmp_path / "m", classic_pooling(32, "mean"))
    graph = tmp_path / "built" / "model.onnx"
    replace, nested = writer.os.replace, []

    def interleaved(source, target):
        if Path(target) == graph and not nested:  # the first build, about to move its graph in
            nested.append(True)
            assert build_pipeline_graph(path, graph)  # the other process, start to end
        replace(source, target)

    monkeypatch.setattr(writer.os, "replace", interleaved)
    assert build_pipeline_graph(path, graph)
    assert nested
    (side,) = graph.parent.glob("model.onnx.*.data")
    runner = OnnxRunner(graph, dimension=32, threads=1)
    from sbert import SentenceTransformer

    model = SentenceTransformer(path, backend="torch")
    np.testing.assert_allclose(
        runner.embed(model.tokenizer.encode_padded(SENTENCES)), model.encode(SENTENCES), atol=ATOL, rtol=0
    )


def int8_runner(path: Path, tmp_path: Path, dimension: int) -> OnnxRunner:
    graph = tmp_path / "built" / "model_int8.onnx"
    assert build_pipeline_graph(path, graph, precision="int8")
    return OnnxRunner(graph, dimension=dimension, threads=1)


def unrounded_attention(graph, x, weights, biases, mask, heads, parts, bias=""):
    """Graph.quantized_attention with QAttention's projections unrounded: fp32 Attention (MPNet's path,
    MultiHeadAttention behind three quantized_linear, is kept: quantized_linear is patched too)."""
    if bias:
        return ROUNDED_ATTENTION(graph, x, weights, biases, mask, heads, parts, bias)
    return Graph.attention(graph, x, weights, biases, mask, heads, parts[0])


def separate_projections_attention(graph, x, weights, biases, mask, heads, parts, bias=""):
    """QAttention written as what it computes: three int8 matmuls of one per-tensor quantized input (its
    scale and zero point are the same for the three), then MultiHeadAttention."""
    projected = [graph.quantized_linear(x, w, b, n) for w, b, n in zip(weights, biases, parts)]
    inputs = [*projected, "", mask] + ([bias] if bias else [])
    return graph.op(
        "MultiHeadAttention", *inputs, name=f"{parts[0]}/Attention", contrib=True, num_heads=heads
    )


ROUNDED_ATTENTION = Graph.quantized_attention


@pytest.mark.parametrize("kind", ENCODER_FAMILIES)
def test_int8_graph_is_the_fp32_graph_but_for_rounding(kind, encoders, tmp_path, monkeypatch):
    """The int8 graph's own structure (smoothed inputs with their scales moved into the weights, biases
    inside the quantized matmuls, the bias-free erf GELU, MPNet's MultiHeadAttention with the padding mask and
    position bias) gives the fp32 graph's numbers when its quantized matmuls are written in fp32, on right-
    and left-padded batches."""
    from sbert import SentenceTransformer

    path = st_folder(encoders[kind], tmp_path / "m", classic_pooling(32, "mean", "cls"), normalize=True)
    batch = SentenceTransformer(path, backend="torch").tokenizer.encode_padded(SENTENCES)
    fp32 = built_runner(path, tmp_path, 64)
    monkeypatch.setattr(Graph, "quantized_linear", Graph.linear)
    monkeypatch.setattr(Graph, "quantized_attention", unrounded_attention)
    unrounded = int8_runner(path, tmp_path, 64)
    nodes = onnx_graph(tmp_path / "built" / "model_int8.onnx").node
    smoothed = sorted(node.name.split(".")[3] for node in nodes if node.name.endswith("/Smooth"))
    assert smoothed == sorted(
        ["attention", "intermediate"] * 2 if kind != "distilbert" else ["attention", "ffn"] * 2
    )
    assert ("MultiHeadAttention" in {node.op_type for node in nodes}) == (kind == "mpnet")
    for rows in (batch, left_padded(batch)):
        np.testing.assert_allclose(unrounded.embed(rows), fp32.embed(rows), atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind", ["bert", "distilbert", "mpnet"])
def test_int8_graph_rounds_every_weight_matmul(kind, encoders, tmp_path, monkeypatch):
    """Every weight matmul is int8 (per output channel): the three attention projections in one QAttention
    (MPNet, whose position bias QAttention does not take: three DynamicQuantizeMatMul), the output, up- and
    down-projections as DynamicQuantizeMatMul. QAttention computes what three int8 matmuls of the same
    input and MultiHeadAttention compute, on right- and left-padded batches."""
    import onnx

    from sbert import SentenceTransformer
    from sbert._backends.graph_builder import calibration

    monkeypatch.setattr(calibration, "OUTLIER_FACTOR", np.inf)  # no channel split out: all rounded
    path = st_folder(encoders[kind], tmp_path / "m", classic_pooling(32, "mean"))
    model = SentenceTransformer(path, backend="torch")
    runner = int8_runner(path, tmp_path, 32)
    graph = onnx.load(str(tmp_path / "built" / "model_int8.onnx"))
    onnx.checker.check_model(graph)  # the hand-written protobuf, with int8 tensors, is valid ONNX
    ops = [node.op_type for node in graph.graph.node]
    fused = 0 if kind == "mpnet" else 1
    expected = (2 * fused, 2 * (6 - 3 * fused), 0)
    assert (ops.count("QAttention"), ops.count("DynamicQuantizeMatMul"), ops.count("MatMul")) == expected
    # the up-projections add their bias inside the int8 matmul; erf's GELU follows, bias-free
    producers = {out: node for node in graph.graph.node for out in node.output}
    activated = [producers[node.input[0]] for node in graph.graph.node if node.op_type == "Gelu"]
    assert [(node.op_type, len(node.input)) for node in activated] == [("DynamicQuantizeMatMul", 5)] * 2
    assert not {"BiasGelu", "FastGelu"} & set(ops)
    weights = {t.name: t for t in graph.graph.initializer if t.name.endswith(".weight_int8")}
    assert len(weights) == 2 * (6 - 2 * fused) and all(
        t.data_type == onnx.TensorProto.INT8 for t in weights.values()
    )
    batch = model.tokenizer.encode_padded(SENTENCES)
    # tiny random weights round badly (0.98-0.99 from fp32 here; 0.998 on all-MiniLM-L6-v2)
    assert cosines(runner.embed(batch), model.encode(SENTENCES)).min() > 0.95
    if fused:
        monkeypatch.setattr(Graph, "quantized_attention", separate_projections_attention)
        separate = int8_runner(path, tmp_path, 32)
        assert "QAttention" not in {
            node.op_type for node in onnx_graph(tmp_path / "built" / "model_int8.onnx").node
        }
        for rows in (batch, left_padded(batch)):
            np.testing.assert_allclose(runner.embed(rows), separate.embed(rows), atol=1e-5, rtol=0)


@pytest.mark.parametrize("bits", [8, 7])
def test_int8_graph_weights_have_the_bits_asked(bits, encoders, tmp_path):
    """``weight_bits`` 7 (CPUs whose int8 kernels sum pairs of products in 16 bits) keeps every int8 weight
    within +-63, each output column reaching it, so that 2 x 255 x 63 cannot saturate; 8 uses +-127. Both
    graphs compute the model."""
    from sbert import SentenceTransformer

    path = st_folder(encoders["bert"], tmp_path / "m", classic_pooling(32, "mean"))
    graph_path = tmp_path / "built" / "model_int8.onnx"
    assert build_pipeline_graph(path, graph_path, precision="int8", weight_bits=bits)
    weights = int8_weights(graph_path)
    levels = 2 ** (bits - 1) - 1
    assert len(weights) == 2 * 4  # QAttention's packed projections, the output, up- and down-projections
    for weight in weights:
        np.testing.assert_array_equal(np.abs(weight).max(axis=0), levels)
    model = SentenceTransformer(path, backend="torch")
    runner = OnnxRunner(graph_path, dimension=32, threads=1)
    embeddings = runner.embed(model.tokenizer.encode_padded(SENTENCES))
    assert cosines(embeddings, model.encode(SENTENCES)).min() > 0.95


def test_int8_weights_of_other_bits_are_refused():
    from sbert._backends.graph_builder.ops import quantize_columns

    with pytest.raises(ValueError, match="7 or 8 bits"):
        quantize_columns(np.ones((4, 4), np.float32), bits=4)


def test_int8_graph_multiplies_outlier_channels_in_fp32(encoders, tmp_path, monkeypatch):
    """A feed-forward channel with massive activations (as BERT models have on [CLS]) is found by the
    calibration and multiplied in fp32 beside the int8 down-projection, which then rounds the other
    channels finely: closer to fp32 than rounding them all with one step."""
    import onnx
    from safetensors.numpy import load_file, save_file

    from sbert._backends.graph_builder import calibration
    from sbert._tokens.tokenizer import TextTokenizer

    encoder = tmp_path / "outlier"
    shutil.copytree(encoders["bert"], encoder)
    weights = load_file(encoder / "model.safetensors")
    bias = next(name for name in weights if name.endswith("layer.0.intermediate.dense.bias"))
    weights[bias][5] = 100.0  # GELU passes it: channel 5 of the down-projection input is ~100, the rest < 4
    save_file(weights, encoder / "model.safetensors", metadata={"format": "pt"})
    path = st_folder(encoder, tmp_path / "m", classic_pooling(32, "mean"))
    batch = TextTokenizer.from_folder(path).encode_padded(SENTENCES)
    rounded = Graph.quantized_linear  # only layer 0's down-projection rounded: its error alone is compared
    monkeypatch.setattr(Graph, "quantized_attention", unrounded_attention)
    monkeypatch.setattr(
        Graph,
        "quantized_linear",
        lambda graph, x, w, b, name: (rounded if name.endswith("0.output.dense") else Graph.linear)(
            graph, x, w, b, name
        ),
    )
    fp32 = built_runner(path, tmp_path, 32).embed(batch)
    split = int8_runner(path, tmp_path, 32).embed(batch)
    graph = onnx_graph(tmp_path / "built" / "model_int8.onnx")
    side = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer if ".outliers." in t.name}
    assert sorted((name, a.shape) for name, a in side.items()) == [
        ("encoder.layer.0.intermediate.dense.outliers.bias", (1,)),
        ("encoder.layer.0.intermediate.dense.outliers.weight", (32, 1)),
        ("encoder.layer.0.output.dense.outliers.weight", (1, 32)),
    ]
    assert side["encoder.layer.0.intermediate.dense.outliers.bias"][0] == 100.0
    # the channel is taken out before the activation: the wide activations get no masking pass
    assert not [
        node.name for node in graph.node if node.op_type in ("Mul", "Gather") and ".output." in node.name
    ]
    monkeypatch.setattr(calibration, "OUTLIER_FACTOR", np.inf)
    whole = int8_runner(path, tmp_path, 32).embed(batch)
    split_error, whole_error = (float((1 - cosines(x, fp32)).mean()) for x in (split, whole))
    assert split_error < whole_error / 10, (split_error, whole_error)  # measured 3e-8 against 3e-5


def test_uncalibrated_int8_graph_keeps_the_down_projections_fp32(encoders, tmp_path, monkeypatch):
    """Without calibration (the model's tokenizer unreadable here) the down-projections stay fp32, as in
    the traced int8 graph, rather than being rounded with one step for their outlier channels too, and no
    input is smoothed."""
    monkeypatch.setattr(graph_builder, "calibration_batch", lambda folder, pairs: None)
    path = st_folder(encoders["bert"], tmp_path / "m", classic_pooling(32, "mean"))
    int8_runner(path, tmp_path, 32)
    ops = {node.name: node.op_type for node in onnx_graph(tmp_path / "built" / "model_int8.onnx").node}
    assert [ops[f"encoder.layer.{i}.output.dense/MatMul"] for i in range(2)] == ["MatMul"] * 2
    assert sum(op == "DynamicQuantizeMatMul" for op in ops.values()) == 2 * 2  # output and up-projections
    assert sum(op == "QAttention" for op in ops.values()) == 2
    assert not [name for name in ops if name.endswith("/Smooth")]


def onnx_graph(path: Path):
    import onnx

    return onnx.load(str(path), load_external_data=False).graph


def test_constants_are_those_of_the_traced_export():
    from sbert._backends import onnx_export
    from sbert._backends.graph_builder import ops

    assert (ops.OPSET, ops.PROMPT_INPUT) == (onnx_export.OPSET, onnx_export.PROMPT_INPUT)


def test_relative_buckets_match_transformers():
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    from sbert._backends.graph_builder.mpnet import relative_buckets

    distances = np.arange(-300, 301)
    expected = MPNetEncoder.relative_position_bucket(__import__("torch").from_numpy(distances)).numpy()
    np.testing.assert_array_equal(relative_buckets(distances), expected)
