"""Where sbert keeps the graphs it builds inside a model folder: read by the backends, left out of uploads."""

from __future__ import annotations

EXPORT_DIR = "onnx"  # an export-only folder's graphs (``sbert export``)
# sbert's cache inside a model folder: <model>/onnx/sbert. Not onnx/ itself: onnx/model.onnx (and
# model_int8.onnx, model_quantized.onnx, ...) are what sentence-transformers' ONNX backend, optimum,
# transformers.js and TEI load from a model folder, and sbert's graph has other outputs (the pooled
# sentence_embedding, not last_hidden_state), so those tools would misread it.
CACHE_DIR = "sbert"
CACHE_PATH = f"{EXPORT_DIR}/{CACHE_DIR}"
