"""Sparse encoders: SPLADE models that map a text to one weight per vocabulary token.

``folder`` reads and writes the folder format (no torch), ``mlm_transformer`` and ``splade_pooling`` are the
two torch modules of the pipeline, ``tensors`` shapes and scores sparse outputs as sentence-transformers
does, ``card`` writes the model card, ``model`` holds the :class:`SparseEncoder` class.
"""
