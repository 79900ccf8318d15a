"""The description sentence-transformers gives the pull request ``push_to_hub(create_pr=True)`` opens."""

from __future__ import annotations

from typing import Any

_TEXTS = """["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]"""
_ENCODE_CHECK = f"""
# Verify that everything works as expected
embeddings = model.encode({_TEXTS})
print(embeddings.shape)

similarities = model.similarity(embeddings, embeddings)
print(similarities)"""

_PREDICT_CHECK = """
# Verify that everything works as expected
scores = model.predict([("The weather is lovely today.", "It's so sunny outside!")])
print(scores)

rankings = model.rank("The weather is lovely today.", ["It's so sunny outside!", "He drove to the stadium."])
print(rankings)"""

_MAXSIM_CHECK = """
# Verify that everything works as expected
queries = ["What is the capital of France?"]
documents = [
    "Paris is the capital of France.",
    "Berlin is the capital of Germany.",
]
query_embeddings = model.encode_query(queries)
document_embeddings = model.encode_document(documents)

scores = model.similarity(query_embeddings, document_embeddings)
print(scores)"""

# Each class: the code that checks the loaded model, and the package its push_to_hub is documented under.
_CHECKS = {
    "SentenceTransformer": (_ENCODE_CHECK, "sentence_transformer"),
    "CrossEncoder": (_PREDICT_CHECK, "cross_encoder"),
    "SparseEncoder": (_ENCODE_CHECK, "sparse_encoder"),
    "MultiVectorEncoder": (_MAXSIM_CHECK, "multi_vector_encoder"),
}


def pull_request_description(model: Any, repo_id: str, backend: str) -> str:
    """What sentence-transformers 6.3 writes: the model's architecture and how to load and try the PR."""
    class_name = type(model).__name__
    # a subclass gets its sbert base class's example, as it inherits sentence-transformers' method
    base = next((kind.__name__ for kind in type(model).__mro__ if kind.__name__ in _CHECKS), None)
    check, package = _CHECKS.get(base, ("", ""))
    check = "\n" + check if check else ""  # a blank line after the loading code
    footer = ""
    if package:
        footer = (
            "\n---\n*This PR was auto-generated with [`push_to_hub`](https://sbert.net/docs/package_reference/"
            f"{package}/model.html#sentence_transformers.{package}.model.{base}.push_to_hub).*\n"
        )
    tip = f"""\
## Testing this pull request
You can test this pull request before merging by loading the model from this PR with the `revision` argument:
```python
from sentence_transformers import {class_name}

# NOTE: Update this to the number of your pull request
pr_number = 2
model = {class_name}(
    "{repo_id}",
    revision=f"refs/pr/{{pr_number}}",
    backend="{backend}",
){check}
```
{footer}"""
    return f"""\
Hello!

This pull request has been automatically generated to add {class_name} compatibility.

## Full Model Architecture:
```
{model}
```

{tip}"""
