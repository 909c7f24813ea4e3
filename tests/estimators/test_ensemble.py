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
    with pytest.raises(ValueError, match="n_init=3, but the fitted ensemble has 2 members"):
        fitted.set_params(n_init=3).fit(X, y)
    single = MLPClassifier(warm_start=True, **KW).fit(X, y)
    with pytest.raises(ValueError, match="fitted with ensemble=False"):
        single.set_params(ensemble=True).fit(X, y)
    bag = MLPClassifier(n_init=2, ensemble=True, bootstrap=True, **KW)
    with pytest.raises(ValueError, match="partial_fit does not support bagging"):
        bag.partial_fit(X, y, classes=[0, 1, 2])


def _members_max_diff(ens, separate) -> float:
    return max(
        np.abs(a - b).max()
        for (coefs, intercepts), sep in zip(ens.members_, separate)
        for a, b in zip([*coefs, *intercepts], [*sep.coefs_, *sep.intercepts_])
    )


@pytest.mark.parametrize("early_stopping", [False, True])
def test_warm_start_continues_every_member_as_a_separate_warm_start(iris, early_stopping):
    X, y = iris
    kw = dict(KW, max_iter=6, early_stopping=early_stopping, n_iter_no_change=100)
    ens = MLPClassifier(n_init=3, ensemble=True, random_state=0, **kw).fit(X, y)
    ens.set_params(warm_start=True, max_iter=4).fit(X, y)
    seps = []
    for j in range(3):
        sep = MLPClassifier(random_state=j, **kw).fit(X, y)
        seps.append(sep.set_params(warm_start=True, max_iter=4).fit(X, y))
    assert _members_max_diff(ens, seps) < 1e-10
    assert [len(h) for h in ens.members_history_] == [len(s.history_) for s in seps]
    mean = np.mean([s.predict_proba(X) for s in seps], axis=0)
    np.testing.assert_allclose(ens.predict_proba(X), mean, atol=1e-6)


def test_partial_fit_continues_every_member(iris):
    X, y = iris
    Xr, yr = X[:, :3], X[:, 3]
    ens = MLPRegressor(n_init=2, ensemble=True, random_state=0, **KW)
    seps = [MLPRegressor(random_state=j, **KW) for j in range(2)]
    for chunk in np.array_split(np.arange(len(yr)), 3):
        ens.partial_fit(Xr[chunk], yr[chunk])
        for sep in seps:
            sep.partial_fit(Xr[chunk], yr[chunk])
    assert _members_max_diff(ens, seps) < 1e-10
    mean, std = ens.predict(Xr, return_std=True)
    preds = np.stack([s.predict(Xr) for s in seps])
    np.testing.assert_allclose(mean, preds.mean(0), atol=1e-6)
    np.testing.assert_allclose(std, preds.std(0), atol=1e-6)


def test_a_saved_ensemble_continues_as_the_original(iris, tmp_path):
    import skdl

    X, y = iris
    ens = MLPClassifier(n_init=2, ensemble=True, random_state=0, **KW).fit(X, y)
    skdl.save(ens, tmp_path / "ens.skdl")
    loaded = skdl.load(tmp_path / "ens.skdl")
    for model in (ens, loaded):
        model.set_params(warm_start=True, max_iter=5).fit(X, y)
    for (c1, i1), (c2, i2) in zip(ens.members_, loaded.members_):
        for a, b in zip([*c1, *i1], [*c2, *i2]):
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ uncertainty
def test_return_std_is_members_std(iris):
    X, y = iris[0][:, :3], iris[0][:, 3]
    reg = MLPRegressor(n_init=3, ensemble=True, random_state=0, **KW).fit(X, y)
    preds = np.array([reg._forward(X, weights=m)[:, 0] for m in reg.members_])
    mean, std = reg.predict(X, return_std=True)
    np.testing.assert_allclose(std, np.std(preds, axis=0), atol=1e-12)
    np.testing.assert_allclose(mean, reg.predict(X), atol=1e-12)
    assert mean.shape == std.shape == (len(X),) and std.min() > 0
    # two outputs: one std per output
    Y2 = iris[0][:, 2:]
    reg2 = MLPRegressor(n_init=2, ensemble=True, random_state=0, **KW).fit(X, Y2)
    seps = [MLPRegressor(random_state=j, **KW).fit(X, Y2).predict(X) for j in range(2)]
    mean2, std2 = reg2.predict(X, return_std=True)
    assert std2.shape == (len(X), 2)
    np.testing.assert_allclose(std2, np.std(seps, axis=0), atol=1e-6)
    with pytest.raises(ValueError, match="return_std=True needs an ensemble"):
        MLPRegressor(random_state=0, **KW).fit(X, y).predict(X, return_std=True)


