import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuroalign.decoding import (
    GeneralizingDecoder,
    LDADecoder,
    LogisticDecoder,
    RidgeClassifierDecoder,
    SlidingDecoder,
)
from neuroalign.exceptions import DimensionError, NotFittedError


@parametrize_with_checks(
    [
        RidgeClassifierDecoder(device="cpu"),
        LDADecoder(device="cpu"),
        LogisticDecoder(device="cpu"),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
