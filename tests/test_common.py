"""scikit-learn's estimator checks over every public estimator.

EmotionClassifier, its parts (SpeakerNormalizer, CalibratedSVC, the
novelty measure ClassDistance) and the meta-estimator ProtocolClassifier
(which wraps any classifier under an evaluation protocol) pass the full
battery with no expected failure. FeatureExtractor transforms audio file
paths, not a numeric matrix (its tags say so, and scikit-learn then skips
its data checks), so it is held to the checks of the estimator API that
need no data.
"""

import inspect

import pytest
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from sertk import EmotionClassifier, FeatureExtractor, SpeakerNormalizer
from sertk.evaluation.protocols import ProtocolClassifier
from sertk.models.classifier import CalibratedSVC
from sertk.models.dimensions import CircumplexRegressor
from sertk.models.novelty import ClassDistance


@parametrize_with_checks([EmotionClassifier(), SpeakerNormalizer(), CalibratedSVC(),
                          ClassDistance(), ProtocolClassifier(),
                          ProtocolClassifier(protocol="strict"), CircumplexRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "check",
    [
        "check_no_attributes_set_in_init",
        "check_get_params_invariance",
        "check_set_params",
        "check_parameters_default_constructible",
        "check_estimator_cloneable",
        "check_estimator_repr",
        "check_mixin_order",
        "check_estimator_tags_renamed",
        "check_valid_tag_types",
    ],
)
def test_feature_extractor_follows_the_estimator_api(check):
    estimator = FeatureExtractor(progress=False)
    name = type(estimator).__name__
    function = getattr(estimator_checks, check)
    if len(inspect.signature(function).parameters) == 1:
        function(estimator)
    else:
        function(name, estimator)
