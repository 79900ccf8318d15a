"""Turn a BEIR folder into the files recipes/fine-tune-retrieval.yaml trains and evaluates on.

    python recipes/make_pairs.py ../shared/data/scifact --out recipes/data/scifact

Reads ``corpus.tsv`` (id, title, text), ``queries-<split>.tsv`` (id, text) and ``qrels-<split>.tsv`` (query
id, corpus id, score) and writes into ``--out``:

    train-pairs.tsv   (query, positive) rows: each training query with each document judged relevant to it
                      (score > 0), the document as "title text"
    corpus.txt        every document as "title text", one per line: where hard negatives are mined from
    heldout/          a BEIR folder (corpus.tsv, queries-dev.tsv, qrels-dev.tsv) of the held-out queries:
                      every ``--hold-out``-th query in id order (5: a fifth), evaluated on, never trained on

Standard library only; the files are unquoted TSV, as in ../shared/data.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path


def read_tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line]


def write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    clean = ["\t".join(" ".join(str(v).split()) for v in row) for row in rows]  # no tabs or newlines inside
    path.write_text("\n".join(["\t".join(header), *clean]) + "\n", encoding="utf-8")


def relevant(qrels: list[dict[str, str]]) -> dict[str, list[str]]:
    """query id -> ids of the documents judged relevant (score > 0), in file order."""
    found: dict[str, list[str]] = {}
    for row in qrels:
        query, doc = row.get("query_id", row.get("query-id")), row.get("corpus_id", row.get("corpus-id"))
        if float(row.get("score", 1)) > 0:
            found.setdefault(str(query), []).append(str(doc))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "folder", type=Path, help="a BEIR folder (corpus.tsv, queries-SPLIT.tsv, qrels-SPLIT.tsv)"
    )
    parser.add_argument("--out", type=Path, required=True, help="the folder to write")
    parser.add_argument("--split", default="train", help="the split to make pairs of (default train)")
    parser.add_argument("--hold-out", type=int, default=5, help="hold out every N-th query (0: none; 5)")
    args = parser.parse_args()

    documents = {
        row["id"]: f"{row.get('title', '')} {row['text']}".strip()
        for row in read_tsv(args.folder / "corpus.tsv")
    }
    queries = read_tsv(args.folder / f"queries-{args.split}.tsv")
    judged = relevant(read_tsv(args.folder / f"qrels-{args.split}.tsv"))
    queries = sorted((q for q in queries if judged.get(q["id"])), key=lambda q: (len(q["id"]), q["id"]))
    held = [q for i, q in enumerate(queries) if args.hold_out and i % args.hold_out == 0]
    train = [q for q in queries if q not in held]

    args.out.mkdir(parents=True, exist_ok=True)
    pairs = [[q["text"], documents[d]] for q in train for d in judged[q["id"]] if d in documents]
    write_tsv(args.out / "train-pairs.tsv", ["query", "positive"], pairs)
    (args.out / "corpus.txt").write_text("".join(" ".join(t.split()) + "\n" for t in documents.values()))
    heldout = args.out / "heldout"
    heldout.mkdir(exist_ok=True)
    shutil.copyfile(args.folder / "corpus.tsv", heldout / "corpus.tsv")
    write_tsv(heldout / "queries-dev.tsv", ["id", "text"], [[q["id"], q["text"]] for q in held])
    qrels = [[q["id"], d, "1"] for q in held for d in judged[q["id"]]]
    write_tsv(heldout / "qrels-dev.tsv", ["query_id", "corpus_id", "score"], qrels)
    print(f"{len(pairs)} pairs from {len(train)} queries; {len(held)} held out; {len(documents)} documents")


if __name__ == "__main__":
    main()
