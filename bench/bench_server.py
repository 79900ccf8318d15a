"""Load test of `sbert serve`: 32 concurrent clients for 60 s, against offline `encode` and infinity-emb.

    python bench/bench_server.py [--seconds 60] [--clients 32] [--backend torch] [--infinity PYTHON]
        [--out r.json]

Each client sends, back to back, requests of 1-16 random STS Benchmark sentences (uniform) to the OpenAI
route (`/v1/embeddings`, base64) and records every latency. Throughput is sentences embedded per second
over the measured window (after a warm-up); p50/p99 are per-request latencies. Errors (non-200 answers,
connection failures) are counted and must be zero.

Every system runs in its own process on the same machine, model folder (the embedded all-MiniLM-L6-v2),
thread defaults and request sequence (seeded); the servers stay up and take turns in --rounds rounds (60 s in
all for each), alternating their order, so a shared machine's changing load falls on all of them alike:
  offline    `SentenceTransformer.encode` on 20,000 sentences drawn the same way, in one call
  sbert      `sbert serve` (--precision on --backend; default fp32 on torch, the engine infinity uses)
  infinity   `infinity_emb v2 --engine torch --device cpu --dtype D` from the Python given by --infinity
             (a venv with `pip install "infinity-emb[server,torch]"`), D from --infinity-dtype (default
             auto: its own default, float32 on a CPU; bfloat16 matches sbert's bf16); skipped when not given

The load generator runs in this process (asyncio + httpx), so it shares the CPU with the server under
test, the same for every server. On a machine that other people use, label the numbers so.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("SBERT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
MODEL_NAME = "minilm"


def sentences() -> list[str]:
    """The unique sentences of STS Benchmark train/dev/test."""
    texts: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        with open(DATA / "stsb" / f"{split}.tsv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                texts[row["sentence1"]] = texts[row["sentence2"]] = None
    return list(texts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------- offline


def offline(model_path: str, backend: str, precision: str, texts: list[str]) -> dict:
    """encode() throughput in a fresh process (its own threads and memory)."""
    code = f"""
import json, sys, time
from sbert import SentenceTransformer
texts = json.load(sys.stdin)
model = SentenceTransformer({model_path!r}, backend={backend!r}, precision={precision!r}, device="cpu")
model.encode(texts[:256])
started = time.perf_counter()
model.encode(texts)
print(json.dumps({{"seconds": time.perf_counter() - started}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True, check=True
    )
    seconds = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
    return {"sentences": len(texts), "seconds": seconds, "throughput": len(texts) / seconds}


# ---------------------------------------------------------------------------------------------- servers


def start(command: list[str], health_url: str, log_path: Path, timeout: float = 300) -> subprocess.Popen:
    import httpx

    log = open(log_path, "wb")
    # Offline and quiet: no telemetry, no hub look-ups (the model is a local folder).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(health_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"{' '.join(command)} did not become healthy in {timeout} s; see {log_path}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def load(
    url: str,
    model: str,
    texts: list[str],
    *,
    clients: int,
    seconds: float,
    warmup: float,
    max_per_request: int,
    seed: int,
) -> dict:
    """``clients`` loops sending requests back to back; the requests answered inside the window count."""
    import httpx

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    sentences = [0]
    errors: list[str] = []
    start = time.perf_counter()
    window = (start + warmup, start + warmup + seconds)

    async def client(index: int, http: httpx.AsyncClient) -> None:
        rng = np.random.default_rng(seed + index)
        while True:
            began = time.perf_counter()
            if began >= window[1]:
                return
            batch = [
                texts[i] for i in rng.integers(0, len(texts), size=int(rng.integers(1, max_per_request + 1)))
            ]
            body = {"input": batch, "model": model, "encoding_format": "base64"}
            try:
                response = await http.post(url, json=body)
                ok = response.status_code == 200 and len(response.json()["data"]) == len(batch)
                if not ok:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
            except Exception as e:
                ok = False
                errors.append(repr(e)[:200])
            ended = time.perf_counter()
            if ok and window[0] <= ended <= window[1]:  # answered inside the measured window
                latencies.append(ended - began)
                sentences[0] += len(batch)

    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(i, http) for i in range(clients)))
    measured = window[1] - window[0]
    return {"latencies": latencies, "sentences": sentences[0], "seconds": measured, "errors": errors}


