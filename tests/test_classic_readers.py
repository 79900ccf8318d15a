"""sentence-transformers' classic dataset readers (``sentence_transformers.readers``): the same examples
(guid, texts, label) as its readers give for the same files, plain and gzipped, with ``max_examples``; and a
row without the columns asked for names its file and line."""

from __future__ import annotations

import gc
import gzip
import warnings

import pytest

from sbert import InputError

STS_ROWS = [
    [
        "main-captions",
        "MSRvid",
        "2012test",
        "0001",
        "5.000",
        "A plane is taking off.",
        "An air plane takes off.",
    ],
    [
        "main-captions",
        "MSRvid",
        "2012test",
        "0004",
        "3.800",
        "A man plays a flute.",
        "A man plays a bamboo flute.",
    ],
    ["main-news", "headlines", "2013", "0009", "0.500", "Cats purr.", "Stocks fell sharply on Monday."],
]


def as_tuples(examples) -> list[tuple]:
    return [(e.guid, list(e.texts), e.label) for e in examples]


def reference(reader, *call, **options):
    """A sentence-transformers reader's examples; its readers leave files open, so they are collected here
    with the ResourceWarning ignored (sbert's close theirs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        examples = reader.get_examples(*call, **options)
        gc.collect()
    return examples


def reference_readers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import sentence_transformers.readers as readers
    return readers


@pytest.fixture
def files(tmp_path):
    lines = ["\t".join(row) for row in STS_ROWS]
    (tmp_path / "sts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with gzip.open(tmp_path / "sts.csv.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    (tmp_path / "pairs.tsv").write_text("a cat\tthe cat\t4.5\nrain\tsun\t0.25\n", encoding="utf-8")
    for part, rows in {
        "s1": ["A dog runs.", "Kids play.", "He sleeps."],
        "s2": ["An animal moves.", "Nobody plays.", "He is awake."],
        "labels": ["entailment", "Contradiction", "neutral "],
    }.items():
        with gzip.open(tmp_path / f"{part}.train.gz", "wt", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
    (tmp_path / "labels.tsv").write_text(
        "sport\tHe scored.\nart\tShe paints.\nsport\tThey ran.\n", encoding="utf-8"
    )
    (tmp_path / "en.txt").write_text("Hello\nGood night\nThird\n", encoding="utf-8")
    with gzip.open(tmp_path / "de.txt.gz", "wt", encoding="utf-8") as f:
        f.write("Hallo\nGute Nacht\n")
    (tmp_path / "triplets.tsv").write_text("q\tp\tn\na1\tp1\tn1\na2\tp2\tn2\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("max_examples", [0, 2])
def test_readers_give_sentence_transformers_examples(files, max_examples):
    import sbert.readers as ours

    theirs = reference_readers()
    folder = str(files)
    cases = [
        ("STSBenchmarkDataReader", (folder,), {}, ("sts.csv",)),
        ("STSBenchmarkDataReader", (folder,), {"normalize_scores": False}, ("sts.csv.gz",)),
        ("STSDataReader", (folder,), {"max_score": 4.5, "min_score": 0.25}, ("pairs.tsv",)),
        ("NLIDataReader", (folder,), {}, ("train.gz",)),
        ("LabelSentenceReader", (folder,), {}, ("labels.tsv",)),
        ("PairedFilesReader", ([f"{folder}/en.txt", f"{folder}/de.txt.gz"],), {}, ()),
        ("TripletReader", (folder,), {"has_header": True}, ("triplets.tsv",)),
    ]
    for name, args, options, call in cases:
        got = getattr(ours, name)(*args, **options).get_examples(*call, max_examples=max_examples)
        reader = getattr(theirs, name)(*args, **options)
        expected = reference(reader, *call, max_examples=max_examples)
        assert as_tuples(got) == as_tuples(expected), name
        assert got and all(type(e).__name__ == "InputExample" for e in got)


def test_label_numbering_is_kept_across_files_and_nli_helpers_match(files):
    import sbert.readers as ours

    theirs = reference_readers()
    mine, theirs_reader = ours.LabelSentenceReader(str(files)), theirs.LabelSentenceReader(str(files))
    for _ in range(2):
        mine.get_examples("labels.tsv")
        reference(theirs_reader, "labels.tsv")
    assert mine.label_map == theirs_reader.label_map == {"sport": 0, "art": 1}
    assert ours.NLIDataReader.get_labels() == theirs.NLIDataReader.get_labels()
    assert ours.NLIDataReader(str(files)).get_num_labels() == 3


def test_rows_without_the_asked_columns_name_file_and_line(files):
    from sbert.sentence_transformer.readers.sts_data import STSBenchmarkDataReader

    with pytest.raises(InputError, match=r"pairs\.tsv, line 1: 3 columns.*\[5, 6, 4\]"):
        STSBenchmarkDataReader(str(files)).get_examples("pairs.tsv")
    from sbert.readers import NLIDataReader

    with pytest.raises(InputError, match="'maybe' is not one of"):
        NLIDataReader(str(files)).map_label("maybe\n")
