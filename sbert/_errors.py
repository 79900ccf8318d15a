"""The one exception tree of sbert.

Every error sbert raises on purpose derives from :class:`SbertError`, so callers can catch one type.
Messages say what went wrong *and* what to do next. Warnings of a working but unwise call point at the
user's line (:func:`warn_at_caller`); a note about an argument sentence-transformers takes and ignores is
logged once (:func:`log_once`), as there.
"""

from __future__ import annotations

import logging
import os
import types
import warnings

_PACKAGE_DIR = os.path.join(os.path.dirname(__file__), "")  # as frames name files
_LOGGED: set[tuple[str, str]] = set()


class SbertError(Exception):
    """Base class of every error raised by sbert."""


class ModelLoadError(SbertError, OSError):
    """A model could not be found or its files are missing, corrupt or inconsistent (also an ``OSError``,
    which transformers and sentence-transformers raise for a model they cannot load)."""


class ModelFolderNotFoundError(ModelLoadError, FileNotFoundError):
    """A model path that names no folder: a ``FileNotFoundError``, as sentence-transformers raises it."""


class ModelPathIsFileError(ModelLoadError, NotADirectoryError):
    """A model path that names a file, not its folder: a ``NotADirectoryError``, as sentence-transformers
    raises it."""


class UnrecognizedModelError(ModelLoadError, ValueError):
    """A folder without a model transformers recognises (no config.json, or one without a known
    ``model_type``): a ``ValueError``, as transformers' ``AutoConfig`` raises it under sentence-transformers
    ("Unrecognized model in ..."), and an ``OSError`` as sbert's other load errors."""


class RemoteCodeRequiredError(ModelLoadError, ValueError):
    """A model whose modules.json names a class outside sbert and sentence-transformers, loaded without
    ``trust_remote_code=True``: a ``ValueError``, as sentence-transformers raises it, and an ``OSError`` as
    sbert's other load errors."""


class InvalidModelFileError(ModelLoadError, ValueError):
    """A model file that reads but holds what no model is built from (an empty modules list, an unknown
    pooling or SPLADE mode, a tokenizer.json the tokenizers library cannot parse, attention heads that do
    not divide the hidden size): a ``ValueError``, as sentence-transformers and transformers raise it there,
    and an ``OSError`` as sbert's other load errors."""


class MissingModuleArgumentError(ModelLoadError, TypeError):
    """A module's config.json without a value the module is built from (Pooling's embedding dimension): a
    ``TypeError``, as sentence-transformers' module constructor raises it for the missing argument."""


class MissingEntryKeyError(ModelLoadError, KeyError):
    """A modules.json entry without its ``"type"``: a ``KeyError``, as sentence-transformers raises it when
    it reads the key."""

    __str__ = ModelLoadError.__str__  # the message as written, not KeyError's quoted repr


def unreadable_config(path: object, error: Exception) -> ModelLoadError:
    """The error for a config.json that transformers' ``AutoConfig`` refused with ``error``: of its type where
    that is a ``ValueError`` (an unrecognised model), as sentence-transformers lets it through."""
    kind = UnrecognizedModelError if isinstance(error, ValueError) else ModelLoadError
    return kind(f"{path} could not be read: {error}")


def unloadable_weights(message: str, error: Exception) -> ModelLoadError:
    """The error for weights transformers' ``from_pretrained`` refused with ``error``: an
    :class:`InvalidModelFileError` where that is a ``ValueError`` (a config whose attention heads do not
    divide the hidden size), as sentence-transformers lets it through."""
    return (InvalidModelFileError if isinstance(error, ValueError) else ModelLoadError)(message)


class WeightsMismatchError(ModelLoadError, RuntimeError):
    """Weights that do not fit the model's config.json (a tensor of another shape, a missing one: a
    truncated file or another model's): also a ``RuntimeError``, as transformers raises it under
    sentence-transformers ("You set `ignore_mismatched_sizes` to `False`")."""


class InputError(SbertError, ValueError):
    """The caller passed a value sbert cannot use (also a ``ValueError`` for familiarity)."""


class UnexpectedKeywordsError(InputError, TypeError):
    """A call got keywords it does not take: a ``TypeError`` as Python raises it for a function (a
    ``Transformer()`` given an unknown option), and a ``ValueError``."""


class UnusedKeywordsError(InputError):
    """``encode`` got keywords the model's modules do not use: a ``ValueError`` only, as
    sentence-transformers 6 raises it (code that catches the ``TypeError`` of an older release, mlflow's
    pyfunc, lets it through there)."""


class InputTypeError(InputError, TypeError):
    """An input of a type the model does not read (a text that is not a string): a ``TypeError``, and a
    ``ValueError`` as sentence-transformers 6 raises it ("Unsupported input type")."""


class UnwrappableModelError(InputError, TypeError):
    """A loss's model is a wrapper sbert cannot see through (neither a ``module`` as DistributedDataParallel
    holds it nor an ``_orig_mod`` as torch.compile's does): a ``TypeError``, as sentence-transformers raises
    it."""


