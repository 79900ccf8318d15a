"""sentence-transformers' module paths work with sbert: the submodules users import by name."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import BLOCK_TORCH

import sbert


def test_submodules_are_attributes_after_a_plain_import():
    assert sbert.util.cos_sim is sbert.util.cos_sim
    assert sbert.models.Pooling is sbert.Pooling
    assert sbert.evaluation.InformationRetrievalEvaluator is sbert.InformationRetrievalEvaluator
    assert sbert.evaluation.SentenceEvaluator is sbert.Evaluator  # sentence-transformers' base class name
    assert sbert.losses.MultipleNegativesRankingLoss is sbert.MultipleNegativesRankingLoss
    assert sbert.cross_encoder.CrossEncoder is sbert.CrossEncoder
    from sbert.util.quantization import semantic_search_faiss

    assert sbert.quantization.semantic_search_faiss is semantic_search_faiss
    assert sbert.quantization.quantize_embeddings is sbert.util.quantize_embeddings


@pytest.mark.parametrize(
    "module", ["similarity", "retrieval", "tensor", "misc", "hard_negatives", "environment", "file_io"]
)
def test_sentence_transformers_util_submodules_hold_its_names(module):
    """``from sentence_transformers.util.<module> import <name>`` works with sbert: each name is there, and
    is sbert.util's; every one of them is a name of sentence-transformers' module too."""
    ours = importlib.import_module(f"sbert.util.{module}")
    theirs = importlib.import_module(f"sentence_transformers.util.{module}")
    assert ours.__all__ and set(ours.__all__) <= set(dir(theirs))
    for name in ours.__all__:
        assert getattr(ours, name) is getattr(sbert.util, name)
    assert sbert.util.information_retrieval(np.eye(2), np.eye(2), top_k=1)[1] == [
        {"corpus_id": 1, "score": 1.0}
    ]
    assert sbert.util.is_datasets_available() is True  # a test dependency


def test_sentence_transformers_6_base_paths_hold_its_shared_names():
    """``sentence_transformers.base`` (and ``.sampler``): the names sbert has are sbert's own objects, and
    every one of them is a name of sentence-transformers' module too."""
    import sbert.base
    import sbert.base.sampler
    import sbert.evaluation
    import sbert.models
    import sbert.training_args

    paths = {
        "base": sbert.base,  # its own names (BaseModel, ...: tests/test_st_module_surface.py)
        "base.modules": sbert.models,
        "base.evaluation": sbert.evaluation,
        "base.training_args": sbert.base,  # the enums are sbert.training_args' (checked below)
        "base.sampler": sbert.base.sampler,  # the enums (sbert.training_args') and the sampler classes
        "sampler": sbert.base.sampler,
    }
    for path, home in paths.items():
        ours = importlib.import_module(f"sbert.{path}")
        with warnings.catch_warnings():  # its older paths warn that they moved
            warnings.simplefilter("ignore", DeprecationWarning)
            theirs = importlib.import_module(f"sentence_transformers.{path}")
        assert ours.__all__ and set(ours.__all__) <= set(dir(theirs)), path
        for name in ours.__all__:
            assert getattr(ours, name) is getattr(home, name), (path, name)
    assert sbert.base.BatchSamplers is sbert.base.sampler.BatchSamplers is sbert.training_args.BatchSamplers
    assert sbert.base.sampler.DefaultBatchSampler is sbert.DefaultBatchSampler


def test_sentence_transformers_6_paths_are_the_same_modules():
    from sbert.sentence_transformer import SentenceTransformer, evaluation, losses, modules
    from sbert.sentence_transformer.losses import CachedMultipleNegativesRankingLoss
    from sbert.sentence_transformer.modules import Transformer

    assert (losses, modules, evaluation) == (sbert.losses, sbert.models, sbert.evaluation)
    assert SentenceTransformer is sbert.SentenceTransformer
    assert Transformer is sbert.Transformer
    assert CachedMultipleNegativesRankingLoss is sbert.CachedMultipleNegativesRankingLoss


# Module paths code written for sentence-transformers 6.3 imports from (older ones it still accepts too).
IMPORT_PATHS = [
    ("readers", "InputExample"),
    ("model_card", "SentenceTransformerModelCardData"),
    ("model_card", "SentenceTransformerModelCardCallback"),
    ("sentence_transformer.model_card", "SentenceTransformerModelCardCallback"),
    ("similarity_functions", "SimilarityFunction"),
    ("trainer", "SentenceTransformerTrainer"),
    ("training_args", "SentenceTransformerTrainingArguments"),
    ("training_args", "BatchSamplers"),
    ("sentence_transformer.model", "SentenceTransformer"),
    ("sentence_transformer.trainer", "SentenceTransformerTrainer"),
    ("sentence_transformer.training_args", "SentenceTransformerTrainingArguments"),
    ("sentence_transformer.model_card", "SentenceTransformerModelCardData"),
    ("sentence_transformer.readers", "InputExample"),
    ("cross_encoder.model", "CrossEncoder"),
    ("cross_encoder.model_card", "CrossEncoderModelCardData"),
    ("cross_encoder.trainer", "CrossEncoderTrainer"),
    ("cross_encoder.training_args", "CrossEncoderTrainingArguments"),
]


