"""Cold start: wall time of `sbert encode "hello"` in a fresh process, model already exported to ONNX,
next to sentence-transformers doing the same (import, load, encode one text); and the import alone:
`import sbert` next to `import sentence_transformers`.

    python bench/bench_cold_start.py [--runs 5]

Prints the median and range of each over the runs (after one warm-up run that fills the OS file cache).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE = """
from sentence_transformers import SentenceTransformer
SentenceTransformer(sys.argv[1], device="cpu").encode(["hello"])
"""


def wall(cmd: list[str], runs: int) -> list[float]:
    subprocess.run(cmd, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from sbert import SentenceTransformer
    from sbert._format.hub import embedded_default_model_path

    work = Path(tempfile.mkdtemp(prefix="sbert-cold-"))
    SentenceTransformer(backend="torch").export(work / "minilm-onnx")
    sbert_cmd = [
        sys.executable,
        "-m",
        "sbert",
        "encode",
        "hello",
        "--model",
        str(work / "minilm-onnx"),
        "-o",
        str(work / "h.npy"),
    ]
    reference_cmd = [sys.executable, "-c", "import sys" + REFERENCE, str(embedded_default_model_path())]
    rows = {
        "sbert encode (ONNX export)": wall(sbert_cmd, args.runs),
        "sentence-transformers": wall(reference_cmd, args.runs),
        "import sbert": wall([sys.executable, "-c", "import sbert"], args.runs),
        "import sentence_transformers": wall(
            [sys.executable, "-c", "import sentence_transformers"], args.runs
        ),
        "python -c pass (interpreter)": wall([sys.executable, "-c", "pass"], args.runs),
    }
    for name, times in rows.items():
        print(
            f"{name:<28} median {statistics.median(times):.2f} s  "
            f"(min {min(times):.2f}, max {max(times):.2f}, {args.runs} runs)"
        )
    ratio = statistics.median(rows["sentence-transformers"]) / statistics.median(
        rows["sbert encode (ONNX export)"]
    )
    print(f"sentence-transformers / sbert: {ratio:.1f}x")
    ratio = statistics.median(rows["import sentence_transformers"]) / statistics.median(rows["import sbert"])
    print(f"import sentence_transformers / import sbert: {ratio:.1f}x")


if __name__ == "__main__":
    main()
