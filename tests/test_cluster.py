"""Clustering through scikit-learn and `sbert cluster`."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from conftest import classic_pooling

from sbert import InputError
from sbert._cli import main
from sbert._errors import BackendUnavailableError
from sbert._search.cluster import cluster_embeddings, relabel_by_size

metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray]:
    """Five well-separated groups of 10, 20, 30, 40, 50 noisy copies of random directions."""
    rng = np.random.default_rng(0)
    sizes = [10, 20, 30, 40, 50]
    centers = rng.standard_normal((5, 24))
    truth = np.repeat(np.arange(5), sizes)
    vectors = centers[truth] + 0.15 * rng.standard_normal((len(truth), 24))
    vectors *= rng.uniform(0.5, 3.0, size=(len(truth), 1))  # lengths must not matter
    return vectors.astype(np.float32), truth


@pytest.mark.parametrize(
    "method, options",
    [
        ("kmeans", {"n_clusters": 5}),
        ("agglomerative", {"n_clusters": 5}),
        ("agglomerative", {"distance_threshold": 0.5}),
        ("hdbscan", {"min_cluster_size": 5}),
    ],
)
def test_methods_recover_planted_clusters(planted, method, options):
    vectors, truth = planted
    labels = cluster_embeddings(vectors, method=method, **options)
    assert labels.shape == (len(vectors),) and labels.dtype == np.int64
    assert metrics.adjusted_rand_score(truth, labels) > 0.95
    # numbered by size: cluster 0 is the biggest (the 50 of group 4)
    assert np.bincount(labels[labels >= 0])[0] == max(np.bincount(labels[labels >= 0]))


def test_kmeans_is_deterministic_for_a_seed(planted):
    vectors, _ = planted
    np.testing.assert_array_equal(
        cluster_embeddings(vectors, n_clusters=3, seed=1), cluster_embeddings(vectors, n_clusters=3, seed=1)
    )


def test_hdbscan_marks_outliers(planted):
    vectors, _ = planted
    rng = np.random.default_rng(5)
    outliers = rng.standard_normal((3, 24)).astype(np.float32)
    labels = cluster_embeddings(np.vstack([vectors, outliers]), method="hdbscan", min_cluster_size=5)
    assert (labels[-3:] == -1).all()


def test_relabel_by_size():
    np.testing.assert_array_equal(relabel_by_size(np.array([7, 3, 3, -1, 7, 7, 2])), [0, 1, 1, -1, 0, 0, 2])
    np.testing.assert_array_equal(relabel_by_size(np.array([-1, -1])), [-1, -1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "spectral", "n_clusters": 2}, "Unknown clustering method"),
        ({"method": "kmeans"}, "n_clusters is required"),
        ({"method": "kmeans", "n_clusters": 0}, "positive"),
        ({"method": "kmeans", "n_clusters": 1000}, "more than"),
        ({"method": "agglomerative"}, "exactly one"),
        ({"method": "agglomerative", "n_clusters": 2, "distance_threshold": 0.3}, "exactly one"),
        ({"method": "hdbscan", "n_clusters": 3}, "finds the number"),
        ({"method": "hdbscan", "min_cluster_size": 1}, "at least 2"),
    ],
)
def test_bad_arguments(planted, kwargs, message):
    with pytest.raises(InputError, match=message):
        cluster_embeddings(planted[0], **kwargs)


def test_empty_and_tiny_inputs():
    with pytest.raises(InputError, match="Nothing to cluster"):
        cluster_embeddings(np.zeros((0, 4), np.float32), n_clusters=1)
    assert cluster_embeddings(np.ones((1, 4), np.float32), n_clusters=1).tolist() == [0]


def test_missing_scikit_learn_names_the_extra(planted, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'sbert\[cluster\]'"):
        cluster_embeddings(planted[0], n_clusters=2)


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_cluster_texts(tmp_path, tiny_st_factory, capsys):
    model = str(tiny_st_factory(classic_pooling(32, "mean")))
    texts = ["the cat sat on the mat", "the cat sat on a mat", "a red car", "a blue car", "the dog ran"]
    (tmp_path / "t.txt").write_text("\n".join(texts) + "\n")
    out = tmp_path / "clusters.jsonl"
    assert main(["cluster", str(tmp_path / "t.txt"), "-k", "2", "-o", str(out), "--model", model]) == 0
    assert "clustered 5 items into 2 clusters" in capsys.readouterr().err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == list(range(5)) and [line["text"] for line in lines] == texts
    assert {line["cluster"] for line in lines} == {0, 1}
    assert lines[0]["cluster"] == lines[1]["cluster"]  # near-identical texts share a cluster


def test_cli_cluster_npy_to_stdout(tmp_path, planted, capsys):
    np.save(tmp_path / "v.npy", planted[0])
    assert main(["cluster", str(tmp_path / "v.npy"), "--method", "hdbscan"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(planted[0]) and "text" not in lines[0]
    assert metrics.adjusted_rand_score(planted[1], [line["cluster"] for line in lines]) > 0.95


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "needs -k N"),
        (["-k", "2", "-o", "out.csv"], "JSON lines"),
        (["--method", "hdbscan", "-k", "3"], "drop -k"),
    ],
)
def test_cli_cluster_errors(tmp_path, planted, capsys, extra, message):
    np.save(tmp_path / "v.npy", planted[0])
    assert main(["cluster", str(tmp_path / "v.npy"), *extra]) == 2
    assert message in capsys.readouterr().err
