"""sentence-transformers' MultiVectorEncoder (late-interaction, ColBERT-style models) on torch: the model
(``model``), its scoring-mask module (``multi_vector_mask``) and the per-task tokenization of its Transformer
(``task_inputs``: query / document lengths and query expansion)."""
