"""Where the CLI writes: never over its own input (a file, or the model folder an export reads), never
after all the work into a folder it cannot write, and a late write error names the user's path."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from conftest import classic_pooling

from sbert._cli import main
from sbert._io import atomic


@pytest.fixture(scope="module")
def tiny_path(tiny_st_factory) -> Path:
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.fixture
def model_copy(tiny_path, tmp_path) -> Path:
    """A model folder of the test's own (a refused command must leave it whole)."""
    return Path(shutil.copytree(tiny_path, tmp_path / "mycopy"))


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("sbert: error: "), err
    return err


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------- export / distill into the model


@pytest.mark.parametrize("command", [["export"], ["distill", "--static"]], ids=["export", "distill"])
@pytest.mark.parametrize("where", ["itself", "inside", "around"])
def test_writing_a_model_folder_over_its_source_is_refused(command, where, model_copy, capsys):
    before = listing(model_copy.parent)
    out = {"itself": model_copy, "inside": model_copy / "onnx-copy", "around": model_copy.parent}[where]
    assert main([command[0], str(model_copy), str(out), *command[1:]]) == 2
    err = one_line_error(capsys)
    assert f"cannot write '{out}'" in err and f"the input '{model_copy}'" in err
    assert "choose another output folder" in err
    assert listing(model_copy.parent) == before  # model.safetensors and all still there, nothing added