def test_predict_proba_members(iris):
    X, y = iris
    clf = MLPClassifier(n_init=3, ensemble=True, random_state=0, **KW).fit(X, y)
    members = clf.predict_proba_members(X)
    assert members.shape == (3, len(X), 3)
    np.testing.assert_allclose(members.mean(0), clf.predict_proba(X), atol=1e-12)
    sep = MLPClassifier(random_state=1, **KW).fit(X, y)
    np.testing.assert_allclose(members[1], sep.predict_proba(X), atol=1e-6)
    yb = (y == 2).astype(int)
    binary = MLPClassifier(n_init=2, ensemble=True, random_state=0, **KW).fit(X, yb)
    pb = binary.predict_proba_members(X)
    assert pb.shape == (2, len(X), 2)
    np.testing.assert_allclose(pb.sum(-1), 1.0)
    np.testing.assert_allclose(pb.mean(0), binary.predict_proba(X), atol=1e-12)
    with pytest.raises(ValueError, match="not an ensemble"):
        sep.predict_proba_members(X)


# ---------------------------------------------------------------- bagging
def _sklearn_indices(seed, n, m, bootstrap, sample_weight=None):
    from sklearn.ensemble._bagging import _generate_bagging_indices

    return _generate_bagging_indices(seed, False, bootstrap, 4, n, 4, m, sample_weight)[1]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_bootstrap_members_are_separate_weighted_fits(iris, early_stopping):
    X, y = iris
    kw = dict(KW, early_stopping=early_stopping)
    ens = MLPClassifier(n_init=3, ensemble=True, bootstrap=True, random_state=0, **kw).fit(X, y)
    assert len(ens.estimators_samples_) == 3
    probs = ens.predict_proba_members(X)
    for j, samples in enumerate(ens.estimators_samples_):
        np.testing.assert_array_equal(samples, _sklearn_indices(j, len(X), len(X), True))
        counts = np.bincount(samples, minlength=len(X))
        sep = MLPClassifier(random_state=j, **kw).fit(X, y, sample_weight=counts)
        np.testing.assert_allclose(probs[j], sep.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(ens.predict_proba(X), probs.mean(0), atol=1e-12)


def test_bootstrap_with_sample_weight_lbfgs_and_class_weight(iris):
    X, y = iris
    sw = np.linspace(0.5, 2.0, len(X))
    kw = dict(KW, solver="lbfgs", class_weight={0: 2.0, 1: 1.0, 2: 0.5})
    ens = MLPClassifier(n_init=2, ensemble=True, bootstrap=True, random_state=3, **kw)
    ens.fit(X, y, sample_weight=sw)
    probs = ens.predict_proba_members(X)
    for j, samples in enumerate(ens.estimators_samples_):
        # scikit-learn's draw with sample_weight: probabilities sw / sw.sum()
        np.testing.assert_array_equal(samples, _sklearn_indices(3 + j, len(X), len(X), True, sw))
        counts = np.bincount(samples, minlength=len(X))
        sep = MLPClassifier(random_state=3 + j, **kw).fit(X, y, sample_weight=counts)
        np.testing.assert_allclose(probs[j], sep.predict_proba(X), atol=1e-6)


def test_max_samples_pasting(iris):
    X, y = iris[0][:, :3], iris[0][:, 3]
    reg = MLPRegressor(n_init=2, ensemble=True, max_samples=0.5, random_state=0, **KW).fit(X, y)
    for j, samples in enumerate(reg.estimators_samples_):
        assert len(samples) == 75 and len(np.unique(samples)) == 75  # without replacement
        np.testing.assert_array_equal(samples, _sklearn_indices(j, 150, 75, False))
        sep = MLPRegressor(random_state=j, **KW).fit(
            X, y, sample_weight=np.bincount(samples, minlength=150)
        )
        np.testing.assert_allclose(reg._forward(X, weights=reg.members_[j])[:, 0], sep.predict(X))
    boot = MLPRegressor(n_init=1, ensemble=True, bootstrap=True, max_samples=20, **KW).fit(X, y)
    assert len(boot.estimators_samples_[0]) == 20


@pytest.mark.filterwarnings("ignore:Some inputs do not have OOB scores")
def test_oob_score_by_hand(iris):
    X, y = iris
    clf = MLPClassifier(
        n_init=4, ensemble=True, bootstrap=True, oob_score=True, random_state=0, **KW
    ).fit(X, y)
    probs = clf.predict_proba_members(X)
    sums = np.zeros((len(X), 3))
    for p, samples in zip(probs, clf.estimators_samples_):
        oob = ~np.isin(np.arange(len(X)), samples)
        sums[oob] += p[oob]
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(clf.oob_decision_function_, sums / sums.sum(1, keepdims=True))
    assert clf.oob_score_ == pytest.approx(np.mean(clf.classes_[sums.argmax(1)] == y))

    Xr, yr = X[:, :3], X[:, 3]
    reg = MLPRegressor(
        n_init=4, ensemble=True, bootstrap=True, oob_score=True, random_state=0, **KW
    ).fit(Xr, yr)
    preds = np.array([reg._forward(Xr, weights=m)[:, 0] for m in reg.members_])
    total, n = np.zeros(len(Xr)), np.zeros(len(Xr))
    for p, samples in zip(preds, reg.estimators_samples_):
        oob = ~np.isin(np.arange(len(Xr)), samples)
        total[oob] += p[oob]
        n[oob] += 1
    pred = total / np.maximum(n, 1)
    np.testing.assert_allclose(reg.oob_prediction_, pred, atol=1e-12)
    ss = ((yr - yr.mean()) ** 2).sum()
    assert reg.oob_score_ == pytest.approx(1 - ((yr - pred) ** 2).sum() / ss)
    # refit without bagging: the bagging attributes go
    reg.set_params(bootstrap=False, oob_score=False).fit(Xr, yr)
    assert not hasattr(reg, "oob_score_") and not hasattr(reg, "estimators_samples_")


def test_bagging_parameter_errors(iris):
    X, y = iris
    with pytest.raises(ValueError, match="bootstrap=True draws .* needs ensemble=True"):
        MLPClassifier(bootstrap=True, **KW).fit(X, y)
    with pytest.raises(ValueError, match="max_samples=10 draws .* needs ensemble=True"):
        MLPClassifier(max_samples=10, **KW).fit(X, y)
    with pytest.raises(ValueError, match="Out of bag estimation only available if bootstrap=True"):
        MLPClassifier(ensemble=True, oob_score=True, **KW).fit(X, y)
    with pytest.raises(ValueError, match="Effective max_samples=200 must be <= n_samples=150"):
        MLPClassifier(ensemble=True, max_samples=200, **KW).fit(X, y)
    with pytest.raises(ValueError, match="'max_samples' parameter"):
        MLPClassifier(ensemble=True, max_samples=1.5, **KW).fit(X, y)
    with pytest.warns(UserWarning, match="Some inputs do not have OOB scores"):
        MLPClassifier(
            ensemble=True, bootstrap=True, oob_score=True, max_samples=140, random_state=0, **KW
        ).fit(X, y)


def test_fused_search_with_bagged_ensembles(iris):
    from sklearn import model_selection as sk
    from sklearn.model_selection import StratifiedKFold

    from skdl.model_selection import GridSearchCV

    X, y = iris
    est = MLPClassifier(n_init=2, ensemble=True, bootstrap=True, random_state=0, **KW)
    grid = {"learning_rate_init": [1e-3, 1e-2], "ensemble": [True], "bootstrap": [True, False]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    ours = GridSearchCV(est, grid, cv=cv).fit(X, y)
    theirs = sk.GridSearchCV(est, grid, cv=cv).fit(X, y)
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], atol=1e-6
    )
    assert len(ours.best_estimator_.members_) == 2


