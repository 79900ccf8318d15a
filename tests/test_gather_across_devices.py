"""``gather_across_devices=True`` across two processes (torch.distributed over gloo, as under torchrun): each
process ranks its own anchors against every process's candidates, as sentence-transformers 6.3 does. Both
processes run every gathering loss once, with sbert and with sentence-transformers on the same per-process
rows; the loss and the encoder's gradients on each process agree within 1e-5. sbert's trainer also shares a
batch unevenly (sentence-transformers gathers equal shares only): there the cached losses' gradients, summed
over the processes, are those of one process on the whole batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build_tiny_bert, build_tiny_masked_lm, classic_pooling, without_dropout, write_st_folder

TOL = 1e-5

# Each process takes its half of 8 rows; the cached losses cut its 4 rows into slices of 3 and 1.
WORKER = r"""
import json, sys, warnings
import torch
import torch.distributed as dist

rank, world, store, folders, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
warnings.simplefilter("ignore")  # deprecated symmetric losses, sparse tensor notices
import sentence_transformers as st
from sentence_transformers.multi_vector_encoder import losses as st_multi_vector
from sentence_transformers.sentence_transformer import losses as st_dense
from sentence_transformers.sparse_encoder import losses as st_sparse
import sbert
from sbert.multi_vector_encoder import losses as sb_multi_vector
from sbert.sparse_encoder import losses as sb_sparse

folders = json.loads(folders)
words = "the cat sat on mat a dog ran in house he drove to stadium weather is lovely today sunny".split()
gen = torch.Generator().manual_seed(0)
def texts(n):
    return [" ".join(words[i] for i in torch.randint(len(words), (int(k),), generator=gen))
            for k in torch.randint(1, 10, (n,), generator=gen)]
rows = slice(4 * rank, 4 * rank + 4)
batch = [texts(8) for _ in range(3)]  # anchors, positives, negatives
columns = [c[rows] for c in batch]  # this process's rows

models = {
    "st": {
        "dense": st.SentenceTransformer(folders["dense"], device="cpu"),
        "guide": st.SentenceTransformer(folders["guide"], device="cpu"),
        "sparse": st.SparseEncoder(folders["sparse"], device="cpu"),
        "multi": st.MultiVectorEncoder(folders["multi"], device="cpu"),
    },
    "sbert": {
        "dense": sbert.SentenceTransformer(folders["dense"], device="cpu", backend="torch"),
        "guide": sbert.SentenceTransformer(folders["guide"], device="cpu", backend="torch"),
        "sparse": sbert.SparseEncoder(folders["sparse"], device="cpu"),
        "multi": sbert.MultiVectorEncoder(folders["multi"], device="cpu"),
    },
}
for group in models.values():
    for kind, model in group.items():
        # no dropout: both libraries compute the same function (the SPLADE folder has none; in eval mode
        # sentence-transformers' SpladePooling works in place on what its backward needs)
        model.train(kind == "sparse")
libraries = {
    "st": {"dense": st_dense, "sparse": st_sparse, "multi": st_multi_vector},
    "sbert": {"dense": sbert, "sparse": sb_sparse, "multi": sb_multi_vector},
}
symmetric = {"directions": ("query_to_doc", "doc_to_query"), "partition_mode": "per_direction"}
every_direction = {
    "directions": ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc"),
    "hardness_mode": "all_negatives",
    "hardness_strength": 0.5,
}
splade = {"document_regularizer_weight": 3e-2, "query_regularizer_weight": 5e-2}
cached = {"mini_batch_size": 3}
GIST = {"temperature": 0.05}
CASES = {  # name: (model, loss class, options)
    "MultipleNegativesRankingLoss": ("dense", "MultipleNegativesRankingLoss", {}),
    "MultipleNegativesRankingLoss-both-directions": ("dense", "MultipleNegativesRankingLoss", symmetric),
    "MultipleNegativesSymmetricRankingLoss": ("dense", "MultipleNegativesSymmetricRankingLoss", {}),
    "MultipleNegativesRankingLoss-all-directions-hardness": (
        "dense", "MultipleNegativesRankingLoss", every_direction),
    "CachedMultipleNegativesRankingLoss-all-directions-hardness": (
        "dense", "CachedMultipleNegativesRankingLoss", {**every_direction, **cached}),
    "CachedMultipleNegativesRankingLoss": ("dense", "CachedMultipleNegativesRankingLoss", cached),
    "CachedMultipleNegativesSymmetricRankingLoss": (
        "dense", "CachedMultipleNegativesSymmetricRankingLoss", cached),
    "GISTEmbedLoss": ("dense", "GISTEmbedLoss", GIST),
    "CachedGISTEmbedLoss": ("dense", "CachedGISTEmbedLoss", {**GIST, **cached}),
    "SpladeLoss(SparseMultipleNegativesRankingLoss)": ("sparse", "SpladeLoss", splade),
    "CachedSpladeLoss(SparseMultipleNegativesRankingLoss)": (
        "sparse", "CachedSpladeLoss", {**splade, **cached}),
    "MultiVectorMultipleNegativesRankingLoss": ("multi", "MultiVectorMultipleNegativesRankingLoss", {}),
    "CachedMultiVectorMultipleNegativesRankingLoss": (
        "multi", "CachedMultiVectorMultipleNegativesRankingLoss", cached),
}

