"""sentence-transformers 6.3's import paths import from sbert (``sentence_transformers`` -> ``sbert``).

Its older package paths (``sentence_transformers.models``, ``.losses``, ...) name its newer packages
(``DEPRECATED_MODULE_PATHS``), so every file of a newer package imports under the older path too:
``sentence_transformers.models.pooling``, ``.losses.cosent``. The list is computed from sentence-transformers
itself here, and each path compared with it by the classes and functions that file defines.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import os
import pkgutil
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest


def _st_module(name: str) -> types.ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its DeprecationWarning for the older package paths
        return importlib.import_module(name)


def _old_package_file_paths() -> list[str]:
    """Every file of a newer package under its older package path, found on disk: importing them here would
    run sentence-transformers' files a second time under those names in this test process (new module and
    class objects that other tests' patches of its modules would then miss)."""
    import ast

    spec = importlib.util.find_spec("sentence_transformers.util.deprecated_import")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    table = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DEPRECATED_MODULE_PATHS"
    )
    paths: set[str] = set()
    for old, new in ast.literal_eval(table).items():
        target = importlib.util.find_spec(new)
        if target is not None and target.submodule_search_locations:
            paths |= _files_under(list(target.submodule_search_locations), old)
    return sorted(paths)


def _files_under(folders: list[str], prefix: str) -> set[str]:
    found = set()
    for info in pkgutil.iter_modules(folders):
        name = f"{prefix}.{info.name}"
        found.add(name)
        if info.ispkg:
            found |= _files_under([str(Path(info.module_finder.path) / info.name)], name)
    return found


OLD_PACKAGE_FILES = _old_package_file_paths()
# the loss files' internal helper classes (MatryoshkaLoss's and AdaptiveLayerLoss's wrappers of the model's
# forward), which sbert's losses do not need: not part of what user code imports there
INTERNAL_HELPERS = {"CachedLossDecorator", "ForwardDecorator", "TransformerDecorator"}

_DEFINED_NAMES = """
import importlib, json, sys, types, warnings
warnings.simplefilter("ignore")
names = {}
for path in sys.argv[1:]:
    module = importlib.import_module(path)
    names[path] = sorted(
        name for name, value in vars(module).items()
        if not name.startswith("_") and isinstance(value, (type, types.FunctionType))
        and value.__module__ == module.__name__
    )
print(json.dumps(names))
"""


@functools.cache
def _st_defined_names() -> dict[str, list[str]]:
    """The classes and functions each older-path file defines in sentence-transformers (not what it
    imports), read in a child process for the reason above."""
    run = subprocess.run(
        [sys.executable, "-c", _DEFINED_NAMES, *OLD_PACKAGE_FILES], capture_output=True, text=True, check=True
    )
    return json.loads(run.stdout)


def _sbert_path(st_path: str) -> str:
    return "sbert" + st_path[len("sentence_transformers") :]


def test_the_older_package_paths_are_found():
    assert len(OLD_PACKAGE_FILES) > 60
    assert "sentence_transformers.models.pooling" in OLD_PACKAGE_FILES
    assert "sentence_transformers.sparse_encoder.models.splade_pooling" in OLD_PACKAGE_FILES


@pytest.mark.parametrize("st_path", OLD_PACKAGE_FILES)
def test_a_file_of_a_newer_package_imports_under_the_older_path(st_path):
    ours = importlib.import_module(_sbert_path(st_path))
    theirs = set(_st_defined_names()[st_path]) - INTERNAL_HELPERS
    missing = sorted(name for name in theirs if not hasattr(ours, name))
    assert missing == []


def test_older_and_newer_file_paths_hold_the_same_classes():
    import sbert
    from sbert.losses.cosent import CoSENTLoss
    from sbert.models.pooling import Pooling
    from sbert.sentence_transformer.losses.cosent import CoSENTLoss as newer_loss
    from sbert.sentence_transformer.modules.pooling import Pooling as newer_pooling
    from sbert.sparse_encoder.models.splade_pooling import SpladePooling
    from sbert.sparse_encoder.modules import SpladePooling as newer_splade_pooling

    assert Pooling is newer_pooling is sbert.Pooling
    assert CoSENTLoss is newer_loss is sbert.CoSENTLoss
    assert SpladePooling is newer_splade_pooling
    # the namespace keeps its class beside the file path of a similar name
    assert isinstance(sbert.models.Pooling, type)


@pytest.mark.parametrize(
    "path", ["sentence_transformer.modules.clip_model", "models.clip_model", "models.CLIPModel"]
)
def test_clip_model_imports_and_says_sbert_reads_text_only(path):
    from sbert import InputError

    module = importlib.import_module(f"sbert.{path}")
    assert module.CLIPModel is importlib.import_module("sbert.models").CLIPModel
    with pytest.raises(InputError, match="text only"):
        module.CLIPModel()
    assert "CLIPModel" in _st_module("sentence_transformers.sentence_transformer.modules").__all__
    assert "CLIPModel" in importlib.import_module("sbert.sentence_transformer.modules").__all__


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("base.data_collator", "DEFAULT_LABEL_COLUMNS"),
        ("util.dataset", "DEFAULT_LABEL_COLUMNS"),
        ("base.modules.transformer", "TRANSFORMER_TASK_DEFAULTS"),
        ("sparse_encoder.modules.mlm_transformer", "TRANSFORMER_TASK_DEFAULTS"),
        ("sentence_transformer.evaluation.nano_beir", "DATASET_NAME_TO_HUMAN_READABLE"),
        ("cross_encoder.evaluation.nano_beir", "DATASET_NAME_TO_HUMAN_READABLE"),
    ],
)
def test_public_constants_of_a_file(path, name):
    theirs = getattr(_st_module(f"sentence_transformers.{path}"), name)
    ours = getattr(importlib.import_module(f"sbert.{path}"), name)
    assert ours == theirs


def test_a_constant_under_an_older_path():
    from sentence_transformers.sentence_transformer.evaluation.nano_beir import DATASET_NAME_TO_HUMAN_READABLE

    from sbert.evaluation.nano_beir import DATASET_NAME_TO_HUMAN_READABLE as ours

    assert ours == DATASET_NAME_TO_HUMAN_READABLE


def test_get_versions_of_the_model_card_module():
    from sentence_transformers.base.model_card import get_versions as theirs

    from sbert.base.model_card import get_versions

    assert get_versions() == theirs()


def test_the_older_file_paths_import_without_torch():
    code = (
        "import sys, sbert.models.pooling, sbert.losses.cosent, sbert.evaluation.information_retrieval, "
        "sbert.models.clip_model, sbert.base.model_card, sbert.base.data_collator, sbert.readers.nli_data; "
        "from sbert.models.clip_model import CLIPModel; "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    import sbert

    root = str(Path(sbert.__file__).parents[1])  # this tree's sbert, wherever the test runs
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["False", "False"]
