"""Running a graph in ONNX Runtime on token ids: the one place where its error for an id outside an embedding
table becomes sbert's, for inference (``onnx_runner.run_graph``) and the int8 graph's calibration run
alike."""

from __future__ import annotations

from typing import Any

from ..._errors import TokenIdOutOfRangeError


def run_token_graph(session: Any, outputs: list[str], feeds: dict[str, Any]) -> Any:
    """``session.run(outputs, feeds)``. An id past an embedding table (a caller's features, ``token_type_ids``
    of 1 for a model with one type) is torch's ``IndexError`` there, as under sentence-transformers, not
    ONNX Runtime's ``InvalidArgument``."""
    try:
        return session.run(outputs, feeds)
    except Exception as error:  # onnxruntime's InvalidArgument: a Gather node's indices out of bounds
        if type(error).__name__ != "InvalidArgument" or "out of data bounds" not in str(error):
            raise
        raise TokenIdOutOfRangeError(
            "index out of range in self: the features hold ids (input_ids, token_type_ids) outside the "
            "encoder's embedding tables (vocab_size, type_vocab_size in its config.json); pass the ids "
            f"the model's tokenizer gives. ONNX Runtime: {error}"
        ) from None
