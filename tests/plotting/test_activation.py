import numpy as np
import pytest

from skdl.nn.activations import ACTIVATIONS
from skdl.plotting import ActivationDisplay


def test_closed_forms(tmp_path):
    display = ActivationDisplay.from_names(["relu", "tanh", "logistic"], n_points=41)
    z = display.z
    np.testing.assert_allclose(display.lines_["relu"].get_ydata(), np.maximum(z, 0))
    np.testing.assert_allclose(display.lines_["tanh"].get_ydata(), np.tanh(z))
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(display.lines_["logistic"].get_ydata(), s)
    np.testing.assert_allclose(display.derivative_lines_["logistic"].get_ydata(), s * (1 - s))
    np.testing.assert_allclose(display.derivative_lines_["tanh"].get_ydata(), 1 - np.tanh(z) ** 2)
    display.figure_.savefig(tmp_path / "activations.png")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_is_the_slope_of_the_function(name):
    # an invariance: the drawn derivative is the numerical slope of the drawn function
    display = ActivationDisplay.from_names([name], z_range=(-3, 3), n_points=6001)
    z, a = display.z, display.lines_[name].get_ydata()
    away_from_kink = np.abs(z) > 1e-2
    slope = np.gradient(a, z)
    np.testing.assert_allclose(
        display.derivative_lines_[name].get_ydata()[away_from_kink],
        slope[away_from_kink],
        atol=1e-4,
    )


def test_parameter_of_a_parametric_activation():
    display = ActivationDisplay.from_names(
        ["leaky_relu", "elu"], z_range=(-1, 1), n_points=3, params={"leaky_relu": 0.1}
    )
    np.testing.assert_allclose(display.lines_["leaky_relu"].get_ydata(), [-0.1, 0, 1])
    np.testing.assert_allclose(display.lines_["elu"].get_ydata(), [np.expm1(-1), 0, 1])
    np.testing.assert_allclose(display.derivative_lines_["leaky_relu"].get_ydata()[0], 0.1)


def test_default_draws_all_but_identity():
    display = ActivationDisplay.from_names()
    assert set(display.lines_) == set(ACTIVATIONS) - {"identity"}
    assert len(display.axes_) == 2


def test_unknown_name():
    with pytest.raises(ValueError, match="Unknown activation 'swish'. Choose among"):
        ActivationDisplay.from_names(["swish"])


def test_legend_shows_the_parameter():
    display = ActivationDisplay.from_names(["relu", "leaky_relu"], params={"leaky_relu": 0.2})
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels == ["relu", "leaky_relu (0.2)"]
