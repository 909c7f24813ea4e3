"""Deep ensembles (issue 16): ``ensemble=True`` keeps all ``n_init`` members."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris

from skdl import MLPClassifier, MLPRegressor

KW = dict(max_iter=20, device="cpu", dtype="float64", hidden_layer_sizes=(8,))
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_ensemble_of_one_equals_plain_fit(iris):
    X, y = iris
    plain = MLPClassifier(random_state=0, **KW).fit(X, y)
    ens = MLPClassifier(random_state=0, ensemble=True, **KW).fit(X, y)
    np.testing.assert_array_equal(ens.predict_proba(X), plain.predict_proba(X))
    assert len(ens.members_) == 1 and not hasattr(plain, "members_")


@pytest.mark.parametrize("early_stopping", [False, True])
def test_ensemble_is_mean_of_separate_fits(iris, early_stopping):
    X, y = iris
    kw = dict(KW, early_stopping=early_stopping)
    ens = MLPClassifier(n_init=3, ensemble=True, random_state=0, **kw).fit(X, y)
    seps = [MLPClassifier(random_state=j, **kw).fit(X, y) for j in range(3)]
    mean = np.mean([m.predict_proba(X) for m in seps], axis=0)
    np.testing.assert_allclose(ens.predict_proba(X), mean, atol=1e-6)
    np.testing.assert_allclose(ens.predict_log_proba(X), np.log(mean), atol=1e-6)
    np.testing.assert_array_equal(ens.predict(X), ens.classes_[mean.argmax(1)])
    for (coefs, _), sep, hist in zip(ens.members_, seps, ens.members_history_):
        np.testing.assert_allclose(coefs[0], sep.coefs_[0], atol=1e-10)
        assert len(hist) == len(sep.history_)
    # coefs_ hold the member the selection keeps (ensemble=False)
    best = MLPClassifier(n_init=3, random_state=0, **kw).fit(X, y)
    np.testing.assert_array_equal(ens.coefs_[0], best.coefs_[0])


def test_regressor_ensemble_mean(iris):
    X, y = iris[0][:, :3], iris[0][:, 3]
    ens = MLPRegressor(n_init=2, ensemble=True, random_state=0, **KW).fit(X, y)
    mean = np.mean([MLPRegressor(random_state=j, **KW).fit(X, y).predict(X) for j in range(2)], 0)
    np.testing.assert_allclose(ens.predict(X), mean, atol=1e-6)


def test_ensemble_clone_and_errors(iris):
    X, y = iris
    est = MLPClassifier(n_init=2, ensemble=True, **KW)
    assert clone(est).get_params()["ensemble"] is True
    fitted = clone(est).set_params(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="warm_start"):
        fitted.fit(X, y)
    with pytest.raises(ValueError, match="to_onnx"):
        fitted.to_onnx()
    with pytest.raises(ValueError, match="skdl.save"):
        fitted.save("unused.skdl")
