import json

import numpy as np
import pytest
from sklearn.datasets import load_iris

from skdl import MLPClassifier
from skdl.training.history import History


def test_history_columns_match_the_curves():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(max_iter=5, early_stopping=True, random_state=0, device="cpu").fit(X, y)
    assert isinstance(clf.history_, History)
    np.testing.assert_array_equal(clf.history_.column("train_loss"), clf.loss_curve_)
    np.testing.assert_array_equal(clf.history_.column("val_score"), clf.validation_scores_)
    np.testing.assert_array_equal(clf.history_.column("epoch"), np.arange(1, 6))
    assert json.loads(json.dumps(clf.history_)) == list(clf.history_)


def test_history_none_becomes_nan_and_unknown_column_is_named():
    h = History([{"epoch": 1, "val_loss": None}])
    assert np.isnan(h.column("val_loss")[0])
    with pytest.raises(KeyError, match="no column 'bogus'"):
        h.column("bogus")


def test_history_to_frame():
    pd = pytest.importorskip("pandas")
    h = History([{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}])
    frame = h.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["train_loss"]) == [0.5, 0.25]