class UnknownOutputError(InputError, KeyError):
    """An ``output_value`` the model has no output of: a ``KeyError``, as sentence-transformers raises it when
    it looks the name up in the model's outputs."""

    __str__ = InputError.__str__  # the message as written, not KeyError's quoted repr


class UnknownMetricError(InputError, KeyError):
    """A metric to pick the best weights by (``metric_for_best_model``) that the evaluation did not give: a
    ``KeyError``, as Hugging Face's trainer raises it when it looks the name up in the metrics."""

    __str__ = InputError.__str__  # the message as written, not KeyError's quoted repr


class MissingFieldError(InputError, KeyError):
    """A record (an evaluator's sample) without a field it needs: a ``KeyError``, as sentence-transformers
    raises it when it reads the field."""

    __str__ = InputError.__str__  # the message as written, not KeyError's quoted repr


class IncompatibleLossError(InputError, KeyError):
    """A loss trained inside a wrapper it cannot run in (a cached loss inside AdaptiveLayerLoss): a
    ``KeyError``, as sentence-transformers' training fails there (its layer outputs are missing)."""

    __str__ = InputError.__str__  # the message as written, not KeyError's quoted repr


class WrappedLossError(InputError, AttributeError):
    """A loss that only runs inside another (a SparseEncoder's ``SparseMultipleNegativesRankingLoss`` inside
    ``SpladeLoss``) was used on its own: an ``AttributeError``, as sentence-transformers raises it."""


class UnwrappedRegularizerError(InputError, NotImplementedError):
    """A part of another loss used on its own (a SparseEncoder's ``FlopsLoss`` outside ``SpladeLoss``,
    ``CSRReconstructionLoss`` outside ``CSRLoss``): a ``NotImplementedError``, as sentence-transformers
    raises it."""


class UnsavableModuleError(InputError, NotImplementedError):
    """A pipeline module that cannot be saved (one holding a Python function): a ``NotImplementedError``, as
    sentence-transformers raises it."""


class SparseEmbeddingsError(InputError, NotImplementedError):
    """Sparse embeddings (a SparseEncoder's) given to a search that scores dense ones only
    (``util.paraphrase_mining``, ``community_detection``): a ``NotImplementedError``, as
    sentence-transformers' torch raises it there, and a ``ValueError``, as its ``paraphrase_mining`` of a
    SparseEncoder raises."""


class SequenceTooLongError(InputError, RuntimeError, IndexError):
    """A text's tokens outnumber the positions of the model's encoder (``max_seq_length`` set above them):
    also a ``RuntimeError`` and an ``IndexError``, as torch raises it under sentence-transformers (BERT and
    DistilBERT add a position table too short for the batch: a RuntimeError; the RoBERTa family and MPNet
    look up position ids past the table: an IndexError)."""


class TokenIdOutOfRangeError(InputError, IndexError):
    """Features whose ids (``input_ids``, ``token_type_ids``) lie outside the encoder's embedding tables,
    given to a model on ONNX (``model(features)``): an ``IndexError``, as torch's embedding lookup raises it
    under sentence-transformers (``index out of range in self``)."""


class UnavailableDeviceError(InputError, RuntimeError):
    """A device this machine lacks, or a device string torch does not parse (``""``, which pymilvus'
    reranker passes by default, ``"CPU"``): also a ``RuntimeError``, as torch raises it under
    sentence-transformers (``Device string must not be empty``, ``Expected one of cpu, cuda, ...``)."""


class CudaNotCompiledError(UnavailableDeviceError, AssertionError):
    """A CUDA device asked of a torch built without CUDA: also an ``AssertionError``, as torch's "Torch not
    compiled with CUDA enabled" is under sentence-transformers (code falls back to the CPU on it)."""


class EmbeddingShapeError(InputError, RuntimeError, IndexError):
    """Embeddings that cannot be scored against each other (a 0-d input, rows of different widths): also a
    ``RuntimeError``, as torch raises it under sentence-transformers' ``util.cos_sim``, ``similarity`` and the
    pairwise scores, and an ``IndexError``, as there for a vector where ``pairwise_angle_sim`` reads rows."""


class LabelShapeError(InputError, RuntimeError):
    """A loss's labels whose shape does not fit its batch (too few, too many per row): a ``ValueError`` as
    sentence-transformers' losses raise it, and the ``RuntimeError`` torch raised where sbert reshaped
    them."""


class HeadSizeError(InputError, RuntimeError):
    """A CrossEncoder's ``num_labels`` that does not fit the trained head of its folder: also a
    ``RuntimeError``, as transformers raises it under sentence-transformers (``ignore_mismatched_sizes``)."""


