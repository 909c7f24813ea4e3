import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score

from skdl import MLPClassifier, MLPRegressor
from skdl.plotting import EnsembleDisplay

X, y = load_iris(return_X_y=True)
KW = dict(hidden_layer_sizes=(8,), max_iter=15, device="cpu", dtype="float64", random_state=0)


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def test_classifier_display_curves_and_scores(tmp_path):
    clf = _fit(MLPClassifier(n_init=3, ensemble=True, early_stopping=True, **KW), X, y)
    display = EnsembleDisplay.from_estimator(clf, X, y)
    assert len(display.member_lines_) == len(display.val_lines_) == 3
    for line, h in zip(display.member_lines_, clf.members_history_):
        np.testing.assert_array_equal(line.get_ydata(), h.column("train_loss"))
    probs = clf.predict_proba_members(X)
    for m in (1, 3):  # the score of the mean of the first m members
        want = accuracy_score(y, clf.classes_[probs[:m].mean(0).argmax(1)])
        assert display.scores[m - 1] == pytest.approx(want)
    assert display.scores[-1] == pytest.approx(clf.score(X, y))
    np.testing.assert_array_equal(display.score_line_.get_ydata(), display.scores)
    assert display.member_points_ is not None and len(display.member_scores) == 3
    assert display.ax_ is display.axes_[0] and display.figure_ is display.ax_.figure
    display.figure_.savefig(tmp_path / "ensemble.png")


def test_regressor_display_and_errors():
    Xr, yr = X[:, :3], X[:, 3]
    reg = _fit(MLPRegressor(n_init=2, ensemble=True, **KW), Xr, yr)
    display = EnsembleDisplay.from_estimator(reg, Xr, yr)
    preds = np.array([reg._forward(Xr, weights=m)[:, 0] for m in reg.members_])
    np.testing.assert_allclose(display.member_scores, [r2_score(yr, p) for p in preds])
    assert display.scores[-1] == pytest.approx(reg.score(Xr, yr))
    assert display.val_lines_ == [] and display.score_name == "R^2"
    with pytest.raises(ValueError, match="needs a fitted ensemble"):
        EnsembleDisplay.from_estimator(_fit(MLPRegressor(**KW), Xr, yr), Xr, yr)
