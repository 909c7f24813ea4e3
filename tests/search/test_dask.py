"""Searches on a Dask cluster give the local results.

A real ``LocalCluster`` (two worker processes, one thread each, on 127.0.0.1)
runs skdl's fused ``RandomizedSearchCV`` and scikit-learn's ``GridSearchCV``
over an skdl estimator under ``joblib.parallel_config(backend="dask")``; their
``cv_results_`` and ``best_params_`` must equal a local run's. For the fused
search, the tasks shipped to the workers must be fused groups (``run_group``).
Multi-node clusters are documented in docs/cluster.md, not tested.
"""

import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import loguniform
from sklearn import model_selection as sk
from sklearn.datasets import load_iris
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from skdl import MLPClassifier
from skdl.model_selection import RandomizedSearchCV

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)
CV = StratifiedKFold(3, shuffle=True, random_state=0)


def _clf():
    return MLPClassifier(
        hidden_layer_sizes=(8,), device="cpu", dtype="float64", max_iter=10, random_state=0
    )


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # port and resource notices of a local cluster
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client


def _assert_same(local, remote):
    a, b = local.cv_results_, remote.cv_results_
    assert a["params"] == b["params"]
    assert_allclose(a["mean_test_score"], b["mean_test_score"], rtol=0, atol=1e-6)
    assert_array_equal(a["rank_test_score"], b["rank_test_score"])
    assert local.best_params_ == remote.best_params_


def _on_dask(client, search):
    """``search`` fitted under the dask backend, and the (key, worker) of the tasks it ran."""
    with distributed.get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        search.fit(X, Y)
    return [(task["key"], task["worker"]) for task in stream.data]


def test_fused_randomized_search_on_dask(client):
    space = {"learning_rate_init": loguniform(1e-3, 1e-1), "alpha": loguniform(1e-5, 1e-1)}

    def search(**kwargs):
        return RandomizedSearchCV(_clf(), space, n_iter=6, cv=CV, random_state=0, **kwargs)

    local = search().fit(X, Y)  # one task: the whole group as one stack
    remote = search(n_jobs=-1)  # the group split in one task per worker
    tasks = _on_dask(client, remote)
    _assert_same(local, remote)
    assert np.all(np.isfinite(remote.cv_results_["mean_test_score"]))
    workers = set(client.scheduler_info()["workers"])
    assert tasks, "no task ran on the cluster"
    assert all("run_group" in str(key) for key, _ in tasks), tasks
    assert {worker for _, worker in tasks} <= workers


def test_sklearn_grid_search_on_dask(client):
    grid = {"learning_rate_init": [1e-3, 1e-2, 1e-1], "alpha": [1e-4, 1e-1]}
    local = sk.GridSearchCV(_clf(), grid, cv=CV).fit(X, Y)
    remote = sk.GridSearchCV(_clf(), grid, cv=CV, n_jobs=-1)
    tasks = _on_dask(client, remote)
    _assert_same(local, remote)
    assert len(remote.cv_results_["params"]) == 6
    assert tasks, "no task ran on the cluster"
    assert {worker for _, worker in tasks} <= set(client.scheduler_info()["workers"])
