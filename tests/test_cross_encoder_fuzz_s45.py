"""CrossEncoder differences found by a side-by-side fuzz against sentence-transformers 6.3 (session 45)."""

import pytest
import torch
from conftest import build_tiny_classifier
from sentence_transformers import CrossEncoder as STCrossEncoder

from sbert import CrossEncoder

PAIRS = [("a cat sat", "on the mat"), ("dogs run", "")]


@pytest.fixture(scope="module")
def three_labels(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("ce_fuzz") / "labels3", num_labels=3)


@pytest.mark.parametrize("backend", ["torch", "auto"])
@pytest.mark.parametrize(
    "make",
    [lambda: torch.nn.Softmax(dim=1), torch.nn.Sigmoid, torch.nn.Identity],
    ids=["softmax1", "sig", "id"],
)
def test_activation_fn_is_the_module_given(three_labels, backend, make):
    """The constructor's and the setter's activation module is the one ``activation_fn`` gives back (a
    ``Softmax(dim=1)`` stays one, not a new ``Softmax(dim=-1)``), with the reference's scores."""
    given = make()
    ours = CrossEncoder(three_labels, activation_fn=given, backend=backend)
    reference = STCrossEncoder(str(three_labels), activation_fn=given, device="cpu")
    assert (ours.activation_fn is given) == (reference.activation_fn is given)
    assert repr(ours.activation_fn) == repr(reference.activation_fn)
    with pytest.warns(DeprecationWarning):  # the older name, deprecated in both
        assert repr(ours.default_activation_function) == repr(reference.default_activation_function)
    assert abs(ours.predict(PAIRS) - reference.predict(PAIRS)).max() < 1e-5

    later = torch.nn.Softmax(dim=1)
    ours.activation_fn = reference.activation_fn = later
    assert (ours.activation_fn is later) == (reference.activation_fn is later)
    assert abs(ours.predict(PAIRS) - reference.predict(PAIRS)).max() < 1e-5


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_num_labels_that_does_not_fit_the_head_raises_the_reference_type(three_labels, backend):
    """``num_labels`` other than the trained head's: the exception type sentence-transformers raises (from
    transformers), which ``except RuntimeError`` catches; sbert's message still names the fix."""
    with pytest.raises(Exception) as reference:
        STCrossEncoder(str(three_labels), num_labels=1, device="cpu")
    with pytest.raises(reference.type, match="num_labels=1 does not fit"):
        CrossEncoder(three_labels, num_labels=1, backend=backend)