# ----------------------------------------------------- save, load, ONNX
def test_save_load_bagged_ensemble(iris, tmp_path):
    import json
    import zipfile

    import skdl
    from skdl.persistence import PARAMS_FILE, WEIGHTS_FILE, ModelFileError

    X, y = iris
    clf = MLPClassifier(
        n_init=3, ensemble=True, bootstrap=True, oob_score=True, random_state=0, **KW
    ).fit(X, y)
    path = tmp_path / "ens.skdl"
    skdl.save(clf, path)
    back = skdl.load(path)
    np.testing.assert_array_equal(back.predict_proba_members(X), clf.predict_proba_members(X))
    assert back.oob_score_ == clf.oob_score_ and len(back.members_history_) == 3
    for a, b in zip(back.estimators_samples_, clf.estimators_samples_):
        np.testing.assert_array_equal(a, b)
    reg = MLPRegressor(n_init=2, ensemble=True, random_state=0, **KW).fit(X[:, :3], X[:, 3])
    skdl.save(reg, tmp_path / "reg.skdl")
    mean, std = skdl.load(tmp_path / "reg.skdl").predict(X[:, :3], return_std=True)
    np.testing.assert_array_equal(std, reg.predict(X[:, :3], return_std=True)[1])

    # a member whose layers do not match coefs_ is refused
    with zipfile.ZipFile(path) as zf:
        doc, blob = json.loads(zf.read(PARAMS_FILE)), zf.read(WEIGHTS_FILE)
    layers = doc["fitted"]["members_"][1]["tuple"][0]
    layers.reverse()  # every tensor still declared, in the wrong layers
    bad = tmp_path / "bad.skdl"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(PARAMS_FILE, json.dumps(doc))
        zf.writestr(WEIGHTS_FILE, blob)
    with pytest.raises(ModelFileError, match="member 1 has weights of shapes"):
        skdl.load(bad)


