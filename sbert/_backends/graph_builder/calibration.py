"""What the int8 graph needs to know about a model's activations before it rounds them.

**Outlier channels.** BERT-family encoders put a few huge values in one or two channels of some layers'
feed-forward activations, on the first token ([CLS]): in all-MiniLM-L6-v2 one channel reaches 14-25 in layers
0-3 while 99 % of the channels stay under 3-4 (measured on STSb sentences). The int8 graph quantizes a
matmul's input per tensor (``DynamicQuantizeMatMul``), so that one value sets the step for every token of the
batch: quantized as a whole, the down-projections took the mean cosine to fp32 from 0.997 to 0.994. With those
channels taken out of both int8 matmuls and computed in fp32 (``layers._split_feed_forward``), it stayed at
0.9967 (short and long texts).

**Smoothing.** The inputs of the attention projections and of the up-projections (layer norm outputs) have a
few channels 5-30x larger than the rest on every token (all-MiniLM-L6-v2: channel 99 of the layer inputs at
6-10, one channel of the attention outputs at 21-30, 99th percentile 1.3-2). Their per-channel peaks let
:meth:`Graph.smooth` move that range into the weights (SmoothQuant, Xiao et al. 2023): with it the value
projection is int8 too and the mean cosine to fp32 rose from 0.9965 to 0.9984.

Both are found by running the fp32 graph on :data:`CALIBRATION_TEXTS` (ONNX Runtime, no torch).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .ops import PROMPT_INPUT, Calibration, Graph
from .runtime import run_token_graph
from .writer import write_model

# Varied generic sentences (lengths, punctuation, numbers, a question): the massive activations sit on the
# first token whatever follows it, so a few texts find them; they are not tuned to any evaluation set.
CALIBRATION_TEXTS = (
    "The cat sat on the warm window sill and watched the rain.",
    "How do I reset my password if I no longer have access to my email?",
    "Quarterly revenue rose 12% to $4.1 billion, beating analysts' forecasts.",
    "A man is playing a guitar on a busy street corner.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "She said she'd call back tomorrow, but she never did.",
    "Ok.",
    "The committee will meet on 3 March 2025 at 10:00 to review the draft proposal, the budget and the "
    "timeline, and each member should read the attached report, which summarises last year's results, "
    "before the meeting.",
    "Mix two cups of flour with one egg, then bake for twenty minutes.",
    "Which river flows through Paris?",
    "Server error 503: the service is temporarily unavailable; please retry later.",
    "Children are playing football in the park after school.",
)
# A channel is an outlier when its largest activation exceeds this many times the layer's 99th percentile
# of per-channel maxima (all-MiniLM-L6-v2: 3.3-7.4x in the layers that have one, at most 1.6x elsewhere).
OUTLIER_FACTOR = 2.0


def calibrate(fp32_graph: Graph, batch: dict[str, np.ndarray]) -> Calibration:
    """The :class:`Calibration` of ``fp32_graph``'s model from its activations on ``batch`` (padded token
    arrays)."""
    downs, smoothed = fp32_graph.down_inputs, fp32_graph.smoothed_inputs
    probe = Graph()  # the fp32 graph, with the probed tensors as outputs
    probe.nodes, probe.initializers = list(fp32_graph.nodes), fp32_graph.initializers
    probe.inputs, probe.names = fp32_graph.inputs, set(fp32_graph.names)
    outputs = [f"calibration_{i}" for i in range(len(downs) + len(smoothed))]
    for output, tensor in zip(outputs, [*downs.values(), *smoothed.values()]):
        probe.output(tensor, output, ["batch", "sequence", "width"])
    feeds = {k: v for k, v in batch.items() if k in fp32_graph.inputs}
    if PROMPT_INPUT in fp32_graph.inputs:
        feeds[PROMPT_INPUT] = np.array(0, dtype=np.int64)
    real = batch["attention_mask"].astype(bool)  # padded positions carry no real activation
    largest = [np.abs(values[real]).max(axis=0) for values in _run(probe, feeds, outputs)]  # (width,) each
    outliers = {
        name: np.flatnonzero(peak > OUTLIER_FACTOR * np.quantile(peak, 0.99)).astype(np.int64)
        for name, peak in zip(downs, largest)
    }
    peaks = dict(zip(smoothed, largest[len(downs) :]))
    return Calibration(outliers, peaks)


def _run(graph: Graph, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
    """``graph``'s ``outputs`` on ``feeds``, in ONNX Runtime, from a temporary folder (weights in a side
    file: no 2 GiB protobuf limit)."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        write_model(graph, Path(tmp) / "probe.onnx", durable=False)
        session = ort.InferenceSession(str(Path(tmp) / "probe.onnx"), providers=["CPUExecutionProvider"])
        try:
            return run_token_graph(session, outputs, feeds)
        finally:
            del session  # unmaps the side file before the folder goes (Windows cannot delete a mapped file)


def calibration_batch(folders: Sequence[Path], *, pairs: bool) -> dict[str, np.ndarray] | None:
    """:data:`CALIBRATION_TEXTS` tokenized by the tokenizer of the first of ``folders`` that has one (as
    pairs for a cross-encoder), or None when none can be read here (the int8 graph then keeps its
    down-projections fp32 and smooths nothing)."""
    from ..._errors import SbertError
    from ..._tokens.tokenizer import TextTokenizer

    for folder in folders:
        try:
            tokenizer = TextTokenizer.from_folder(folder)
            break
        except (SbertError, ImportError, OSError):
            continue
    else:
        return None
    tokenizer.max_length = min(tokenizer.max_length, 128)
    texts = list(CALIBRATION_TEXTS)
    if pairs:
        encodings: list[Any] = tokenizer.encode_pairs(list(zip(texts, texts[1:] + texts[:1])))
    else:
        encodings = tokenizer.encode_texts(texts)
    return tokenizer.pad_encodings(encodings)
