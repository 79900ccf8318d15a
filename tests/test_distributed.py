"""sbert.distributed on a local Ray cluster (2 CPUs): output equals single-process encode for every id."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from conftest import SENTENCES, classic_pooling

from sbert import SentenceTransformer
from sbert._cli import main
from sbert._errors import BackendUnavailableError, InputError

# Ray's advice that a tiny input reached the actor pool as one bundle (so fewer actors than asked had work)
small_input_advice = pytest.mark.filterwarnings("ignore:The minimum number of concurrent actors:UserWarning")
TEXTS = [f"{text} {i}" for i in range(12) for text in SENTENCES]  # 84 texts of very different lengths


def test_missing_ray_names_the_extra(tmp_path, monkeypatch):
    from sbert.distributed import embed_dataset

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'sbert\[ray\]'"):
        embed_dataset(tmp_path / "in.parquet", tmp_path / "out")


def test_cli_ray_options_need_ray(capsys):
    assert main(["encode", "hello", "--id-column", "doc"]) == 2
    assert "apply to --ray" in capsys.readouterr().err


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_model(tiny_st_factory) -> str:
    return str(tiny_st_factory(classic_pooling(32, "mean")))


def _assert_equal_to_single_process(
    ids: list[str], vectors: np.ndarray, model: str, texts_by_id: dict[str, str]
):
    assert sorted(ids) == sorted(texts_by_id)  # every id exactly once
    reference = SentenceTransformer(model, device="cpu").encode([texts_by_id[i] for i in ids])
    np.testing.assert_allclose(vectors, reference, atol=1e-5, rtol=0)


@pytest.mark.slow
@small_input_advice
def test_embed_parquet_equals_single_process_encode(local_ray, tiny_model, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sbert.distributed import embed_dataset, read_embeddings

    ids = [f"doc-{i:03d}" for i in range(len(TEXTS))]
    source = tmp_path / "corpus"
    source.mkdir()
    for part in range(3):  # a folder of three files, as a real dataset would be
        rows = slice(part * 28, (part + 1) * 28)
        pq.write_table(pa.table({"doc": ids[rows], "body": TEXTS[rows]}), source / f"part-{part}.parquet")
    summary = embed_dataset(
        source,
        tmp_path / "out",
        model=tiny_model,
        text_column="body",
        id_column="doc",
        num_actors=2,
        num_cpus_per_actor=0.5,
        batch_size=8,
    )
    assert summary["rows"] == len(TEXTS) and summary["dimension"] == 32 and summary["actors"] == 2
    assert all(f.endswith(".parquet") for f in summary["files"])
    out_ids, vectors = read_embeddings(tmp_path / "out")
    _assert_equal_to_single_process(out_ids, vectors, tiny_model, dict(zip(ids, TEXTS)))
    with pytest.raises(InputError, match="no id column 'missing'"):
        embed_dataset(source, tmp_path / "bad", model=tiny_model, text_column="body", id_column="missing")
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
@small_input_advice
def test_cli_encode_ray_txt(local_ray, tiny_model, tmp_path, capsys):
    from sbert.distributed import read_embeddings

    (tmp_path / "texts.txt").write_text(
        "\n".join(t.replace("\n", " ") for t in TEXTS[:40]) + "\n", encoding="utf-8"
    )
    code = main(
        [
            "encode",
            "--ray",
            "-i",
            str(tmp_path / "texts.txt"),
            "-o",
            str(tmp_path / "out"),
            "--model",
            tiny_model,
            "--num-actors",
            "1",
            "--batch-size",
            "16",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "encoded 40 texts" in err
    summary = json.loads(err.splitlines()[-2])
    assert summary["rows"] == 40
    ids, vectors = read_embeddings(tmp_path / "out")
    texts = [t.replace("\n", " ") for t in TEXTS[:40]]
    _assert_equal_to_single_process(ids, vectors, tiny_model, {str(i): t for i, t in enumerate(texts)})


def test_cli_ray_needs_input_and_output_folder(capsys):
    assert main(["encode", "--ray", "some text"]) == 2
    assert "-i INPUT" in capsys.readouterr().err
    assert main(["encode", "--ray", "-i", "x.parquet"]) == 2
    assert "-o OUT_DIR" in capsys.readouterr().err