@pytest.mark.parametrize(("path", "name"), IMPORT_PATHS)
def test_sentence_transformers_import_paths_give_the_same_objects(path, name):
    with warnings.catch_warnings():  # sentence-transformers warns on its older paths
        warnings.simplefilter("ignore")
        assert hasattr(importlib.import_module(f"sentence_transformers.{path}"), name)  # a real path there
    ours = getattr(importlib.import_module(f"sbert.{path}"), name)
    assert ours is getattr(sbert if hasattr(sbert, name) else sbert.model_card, name)


@pytest.mark.parametrize("module", ["losses", "models", "evaluation"])
def test_every_name_listed_resolves_and_unknown_names_fail(module):
    namespace = getattr(sbert, module)
    for name in namespace.__all__:
        assert getattr(namespace, name) is not None
    with pytest.raises(AttributeError, match="NoSuchThing"):
        namespace.NoSuchThing  # noqa: B018


def test_importing_the_namespaces_does_not_import_torch():
    code = BLOCK_TORCH + (
        "import sbert.losses, sbert.models, sbert.evaluation, sbert.util, sbert.sentence_transformer.losses\n"
        "import sbert.trainer, sbert.model_card, sbert.readers, sbert.cross_encoder.trainer\n"
        "import sbert.sentence_transformers\n"
        "from sbert.evaluation import InformationRetrievalEvaluator\n"
        "print(sorted(sbert.losses.__all__)[:1], InformationRetrievalEvaluator.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "InformationRetrievalEvaluator" in done.stdout


@pytest.mark.parametrize("name", ["SentenceTransformer", "CrossEncoder", "SparseEncoder"])
def test_model_classes_carry_the_path_libraries_recognise_and_pickle_by_it(name):
    import pickle

    cls = getattr(sbert, name)
    # KeyBERT and BERTopic replace a model whose type lacks this with one they load themselves
    assert "sentence_transformers" in str(cls)
    assert pickle.loads(pickle.dumps(cls)) is cls
    assert getattr(importlib.import_module(cls.__module__), name) is cls


def test_the_model_card_callback_is_a_transformers_trainer_callback_as_there():
    from transformers import TrainerCallback

    from sbert.model_card import SentenceTransformerModelCardCallback

    callback = SentenceTransformerModelCardCallback({"output_dir": "x"})  # what setfit looks for and removes
    assert isinstance(callback, TrainerCallback) and callback.default_args_dict == {"output_dir": "x"}


# sentence-transformers' module-per-class paths (its older layout, still accepted there)
CLASS_PATHS = [
    ("losses", "CoSENTLoss"),
    ("losses", "MultipleNegativesRankingLoss"),
    ("evaluation", "SequentialEvaluator"),
    ("evaluation", "EmbeddingSimilarityEvaluator"),
    ("models", "Transformer"),
    ("cross_encoder.losses", "BinaryCrossEntropyLoss"),
    ("cross_encoder.losses", "CachedMultipleNegativesRankingLoss"),
    ("cross_encoder", "CrossEncoder"),
    ("", "SentenceTransformer"),
]


@pytest.mark.parametrize(("namespace", "name"), CLASS_PATHS)
def test_a_class_imports_by_its_module_path_and_its_namespace_keeps_it(namespace, name):
    path = f"{namespace}.{name}" if namespace else name
    with warnings.catch_warnings():  # sentence-transformers warns on these paths
        warnings.simplefilter("ignore")
        reference = importlib.import_module(f"sentence_transformers.{path}")
        assert isinstance(getattr(reference, name), type)  # a real path there
    module = importlib.import_module(f"sbert.{path}")
    owner = importlib.import_module(f"sbert.{namespace}" if namespace else "sbert")
    assert getattr(module, name) is getattr(owner, name) and isinstance(getattr(owner, name), type)
    with pytest.raises(ImportError):
        importlib.import_module(f"sbert.{namespace}.NoSuchClass" if namespace else "sbert.NoSuchClass")


def test_every_older_path_sentence_transformers_still_accepts_imports():
    """sentence-transformers 6.3 keeps its earlier module paths working (``sentence_transformers.peft_mixin``,
    ``sparse_encoder.losses.SpladeLoss``, ``sparse_encoder.models.SpladePooling``, ...): each imports here
    too and gives the class it names, or the classes of the file it now points to."""
    import inspect

    from sentence_transformers.util.deprecated_import import DEPRECATED_MODULE_PATHS

    out_of_scope = {"sentence_transformers.models.CLIPModel"}  # images are not sbert's
    for old, new in sorted(DEPRECATED_MODULE_PATHS.items()):
        if old in out_of_scope:
            continue
        ours = importlib.import_module("sbert" + old[len("sentence_transformers") :])
        last = old.rpartition(".")[2]
        if last[:1].isupper() and inspect.isclass(getattr(ours, last, None)):
            continue  # a class's path: the class under its name
        reference = importlib.import_module(new)
        defined = {
            name
            for name, value in vars(reference).items()
            if inspect.isclass(value) and value.__module__ == new and not name.startswith("_")
        }
        path = new[len("sentence_transformers.") :]
        for name in sorted(defined - ABSENT_FILE_CLASSES.get(path, set())):
            assert inspect.isclass(getattr(ours, name, None)), (old, name)


# Classes of sentence-transformers' files that sbert does not have: its trainers' internal wrappers, the
# transformer module's option types, and models sbert does not implement.
ABSENT_FILE_CLASSES = {
    "sentence_transformer.losses.adaptive_layer": {"TransformerDecorator", "ForwardDecorator"},
    "sentence_transformer.losses.matryoshka": {"ForwardDecorator", "CachedLossDecorator"},
    "multi_vector_encoder.losses.matryoshka": {"ForwardDecorator"},
    "multi_vector_encoder.losses.token_pooling": {"ForwardDecorator", "CachedLossDecorator"},
    "base.modules.transformer": {"ModalityParams", "ProcessingKwargs", "QueryExpansionConfig"},
    "cross_encoder.evaluation.nano_beir": {"CrossEncoderNanoBEIREvaluator"},
}


def _newer_path(path: str) -> str:
    """A file's path under its package's newer name (models.pooling: sentence_transformer.modules.pooling)."""
    from sbert._module_paths import PACKAGE_ALIASES

    for older, newer in PACKAGE_ALIASES.items():
        older, newer = older.removeprefix("sbert."), newer.removeprefix("sbert.")
        if path.startswith(older + "."):
            return newer + path[len(older) :]
    return path


def _file_paths() -> list[str]:
    from sbert._module_paths import FILE_MODULES

    return sorted(
        f"{parent}.{name}".removeprefix("sbert.") for parent, names in FILE_MODULES.items() for name in names
    )


@pytest.mark.parametrize("path", _file_paths())
def test_sentence_transformers_file_paths_give_its_classes(path):
    """``from sbert.sentence_transformer.losses.cosent import CoSENTLoss``: each of sentence-transformers'
    file paths listed imports, and gives the classes that file defines there."""
    import inspect

    # an older package's file read at its newer path: importing it under the older one would run
    # sentence-transformers' file a second time in this process (other tests patch the first module)
    with warnings.catch_warnings():  # sentence-transformers warns on its older paths (models.tokenizer)
        warnings.simplefilter("ignore")
        reference = importlib.import_module(f"sentence_transformers.{_newer_path(path)}")
    defined = {
        name
        for name, value in vars(reference).items()
        if inspect.isclass(value) and value.__module__ == reference.__name__ and not name.startswith("_")
    }
    defined |= {
        name for name in getattr(reference, "__all__", ()) if inspect.isclass(getattr(reference, name))
    }
    expected = defined - ABSENT_FILE_CLASSES.get(_newer_path(path), set())
    module = importlib.import_module(f"sbert.{path}")
    for name in sorted(expected):
        assert inspect.isclass(getattr(module, name)), (path, name)
    with pytest.raises(ImportError):
        exec(f"from sbert.{path} import NoSuchName", {})
    with pytest.raises(ImportError):
        importlib.import_module(f"sbert.{path}.no_such_file")


def test_file_paths_keep_the_namespace_and_import_no_torch():
    code = (
        "import sys; import sbert.sentence_transformer.losses.cosent, sbert.base.modules.transformer; "
        "import sbert.models.tokenizer.WhitespaceTokenizer; import sbert, sbert.losses; "
        "from sbert.models.tokenizer import WhitespaceTokenizer; "
        "assert WhitespaceTokenizer is sbert.WhitespaceTokenizer; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert sbert.losses.CoSENTLoss is sbert.CoSENTLoss; assert sbert.models.Asym is sbert.Router"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
