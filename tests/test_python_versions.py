"""Standard-library behaviour that changed between the Pythons sbert supports (requires-python >= 3.10),
pinned to what sentence-transformers gives on each. The checks are written to fail on any Python when the
pinning is missing, not only on the Python whose behaviour differs."""

from __future__ import annotations

from sbert import SimilarityFunction


def test_similarity_function_members_format_as_sentence_transformers_on_every_python():
    from sentence_transformers.util import SimilarityFunction as Reference

    # Enum.__format__ of a str-mixin member gives its value on 3.10 and str(member) on 3.11+; sentence-
    # transformers' plain Enum gives str(member) everywhere, so sbert's class must not inherit enum's (which
    # the enum machinery copies into the class, hence the module check)
    assert SimilarityFunction.__format__.__module__ == SimilarityFunction.__module__
    for name, member in SimilarityFunction.__members__.items():  # DOT, an alias, included
        reference = Reference[name]
        assert str(member) == str(reference)
        for spec in ("", ">40", "<40", "s"):
            assert format(member, spec) == format(reference, spec), (name, spec)
        assert f"{member}" == f"{reference}" and f"{member:>40}" == f"{reference:>40}"
        assert member == reference.value  # still the str of its name where a str is expected
