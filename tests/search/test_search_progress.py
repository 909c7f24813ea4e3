"""One progress bar over a fused search, counted in model-epochs."""

import io
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skdl
from skdl.model_selection import GridSearchCV
from skdl.search._base import _model_epochs
from skdl.training.progress import SearchProgress


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def _mlp(**kw):
    params = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0, device="cpu")
    return skdl.MLPClassifier(**{**params, **kw})


def _counts(err: str, total: int) -> list[int]:
    return [int(n) for n in re.findall(rf"(\d+)/{total} model-epochs", err)]


def _search(est, grid, X, y, **kw):
    search = GridSearchCV(est, grid, cv=KFold(2), verbose=1, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X, y)


def test_one_bar_advances_epoch_by_epoch_and_ends_at_the_total(digits, capsys):
    """4 candidates x 2 folds x 10 epochs in one stack: the bar moves while the
    stack trains (not only when it returns) and early-stopped models count the
    epochs they skipped, so it ends at exactly the total."""
    X, y = digits
    est = _mlp(early_stopping=True, n_iter_no_change=1, tol=0.5)  # stops early
    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}
    search = _search(est, grid, X, y)
    err = capsys.readouterr().err
    total = 4 * 2 * 10
    counts = _counts(err, total)
    assert counts[-1] == total
    assert counts == sorted(counts)
    assert len(counts) >= 3 and counts[0] < total  # lines during the stack's training
    assert max(len(c["train_loss"]) for c in search.cv_results_["epoch_curves"][0]) < 10


def test_bar_counts_n_init_and_per_candidate_max_iter(digits, capsys):
    X, y = digits
    grid = {"max_iter": [3, 5], "n_init": [1, 2]}
    _search(_mlp(), grid, X, y)
    total = 2 * (3 * 1 + 3 * 2 + 5 * 1 + 5 * 2)
    assert _counts(capsys.readouterr().err, total)[-1] == total


def test_parallel_search_moves_the_bar_as_results_return(digits, capsys):
    X, y = digits
    _search(_mlp(max_iter=4), {"alpha": [1e-4, 1e-2]}, X, y, n_jobs=2)
    counts = _counts(capsys.readouterr().err, 2 * 2 * 4)
    assert counts[-1] == 16


def test_lbfgs_and_pipeline(digits, capsys):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), _mlp(solver="lbfgs", max_iter=5))
    _search(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, X, y)
    assert _counts(capsys.readouterr().err, 20)[-1] == 20


def test_terminal_gets_a_tqdm_bar():
    pytest.importorskip("tqdm")
    out = FakeTTY()
    with SearchProgress(30, desc="search", stream=out) as bar:
        bar.advance(10)
        bar.note(best_split_score="0.5000")
        bar.advance_to(30)
        bar.advance(5)  # clipped: never past the total
        assert bar.done == 30
    text = out.getvalue()
    assert "30/30" in text and "model-epoch" in text


def test_verbose_0_prints_nothing(digits, capsys):
    X, y = digits
    search = GridSearchCV(_mlp(max_iter=2), {"alpha": [1e-4]}, cv=KFold(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_model_epochs_of_a_candidate():
    est = _mlp(max_iter=7, n_init=2)
    assert _model_epochs(est, {}) == 14
    assert _model_epochs(est, {"max_iter": 3}) == 6
    assert _model_epochs(est, {"n_init": 1, "max_iter": 4}) == 4
    pipe = make_pipeline(StandardScaler(), est)
    assert _model_epochs(pipe, {"mlpclassifier__max_iter": 2}) == 4
    assert _model_epochs(pipe, {"mlpclassifier": _mlp(max_iter=5)}) == 5
    assert _model_epochs(pipe, {"mlpclassifier": LogisticRegression()}) == 0
    assert _model_epochs(est, {"max_iter": "bad"}) == 0
    assert np.isscalar(_model_epochs(est, {}))


def test_an_open_bar_is_not_hidden_state_for_estimators(digits):
    """A search's bar reaches a stack only as an argument: a fit made while one is
    open (in this thread) leaves it alone."""
    X, y = digits
    with SearchProgress(100, stream=io.StringIO()) as bar:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _mlp(max_iter=3).fit(X, y)
        assert bar.done == 0


def test_fit_many_advances_the_bar_it_is_given(digits):
    from skdl.estimators import fit_many

    X, y = digits
    rows = np.arange(len(y))
    with SearchProgress(6, stream=io.StringIO()) as bar:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit_many(_mlp(max_iter=3), X, y, [({}, rows), ({"alpha": 0.1}, rows)], progress=bar)
        assert bar.done == 6


def test_coarse_to_fine_rounds_share_one_bar(digits, capsys):
    """Two rounds of 2 candidates x 2 folds x 4 epochs: one bar whose total grows
    by each round, one closing line, at the whole search's 32 model-epochs."""
    from skdl.model_selection import CoarseToFineSearchCV

    X, y = digits
    search = CoarseToFineSearchCV(
        _mlp(max_iter=4), {"alpha": [1e-5, 1e-4, 1e-3, 1e-2]}, n_iter=2, n_rounds=2,
        top_k=2, cv=KFold(2), verbose=1, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    err = capsys.readouterr().err
    assert err.count("CoarseToFineSearchCV:") >= 2
    done = [line for line in err.splitlines() if "done in" in line]
    assert len(done) == 1 and "32/32 model-epochs (100%)" in done[0]
    assert "best_split_score=" in done[0]


def test_bar_total_grows_and_prints_done_once():
    out = io.StringIO()
    with SearchProgress(10, desc="s", stream=out) as bar:
        bar.advance(10)
        bar.extend(10)
        bar.advance(10)
    text = out.getvalue()
    assert text.count("done in") == 1 and "20/20 model-epochs (100%)" in text
    assert "10/10" not in text  # reaching a batch's end is not the search's end
    first = SearchProgress(0, desc="s", stream=io.StringIO())
    first.extend(7)
    assert first.total == 7


def test_halving_has_one_bar_counting_only_the_epochs_each_rung_adds(digits, capsys):
    """Rungs of 2 and 4 epochs, 4 then 2 candidates, 2 folds: the resumed rung adds
    2 epochs per fit, so the whole search is 4*2*2 + 2*2*2 = 24 model-epochs."""
    from skdl.model_selection import HalvingGridSearchCV

    X, y = digits
    grid = {"alpha": [1e-5, 1e-4, 1e-3, 1e-2]}
    search = HalvingGridSearchCV(
        _mlp(max_iter=4, tol=0.0, n_iter_no_change=10), grid, resource="max_iter",
        min_resources=2, max_resources=4, factor=2, cv=KFold(2), verbose=1,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.n_resources_ == [2, 4] and search.n_candidates_ == [4, 2]
    err = capsys.readouterr().err
    done = [line for line in err.splitlines() if "done in" in line]
    assert len(done) == 1 and "24/24 model-epochs (100%)" in done[0]
    assert "best_split_score=" in done[0]
