"""Every solver trains at its defaults (issue 11 item 8).

scikit-learn's defaults ``learning_rate_init=0.001`` and ``epsilon=1e-8`` are
Adam's; Adadelta reads both relative to those defaults (torch's lr=1.0 and
eps=1e-6 at skdl's defaults), every other solver as they are.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skdl import MLPClassifier
from skdl.estimators._config import SOLVER_SCALES, solver_epsilon, solver_learning_rate
from skdl.estimators._params import SOLVERS

X_BC, Y_BC = load_breast_cancer(return_X_y=True)
X_BC = StandardScaler().fit_transform(X_BC)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_trains_at_its_defaults(solver):
    # defaults except the solver (hidden_layer_sizes=(100,), max_iter=200, ...);
    # the majority class is 63 % of breast_cancer. Before: adadelta 0.63.
    clf = MLPClassifier(solver=solver, random_state=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_BC, Y_BC)
    assert clf.n_iter_ <= 200
    assert clf.score(X_BC, Y_BC) >= 0.9


def test_adadelta_reads_its_rates_relative_to_the_defaults():
    # hand-derived: 0.001 / 0.001 * 1.0 = 1.0 (torch's lr), 1e-8 / 1e-8 * 1e-6 = 1e-6
    clf = MLPClassifier(solver="adadelta")
    assert solver_learning_rate(clf) == pytest.approx(1.0)
    assert solver_epsilon(clf) == pytest.approx(1e-6)
    clf.set_params(learning_rate_init=0.01, epsilon=1e-7)
    assert solver_learning_rate(clf) == pytest.approx(10.0)
    assert solver_epsilon(clf) == pytest.approx(1e-5)
    for solver in sorted(set(SOLVERS) - set(SOLVER_SCALES)):
        other = MLPClassifier(solver=solver, learning_rate_init=0.003, epsilon=1e-7)
        assert solver_learning_rate(other) == 0.003 and solver_epsilon(other) == 1e-7


def test_adadelta_default_fit_is_torchs_adadelta_at_its_defaults():
    # One full-batch step from the same start: skdl's default adadelta is
    # torch.optim.Adadelta(lr=1.0, rho=0.999 (beta_2), eps=1e-6).
    rng = np.random.RandomState(0)
    X = rng.randn(16, 3)
    y = (X[:, 0] > 0).astype(int)
    kw = {"hidden_layer_sizes": (), "alpha": 0.0, "batch_size": 16, "shuffle": False}
    kw.update(random_state=0, dtype="float64", device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = MLPClassifier(solver="sgd", learning_rate_init=1e-300, max_iter=1, **kw)
        start.fit(X, y)
        clf = MLPClassifier(solver="adadelta", max_iter=1, **kw).fit(X, y)
    w = torch.tensor(start.coefs_[0], requires_grad=True)
    b = torch.tensor(start.intercepts_[0], requires_grad=True)
    opt = torch.optim.Adadelta([w, b], lr=1.0, rho=0.999, eps=1e-6)
    z = (torch.tensor(X) @ w + b).ravel()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(y, dtype=z.dtype))
    loss.backward()
    opt.step()
    np.testing.assert_allclose(clf.coefs_[0], w.detach().numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(clf.intercepts_[0], b.detach().numpy(), rtol=1e-10, atol=1e-14)
