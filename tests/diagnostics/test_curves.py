import numpy as np
import pytest

from skdl.diagnostics import curve_findings
from skdl.diagnostics._curves import find_divergence, find_not_converged, find_oscillation

SMOOTH = 2.0 * 0.8 ** np.arange(30)  # still falling ~2x every 3 epochs at the end


def _kinds(loss, **kwargs):
    return [f.kind for f in curve_findings(np.asarray(loss, dtype=float), **kwargs)]


def test_healthy_curves_have_no_findings():
    assert _kinds(SMOOTH, n_iter=30, max_iter=200) == []  # stopped early: converged
    flat = 0.5 + 1.5 * 0.5 ** np.arange(40)
    assert _kinds(flat, n_iter=40, max_iter=40) == []  # at max_iter but flat
    rng = np.random.default_rng(0)
    noisy = flat + rng.normal(scale=0.01, size=40)  # mini-batch noise: < 5% of the range
    assert _kinds(noisy, n_iter=40, max_iter=40) == []


def test_not_converged():
    finding = find_not_converged(SMOOTH, n_iter=30, max_iter=30)
    assert finding.kind == "not converged"
    assert "after max_iter=30 epochs" in finding.message
    drop = 1 - 0.8**5
    assert f"{drop:.1%} lower over the last 5 epochs" in finding.message
    assert find_not_converged(SMOOTH) is not None  # slope only when the budget is unknown
    assert find_not_converged(SMOOTH, tol=0.7) is None


def test_divergence():
    finding = find_divergence(np.array([2.0, 1.0, np.inf, np.nan]), learning_rate_init=0.5)
    assert finding.message == "The training loss became inf at epoch 3."
    assert "Lower learning_rate_init (currently 0.5)" in finding.remedies[0]
    rising = find_divergence(np.array([1.0, 0.9, 1.5, 2.0]))
    assert "rose from 1 (epoch 1) to 2 (epoch 4)" in rising.message
    # a diverged curve reports only that
    assert _kinds([1.0, 3.0, 1.0, 3.0, 1.0, 3.0, np.nan]) == ["diverged"]


def test_oscillation():
    zigzag = np.array([2.0, 1.0, 1.6, 0.9, 1.5, 0.8, 1.4, 0.7, 1.3, 0.6])
    finding = find_oscillation(zigzag, learning_rate_init=1.0)
    assert finding.kind == "oscillating"
    assert "rose in 4 of 9 epochs" in finding.message
    assert "Lower learning_rate_init (currently 1.0)." == finding.remedies[0]
    assert _kinds(zigzag, n_iter=10, max_iter=100) == ["oscillating"]
    # one spike is not an oscillation
    spike = np.r_[SMOOTH[:10], 1.0, SMOOTH[10:20]]
    assert find_oscillation(spike) is None


@pytest.mark.parametrize("loss", [[], [1.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
def test_short_or_constant_curves(loss):
    assert _kinds(loss, n_iter=len(loss), max_iter=len(loss)) == []
