"""`import sbert` is light: no torch, no transformers (its time is measured by bench/bench_cold_start.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import sbert

PROBE = """
import json, sys
import sbert
print(json.dumps(sorted(m for m in ("torch", "transformers", "sentence_transformers", "huggingface_hub", \
"fastapi", "peft",
    "faiss", "ray", "onnxruntime") if m in sys.modules)))
"""


def test_import_does_not_load_heavy_libraries():
    heavy = json.loads(
        subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    )
    assert heavy == []


def test_public_names_are_what_dir_lists():
    public = set(dir(sbert))
    assert "__version__" in public and set(sbert.__all__) <= public
    for name in public:
        assert getattr(sbert, name) is not None
    assert not {"TYPE_CHECKING", "Any", "LOSSES", "annotations"} & public  # the module's own imports


def test_star_import_gives_sentence_transformers_names_and_sberts_own():
    """``from sbert import *`` leaves a script's torch, transformers and datasets names alone, as
    sentence-transformers' star import does (it replaced ``MSELoss``, ``Trainer``, ``load_dataset`` and the
    script's ``__version__``)."""
    import sentence_transformers

    ours: dict = {"MSELoss": object, "Trainer": object, "load_dataset": object, "__version__": "mine"}
    theirs = dict(ours)
    exec("from sbert import *", ours)
    exec("from sentence_transformers import *", theirs)
    assert set(ours) >= set(theirs)
    assert {name: ours[name] for name in ("MSELoss", "Trainer", "load_dataset", "__version__")} == {
        "MSELoss": object,
        "Trainer": object,
        "load_dataset": object,
        "__version__": "mine",
    }
    own = set(ours) - set(theirs)
    assert all(
        isinstance(ours[name], type)
        and issubclass(ours[name], (Exception, Warning))
        or name in {"VectorIndex", "SearchHit"}
        for name in own
    ), own
    assert set(sentence_transformers.__all__) <= set(sbert.__all__)


def test_one_exception_tree():
    assert issubclass(sbert.ModelLoadError, sbert.SbertError)
    assert issubclass(sbert.InputError, sbert.SbertError) and issubclass(sbert.InputError, ValueError)
    assert issubclass(sbert.BackendUnavailableError, ImportError)
