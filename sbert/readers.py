"""sentence-transformers' ``sentence_transformers.readers`` path, where older training code imports
``InputExample`` from:

    from sbert.readers import InputExample
"""

from ._training.fit_inputs import InputExample

__all__ = ["InputExample"]
__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