def summary(system: str, parts: list[dict]) -> dict:
    """One system's rounds together: sentences/s over the measured time, latency percentiles, errors."""
    latencies = np.array([x for p in parts for x in p["latencies"]]) if parts else np.array([])
    lat = latencies if latencies.size else np.array([np.nan])
    sentences_done = sum(p["sentences"] for p in parts)
    seconds = sum(p["seconds"] for p in parts)
    errors = [e for p in parts for e in p["errors"]]
    return {
        "system": system,
        "requests": int(latencies.size),
        "sentences": sentences_done,
        "seconds": seconds,
        "throughput": sentences_done / seconds,
        "p50_ms": float(np.percentile(lat, 50) * 1000),
        "p99_ms": float(np.percentile(lat, 99) * 1000),
        "errors": len(errors),
        "first_errors": errors[:5],
        "rounds": [round(p["sentences"] / p["seconds"], 1) for p in parts],
    }


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=4, help="alternate the systems in this many rounds")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--max-per-request", type=int, default=16)
    parser.add_argument(
        "--model",
        default=None,
        help="model folder for offline and sbert (default: the embedded "
        "all-MiniLM-L6-v2; infinity always gets that one, as it cannot load an ONNX-only export)",
    )
    parser.add_argument("--backend", default="torch", choices=("torch", "onnx", "auto"))
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=("fp32", "bf16", "fp16", "int8"),
        help="for offline encode and sbert serve alike (int8 is the fast mode on AMX, VNNI and AVX2 CPUs)",
    )
    parser.add_argument("--sbert-args", default="", help="extra `sbert serve` arguments")
    parser.add_argument(
        "--infinity", metavar="PYTHON", help="the Python of a venv with infinity-emb installed"
    )
    parser.add_argument(
        "--infinity-dtype",
        default="auto",
        choices=("auto", "float32", "bfloat16", "float16", "int8"),
        help="infinity-emb's --dtype (auto, its default, is float32 on a CPU)",
    )
    parser.add_argument("--systems", default="offline,sbert,infinity")
    parser.add_argument("--offline-sentences", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default="", help="a note stored with the results (e.g. 'shared CPU')")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from sbert._format.hub import embedded_default_model_path

    original = str(embedded_default_model_path())
    model_path = args.model or original
    texts = sentences()
    systems = args.systems.split(",")
    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "sbert-bench-server"
    log_dir.mkdir(parents=True, exist_ok=True)
    results = []

    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    try:
        if "sbert" in systems:
            port = free_port()
            command = [
                sys.executable,
                "-m",
                "sbert",
                "serve",
                "--model",
                f"{MODEL_NAME}={model_path}",
                "--port",
                str(port),
                "--backend",
                args.backend,
                "--precision",
                args.precision,
                "--log-level",
                "warning",
                *args.sbert_args.split(),
            ]
            base = f"http://127.0.0.1:{port}"
            servers["sbert serve"] = (
                start(command, f"{base}/health", log_dir / "sbert.log"),
                f"{base}/v1/embeddings",
            )
        if "infinity" in systems and args.infinity:
            port = free_port()
            command = [
                args.infinity,
                "-m",
                "infinity_emb.cli",
                "v2",
                "--model-id",
                original,
                "--served-model-name",
                MODEL_NAME,
                "--engine",
                "torch",
                "--device",
                "cpu",
                "--dtype",
                args.infinity_dtype,
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--no-model-warmup",
                "--log-level",
                "warning",
            ]
            base = f"http://127.0.0.1:{port}"
            servers["infinity-emb"] = (
                start(command, f"{base}/health", log_dir / "infinity.log"),
                f"{base}/embeddings",
            )
        # Rounds alternate the systems (and their order), so load from other people on a shared machine
        # falls on all of them alike instead of on whichever ran last.
        parts: dict[str, list[dict]] = {
            name: [] for name in (["offline encode"] if "offline" in systems else [])
        }
        parts.update({name: [] for name in servers})
        rng = np.random.default_rng(args.seed)
        per_round = args.offline_sentences // args.rounds
        for r in range(args.rounds):
            names = list(servers) if r % 2 == 0 else list(reversed(servers))
            if "offline encode" in parts:
                sample = [texts[i] for i in rng.integers(0, len(texts), size=per_round)]
                parts["offline encode"].append(offline(model_path, args.backend, args.precision, sample))
            for name in names:
                _, url = servers[name]
                parts[name].append(
                    asyncio.run(
                        load(
                            url,
                            MODEL_NAME,
                            texts,
                            clients=args.clients,
                            seconds=args.seconds / args.rounds,
                            warmup=args.warmup if r == 0 else 2,
                            max_per_request=args.max_per_request,
                            seed=args.seed + 1000 * r,
                        )
                    )
                )
            print(
                f"round {r + 1}/{args.rounds}: "
                + ", ".join(
                    f"{name} {p[-1]['sentences'] / p[-1]['seconds']:.0f}/s" for name, p in parts.items()
                ),
                flush=True,
            )
    finally:
        for process, _ in servers.values():
            stop(process)
    for name, runs in parts.items():
        if name == "offline encode":
            total, seconds = sum(x["sentences"] for x in runs), sum(x["seconds"] for x in runs)
            results.append(
                {
                    "system": name,
                    "sentences": total,
                    "seconds": seconds,
                    "throughput": total / seconds,
                    "rounds": [round(x["throughput"], 1) for x in runs],
                }
            )
        else:
            results.append(summary(name, runs))
        print(json.dumps(results[-1]), flush=True)

    report(results, args)


