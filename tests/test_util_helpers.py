"""sentence-transformers' smaller ``util`` helpers: distributed gathers (one process, and a one-process
group), the file helpers on local folders, the hub and URLs, and the misc and sparse-tensor helpers; each
compared with sentence-transformers' own function on the same input."""

from __future__ import annotations

import functools
import http.server
import logging
import threading
import warnings

import numpy as np
import pytest
import torch

import sbert.util as ours

SPARSE = torch.tensor([[0.0, 1.5, 0.0, 2.0], [0.0, 0.0, 0.0, 3.0], [0.5, 0.0, 0.0, 0.0]])


def theirs():
    import sentence_transformers.util as reference

    return reference


def test_outside_a_process_group_as_sentence_transformers():
    reference = theirs()
    tensor = torch.arange(6.0).reshape(3, 2)
    assert (
        (ours.get_rank(), ours.get_world_size())
        == (reference.get_rank(), reference.get_world_size())
        == (0, 1)
    )
    assert ours.is_dist_initialized() is reference.is_dist_initialized() is False
    assert ours.all_gather(tensor) is tensor and ours.all_gather_with_grad(tensor) is tensor


def test_gathers_in_a_process_group_as_sentence_transformers(tmp_path):
    import torch.distributed as dist

    reference = theirs()
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        assert ours.is_dist_initialized() and ours.get_world_size() == 1 and ours.get_rank() == 0
        leaf = torch.arange(6.0, requires_grad=True)
        tensor = leaf.reshape(3, 2) * 2
        for with_grad in (False, True):
            got = ours.all_gather(tensor, with_grad)
            with warnings.catch_warnings():  # torch deprecates the gather sentence-transformers calls
                warnings.simplefilter("ignore", FutureWarning)
                expected = reference.all_gather(tensor, with_grad)
            torch.testing.assert_close(got, expected)
            got.sum().backward(retain_graph=True)
        assert leaf.grad is not None and torch.equal(leaf.grad, torch.full((6,), 4.0))
        mask = torch.ones(3, 2, dtype=torch.bool)
        got = ours.all_gather_padded(tensor.unsqueeze(-1), mask)
        expected = reference.all_gather_padded(tensor.unsqueeze(-1), mask)
        for mine, ref in zip(got, expected):
            torch.testing.assert_close(mine, ref)
    finally:
        dist.destroy_process_group()


def test_file_helpers_on_local_folders_as_sentence_transformers(tmp_path):
    reference = theirs()
    (tmp_path / "model" / "1_Pooling").mkdir(parents=True)
    (tmp_path / "model" / "1_Pooling" / "config.json").write_text("{}")
    model = str(tmp_path / "model")
    for args in [(model, "config.json", "1_Pooling"), (model, "missing.json"), (model, "config.json")]:
        assert ours.load_file_path(*args) == reference.load_file_path(*args)
    for args in [(model, "1_Pooling"), (model, "2_Dense")]:
        assert ours.load_dir_path(*args) == reference.load_dir_path(*args)
    for bad in ["../secrets.txt", "/etc/passwd"]:
        with pytest.raises(ValueError):
            reference.load_file_path(model, bad)
        with pytest.raises(ValueError, match="inside the model folder"):
            ours.load_file_path(model, bad)


def test_hub_names_return_none_only_when_the_hub_says_not_there(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import EntryNotFoundError

    def not_there(*args, **kwargs):
        raise EntryNotFoundError("no such file")

    def offline(*args, **kwargs):
        raise ConnectionError("network down")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", not_there)
    assert ours.load_file_path("someone/model", "config.json") is None
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(ConnectionError):
        ours.load_file_path("someone/model", "config.json")
    calls = []
    monkeypatch.setattr(
        huggingface_hub, "hf_hub_download", lambda *a, **k: calls.append((a, k)) or "/cache/x"
    )
    assert ours.load_file_path("someone/model", "config.json", subfolder="1_Pooling") == "/cache/x"
    assert calls[0][0] == ("someone/model",) and calls[0][1]["subfolder"] == "1_Pooling"


@pytest.fixture
def web(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "data.bin").write_bytes(bytes(range(256)) * 300)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path / "site"
    server.shutdown()
    server.server_close()


def test_http_get_writes_the_whole_file_or_nothing(web, tmp_path):
    import httpx

    url, site = web
    target = tmp_path / "out" / "deep" / "data.bin"
    ours.http_get(f"{url}/data.bin", str(target))
    assert target.read_bytes() == (site / "data.bin").read_bytes()
    with pytest.raises(httpx.HTTPStatusError):
        ours.http_get(f"{url}/missing.bin", str(tmp_path / "out" / "missing.bin"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["deep"]


def test_misc_helpers_as_sentence_transformers(tmp_path, caplog):
    reference = theirs()
    with ours.disable_logging(logging.WARNING):
        logging.getLogger("sbert.test").warning("hidden")
    logging.getLogger("sbert.test").error("shown")
    assert [r.getMessage() for r in caplog.records] == ["shown"]
    scale = functools.partial(reference.cos_sim)
    for function in [ours.cos_sim, reference.dot_score, scale, functools.partial(np.clip, a_min=0)]:
        assert ours.similarity_fct_name(function) == reference.similarity_fct_name(function)
    for name in ("mine.csv", "theirs.csv"):
        (tmp_path / name).write_text("epoch,steps,score\n0,10,0.5\n1,20,0.75\n")
    assert ours.append_to_last_row(str(tmp_path / "mine.csv"), [0.9, "x"])
    assert reference.append_to_last_row(str(tmp_path / "theirs.csv"), [0.9, "x"])
    assert (tmp_path / "mine.csv").read_bytes() == (tmp_path / "theirs.csv").read_bytes()
    (tmp_path / "header.csv").write_text("epoch,steps\n")
    assert ours.append_to_last_row(str(tmp_path / "header.csv"), [1]) is False
    for package, owner in [("datasets", "huggingface"), ("numpy", "numpy"), ("no-such-package", "x")]:
        assert ours.check_package_availability(package, owner) == reference.check_package_availability(
            package, owner
        )


def test_sparse_helpers_as_sentence_transformers():
    reference = theirs()
    sparse = SPARSE.to_sparse()
    assert (ours.to_scipy_coo(sparse) != reference.to_scipy_coo(sparse)).nnz == 0
    np.testing.assert_array_equal(ours.to_scipy_coo(sparse).toarray(), SPARSE.numpy())
    for embeddings in [sparse, SPARSE, SPARSE[0], torch.zeros(2, 4)]:
        got, expected = ours.compute_count_vector(embeddings), reference.compute_count_vector(embeddings)
        assert got.dtype == expected.dtype and torch.equal(got, expected)
    with pytest.raises(ValueError, match="Expected 1D or 2D tensor, got 3D"):
        ours.compute_count_vector(torch.zeros(2, 2, 2))