class BackendUnavailableError(SbertError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install`` that fixes it."""


class IndexCorruptError(SbertError):
    """A vector index folder is missing files, or a file's size or checksum differs from its manifest."""


class ModelMismatchError(InputError):
    """A model given to a vector index is not the one the index was built with."""


def missing_extra(package: str, extra: str) -> BackendUnavailableError:
    """The error for an optional dependency that is not installed."""
    return BackendUnavailableError(
        f"{package} is required for this feature but is not installed. "
        f"Install it with: pip install 'sbert[{extra}]'"
    )


# What the torch extra installs: the torch backend, training, cross-encoders' torch path and torch exports.
TORCH_PACKAGES = ("torch", "transformers")


def installed(package: str) -> bool:
    """Whether ``package`` can be imported, without importing it (a finder that refuses it, as in a test that
    blocks torch, counts as missing)."""
    import importlib.util

    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a blocked import, or a module without a spec
        return False


def torch_installed() -> bool:
    """Whether torch and transformers can be imported: what the torch extra installs."""
    return all(installed(package) for package in TORCH_PACKAGES)


def require_torch(feature: str) -> None:
    """Raise the missing-extra error naming ``feature`` (e.g. "training") unless torch and transformers are
    installed: the base install runs ONNX graphs only."""
    if not torch_installed():
        raise BackendUnavailableError(
            f"torch and transformers are required for {feature} but are not installed (the base install runs "
            "ONNX graphs only). Install them with: pip install 'sbert[torch]'"
        )


def require_peft(feature: str) -> None:
    """Raise the missing-package error for ``feature`` (e.g. "Loading a PEFT model", sentence-transformers'
    words) unless peft can be imported: PEFT adapters are optional."""
    if not installed("peft"):
        raise BackendUnavailableError(
            f"{feature} requires installing the `peft` package. You can install it via `pip install peft`."
        )


def warn_at_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """A UserWarning (the Python way to flag a working but unwise call; filterable), or ``category``
    (DeprecationWarning for an older name), at the first line outside sbert: the user's call, through
    SentenceTransformer, CrossEncoder or the CLI alike."""
    import inspect

    frame, level = inspect.currentframe(), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


# sentence-transformers 6.3's words, for SentenceTransformer's and SparseEncoder's older method name
EMBEDDING_DIMENSION_RENAMED = (
    "The `get_sentence_embedding_dimension` method has been renamed to `get_embedding_dimension`."
)


def warn_renamed(message: str, category: type[Warning] = DeprecationWarning) -> None:
    """Warn ``message`` at the caller of the function calling this, only when that caller is outside sbert:
    sentence-transformers' older names warn their users, while sbert's own code may still use them."""
    if _called_from_outside():
        warnings.warn(message, category, stacklevel=3)


def log_once(message: str, logger: str = "sbert") -> None:
    """Log ``message`` at WARNING on ``logger`` (the ``sbert`` one, or the sentence-transformers logger
    named in ``_st_loggers`` for its notices), once per process: for an argument that
    sentence-transformers still takes, ignores and logs (its ``logger.warning_once``). Not a Python warning,
    which a client library passing it on every call (haystack's ranker sends ``rank(convert_to_numpy=True)``)
    would turn into an error under ``-W error``, where sentence-transformers runs."""
    if (logger, message) not in _LOGGED:
        _LOGGED.add((logger, message))
        logging.getLogger(logger).warning(message)


def log_renamed_once(message: str, logger: str = "sbert") -> None:
    """:func:`log_once` for sentence-transformers' older method names it logs (``logger.warning_once``), only
    when the caller of the function calling this is outside sbert: sbert's own code still uses them."""
    if _called_from_outside():
        log_once(message, logger)


# The code of sbert's decorator wrappers around public methods: frames that are not the method's caller.
PASS_THROUGH_CODE: set[types.CodeType] = set()


def _called_from_outside() -> bool:
    """Whether the caller of the deprecated function (two frames above the function calling this, past a
    decorator's wrapper) is outside sbert."""
    import inspect

    frame = inspect.currentframe()
    for _ in range(3):  # this helper, warn_renamed / log_renamed_once, the deprecated function
        frame = frame.f_back if frame is not None else None
    while frame is not None and frame.f_code in PASS_THROUGH_CODE:
        frame = frame.f_back
    return frame is None or not frame.f_code.co_filename.startswith(_PACKAGE_DIR)


# sentence-transformers 6.3's words for the older name of ``preprocess``
TOKENIZE_RENAMED = "The `tokenize` method is deprecated, please use `preprocess` instead."


def log_through_sentence_transformers_logger() -> None:
    """Make the ``sentence_transformers`` logger the parent of sbert's: code written for
    sentence-transformers sets that logger's level (``logging.getLogger("sentence_transformers")
    .setLevel(logging.ERROR)`` to quiet it) or gives it handlers, and sbert's records then obey the same
    settings; the ``sbert`` logger's own level and handlers still come first."""
    logging.getLogger("sbert").parent = logging.getLogger("sentence_transformers")
