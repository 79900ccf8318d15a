"""Embed datasets larger than one machine with Ray Data (the ``ray`` extra: ``pip install 'sbert[ray]'``).

Ray Data reads the input in blocks, a pool of actors each holding one copy of the model embeds them in
batches (one GPU per actor when the cluster has GPUs), and the results are written as parquet shards with
two columns, ``id`` and ``embedding`` (``fixed_size_list<float32>[d]``)::

    from sbert.distributed import embed_dataset

    summary = embed_dataset("texts.parquet", "embeddings/", id_column="doc_id", text_column="body")
    # {"rows": 1000000, "files": [...], "seconds": ..., "actors": 8, "dimension": 384}

The same call runs on a laptop (``ray.init()`` starts a local cluster) and on a multi-node cluster
(``ray_address="auto"`` on a cluster node, or ``RAY_ADDRESS``); see docs/scaling.md. The vectors equal
``SentenceTransformer(model).encode(texts)`` for every id (tested to 1e-5).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_positive_int
from ._errors import InputError, missing_extra
from ._io.atomic import atomic_directory
from ._io.files import TEXT_COLUMN, load_text, read_lines

__all__ = ["embed_dataset"]

# Input formats by extension (a folder is read by the extensions of the files in it).
_FORMATS = {".parquet": "parquet", ".jsonl": "json", ".ndjson": "json", ".json": "json", ".txt": "text"}


def embed_dataset(
    source: Any,
    output: str | os.PathLike,
    *,
    model: str | None = None,
    text_column: str = TEXT_COLUMN,
    id_column: str | None = "id",
    batch_size: int = 64,
    num_actors: int | None = None,
    num_gpus_per_actor: float | None = None,
    num_cpus_per_actor: float = 1,
    normalize_embeddings: bool = False,
    ray_address: str | None = None,
    model_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Embed the ``text_column`` of ``source`` and write parquet shards of (id, embedding) to ``output``.

    Args:
        source: a parquet file or folder, JSON-lines file(s), a ``.txt`` file (one text per line; the ids
            are the line numbers, counted from 0), a list of paths, or a ``ray.data.Dataset``.
        output: a folder, created or replaced whole (local paths are written beside it and renamed into
            place, so a failed run leaves no partial output); ``s3://``-style URIs are written directly.
        model: model folder or hub name, loaded once per actor (default: the embedded all-MiniLM-L6-v2).
        id_column: the column of unique ids (required for parquet/JSON-lines input; ``None`` for .txt).
        num_actors: model copies; default: the number of GPUs, else the CPUs but one (left to the tasks
            that read and write) divided by ``num_cpus_per_actor``.
        num_gpus_per_actor: default 1 when the cluster has GPUs, else 0.
        model_options: extra keyword arguments of ``SentenceTransformer`` (``backend``, ``precision``, ...).

    Returns a summary: ``rows``, ``dimension``, ``files``, ``actors``, ``seconds``, ``rows_per_second``.
    """
    ray = _start_ray(ray_address)
    check_positive_int("batch_size", batch_size)
    if num_actors is not None:
        check_positive_int("num_actors", num_actors)
    num_actors, num_gpus_per_actor = _actor_pool(ray, num_actors, num_gpus_per_actor, num_cpus_per_actor)
    dataset, id_column = _read(ray, source, text_column, id_column, num_actors)
    start = time.perf_counter()
    actor = {
        "model": model,
        "text_column": text_column,
        "id_column": id_column,
        "batch_size": batch_size,
        "normalize": normalize_embeddings,
        "device": "cuda" if num_gpus_per_actor > 0 else "cpu",
        "options": dict(model_options or {}),
    }
    embedded = dataset.map_batches(
        _Embedder,
        fn_constructor_kwargs=actor,
        batch_size=batch_size * 4,  # a few model batches per call: less per-call overhead, bounded memory
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=num_actors),
        num_cpus=num_cpus_per_actor,
        num_gpus=num_gpus_per_actor,
    )
    written = _write(embedded, output)  # rows, dimension, files
    seconds = time.perf_counter() - start
    rate = written["rows"] / seconds if seconds > 0 else float("inf")
    return {**written, "actors": num_actors, "seconds": seconds, "rows_per_second": rate}


