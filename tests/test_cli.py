"""The ``sbert`` command line: in-process through ``main`` (fast), plus a few real subprocesses."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import classic_pooling

from sbert import SentenceTransformer, __version__
from sbert._cli import main
from sbert._io.files import read_lines as _read_lines

TEXTS = [
    "The weather is lovely today.",
    'She said "hi", then left.',
    "",
    "Unknown wörds 🙂 and numbers 12345",
    "a",
]


@pytest.fixture(scope="module")
def tiny_path(tiny_st_factory) -> str:
    return str(tiny_st_factory(classic_pooling(32, "mean")))


@pytest.fixture(scope="module")
def tiny(tiny_path) -> SentenceTransformer:
    return SentenceTransformer(tiny_path)


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("sbert: error: "), err
    return err


# --------------------------------------------------------------------------------------------- encode: inputs


def test_encode_arguments_to_npy(tiny, tiny_path, tmp_path, capsys):
    out = tmp_path / "vectors.npy"
    assert run_cli("encode", *TEXTS, "-o", out, "--model", tiny_path) == 0
    got = np.load(out)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(got, tiny.encode(TEXTS), atol=1e-6)
    assert capsys.readouterr().err == f"encoded 5 texts -> {out} (5, 32)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.npy"]  # no temporary file left behind


def _write_txt(path: Path) -> None:
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")


def _write_jsonl(path: Path) -> None:
    lines = [json.dumps({"id": i, "text": t}) for i, t in enumerate(TEXTS)]
    lines[1] = json.dumps(TEXTS[1])  # a bare JSON string is a text too
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")  # trailing blank line is skipped


def _write_table(path: Path, **dialect) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, **dialect)
        writer.writerow(["id", "text"])
        writer.writerows([i, t] for i, t in enumerate(TEXTS))


def _write_tsv(path: Path) -> None:
    rows = ["id\ttext", *(f"{i}\t{t}" for i, t in enumerate(TEXTS))]  # no quoting at all
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    "name, write",
    [
        ("texts.txt", _write_txt),
        ("texts.lines", _write_txt),  # any other extension is plain text
        ("texts.jsonl", _write_jsonl),
        ("texts.csv", _write_table),
        ("texts.tsv", _write_tsv),
    ],
)
def test_encode_input_file(name, write, tiny, tiny_path, tmp_path):
    source, out = tmp_path / name, tmp_path / "out.npy"
    write(source)
    if name.endswith(".tsv"):
        assert '"hi"' in source.read_text(encoding="utf-8")  # written unquoted: QUOTE_NONE on read matters
    assert run_cli("encode", "-i", source, "-o", out, "--model", tiny_path) == 0
    np.testing.assert_allclose(np.load(out), tiny.encode(TEXTS), atol=1e-6)


def test_encode_csv_column_and_multiline_field(tiny, tiny_path, tmp_path):
    texts = ["first, with a comma", "two\nlines", 'quote "inside"']
    source, out = tmp_path / "data.csv", tmp_path / "out.npy"
    with open(source, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["label", "body"], *[["x", t] for t in texts]])
    assert run_cli("encode", "-i", source, "--column", "body", "-o", out, "--model", tiny_path) == 0
    np.testing.assert_allclose(np.load(out), tiny.encode(texts), atol=1e-6)


@pytest.mark.parametrize(
    "content, texts",
    [
        ("a\nb\n", ["a", "b"]),
        ("a\nb", ["a", "b"]),  # no final newline
        ("a\n\nb\n", ["a", "", "b"]),  # an empty line is an empty text
        ("\n", [""]),
        ("", []),
        ("a\r\nb\r\n", ["a", "b"]),  # Windows line ends
        ("  padded  \n", ["  padded  "]),  # only the newline is stripped
    ],
)
def test_plain_text_lines(content, texts):
    assert _read_lines(content) == texts


def test_encode_empty_file_gives_empty_array(tiny_path, tmp_path):
    source, out = tmp_path / "empty.txt", tmp_path / "out.npy"
    source.write_bytes(b"")
    assert run_cli("encode", "-i", source, "-o", out, "--model", tiny_path) == 0
    assert np.load(out).shape == (0, 32)


# -------------------------------------------------------------------------------------------- encode: outputs


def test_encode_parquet_round_trip(tiny, tiny_path, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    out = tmp_path / "vectors.parquet"
    assert run_cli("encode", *TEXTS, "-o", out, "--model", tiny_path) == 0
    table = pq.read_table(out)
    assert table.schema.field("text").type == pa.string()
    assert table.schema.field("embedding").type == pa.list_(pa.float32())
    assert table.column("text").to_pylist() == TEXTS
    got = np.array(table.column("embedding").to_pylist(), dtype=np.float32)
    np.testing.assert_allclose(got, tiny.encode(TEXTS), atol=1e-6)


def test_encode_jsonl_round_trip_is_exact(tiny_path, tmp_path):
    out, reference = tmp_path / "vectors.jsonl", tmp_path / "vectors.npy"
    assert run_cli("encode", *TEXTS, "-o", out, "--model", tiny_path) == 0
    assert run_cli("encode", *TEXTS, "-o", reference, "--model", tiny_path) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["text"] for row in rows] == TEXTS
    got = np.array([row["embedding"] for row in rows], dtype=np.float32)
    np.testing.assert_array_equal(got, np.load(reference))  # float32 values survive JSON unchanged


def test_encode_to_stdout(tiny, tiny_path, capsys):
    assert run_cli("encode", "The cat sat.", "Ünïcode 🙂", "--model", tiny_path) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [row["text"] for row in rows] == ["The cat sat.", "Ünïcode 🙂"]
    np.testing.assert_allclose(
        np.array([row["embedding"] for row in rows]), tiny.encode(["The cat sat.", "Ünïcode 🙂"]), atol=1e-6
    )
    assert captured.err == "encoded 2 texts -> stdout (2, 32)\n"


def test_encode_normalize(tiny, tiny_path, tmp_path):
    out = tmp_path / "unit.npy"
    assert run_cli("encode", *TEXTS, "-o", out, "--normalize", "--batch-size", "2", "--model", tiny_path) == 0
    got = np.load(out)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(got, tiny.encode(TEXTS, normalize_embeddings=True), atol=1e-6)


# --------------------------------------------------------------------------------------------- encode: errors


def test_missing_csv_column_names_column_and_file(tiny_path, tmp_path, capsys):
    source, out = tmp_path / "data.csv", tmp_path / "out.npy"
    out.write_bytes(b"previous")
    _write_table(source)
    assert run_cli("encode", "-i", source, "--column", "body", "-o", out, "--model", tiny_path) == 2
    err = one_line_error(capsys)
    assert f"{source}:1:" in err and "'body'" in err and "'text'" in err  # the file, the column, the choices
    assert out.read_bytes() == b"previous"  # a failed run leaves the old output alone


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("bad.jsonl", '{"text": "ok"}\n{"text": "oops"\n', [":2:", "invalid JSON"]),
        ("bad.jsonl", '{"text": "ok"}\n\n{"body": "x"}\n', [":3:", "no field 'text'", "'body'"]),
        ("bad.jsonl", '{"text": 3}\n', [":1:", "field 'text' is int"]),
        ("bad.jsonl", "[1, 2]\n", [":1:", "the line is list"]),
        ("bad.tsv", "id\ttext\n1\tfine\n2\ttoo\tmany\n", [":3:", "3 fields", "header has 2"]),
        ("bad.csv", "", ["the file is empty"]),
        ("bad.txt", b"ok\n\xff\n", [":2:", "not valid UTF-8"]),
    ],
)
def test_bad_input_file_names_file_and_line(name, content, expected, tmp_path, capsys):
    source = tmp_path / name
    source.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    assert run_cli("encode", "-i", source, "-o", tmp_path / "out.npy") == 2
    err = one_line_error(capsys)
    assert str(source) in err
    for part in expected:
        assert part in err
    assert not (tmp_path / "out.npy").exists()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["-i", "does-not-exist.txt"], "does-not-exist.txt: No such file or directory"),
        (["a", "-o", "out.csv"], "must be one of .npy, .parquet, .jsonl"),
        ([], "no texts"),
        (["a", "-i", "x.txt"], "not both"),
        (["a", "--column", "body"], "--column applies"),
        (["a", "--model", "./no/such/model"], "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_cli("encode", *args) == 2
    assert expected in one_line_error(capsys)


def test_argument_errors_exit_2(capsys):
    assert run_cli("encode", "a", "--batch-size", "0") == 2
    assert "positive integer" in capsys.readouterr().err
    assert run_cli("no-such-command") == 2
    assert run_cli() == 2


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` raise ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert run_cli("encode", "a", "-o", tmp_path / "out.parquet") == 2
    assert "pip install 'sbert[parquet]'" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------- similarity


def test_similarity_default_model(capsys):
    assert run_cli("similarity", "The weather is lovely today.", "It's so sunny outside!") == 0
    assert capsys.readouterr().out == "0.6660\n"


def test_similarity_matrix(tiny, tiny_path, capsys):
    texts = ["The cat sat.", "A dog ran.", "Music is good."]
    assert run_cli("similarity", *texts, "--model", tiny_path) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(len(line.split("\t")) == 3 for line in lines)
    got = np.array([[float(v) for v in line.split("\t")] for line in lines])
    embeddings = tiny.encode(texts)
    np.testing.assert_allclose(got, tiny.similarity(embeddings, embeddings), atol=5e-5)
    assert [lines[i].split("\t")[i] for i in range(3)] == ["1.0000"] * 3


def test_similarity_function_option(tiny, tiny_path, capsys):
    assert run_cli("similarity", "The cat sat.", "A dog ran.", "--function", "dot", "--model", tiny_path) == 0
    a, b = tiny.encode(["The cat sat.", "A dog ran."])
    assert capsys.readouterr().out == f"{float(a @ b):.4f}\n"


def test_similarity_needs_two_texts(capsys):
    assert run_cli("similarity", "alone") == 2
    assert "at least two texts" in one_line_error(capsys)


# ---------------------------------------------------------------------------------------------- the program


def test_version(capsys):
    assert run_cli("--version") == 0
    assert capsys.readouterr().out == f"sbert {__version__}\n"


def _python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], check=False, capture_output=True, text=True, env=os.environ, **kwargs
    )


def test_help_in_a_subprocess():
    result = _python("-m", "sbert", "--help")
    assert result.returncode == 0, result.stderr
    assert "encode" in result.stdout and "similarity" in result.stdout
    assert "examples:" in result.stdout and "sbert encode -i" in result.stdout
    for command in ("encode", "similarity"):
        sub = _python("-m", "sbert", command, "--help")
        assert sub.returncode == 0 and "examples:" in sub.stdout and "--model" in sub.stdout


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, sbert._cli; sys.exit('torch' in sys.modules)"
    assert _python("-c", code).returncode == 0


def test_encode_default_model_in_a_subprocess_from_stdin(default_model, tmp_path):
    texts = ["The weather is lovely today.", "It's so sunny outside!"]
    out = tmp_path / "default.npy"
    result = _python("-m", "sbert", "encode", "-i", "-", "-o", str(out), input="\n".join(texts) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith(f"encoded 2 texts -> {out} (2, 384)")
    np.testing.assert_allclose(np.load(out), default_model.encode(texts), atol=1e-6)


# ---------------------------------------------------------------------------------------------- checks first


def test_cluster_without_sklearn_fails_before_the_model_loads(model_loads, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn...` raise ImportError
    monkeypatch.setitem(sys.modules, "sklearn.cluster", None)
    _write_txt(tmp_path / "texts.txt")
    assert run_cli("cluster", tmp_path / "texts.txt", "-k", "2", "-o", tmp_path / "c.jsonl") == 2
    assert "pip install 'sbert[cluster]'" in one_line_error(capsys)
    assert model_loads == [] and not (tmp_path / "c.jsonl").exists()


def test_cluster_output_in_a_missing_folder_fails_before_the_model_loads(model_loads, tmp_path, capsys):
    _write_txt(tmp_path / "texts.txt")
    assert run_cli("cluster", tmp_path / "texts.txt", "-k", "2", "-o", tmp_path / "nope" / "c.jsonl") == 2
    assert "nope" in one_line_error(capsys)
    assert model_loads == [] and not (tmp_path / "nope").exists()


@pytest.mark.parametrize("command", ["build", "add", "search"])
def test_index_without_faiss_fails_before_any_model_loads(
    command, model_loads, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "faiss", None)
    _write_txt(tmp_path / "texts.txt")
    args = {
        "build": ["index", "build", tmp_path / "texts.txt", "-o", tmp_path / "idx"],
        "add": ["index", "add", tmp_path / "idx", tmp_path / "texts.txt"],
        "search": ["search", tmp_path / "idx", "a query"],
    }[command]
    assert run_cli(*args) == 2
    assert "pip install 'sbert[search]'" in one_line_error(capsys)
    assert model_loads == [] and not (tmp_path / "idx").exists()


def test_index_build_over_an_index_fails_before_the_model_loads(tiny_path, tmp_path, monkeypatch, capsys):
    _write_txt(tmp_path / "texts.txt")
    build = ["index", "build", tmp_path / "texts.txt", "-o", tmp_path / "idx", "--model", tiny_path]
    assert run_cli(*build) == 0
    capsys.readouterr()
    before = sorted(p.name for p in (tmp_path / "idx").iterdir())
    import sbert._model

    monkeypatch.setattr(sbert._model, "SentenceTransformer", None)  # calling it would be a TypeError
    assert run_cli(*build) == 2
    err = one_line_error(capsys)
    assert str(tmp_path / "idx") in err and "--overwrite" in err and "NoneType" not in err
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == before


# ---------------------------------------------------------------------------------------------- serve --help


def test_serve_help_states_the_batch_token_budgets_the_server_uses(capsys):
    from sbert._fake import FakeEncoder
    from sbert._server.engine import ServedModel

    assert run_cli("serve", "--help") == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines: compare words
    start = text.index("--max-batch-tokens N ")
    help_text = text[start : text.index("--workers N ", start)]
    on_cpu = ServedModel("m", FakeEncoder(8), workers=1).max_batch_tokens  # what a served model gets on a CPU
    assert f"on a CPU {on_cpu} in fp32" in help_text, help_text
    assert "16384 in fp32" not in help_text.split(";")[0]  # encode's budget is not the CPU default


@pytest.fixture(scope="module")
def cross_encoder_folder(tmp_path_factory) -> Path:
    from conftest import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("ce") / "ce")


@pytest.mark.parametrize(
    "command",
    [
        ["encode", "hello"],
        ["similarity", "a", "b"],
        ["index", "build", "{texts}", "--column", "sentence1", "-o", "{out}/index"],
        ["eval", "sts", "{texts}"],
        ["mine", "-i", "{texts}", "-o", "{out}/mined.jsonl"],
        ["cluster", "{texts}", "--column", "sentence1", "-k", "1", "-o", "{out}/clusters.jsonl"],
    ],
    ids=lambda command: " ".join(part for part in command[:2] if "{" not in part),
)
def test_a_cross_encoder_given_as_the_embedding_model_is_refused(
    cross_encoder_folder, command, model_loads, tmp_path, capsys
):
    """SentenceTransformer() converts a cross-encoder (as sentence-transformers does, to train it); a command
    that embeds refuses one, which would give vectors from an untrained pooling."""
    texts = tmp_path / "texts.tsv"
    texts.write_text("sentence1\tsentence2\tscore\nanchor\tpositive\t1.0\nother\tpair\t0.0\n")
    args = [part.format(texts=texts, out=tmp_path) for part in command]
    assert main([*args, "--model", str(cross_encoder_folder)]) == 2
    err = capsys.readouterr().err
    assert "is a cross-encoder (config.json names BertForSequenceClassification)" in err
    assert "give --model an embedding model" in err and "Traceback" not in err
    assert model_loads == []


@pytest.mark.parametrize(
    "content, message",
    [
        ("text", "not a .npy array of numbers"),
        (np.zeros(4, dtype=np.float32), "a 2-D array of embeddings (one row per text), got shape (4,)"),
        (np.array([[0.0, 1.0], [np.nan, 1.0]]), "row 1 (of 1 such rows) holds NaN or infinite values"),
    ],
    ids=["not-npy", "one-dimension", "nan"],
)
def test_cluster_refuses_npy_files_that_are_not_embeddings(content, message, tmp_path, capsys):
    path = tmp_path / "vectors.npy"
    if isinstance(content, str):
        path.write_text(content)
    else:
        np.save(path, content)
    assert main(["cluster", str(path), "-k", "1", "-o", str(tmp_path / "clusters.jsonl")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "allow_pickle" not in err


@pytest.mark.parametrize("command", [["encode", "hi"], ["serve"], ["similarity", "a", "b"]], ids=str)
def test_fast_and_an_explicit_precision_conflict(command, model_loads, capsys):
    """--fast chooses the precision by the CPU: a --precision beside it was silently dropped."""
    assert main([*command, "--fast", "--precision", "fp32"]) == 2
    assert "argument --precision: not allowed with argument --fast" in capsys.readouterr().err


def test_options_that_do_not_apply_are_refused_before_the_model_loads(model_loads, tmp_path, capsys):
    """Each was silently dropped: a tuning of another index kind, a model for already-made embeddings,
    cross-validation folds beside a test file."""
    texts, out = tmp_path / "texts.txt", str(tmp_path / "out")
    texts.write_text("a\nb\n")
    vectors, train = tmp_path / "vectors.npy", tmp_path / "train.tsv"
    np.save(vectors, np.eye(2, dtype=np.float32))
    train.write_text("text\tlabel\na\tx\nb\ty\n")
    cases = [
        (["index", "build", str(texts), "-o", out, "--nprobe", "4"], "--nprobe tunes --index ivf-pq"),
        (["index", "build", str(texts), "-o", out, "--index", "ivf-pq", "--ef-search", "8"],
         "--ef-search tunes --index hnsw, not ivf-pq"),
        (["cluster", str(vectors), "-k", "1", "-o", f"{out}.jsonl", "--model", "m"],
         "--model applies to text files, not to .npy embeddings"),
        (["eval", "classify", str(train), "--test", str(train), "--folds", "3"],
         "--folds is for cross-validation without --test"),
    ]  # fmt: skip
    for args, message in cases:
        assert main(args) == 2, args
        assert message in capsys.readouterr().err, args
    assert model_loads == []


@pytest.mark.parametrize("command", [["encode", "hi"], ["index", "info", "somewhere"]], ids=lambda c: c[0])
def test_an_unknown_option_is_reported_with_its_commands_usage(command, model_loads, capsys):
    """It showed the top-level usage ('sbert [-h] [--version] COMMAND ...'), not the options that exist."""
    assert main([*command, "--bogus"]) == 2
    err = capsys.readouterr().err
    assert f"usage: sbert {command[0]}" in err and "unrecognized arguments: --bogus" in err
    assert "COMMAND ..." not in err
