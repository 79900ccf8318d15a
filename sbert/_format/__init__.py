"""The sentence-transformers folder format: names -> local folders (hub), the modules.json registry and
configs (layout), weight-file checks (weights) and the generated model card (card)."""
