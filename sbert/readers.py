"""sentence-transformers' ``sentence_transformers.readers`` path (6.x: ``sentence_transformer.readers``):
``InputExample`` and the classic dataset readers its v2 training scripts use with ``model.fit``:

    from sbert.readers import InputExample, STSBenchmarkDataReader
    train_examples = STSBenchmarkDataReader("stsbenchmark").get_examples("sts-train.csv")
"""

from ._training.classic_readers import (
    LabelSentenceReader,
    NLIDataReader,
    PairedFilesReader,
    STSBenchmarkDataReader,
    STSDataReader,
    TripletReader,
)
from ._training.fit_inputs import InputExample

__all__ = [
    "InputExample",
    "LabelSentenceReader",
    "NLIDataReader",
    "PairedFilesReader",
    "STSBenchmarkDataReader",
    "STSDataReader",
    "TripletReader",
]
__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
