import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV

from skdl.plotting import SearchResultsDisplay

X, y = load_iris(return_X_y=True)
y = y.astype(float)  # Ridge: fast closed-form fits


@pytest.fixture(scope="module")
def search():
    grid = {"alpha": [1e-3, 1e-2, 1e-1, 1.0, 10.0]}
    return GridSearchCV(Ridge(), grid, cv=3).fit(X, y)


def _offsets(collection):
    return np.asarray(collection.get_offsets())


def test_points_are_cv_results(search, tmp_path):
    display = SearchResultsDisplay.from_search(search, param="alpha")
    (points,) = display.scatters_
    np.testing.assert_allclose(
        _offsets(points)[:, 0], search.cv_results_["param_alpha"].astype(float)
    )
    np.testing.assert_allclose(_offsets(points)[:, 1], search.cv_results_["mean_test_score"])
    np.testing.assert_allclose(
        _offsets(display.best_marker_)[0], [search.best_params_["alpha"], search.best_score_]
    )
    assert display.ax_.get_xscale() == "log"  # five decades
    display.figure_.savefig(tmp_path / "search.png")


def test_param_prefix_and_single_param_default(search):
    assert SearchResultsDisplay.from_search(search).param_name == "alpha"
    assert SearchResultsDisplay.from_search(search, param="param_alpha").param_name == "alpha"


def test_list_of_grids_drops_candidates_without_the_param():
    grid = [{"alpha": [0.1, 1.0]}, {"fit_intercept": [False]}]
    search = GridSearchCV(Ridge(), grid, cv=3).fit(X, y)
    display = SearchResultsDisplay.from_search(search, param="alpha")
    np.testing.assert_allclose(_offsets(display.scatters_[0])[:, 0], [0.1, 1.0])


class _FakeSearch:
    """A coarse-to-fine search's cv_results_: categorical values and rounds."""

    cv_results_ = {
        "param_hidden_layer_sizes": np.ma.masked_array(
            np.array([(8,), (16,), (8, 8), (16,)], dtype=object), mask=[False] * 4
        ),
        "mean_test_score": np.array([0.8, 0.9, 0.85, 0.95]),
        "round": np.array([0, 0, 1, 1]),
    }
    best_index_ = 3


def test_rounds_and_categorical_values():
    search = _FakeSearch()
    display = SearchResultsDisplay.from_search(search, param="hidden_layer_sizes")
    assert len(display.scatters_) == 2
    np.testing.assert_allclose(_offsets(display.scatters_[0]), [[0, 0.8], [1, 0.9]])
    np.testing.assert_allclose(_offsets(display.scatters_[1]), [[2, 0.85], [1, 0.95]])
    labels = [t.get_text() for t in display.ax_.get_xticklabels()]
    assert labels == ["(8,)", "(16,)", "(8, 8)"]
    np.testing.assert_allclose(_offsets(display.best_marker_), [[1, 0.95]])


def test_errors(search):
    grid = {"alpha": [0.1, 1.0], "fit_intercept": [True, False]}
    two = GridSearchCV(Ridge(), grid, cv=2).fit(X, y)
    with pytest.raises(ValueError, match="varies several hyperparameters"):
        SearchResultsDisplay.from_search(two)
    with pytest.raises(ValueError, match="'param' parameter must be a searched hyperparameter"):
        SearchResultsDisplay.from_search(search, param="C")
    with pytest.raises(ValueError, match="has no cv_results_: fit the search first"):
        SearchResultsDisplay.from_search(GridSearchCV(Ridge(), {"alpha": [1.0]}))
