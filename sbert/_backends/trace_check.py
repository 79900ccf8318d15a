"""Whether a traced ONNX graph computes what its torch model does at shapes other than the traced one.

A trace records one run: Python control flow on a tensor's size is frozen at the tracing input's shape.
Some families pad, pool or route by the sequence's length in Python (Longformer and LED pad to their
attention window, Funnel pools by halves, mixture-of-experts layers split tokens by the router's choice),
so their graph fails or gives other numbers at every other shape. Each trace is run once more at another
shape, with a padded row, beside the torch model; a graph that does not agree is refused with a clear error
instead of being cached. BigBird's block-sparse attention switches to full attention below a length larger
than any probe, so it is refused by its config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ModelLoadError

# (rows, tokens) of the check's inputs: neither the tracing input's (2, 8) nor a multiple of it
PROBE_SHAPE = (3, 11)
# an fp32 graph against the eager model it was traced from (attention kernels differ in summation order)
TOLERANCE = 1e-3


def refuse_untraceable(config: Any) -> None:
    """Refuse a model whose forward takes another path by length than the one a short trace records."""
    model_type = getattr(config, "model_type", None)
    sparse = getattr(config, "attention_type", "") == "block_sparse"
    if model_type in ("big_bird", "bigbird_pegasus") and sparse:
        reason = "its block-sparse attention becomes full attention on short inputs; a trace holds only one"
        raise untraceable(model_type, reason)


def untraceable(model_type: str | None, reason: str) -> ModelLoadError:
    return ModelLoadError(
        f"This {model_type or 'model'} model cannot run on the ONNX backend: {reason}. "
        "Load it with backend='torch'."
    )


def probe_inputs(sample: tuple[Any, ...], names: list[str], config: Any) -> tuple[Any, ...]:
    """The check's inputs: the tracing ``sample`` (``(2, 8)`` token tensors named ``names``, a scalar prompt
    length kept) at :data:`PROBE_SHAPE`, with varied ordinary token ids, each row ending in the config's
    end-of-sequence token where it has one (BART's classifier reads that token), the last row padded."""
    import torch

    rows, tokens = PROBE_SHAPE
    real = [tokens, tokens, tokens // 2]  # tokens of each row before its padding
    eos = end_token(config)
    special = {getattr(config, f"{n}_token_id", None) for n in ("pad", "bos", "eos", "sep", "cls")}
    ordinary = torch.tensor([i for i in range(1, 16) if i not in special][:7])
    probe = []
    for name, value in zip(names, sample):
        if value.dim() != 2:
            probe.append(value)
            continue
        block = torch.zeros((rows, tokens), dtype=value.dtype)
        for row, length in enumerate(real):
            if name == "input_ids":
                block[row] = ordinary[torch.arange(tokens) % len(ordinary)]
                block[row, length - 1] = eos if eos is not None else block[row, length - 1]
            elif name == "attention_mask":
                block[row, :length] = 1
        probe.append(block.to(value.device))
    return tuple(probe)


def end_token(config: Any) -> int | None:
    """The config's end-of-sequence token id, where it has one in its vocabulary."""
    eos = getattr(config, "eos_token_id", None)
    return eos if isinstance(eos, int) and 0 <= eos < getattr(config, "vocab_size", eos + 1) else None


def check_trace(wrapper: Any, sample: tuple[Any, ...], graph: Path, names: list[str], config: Any) -> None:
    """Run the traced ``graph`` and ``wrapper`` (the torch module it was traced from, in eval mode) on
    :func:`probe_inputs`; raise :func:`untraceable` where the graph fails or its outputs differ."""
    import onnxruntime as ort
    import torch

    probe = probe_inputs(sample, names, config)
    with torch.no_grad():
        expected = wrapper(*probe)
    expected = expected if isinstance(expected, tuple) else (expected,)
    model_type = getattr(config, "model_type", None)
    try:
        session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
        # the exporter drops an input the model ignores (DeBERTa-v2's token types without a vocabulary)
        taken = {graph_input.name for graph_input in session.get_inputs()}
        feeds = {name: value.cpu().numpy() for name, value in zip(names, probe) if name in taken}
        got = session.run(None, feeds)
    except Exception as e:  # onnxruntime raises its own Fail / RuntimeException classes
        first_line = str(e).splitlines()[0][:200]
        raise untraceable(model_type, f"its traced graph fails at a new input shape ({first_line})") from e
    mask = probe[names.index("attention_mask")].cpu().numpy() if "attention_mask" in names else None
    for ours, reference in zip(got, expected):
        reference = reference.float().cpu().numpy()
        if mask is not None and reference.shape[:2] == mask.shape:  # token outputs: real tokens only
            ours, reference = ours[mask.astype(bool)], reference[mask.astype(bool)]
        if ours.shape != reference.shape or not np.allclose(ours, reference, rtol=TOLERANCE, atol=TOLERANCE):
            raise untraceable(model_type, "its traced graph gives other numbers at a new input shape")
