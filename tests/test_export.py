"""ONNX export checked against onnxruntime's predictions."""

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression

from skdl import MLPClassifier, MLPRegressor
from skdl.nn.activations import ACTIVATIONS

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from skdl.export import to_onnx  # noqa: E402


def _run(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X.astype(np.float32)})[0]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_classifier_probabilities_match(activation):
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((8, 6), activation=activation, max_iter=20, random_state=0, device="cpu")
    clf.fit(X, y)
    np.testing.assert_allclose(_run(to_onnx(clf), X), clf.predict_proba(X), atol=1e-5)


def test_binary_classifier_has_two_columns():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((5,), max_iter=20, random_state=0, device="cpu").fit(X, y == 1)
    np.testing.assert_allclose(_run(to_onnx(clf), X), clf.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_predictions_match(loss, tmp_path):
    X, y = make_regression(80, 4, noise=1.0, random_state=0)
    y = np.abs(y) / 100 if loss == "poisson" else y
    reg = MLPRegressor(
        loss=loss, hidden_layer_sizes=(6,), max_iter=20, random_state=0, device="cpu"
    ).fit(X, y)
    path = tmp_path / "reg.onnx"
    model = to_onnx(reg, path)
    assert path.exists()
    np.testing.assert_allclose(_run(model, X).ravel(), reg.predict(X), rtol=1e-4, atol=1e-4)


def test_method_and_function_agree():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((4,), max_iter=5, random_state=0, device="cpu").fit(X, y)
    np.testing.assert_array_equal(_run(clf.to_onnx(), X), _run(to_onnx(clf), X))


def test_unfitted_estimator_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        to_onnx(MLPClassifier())