def report(results: list[dict], args: argparse.Namespace) -> None:
    by_name = {r["system"]: r for r in results}
    offline_rate = by_name.get("offline encode", {}).get("throughput")
    infinity = by_name.get("infinity-emb")
    print(
        f"\nsbert: {args.backend} {args.precision} {args.model or 'all-MiniLM-L6-v2'}; "
        f"{args.clients} clients, 1-{args.max_per_request} STSb sentences per request, {args.seconds:.0f} s "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs)"
        f"{' - ' + args.label if args.label else ''}"
        f"; infinity-emb --dtype {args.infinity_dtype}"
    )
    print(
        f"{'system':<16}{'sentences/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'vs offline':>12}{'vs infinity':>13}"
    )
    for r in results:
        vs_offline = (
            f"{r['throughput'] / offline_rate:.2f}x"
            if offline_rate and r is not by_name.get("offline encode")
            else ""
        )
        vs_inf = (
            f"{r['throughput'] / infinity['throughput']:.2f}x"
            if infinity and r is not infinity and "p99_ms" in r
            else ""
        )
        p50 = f"{r['p50_ms']:.0f}" if "p50_ms" in r else ""
        p99 = f"{r['p99_ms']:.0f}" if "p99_ms" in r else ""
        errors = str(r.get("errors", ""))
        print(
            f"{r['system']:<16}{r['throughput']:>12.1f}{p50:>9}{p99:>9}{errors:>8}{vs_offline:>12}{vs_inf:>13}"
        )
    if infinity and "sbert serve" in by_name:
        sbert = by_name["sbert serve"]
        print(f"p99 sbert/infinity: {sbert['p99_ms'] / infinity['p99_ms']:.2f}")
    if args.out:
        args.out.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=2)
        )


if __name__ == "__main__":
    main()
