"""Files in and out (sbert._io): permissions of atomic writes, missing output folders, CSV quoting errors."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest
from conftest import classic_pooling

from sbert import InputError, SentenceTransformer
from sbert._cli import main
from sbert._io.atomic import atomic_directory, atomic_write_bytes
from sbert._io.files import embeddings_writer, read_rows, read_texts


@pytest.fixture(scope="module")
def tiny_path(tiny_st_factory) -> str:
    return str(tiny_st_factory(classic_pooling(32, "mean")))


@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def umask(request):
    """The process umask set to each value for the test (restored after)."""
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("sbert: error: "), err
    return err


# -------------------------------------------------------------------------- permissions (issue 14, point 3)


def test_atomic_file_gets_the_mode_of_a_plain_open(umask, tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    atomic_write_bytes(tmp_path / "atomic.bin", b"data")
    assert mode(tmp_path / "atomic.bin") == 0o666 & ~umask == mode(plain)
    assert (tmp_path / "atomic.bin").read_bytes() == b"data"


def test_replacing_an_owner_only_file_gives_the_plain_mode(umask, tmp_path):
    target = tmp_path / "old.bin"
    target.write_bytes(b"old")
    target.chmod(0o600)  # as an older sbert left it
    atomic_write_bytes(target, b"new")
    assert mode(target) == 0o666 & ~umask and target.read_bytes() == b"new"


def test_atomic_folder_gets_the_mode_of_a_plain_mkdir(umask, tmp_path):
    (tmp_path / "plain").mkdir()
    with atomic_directory(tmp_path / "atomic") as tmp:
        (tmp / "file.txt").write_text("x")
    assert mode(tmp_path / "atomic") == 0o777 & ~umask == mode(tmp_path / "plain")
    assert mode(tmp_path / "atomic" / "file.txt") == 0o666 & ~umask
    with atomic_directory(tmp_path / "atomic") as tmp:  # replacing an existing folder: same modes
        (tmp / "file.txt").write_text("y")
    assert mode(tmp_path / "atomic") == 0o777 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic", "plain"]  # no temporary left


def test_atomic_writes_never_touch_the_process_umask(tmp_path, monkeypatch):
    """Reading the umask means setting it (os.umask(0) then back): a thread writing a file in between
    would make it world-writable. The writes must not need it at all."""

    def forbidden(mask: int) -> int:
        raise AssertionError("os.umask called")

    monkeypatch.setattr(os, "umask", forbidden)
    atomic_write_bytes(tmp_path / "a.bin", b"a")
    with atomic_directory(tmp_path / "folder") as tmp:
        (tmp / "f").write_bytes(b"f")


def test_saved_model_and_encode_output_follow_the_umask(umask, tiny_path, tmp_path, capsys):
    """Including model.safetensors, which safetensors itself writes owner-only."""
    SentenceTransformer(tiny_path).save(tmp_path / "model")
    assert main(["encode", "hi", "-o", str(tmp_path / "hi.npy"), "--model", tiny_path]) == 0
    assert mode(tmp_path / "hi.npy") == 0o666 & ~umask
    folders = [tmp_path / "model", *(p for p in (tmp_path / "model").rglob("*") if p.is_dir())]
    files = {p.name: mode(p) for p in (tmp_path / "model").rglob("*") if p.is_file()}
    assert "model.safetensors" in files and "modules.json" in files
    assert {mode(p) for p in folders} == {0o777 & ~umask}
    assert set(files.values()) == {0o666 & ~umask}, files


# ---------------------------------------------------------------------- missing folders (issue 14, point 7)


def test_atomic_file_in_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(InputError, match=r"the folder '.*nope' does not exist; create it first"):
        atomic_write_bytes(tmp_path / "nope" / "x.npy", b"x")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(InputError, match="is not a folder"):
        atomic_write_bytes(tmp_path / "file" / "x.npy", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing created


def test_encode_into_a_missing_folder_fails_before_the_model_loads(tiny_path, tmp_path, capsys):
    out = tmp_path / "nope" / "x.npy"
    assert main(["encode", "hello", "-o", str(out), "--model", tiny_path]) == 2
    err = one_line_error(capsys)
    assert f"'{tmp_path / 'nope'}' does not exist; create it first" in err
    assert not (tmp_path / "nope").exists()
    # checked first: a model that does not exist is not reached
    assert main(["encode", "hello", "-o", str(out), "--model", str(tmp_path / "no-model")]) == 2
    assert "create it first" in one_line_error(capsys)
    with pytest.raises(InputError, match="create it first"):
        embeddings_writer(str(out))  # the library check the CLI calls before anything else


def test_relative_output_names_the_folder_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"cannot write 'sub/x\.jsonl': the folder 'sub' does not exist"):
        embeddings_writer("sub/x.jsonl")
    embeddings_writer("x.jsonl")  # the current folder: fine


def test_folders_named_as_folders_are_still_created(tiny_path, tmp_path):
    SentenceTransformer(tiny_path).save(tmp_path / "a" / "b" / "model")  # as sentence-transformers does
    assert (tmp_path / "a" / "b" / "model" / "modules.json").is_file()
    with atomic_directory(tmp_path / "c" / "shards") as tmp:  # e.g. a Ray output folder
        (tmp / "part.parquet").write_bytes(b"")
    assert (tmp_path / "c" / "shards" / "part.parquet").is_file()


# --------------------------------------------------------------------------- CSV quoting (issue 14, point 9)


@pytest.mark.parametrize(
    "content, line",
    [
        ('text\n"oops\nline two\nline three\n', 2),  # the file
        ('text\n"oops', 2),  # no final newline
        ('text\nfine\n"oops\n', 3),
        ('text,b\n"a\nb","c\nd\ne\n', 3),  # the second field of a multi-line record opens on its line 2
        ('text,b\n"say ""hi"", ok","c\n', 2),  # doubled quotes stay inside the field
        ('text,b\n"say ""hi"" and ""bye\n', 2),
        ('text,b\r\nx,y\r\n"open\r\n', 3),  # CRLF lines
        ('"text\nfoo\n', 1),  # in the header
    ],
)
def test_unclosed_quote_names_the_line_where_it_opened(content, line, tmp_path):
    source = tmp_path / "x.csv"
    source.write_text(content, encoding="utf-8", newline="")
    expected = "^" + re.escape(f"{source}:{line}: a quoted field opened here is never closed")
    with pytest.raises(InputError, match=expected):
        read_texts(str(source))
    with pytest.raises(InputError, match=expected):
        list(read_rows(source))


def test_unclosed_quote_is_a_one_line_cli_error(tmp_path, capsys):
    source = tmp_path / "x.csv"
    source.write_text('text\n"oops\nline two\nline three\n', encoding="utf-8")
    out = tmp_path / "out.npy"
    assert main(["encode", "-i", str(source), "-o", str(out)]) == 2
    assert f"{source}:2: a quoted field opened here is never closed" in one_line_error(capsys)
    assert not out.exists()


def test_a_json_document_is_refused_with_the_jsonl_fix(tmp_path, capsys):
    source = tmp_path / "data.json"
    source.write_text('[{"text": "a cat"}, {"text": "a dog"}]\n', encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(f"{source}: a .json file is one JSON document")):
        read_texts(str(source))
    out = tmp_path / "out.npy"
    assert main(["encode", "-i", str(source), "-o", str(out)]) == 2
    err = one_line_error(capsys)
    assert ".jsonl" in err and "--column" in err
    assert not out.exists()


def test_closed_quotes_still_read(tmp_path):
    source = tmp_path / "ok.csv"
    source.write_text('text,b\n"multi\nline, ""quoted""",x\n"",\nplain,"y\nz"\n', encoding="utf-8")
    texts, _ = read_texts(str(source))
    assert texts == ['multi\nline, "quoted"', "", "plain"]
    assert [line for line, _ in read_rows(source)] == [2, 4, 5]


def test_other_csv_errors_keep_their_line(tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text('text\nok\n"a"b\n', encoding="utf-8")  # text after a closing quote
    with pytest.raises(InputError, match="^" + re.escape(f"{source}:3: ") + ".*expected after"):
        read_texts(str(source))
    tsv = tmp_path / "quotes.tsv"
    tsv.write_text('text\n"unclosed is plain text in a .tsv\n', encoding="utf-8")
    assert read_texts(str(tsv))[0] == ['"unclosed is plain text in a .tsv']


def test_npy_output_round_trips(tmp_path):
    write = embeddings_writer(str(tmp_path / "v.npy"))
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    write(["a", "b"], vectors)
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), vectors)
