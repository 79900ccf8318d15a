"""Progress bars: shown for long calls or when asked, and tqdm stays unimported when none is shown."""

import subprocess
import sys

import pytest

from sbert._progress import PROGRESS_MIN_BATCHES, progress_bar, wants_progress


@pytest.mark.parametrize(
    ("count", "requested", "expected"),
    [
        (PROGRESS_MIN_BATCHES * 4 - 1, None, False),
        (PROGRESS_MIN_BATCHES * 4, None, None),  # long: a bar where stderr is a terminal
        (1, True, True),
        (10_000, False, False),
    ],
)
def test_a_bar_is_wanted_for_long_calls_unless_the_caller_says(count, requested, expected):
    assert wants_progress(count, 4, requested) is expected


def test_a_default_bar_is_tqdm_over_the_total_hidden_off_a_terminal():
    from tqdm import tqdm

    with progress_bar(5, desc="Encoding", unit="text", show=None) as bar:
        bar.update(2)
        # off a terminal (as here) tqdm keeps the bar hidden and records only the total
        assert isinstance(bar, tqdm) and bar.total == 5 and bar.disable


def test_an_asked_for_bar_is_shown_off_a_terminal_as_in_sentence_transformers():
    code = (
        "from sbert import SentenceTransformer\n"
        "SentenceTransformer().encode(['hello', 'world'], batch_size=1, show_progress_bar=True)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Encoding" in result.stderr and "2/2" in result.stderr, result.stderr


def test_a_short_encode_imports_no_tqdm():
    """``tqdm.auto`` costs ~50 ms of a one-text ``sbert encode`` (it imports asyncio): only bars import it."""
    code = (
        "import sys\nfrom sbert import SentenceTransformer\n"
        "model = SentenceTransformer()\nmodel.encode(['hello'])\n"
        "from sbert._progress import progress_bar\n"
        "with progress_bar(3, desc='d', unit='u', show=False) as bar:\n"
        "    bar.update(3)\n"
        "print(model.backend, sorted(m for m in sys.modules if m.startswith(('tqdm', 'asyncio'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["onnx", "[]"], result.stdout