def test_onnx_ensemble_is_mean_of_members(iris):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    X, y = iris
    for est, Xe, ye in (
        (MLPClassifier(n_init=3, ensemble=True, random_state=0, **KW), X, y),
        (MLPClassifier(n_init=2, ensemble=True, random_state=0, **KW), X, y == 1),
        (MLPRegressor(n_init=3, ensemble=True, random_state=0, **KW), X[:, :3], X[:, 3]),
    ):
        est.fit(Xe, ye)
        model = est.to_onnx()
        assert sum(node.op_type == "Mean" for node in model.graph.node) == 1
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        got = session.run(None, {"X": Xe.astype(np.float32)})[0]
        want = est.predict_proba(Xe) if hasattr(est, "classes_") else est.predict(Xe)[:, None]
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_output_members_equal_separate_fits_at_full_batch_shapes(dtype):
    """A regressor's one output unit, with batches and a layer large enough for
    torch's blocked kernels (200 rows x 50 units): each member trains exactly as
    its separate fit. The batched matrix-vector products this layer ran before
    computed a stack's models differently from one model alone: here members
    differed from their separate fits in the last bits (float64) or by 3e-8
    (float32) after ten epochs, float32 friedman1 members by 7e-4 after 30."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)).astype(dtype)
    y = X @ rng.normal(size=6) + np.sin(X[:, 0])
    kw = dict(KW, dtype=dtype, hidden_layer_sizes=(50,), batch_size=200, max_iter=10)
    ens = MLPRegressor(n_init=3, ensemble=True, random_state=0, **kw).fit(X, y)
    seps = [MLPRegressor(random_state=j, **kw).fit(X, y) for j in range(3)]
    for (coefs, intercepts), sep in zip(ens.members_, seps):
        for a, b in zip([*coefs, *intercepts], [*sep.coefs_, *sep.intercepts_]):
            np.testing.assert_array_equal(a, b)
