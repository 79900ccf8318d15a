"""Cross-encoders: models that score a pair of texts together (rerankers, pair classifiers).

``config`` reads a folder (no torch), ``activation`` maps logits to scores, ``runners`` compute logits on
torch or ONNX Runtime, ``card`` writes the model card, ``model`` holds the :class:`CrossEncoder` class.
"""
