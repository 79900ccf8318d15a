"""sentence-transformers' deeper import paths: its module-per-class paths, which it still accepts (its scripts
use them), and the files of its version 6 layout:

    from sbert.losses.CoSENTLoss import CoSENTLoss
    from sbert.evaluation.SequentialEvaluator import SequentialEvaluator
    from sbert.cross_encoder.CrossEncoder import CrossEncoder
    from sbert.sentence_transformer.losses.cosent import CoSENTLoss
    from sbert.base.modules.transformer import Transformer

A class path names a class of a namespace module; importing it makes a module of that name holding the
class. A file path (``FILE_MODULES``) names one of sentence-transformers' files; importing it makes a module
that reads its names from the namespace holding those classes here. Two things make that work: each
namespace has an (empty) ``__path__``, so the import system treats it as a package and asks this finder;
and it keeps its attributes when the import system binds the new module as its attribute of the same name
(``ClassKeepingModule``). Nothing here runs unless such a path is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import types
from typing import Any

# The modules whose classes have such paths (sentence-transformers' namespaces of the same names).
NAMESPACES = frozenset(
    {
        "sbert",
        "sbert.losses",
        "sbert.evaluation",
        "sbert.models",
        "sbert.datasets",
        "sbert.cross_encoder",
        "sbert.cross_encoder.losses",
        "sbert.cross_encoder.evaluation",
        "sbert.sparse_encoder.evaluation",
        "sbert.multi_vector_encoder.evaluation",
        "sbert.readers",
        "sbert.sparse_encoder",
        "sbert.sparse_encoder.models",
        "sbert.sparse_encoder.losses",
    }
)
# sentence-transformers 6's files (by the path of their package here) whose classes the namespace of that
# path holds; its other files (trainers' internals, backends) have no counterpart.
FILE_MODULES: dict[str, frozenset[str]] = {
    "sbert.sentence_transformer.losses": frozenset(
        {
            "adaptive_layer",
            "angle",
            "batch_all_triplet",
            "batch_hard_soft_margin_triplet",
            "batch_hard_triplet",
            "batch_semi_hard_triplet",
            "cached_gist_embed",
            "cached_multiple_negatives_ranking",
            "cached_multiple_negatives_symmetric_ranking",
            "contrastive",
            "contrastive_tension",
            "cosent",
            "cosine_similarity",
            "denoising_auto_encoder",
            "distill_kl_div",
            "embed_distill",
            "gist_embed",
            "global_orthogonal_regularization",
            "margin_mse",
            "matryoshka",
            "matryoshka_2d",
            "mega_batch_margin",
            "mse",
            "multiple_negatives_ranking",
            "multiple_negatives_symmetric_ranking",
            "online_contrastive",
            "softmax",
            "triplet",
        }
    ),
    "sbert.sentence_transformer.evaluation": frozenset(
        {
            "binary_classification",
            "embedding_similarity",
            "information_retrieval",
            "label_accuracy",
            "mse",
            "mse_from_dataframe",
            "nano_beir",
            "paraphrase_mining",
            "reranking",
            "translation",
            "triplet",
        }
    ),
    "sbert.sentence_transformer.modules": frozenset(
        {
            "bow",
            "clip_model",
            "cnn",
            "dropout",
            "layer_norm",
            "lstm",
            "normalize",
            "pooling",
            "static_embedding",
            "tokenizer",
            "weighted_layer_pooling",
            "word_embeddings",
            "word_weights",
        }
    ),
    "sbert.sentence_transformer.modules.tokenizer": frozenset({"phrase", "whitespace", "word"}),
    "sbert.models": frozenset({"tokenizer"}),
    "sbert.models.tokenizer": frozenset({"phrase", "whitespace", "word"}),
    "sbert.sentence_transformer.readers": frozenset(
        {"input_example", "label_sentence", "nli_data", "paired_files", "sts_data", "triplet"}
    ),
    "sbert.sentence_transformer.datasets": frozenset(
        {
            "denoising_auto_encoder",
            "no_duplicates_dataloader",
            "parallel_sentences",
            "sentence_label",
            "sentences",
        }
    ),
    "sbert.base.modules": frozenset(
        {"dense", "input_module", "module", "normalize", "router", "transformer"}
    ),
    "sbert.base.evaluation": frozenset({"evaluator", "sequential"}),
    "sbert.base": frozenset({"model", "peft_mixin", "trainer"}),
    "sbert": frozenset({"peft_mixin"}),  # sentence-transformers 5's path of base.peft_mixin
    "sbert.backend": frozenset({"optimize", "quantize"}),
    "sbert.cross_encoder.modules": frozenset({"logit_score"}),
    "sbert.cross_encoder.losses": frozenset(
        {
            "adr_mse",
            "binary_cross_entropy",
            "cached_multiple_negatives_ranking",
            "cross_entropy",
            "lambda_loss",
            "list_mle",
            "list_net",
            "margin_mse",
            "mse",
            "multiple_negatives_ranking",
            "plist_mle",
            "rank_net",
        }
    ),
    "sbert.cross_encoder.evaluation": frozenset(
        {"classification", "correlation", "deprecated", "nano_beir", "reranking"}
    ),
    "sbert.sparse_encoder.evaluation": frozenset(
        {
            "reciprocal_rank_fusion",
            "sparse_binary_classification",
            "sparse_embedding_similarity",
            "sparse_information_retrieval",
            "sparse_mse",
            "sparse_nano_beir",
            "sparse_reranking",
            "sparse_translation",
            "sparse_triplet",
        }
    ),
    "sbert.sparse_encoder.modules": frozenset(
        {"mlm_transformer", "sparse_auto_encoder", "sparse_static_embedding", "splade_pooling"}
    ),
    "sbert.sparse_encoder.losses": frozenset(
        {
            "cached_splade",
            "csr",
            "flops",
            "sparse_angle",
            "sparse_cosent",
            "sparse_cosine_similarity",
            "sparse_distill_kl_div",
            "sparse_margin_mse",
            "sparse_mse",
            "sparse_multiple_negatives_ranking",
            "sparse_triplet",
            "splade",
        }
    ),
    "sbert.sparse_encoder.callbacks": frozenset({"splade_callbacks"}),
    "sbert.multi_vector_encoder.evaluation": frozenset(
        {"distillation", "information_retrieval", "nano_beir", "reranking", "triplet"}
    ),
    "sbert.multi_vector_encoder.losses": frozenset(
        {
            "cached_multiple_negatives_ranking",
            "distill_kl_div",
            "margin_mse",
            "matryoshka",
            "multiple_negatives_ranking",
            "token_pooling",
        }
    ),
    "sbert.multi_vector_encoder.scoring": frozenset({"colbert", "xtr"}),
}
# File modules whose classes live in another namespace than their package's.
FILE_NAMESPACES = {
    "sbert.sentence_transformer.modules.tokenizer": "sbert._tokens.word_tokenizers",
    "sbert.models.tokenizer": "sbert._tokens.word_tokenizers",
    "sbert.base.modules.router": "sbert.models",  # with Router's old name, Asym
    "sbert.peft_mixin": "sbert.base",
    # the loss with sentence-transformers' helper of that file, shrink (loaded, with torch, on first access)
    "sbert.sentence_transformer.losses.matryoshka": "sbert._losses.matryoshka",
    # the CSR losses with that file's helper, normalized_mean_squared_error
    "sbert.sparse_encoder.losses.csr": "sbert._losses.sparse.csr",
}

# Names of a file that the namespace read for it does not hold: file path -> {name: "module:attribute"}.
FILE_EXTRAS: dict[str, dict[str, str]] = {
    "sbert.base.modules.transformer": {
        "TRANSFORMER_TASK_DEFAULTS": "sbert._format.transformer_config:TRANSFORMER_TASK_DEFAULTS"
    },
    "sbert.sparse_encoder.modules.mlm_transformer": {
        "TRANSFORMER_TASK_DEFAULTS": "sbert._format.transformer_config:TRANSFORMER_TASK_DEFAULTS"
    },
    "sbert.sentence_transformer.evaluation.nano_beir": {
        "DATASET_NAME_TO_HUMAN_READABLE": "sbert._evaluation.nanobeir:NANOBEIR_SETS"
    },
    "sbert.cross_encoder.evaluation.nano_beir": {
        "DATASET_NAME_TO_HUMAN_READABLE": "sbert._evaluation.nanobeir:NANOBEIR_SETS"
    },
}
# sentence-transformers 6.3 keeps its older package paths as names of its newer packages (its
# DEPRECATED_MODULE_PATHS), so the newer package's files import under the older path too, as a side effect
# (sentence_transformers.models.pooling, .losses.cosent): older path -> newer path here. sbert does not warn:
# its older paths (sbert.models, sbert.losses) are its own documented namespaces.
PACKAGE_ALIASES = {
    "sbert.datasets": "sbert.sentence_transformer.datasets",
    "sbert.evaluation": "sbert.sentence_transformer.evaluation",
    "sbert.losses": "sbert.sentence_transformer.losses",
    "sbert.models": "sbert.sentence_transformer.modules",
    "sbert.readers": "sbert.sentence_transformer.readers",
    "sbert.sparse_encoder.models": "sbert.sparse_encoder.modules",
}

# sentence-transformers' own alias of base.modules.normalize, not a file of that package: no older path
NOT_FILES = {"sbert.sentence_transformer.modules": frozenset({"normalize"})}


def _under_older_paths(table: dict[str, Any]) -> dict[str, Any]:
    """``table`` (keyed by paths) with each newer package's entries under its older path as well; sets of
    files are merged (sbert.models has its own, tokenizer)."""
    merged = dict(table)
    for older, newer in PACKAGE_ALIASES.items():
        for path, value in table.items():
            if path == newer or path.startswith(newer + "."):
                alias = older + path[len(newer) :]
                if isinstance(value, frozenset):
                    value = merged.get(alias, frozenset()) | (value - NOT_FILES.get(path, frozenset()))
                merged[alias] = value
    return merged


FILE_MODULES = _under_older_paths(FILE_MODULES)
FILE_NAMESPACES = _under_older_paths(FILE_NAMESPACES)
FILE_EXTRAS = _under_older_paths(FILE_EXTRAS)


class ClassModule(types.ModuleType):
    """A module made for one class's path: the class under its own name, and the names of the namespace
    that holds it (``namespace_path``), as sentence-transformers' path is the class's file, with the names
    beside the class (``models.tokenizer.WordTokenizer``'s ``ENGLISH_STOP_WORDS``)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "namespace_path" not in self.__dict__:
            raise AttributeError(name)
        return getattr(importlib.import_module(self.__dict__["namespace_path"]), name)


class ClassKeepingModule(types.ModuleType):
    """A namespace that keeps its attributes (a class, a function of the same name as a file) when the
    import system binds a class's or file's module path to its name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, ClassModule) or (isinstance(value, FileModule) and hasattr(self, name)):
            return
        super().__setattr__(name, value)


class FileModule(ClassKeepingModule):
    """A module made for one of sentence-transformers' file paths: the names of the namespace (by its path
    here) that holds that file's classes, read from it on access."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        extra = FILE_EXTRAS.get(self.__name__, {}).get(name)
        if extra is not None:
            module, _, attribute = extra.partition(":")
            return getattr(importlib.import_module(module), attribute)
        return getattr(importlib.import_module(self.__dict__["namespace_path"]), name)


class ClassPathFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``<namespace>.<Class>`` for the classes of :data:`NAMESPACES`; other names are not its."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        parent, _, name = fullname.rpartition(".")
        namespace = sys.modules.get(parent)
        if namespace is not None and name in FILE_MODULES.get(parent, ()):
            if type(namespace) is types.ModuleType:
                namespace.__class__ = ClassKeepingModule
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        if namespace is None or not name[:1].isupper():
            return None
        if parent not in NAMESPACES and not isinstance(namespace, FileModule):
            return None
        if not isinstance(getattr(namespace, name, None), type):
            return None
        if type(namespace) is types.ModuleType:
            namespace.__class__ = ClassKeepingModule
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> ClassModule | FileModule:
        parent, _, name = spec.name.rpartition(".")
        if name in FILE_MODULES.get(parent, ()):
            module = FileModule(spec.name)
            # a file module of a file module (modules.tokenizer.whitespace) reads the same namespace
            namespace = sys.modules[parent].__dict__.get("namespace_path", parent)
            module.namespace_path = FILE_NAMESPACES.get(spec.name, namespace)
            module.__path__ = []  # its own files (modules.tokenizer.*) are found here too
            return module
        module = ClassModule(spec.name)
        module.namespace_path = sys.modules[parent].__dict__.get("namespace_path", parent)
        cls = getattr(sys.modules[parent], name)
        setattr(module, name, cls)
        setattr(module, cls.__name__, cls)  # an older name's path (models.Asym) holds the class's own too
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Where sbert stands in for sentence-transformers (``sys.modules["sentence_transformers"] = sbert``, to
    run a library that imports it itself), ``sentence_transformers.<path>`` is sbert's module of that path,
    the same object. Without it the import system would run sbert's files a second time under the other
    name (a second ``CrossEncoder`` class, registries and caches), as it finds them through the alias's
    ``__path__``; so this finder goes first. It does nothing while the name is sentence-transformers' own."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if not fullname.startswith(_ALIAS_PREFIX) or sys.modules.get("sentence_transformers") is not (
            sbert := sys.modules.get("sbert")
        ):
            return None
        own = sbert.__name__ + fullname[len(_ALIAS_PREFIX) - 1 :]
        try:
            module = importlib.import_module(own)
        except ModuleNotFoundError as e:
            if e.name is not None and own.startswith(e.name):  # no such module here: not this finder's
                return None
            raise
        spec = importlib.util.spec_from_loader(fullname, self, is_package=hasattr(module, "__path__"))
        spec.loader_state = (module, module.__spec__)
        return spec

    def create_module(self, spec: Any) -> types.ModuleType:
        return spec.loader_state[0]

    def exec_module(self, module: types.ModuleType) -> None:
        # the import system set the alias's spec on the module: it keeps its own (and its name)
        module.__spec__ = module.__spec__.loader_state[1]


_ALIAS_PREFIX = "sentence_transformers."


def install() -> None:
    """Put the class-path finder last on ``sys.meta_path`` (the real files of a namespace come first) and the
    alias finder first (once each)."""
    if not any(isinstance(finder, ClassPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(ClassPathFinder())
    if not any(isinstance(finder, AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
