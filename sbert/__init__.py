"""sbert: sentence embeddings. Load, encode and save Sentence-BERT models.

    from sbert import SentenceTransformer
    model = SentenceTransformer()            # the embedded all-MiniLM-L6-v2, offline
    embeddings = model.encode(["A sentence.", "Another one."])

``import sbert`` is light: torch and transformers load only when a model does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import sentence_transformers as _model_class_path  # (see the note below)
from ._errors import (
    BackendUnavailableError,
    EmbeddingShapeError,
    IndexCorruptError,
    InputError,
    ModelLoadError,
    ModelMismatchError,
    SbertError,
    SequenceTooLongError,
)
from ._errors import log_through_sentence_transformers_logger as _log_through_sentence_transformers_logger
from ._format.original_models import HUB_ORGANIZATION as _HUB_ORGANIZATION
from ._losses import LOSSES
from ._missing_extras import install as _install_missing_extras
from ._module_paths import install as _install_module_paths
from ._numeric import normalize, similarity_matrix
from ._similarity_function import SimilarityFunction
from ._tokens import transformers_path as _tokenizer_class_path  # (see the note below)
from ._version import __version__

# The modules the model and tokenizer classes name as theirs (``__module__``) are imported with sbert: Ray and
# joblib's loky pickle a class by reference only when its module is in ``sys.modules``; otherwise they copy
# the class, and in a worker ``type(model)`` is no longer ``SentenceTransformer`` (lbl2vec compares them).

__MODEL_HUB_ORGANIZATION__ = _HUB_ORGANIZATION  # sentence-transformers' name for it, imported by some clients

if TYPE_CHECKING:
    from ._cross_encoder.model import CrossEncoder
    from ._evaluation import (
        BinaryClassificationEvaluator,
        ClassificationEvaluator,
        EmbeddingSimilarityEvaluator,
        Evaluator,
        InformationRetrievalEvaluator,
        LabelAccuracyEvaluator,
        MSEEvaluator,
        MSEEvaluatorFromDataFrame,
        NanoBEIREvaluator,
        ParaphraseMiningEvaluator,
        RerankingEvaluator,
        SequentialEvaluator,
        TranslationEvaluator,
        TripletEvaluator,
    )
    from ._fake import FakeEncoder
    from ._format.card_data import CrossEncoderModelCardData, SentenceTransformerModelCardData
    from ._model import SentenceTransformer, TruncationWarning
    from ._modules.bow import BoW
    from ._modules.cnn import CNN
    from ._modules.dense import Dense
    from ._modules.dropout import Dropout
    from ._modules.layer_norm import LayerNorm
    from ._modules.lstm import LSTM
    from ._modules.normalize import Normalize
    from ._modules.pooling import Pooling
    from ._modules.router import Router
    from ._modules.static_embedding import StaticEmbedding
    from ._modules.transformer import Transformer
    from ._modules.weighted_layer_pooling import WeightedLayerPooling
    from ._modules.word_embeddings import WordEmbeddings
    from ._modules.word_weights import WordWeights
    from ._multi_vector.card import MultiVectorEncoderModelCardData
    from ._multi_vector.model import MultiVectorEncoder
    from ._progress import LoggingHandler
    from ._search.index import SearchHit, VectorIndex
    from ._search.mining import mine_hard_negatives
    from ._search.quantize import quantize_embeddings
    from ._server import create_app
    from ._sparse.card import SparseEncoderModelCardData
    from ._sparse.model import SparseEncoder
    from ._tokens.chunking import Chunk
    from ._tokens.whitespace import WhitespaceTokenizer
    from ._training.arguments import BatchSamplers, MultiDatasetBatchSamplers, TrainingArguments
    from ._training.cross import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from ._training.data import TextDataset, load_dataset
    from ._training.fit_inputs import InputExample, SentencesDataset
    from ._training.multi_vector import MultiVectorEncoderTrainer, MultiVectorEncoderTrainingArguments
    from ._training.parallel_sentences import ParallelSentencesDataset
    from ._training.samplers import DefaultBatchSampler, MultiDatasetDefaultBatchSampler
    from ._training.sparse import SparseEncoderTrainer, SparseEncoderTrainingArguments
    from ._training.st_compat import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from ._training.trainer import Trainer, TrainOutput
    from .backend import (
        export_dynamic_quantized_onnx_model,
        export_optimized_onnx_model,
        export_static_quantized_openvino_model,
    )

_PUBLIC = [  # every public name (dir(sbert)); the losses of the loss registry are added below
    "LabelAccuracyEvaluator",
    "MSEEvaluator",
    "MSEEvaluatorFromDataFrame",
    "ParaphraseMiningEvaluator",
    "RerankingEvaluator",
    "TranslationEvaluator",
    "BackendUnavailableError",
    "BatchSamplers",
    "BoW",
    "BinaryClassificationEvaluator",
    "CNN",
    "Chunk",
    "ClassificationEvaluator",
    "CrossEncoder",
    "CrossEncoderModelCardData",
    "CrossEncoderTrainer",
    "CrossEncoderTrainingArguments",
    "DefaultBatchSampler",
    "Dense",
    "EmbeddingShapeError",
    "Dropout",
    "EmbeddingSimilarityEvaluator",
    "Evaluator",
    "FakeEncoder",
    "IndexCorruptError",
    "InformationRetrievalEvaluator",
    "InputError",
    "InputExample",
    "NanoBEIREvaluator",
    "LSTM",
    "LayerNorm",
    "LoggingHandler",
    "ModelLoadError",
    "ModelMismatchError",
    "MultiDatasetBatchSamplers",
    "MultiDatasetDefaultBatchSampler",
    "MultiVectorEncoder",
    "MultiVectorEncoderModelCardData",
    "MultiVectorEncoderTrainer",
    "MultiVectorEncoderTrainingArguments",
    "Normalize",
    "Pooling",
    "Router",
    "SbertError",
    "SearchHit",
    "SequenceTooLongError",
    "SentenceTransformer",
    "SentenceTransformerModelCardData",
    "SentenceTransformerTrainer",
    "SentenceTransformerTrainingArguments",
    "SentencesDataset",
    "ParallelSentencesDataset",
    "SimilarityFunction",
    "SparseEncoder",
    "SparseEncoderModelCardData",
    "SparseEncoderTrainer",
    "SparseEncoderTrainingArguments",
    "SequentialEvaluator",
    "StaticEmbedding",
    "TextDataset",
    "TrainOutput",
    "Trainer",
    "TrainingArguments",
    "Transformer",
    "TripletEvaluator",
    "TruncationWarning",
    "VectorIndex",
    "WeightedLayerPooling",
    "WhitespaceTokenizer",
    "WordEmbeddings",
    "WordWeights",
    "__version__",
    "create_app",
    "export_dynamic_quantized_onnx_model",
    "export_optimized_onnx_model",
    "export_static_quantized_openvino_model",
    "load_dataset",
    "mine_hard_negatives",
    "normalize",
    "quantize_embeddings",
    "resolve_ids",
    "similarity_matrix",
]

_PUBLIC += sorted(LOSSES)

# ``from sbert import *`` gives what sentence-transformers' star import gives (its ``__all__``) and sbert's
# own errors and index: not the module, loss, evaluator and trainer names, which would replace a script's
# torch (MSELoss, LayerNorm, Dropout, Transformer), transformers (Trainer, TrainingArguments), datasets
# (load_dataset) or its own ``__version__``, as they do not under sentence-transformers.
__all__ = [
    "CrossEncoder",
    "CrossEncoderModelCardData",
    "CrossEncoderTrainer",
    "CrossEncoderTrainingArguments",
    "DefaultBatchSampler",
    "InputExample",
    "LoggingHandler",
    "MultiDatasetDefaultBatchSampler",
    "MultiVectorEncoder",
    "MultiVectorEncoderModelCardData",
    "MultiVectorEncoderTrainer",
    "MultiVectorEncoderTrainingArguments",
    "ParallelSentencesDataset",
    "SentenceTransformer",
    "SentenceTransformerModelCardData",
    "SentenceTransformerTrainer",
    "SentenceTransformerTrainingArguments",
    "SentencesDataset",
    "SimilarityFunction",
    "SparseEncoder",
    "SparseEncoderModelCardData",
    "SparseEncoderTrainer",
    "SparseEncoderTrainingArguments",
    "export_dynamic_quantized_onnx_model",
    "export_optimized_onnx_model",
    "export_static_quantized_openvino_model",
    "mine_hard_negatives",
    "quantize_embeddings",
    "resolve_ids",
    # sbert's own
    "BackendUnavailableError",
    "EmbeddingShapeError",
    "IndexCorruptError",
    "InputError",
    "ModelLoadError",
    "ModelMismatchError",
    "SbertError",
    "SearchHit",
    "SequenceTooLongError",
    "TruncationWarning",
    "VectorIndex",
]

# Names whose modules import torch: loaded on first access.
_LAZY = {
    **dict.fromkeys(LOSSES, "._losses"),
    "SentenceTransformer": "._model",
    "CrossEncoder": "._cross_encoder.model",
    "export_dynamic_quantized_onnx_model": ".backend",
    "export_optimized_onnx_model": ".backend",
    "export_static_quantized_openvino_model": ".backend",
    "MultiVectorEncoder": "._multi_vector.model",  # torch is imported only when a model is made
    "MultiVectorEncoderModelCardData": "._multi_vector.card",
    "SparseEncoder": "._sparse.model",  # torch is imported only when a model is made
    "SparseEncoderModelCardData": "._sparse.card",
    "TruncationWarning": "._model",
    "Transformer": "._modules.transformer",
    "Pooling": "._modules.pooling",
    "Dense": "._modules.dense",
    "BoW": "._modules.bow",
    "Normalize": "._modules.normalize",
    "StaticEmbedding": "._modules.static_embedding",
    "WordEmbeddings": "._modules.word_embeddings",
    "WordWeights": "._modules.word_weights",
    "LayerNorm": "._modules.layer_norm",
    "Dropout": "._modules.dropout",
    "WeightedLayerPooling": "._modules.weighted_layer_pooling",
    "CNN": "._modules.cnn",
    "LSTM": "._modules.lstm",
    "WhitespaceTokenizer": "._tokens.whitespace",
    "Chunk": "._tokens.chunking",
    "Router": "._modules.router",
    "BinaryClassificationEvaluator": "._evaluation",
    "ClassificationEvaluator": "._evaluation",
    "EmbeddingSimilarityEvaluator": "._evaluation",
    "Evaluator": "._evaluation",
    "InformationRetrievalEvaluator": "._evaluation",
    "NanoBEIREvaluator": "._evaluation",
    "SequentialEvaluator": "._evaluation",
    "TripletEvaluator": "._evaluation",
    "LabelAccuracyEvaluator": "._evaluation",
    "MSEEvaluator": "._evaluation",
    "MSEEvaluatorFromDataFrame": "._evaluation",
    "ParaphraseMiningEvaluator": "._evaluation",
    "RerankingEvaluator": "._evaluation",
    "TranslationEvaluator": "._evaluation",
    "TextDataset": "._training.data",
    "InputExample": "._training.fit_inputs",
    "SentencesDataset": "._training.fit_inputs",
    "ParallelSentencesDataset": "._training.parallel_sentences",
    "load_dataset": "._training.data",
    "Trainer": "._training.trainer",
    "TrainOutput": "._training.trainer",
    "TrainingArguments": "._training.arguments",
    "SentenceTransformerTrainer": "._training.st_compat",
    "SentenceTransformerTrainingArguments": "._training.st_compat",
    "BatchSamplers": "._training.arguments",
    "MultiDatasetBatchSamplers": "._training.arguments",
    "DefaultBatchSampler": "._training.samplers",
    "MultiDatasetDefaultBatchSampler": "._training.samplers",
    "FakeEncoder": "._fake",
    "SentenceTransformerModelCardData": "._format.card_data",
    "CrossEncoderModelCardData": "._format.card_data",
    "LoggingHandler": "._progress",
    "mine_hard_negatives": "._search.mining",
    "resolve_ids": ".util._id_lookup",
    "quantize_embeddings": "._search.quantize",
    "CrossEncoderTrainer": "._training.cross",
    "CrossEncoderTrainingArguments": "._training.cross",
    "MultiVectorEncoderTrainer": "._training.multi_vector",
    "MultiVectorEncoderTrainingArguments": "._training.multi_vector",
    "SparseEncoderTrainer": "._training.sparse",
    "SparseEncoderTrainingArguments": "._training.sparse",
    "SearchHit": "._search.index",
    "VectorIndex": "._search.index",  # faiss is imported only when an index is built or searched
    "create_app": "._server",  # FastAPI is imported only when it is called
}


# sentence-transformers' submodules, reachable as attributes after a plain ``import sbert`` as there
_SUBMODULES = (
    "backend",
    "base",
    "cross_encoder",
    "datasets",
    "evaluation",
    "losses",
    "models",
    "multi_vector_encoder",
    "quantization",
    "sentence_transformer",
    "sparse_encoder",
    "util",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY or name in _SUBMODULES:
        import importlib

        if name in _SUBMODULES:
            value = importlib.import_module(f".{name}", __name__)
        else:
            value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sbert' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(_PUBLIC)


_install_module_paths()  # sentence-transformers' class paths: sbert.losses.CoSENTLoss, ...
_install_missing_extras()  # sbert's imports of torch without the torch extra name the pip install
_log_through_sentence_transformers_logger()  # its users' logger settings reach sbert's records