def test_export_to_a_file_names_the_problem(model_copy, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("keep me")
    assert main(["export", str(model_copy), str(tmp_path / "a.txt")]) == 2
    err = one_line_error(capsys)
    file = tmp_path / "a.txt"
    assert f"cannot write the folder '{file}': it is a file; choose another output folder" in err
    assert main(["export", str(model_copy), str(tmp_path / "a.txt" / "out")]) == 2
    assert f"'{tmp_path / 'a.txt'}' is a file; choose another output folder" in one_line_error(capsys)
    assert (tmp_path / "a.txt").read_text() == "keep me"


def test_export_keeps_what_its_help_says_it_keeps(model_copy, tmp_path, capsys):
    """The help: an existing folder keeps what the export does not write, except weight files at its top
    level; each file the export writes replaces its namesake."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "model.safetensors").write_bytes(b"old weights")
    (out / "README.md").write_text("old card")
    assert main(["export", str(model_copy), str(out)]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "model.safetensors").exists()
    assert (out / "README.md").read_text() != "old card"
    capsys.readouterr()
    assert main(["export", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "keeps what the export does not write (except weight files at its top level)" in help_text
    assert "replaced atomically" not in help_text


# ---------------------------------------------------------------------- an output that is its own input


def _commands(tmp_path: Path) -> dict[str, tuple[Path, list[str]]]:
    """Each command that writes a file from a file: (the input, its arguments writing over it)."""
    texts = tmp_path / "x.jsonl"
    texts.write_text('{"text": "a"}\n{"text": "b"}\n{"text": "c"}\n')
    sts = tmp_path / "sts30.tsv"
    sts.write_text("sentence1\tsentence2\tscore\na\tb\t1\nc\td\t2\n")
    pairs = tmp_path / "p2.tsv"
    pairs.write_text("anchor\tpositive\na\tb\nc\td\n")
    docs = tmp_path / "r_in.txt"
    docs.write_text("one\ntwo\n")
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    model = ["--model", str(tmp_path / "no-model")]  # the check comes first: no model is reached
    return {
        "encode": (texts, ["encode", "-i", str(texts), "-o", str(texts), *model]),
        "cluster": (texts, ["cluster", str(texts), "-k", "2", "-o", str(texts), *model]),
        "eval-sts": (sts, ["eval", "sts", str(sts), "--json", str(sts), *model]),
        "eval-retrieval": (qrels, ["eval", "retrieval", "--corpus", str(texts), "--queries", str(texts),
                                   "--qrels", str(qrels), "--json", str(qrels), *model]),
        "mine": (pairs, ["mine", "-i", str(pairs), "-o", str(pairs), *model]),
        "rerank": (docs, ["rerank", "-q", "one", "-i", str(docs), "-o", str(docs), *model]),
    }  # fmt: skip


@pytest.mark.parametrize("name", ["encode", "cluster", "eval-sts", "eval-retrieval", "mine", "rerank"])
def test_an_output_that_is_the_input_file_is_refused(name, tmp_path, capsys):
    source, args = _commands(tmp_path)[name]
    before = source.read_bytes()
    assert main(args) == 2
    err = one_line_error(capsys)
    assert f"cannot write '{source}': it is also the input file" in err
    assert "choose another output file" in err
    assert source.read_bytes() == before


def test_the_same_file_through_a_symlinked_folder_is_refused(tmp_path, capsys):
    source = tmp_path / "x.jsonl"
    source.write_text('"a"\n"b"\n')
    (tmp_path / "alias").symlink_to(tmp_path)
    out = tmp_path / "alias" / "x.jsonl"
    assert main(["encode", "-i", str(source), "-o", str(out), "--model", str(tmp_path / "no-model")]) == 2
    assert f"cannot write '{out}': it is also the input file '{source}'" in one_line_error(capsys)
    assert source.read_text() == '"a"\n"b"\n'


# ---------------------------------------------------------------------- unwritable folders


@pytest.fixture
def read_only(monkeypatch):
    """Make ``os.access`` (as the checks call it) say the folders added to the returned set are not
    writable: the tests run as root, for whom every folder is."""
    folders: set[Path] = set()
    real = os.access

    def access(path, mode, **kwargs) -> bool:
        if mode & os.W_OK and Path(path).resolve() in folders:
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(atomic.os, "access", access)
    return folders


def test_an_unwritable_output_folder_fails_before_any_work(read_only, tmp_path, capsys):
    source = tmp_path / "big.txt"
    source.write_text("a\nb\n")
    (tmp_path / "rodir").mkdir()
    read_only.add(tmp_path / "rodir")
    out = tmp_path / "rodir" / "big.npy"
    assert main(["encode", "-i", str(source), "-o", str(out), "--model", str(tmp_path / "no-model")]) == 2
    err = one_line_error(capsys)
    assert f"cannot write '{out}': the folder '{tmp_path / 'rodir'}' is not writable" in err
    assert ".tmp-" not in err


def test_an_export_into_an_unwritable_folder_fails_before_any_work(read_only, model_copy, tmp_path, capsys):
    (tmp_path / "rodir").mkdir()
    read_only.add(tmp_path / "rodir")
    out = tmp_path / "rodir" / "new" / "onnx"  # the folders to create: the nearest existing one counts
    assert main(["export", str(model_copy), str(out)]) == 2
    assert f"the folder '{tmp_path / 'rodir'}' is not writable" in one_line_error(capsys)
    assert list((tmp_path / "rodir").iterdir()) == []


def test_a_late_write_error_names_the_output_not_the_temporary_file(tmp_path, monkeypatch):
    def full_disk(path: Path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(atomic, "_create_file", full_disk)
    out = tmp_path / "big.npy"
    with pytest.raises(OSError, match="No space left") as caught:
        atomic.atomic_write_bytes(out, b"x")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(out)
    assert list(tmp_path.iterdir()) == []


def test_ray_shards_over_their_input_folder_are_refused(tmp_path, monkeypatch, capsys):
    import sbert.distributed

    def reached(*args, **kwargs):
        raise AssertionError("the check comes before Ray starts")

    monkeypatch.setattr(sbert.distributed, "embed_dataset", reached)
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "part-0.parquet").write_bytes(b"data")
    assert main(["encode", "--ray", "-i", str(shards), "-o", str(shards)]) == 2
    assert f"cannot write '{shards}': it is the input '{shards}'" in one_line_error(capsys)
    assert main(["encode", "--ray", "-i", str(shards / "part-0.parquet"), "-o", str(shards)]) == 2
    assert "holds the input" in one_line_error(capsys)
    assert (shards / "part-0.parquet").read_bytes() == b"data"


def test_distill_into_the_working_folder_is_refused(model_copy, tmp_path, monkeypatch, capsys):
    """distill replaces an existing OUT whole: '.' would delete the working folder and all it holds."""
    work = tmp_path / "a" / "work"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    for out in (".", str(tmp_path / "a")):
        assert main(["distill", str(model_copy), out, "--static"]) == 2
        assert f"cannot write '{out}': it is or holds the working folder" in one_line_error(capsys)
    assert (work / "notes.txt").read_text() == "mine"
