"""The cross-encoder losses' configs (which the model card prints) name LambdaLoss's weighting schemes and
PListMLELoss's lambda weight by sentence-transformers' paths, as its losses do, and read them back."""

from __future__ import annotations

import pytest
from conftest import build_tiny_classifier

from sbert import CrossEncoder
from sbert.cross_encoder import losses

SCHEMES = ["NoWeightingScheme", "NDCGLoss1Scheme", "NDCGLoss2Scheme", "LambdaRankScheme", "NDCGLoss2PPScheme"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from sentence_transformers import CrossEncoder as Reference

    folder = build_tiny_classifier(tmp_path_factory.mktemp("loss-paths") / "classifier")
    return CrossEncoder(str(folder)), Reference(str(folder), device="cpu")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_lambda_loss_config_names_the_scheme_as_sentence_transformers(models, scheme):
    from sentence_transformers.cross_encoder import losses as reference

    ours, ref = models
    config = losses.LambdaLoss(ours, weighting_scheme=getattr(losses, scheme)()).get_config_dict()
    expected = reference.LambdaLoss(ref, weighting_scheme=getattr(reference, scheme)()).get_config_dict()
    assert config == expected
    again = losses.LambdaLoss(ours, weighting_scheme=config["weighting_scheme"])
    assert type(again.weighting_scheme).__name__ == scheme


def test_plist_mle_config_names_the_lambda_weight_as_sentence_transformers(models):
    from sentence_transformers.cross_encoder import losses as reference

    ours, ref = models
    config = losses.PListMLELoss(ours).get_config_dict()
    assert config == reference.PListMLELoss(ref).get_config_dict()
    assert isinstance(
        losses.PListMLELoss(ours, lambda_weight=config["lambda_weight"]).lambda_weight,
        losses.PListMLELambdaWeight,
    )