def features(kind, model, columns=columns):
    if kind == "multi":
        return [model.preprocess(c, task="query" if i == 0 else "document") for i, c in enumerate(columns)]
    return [model.tokenize(c) if kind == "dense" else model.preprocess(c) for c in columns]

def build(library, name, gather):
    kind, loss_class, options = CASES[name]
    module, model = libraries[library][kind], models[library][kind]
    make = getattr(module, loss_class)
    if kind == "sparse":  # SPLADE's losses wrap the gathering one
        inner = module.SparseMultipleNegativesRankingLoss(model, gather_across_devices=gather)
        return make(model, inner, **options)
    guide = [models[library]["guide"]] if "GIST" in name else []
    return make(model, *guide, gather_across_devices=gather, **options)

def gradients(params):
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params])

def run(library, name, gather):
    kind = CASES[name][0]
    model = models[library][kind]
    loss = build(library, name, gather)
    params = [p for _, p in sorted(model.named_parameters())]
    for p in params:
        p.grad = None
    out = loss(features(kind, model), None)
    value = sum(out.values()) if isinstance(out, dict) else out
    value.backward()
    return value.item(), gradients(params)

results = {}
for name in CASES:
    ours, our_grads = run("sbert", name, True)
    theirs, their_grads = run("st", name, True)
    own, _ = run("sbert", name, False)  # ranking within this process's rows only
    results[name] = {
        "ours": ours, "theirs": theirs, "own": own,
        "grad_diff": (our_grads - their_grads).abs().max().item(),
        "grad_scale": their_grads.abs().max().item(),
    }
# sbert's trainer shares a batch unevenly when it must (5 and 3 rows here), weighting each process's loss by
# its share: the cached losses (slices of 3: two here, one there) then sum to the one-process gradient
uneven = slice(0, 5) if rank == 0 else slice(5, 8)
for name in ("CachedMultipleNegativesRankingLoss", "CachedMultipleNegativesSymmetricRankingLoss",
             "CachedMultiVectorMultipleNegativesRankingLoss"):
    kind = CASES[name][0]
    model = models["sbert"][kind]
    params = [p for _, p in sorted(model.named_parameters())]
    for p in params:
        p.grad = None
    value = build("sbert", name, True)(features(kind, model, [c[uneven] for c in batch]), None)
    (value * (uneven.stop - uneven.start) / 8).backward()
    grads = gradients(params)
    dist.all_reduce(grads)
    for p in params:
        p.grad = None
    whole = build("sbert", name, False)(features(kind, model, batch), None)
    whole.backward()
    expected = gradients(params)
    results[f"{name}-uneven"] = {"grad_diff": (grads - expected).abs().max().item(),
                                 "grad_scale": expected.abs().max().item()}
json.dump(results, open(f"{out}.{rank}.json", "w"))
dist.barrier()
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, str]:
    """A tiny BERT as a mean-pooling model and a max-pooling guide, a tiny masked LM (SPLADE) and a
    MultiVectorEncoder saved by sentence-transformers."""
    import torch
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("gather")
    bert = build_tiny_bert(root / "bert")
    multi = root / "multi"
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(multi))
    return {
        "dense": str(write_st_folder(bert, root / "dense", classic_pooling(32, "mean"))),
        "guide": str(write_st_folder(bert, root / "guide", classic_pooling(32, "max"))),
        "sparse": str(without_dropout(build_tiny_masked_lm(root / "mlm"))),
        "multi": str(multi),
    }


def run_two_processes(script: Path, folders: dict, out: Path) -> list[dict]:
    """``script`` on ranks 0 and 1 of a gloo group met through a file store; each rank's JSON results."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    store = out.parent / "store"
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(rank), "2", str(store), json.dumps(folders), str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    try:
        logs = [w.communicate(timeout=300)[0] for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    for w, log in zip(workers, logs):
        assert w.returncode == 0, log[-4000:]
    return [json.loads(Path(f"{out}.{rank}.json").read_text()) for rank in range(2)]


@pytest.mark.slow
def test_gathering_losses_on_two_processes_equal_sentence_transformers(folders, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    ranks = run_two_processes(script, folders, tmp_path / "results")
    for rank, results in enumerate(ranks):
        for name, r in results.items():
            if name.endswith("-uneven"):
                print(f"rank {rank} {name}: grad diff {r['grad_diff']:.1e} (max {r['grad_scale']:.1e})")
                assert r["grad_diff"] <= TOL + 1e-4 * r["grad_scale"] and r["grad_scale"] > 1e-4, name
                continue
            print(
                f"rank {rank} {name}: sbert {r['ours']:.7f} st {r['theirs']:.7f} own rows {r['own']:.7f} "
                f"grad diff {r['grad_diff']:.1e} (max {r['grad_scale']:.1e})"
            )
            assert r["ours"] == pytest.approx(r["theirs"], abs=TOL), (rank, name)
            assert r["grad_diff"] <= TOL + 1e-4 * r["grad_scale"], (rank, name)
            assert r["grad_scale"] > 1e-4, (rank, name)
            # every process's candidates were ranked: not the loss of this process's rows alone
            assert abs(r["ours"] - r["own"]) > 1e-4, (rank, name)