def _actor_pool(
    ray: Any, num_actors: int | None, num_gpus_per_actor: float | None, num_cpus_per_actor: float
) -> tuple[int, float]:
    """How many actors, and GPUs per actor: the arguments, or defaults that fit the cluster."""
    resources = ray.cluster_resources()
    gpus = float(resources.get("GPU", 0))
    if num_gpus_per_actor is None:
        num_gpus_per_actor = 1.0 if gpus >= 1 else 0.0
    if num_actors is None:
        if num_gpus_per_actor > 0:
            num_actors = max(1, int(gpus // num_gpus_per_actor))
        else:
            # one CPU stays free for the tasks that read the input and write the shards
            num_actors = max(1, int((float(resources.get("CPU", 1)) - 1) // num_cpus_per_actor))
    return num_actors, num_gpus_per_actor


def read_embeddings(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """The shards written by :func:`embed_dataset`: ``(ids, embeddings (n, d) float32)``, in file order."""
    import pyarrow.parquet as pq

    table = pq.read_table(str(path), columns=["id", "embedding"])
    column = table.column("embedding").combine_chunks()
    dimension = column.type.list_size
    vectors = column.values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dimension)
    return [str(i) for i in table.column("id").to_pylist()], vectors


class _Embedder:
    """A Ray Data actor: one model copy, many batches."""

    def __init__(
        self,
        *,
        model: str | None,
        text_column: str,
        id_column: str,
        batch_size: int,
        normalize: bool,
        device: str,
        options: dict[str, Any],
    ) -> None:
        from ._model import SentenceTransformer

        self.model = SentenceTransformer(model, device=device, **options)
        self.text_column = text_column
        self.id_column = id_column
        self.batch_size = batch_size
        self.normalize = normalize

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        texts = batch.column(self.text_column).to_pylist()
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=self.normalize)
        d = vectors.shape[1]
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1), type=pa.float32())
        ids = batch.column(self.id_column)
        return pa.table({"id": ids, "embedding": pa.FixedSizeListArray.from_arrays(flat, d)})


def _read(ray: Any, source: Any, text_column: str, id_column: str | None, num_actors: int) -> tuple[Any, str]:
    if isinstance(source, ray.data.Dataset):
        dataset = source
    else:
        paths = [str(p) for p in source] if isinstance(source, (list, tuple)) else [str(source)]
        kind = _format_of(paths)
        blocks = _block_count(paths, num_actors)
        if kind == "text":
            if id_column not in (None, "id"):
                raise InputError(
                    "A .txt input has no id column: its ids are the line numbers (drop --id-column)."
                )
            texts = [line for p in paths for line in read_lines(load_text(p))]
            if not texts:
                raise InputError(f"{paths[0]}: no texts to embed.")
            items = [{"id": str(i), text_column: t} for i, t in enumerate(texts)]
            dataset = ray.data.from_items(items, override_num_blocks=blocks)
            id_column = "id"
        elif kind == "parquet":
            dataset = ray.data.read_parquet(paths, override_num_blocks=blocks)
        else:
            dataset = ray.data.read_json(paths, lines=True, override_num_blocks=blocks)
    columns = dataset.schema().names if dataset.schema() is not None else []
    if text_column not in columns:
        raise InputError(
            f"The dataset has no column {text_column!r} (columns: {', '.join(columns) or 'none'}); "
            "choose one with text_column (--column)."
        )
    if id_column is None or id_column not in columns:
        raise InputError(
            f"The dataset has no id column {id_column!r} (columns: {', '.join(columns)}); every row "
            "needs a unique id so its embedding can be found: choose one with id_column (--id-column)."
        )
    return dataset, id_column


def _block_count(paths: list[str], num_actors: int) -> int | None:
    """Enough blocks to keep every actor busy on a small input, about 32 MiB of file each on a large one;
    ``None`` (Ray's default) for remote URIs, whose sizes are not known here."""
    if any("://" in p for p in paths):
        return None
    size = 0
    for path in map(Path, paths):
        files = [f for f in path.rglob("*") if f.is_file()] if path.is_dir() else [path]
        size += sum(f.stat().st_size for f in files)
    return max(2 * num_actors, -(-size // (32 << 20)))


def _format_of(paths: list[str]) -> str:
    kinds = set()
    for path in paths:
        p = Path(path)
        suffixes = (
            {f.suffix.lower() for f in p.iterdir() if f.is_file()} if p.is_dir() else {p.suffix.lower()}
        )
        kinds |= {_FORMATS[s] for s in suffixes if s in _FORMATS}
        if not p.is_dir() and p.suffix.lower() not in _FORMATS and "://" not in path:
            raise InputError(f"cannot read {path}: use .parquet, .jsonl or .txt input.")
    if len(kinds) != 1:
        raise InputError(
            f"cannot tell the input format of {', '.join(paths)}: use .parquet, .jsonl or .txt files."
        )
    return kinds.pop()


def _write(dataset: Any, output: str | os.PathLike) -> dict[str, Any]:
    """Write parquet shards (a local folder appears whole: built beside it, then renamed into place).

    Returns ``rows``, ``dimension`` and ``files``.
    """
    import pyarrow.parquet as pq

    target = str(output)
    if "://" in target:
        dataset.write_parquet(target)
        return {"rows": dataset.count(), "dimension": 0, "files": [target]}
    with atomic_directory(target) as tmp:
        dataset.write_parquet(str(tmp))
        shards = sorted(p for p in tmp.iterdir() if p.suffix == ".parquet")
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in shards)
        dimension = 0
        if shards:
            dimension = pq.ParquetFile(shards[0]).schema_arrow.field("embedding").type.list_size
    return {"rows": rows, "dimension": dimension, "files": [str(Path(target) / p.name) for p in shards]}


def _start_ray(address: str | None) -> Any:
    """The ``ray`` module, joined to the cluster at ``address`` (or a local one when none is running)."""
    ray = _import_ray()
    if address is not None or not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    return ray


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise missing_extra("ray[data]", "ray") from None
    return ray
