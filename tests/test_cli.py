"""The command line end to end: fit, predict, diagnose on a small CSV; one-line user errors."""

import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from skdl import MLPClassifier, MLPRegressor
from skdl.cli import infer_task, main

FIT = ["--max-iter", "5"]


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 150
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], n),
        }
    )
    frame["label"] = np.where(frame.x1 + (frame.color == "red") > 0.3, "yes", "no")
    frame["price"] = 2 * frame.x1 - frame.x2 + rng.normal(scale=0.1, size=n)
    path = tmp_path_factory.mktemp("data") / "data.csv"
    frame.to_csv(path, index=False)
    return path


def _error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("skdl: error: ")
    return err


def test_fit_predict_diagnose_classification(data_csv, tmp_path, capsys):
    model = tmp_path / "model.skdl"
    main(["fit", str(data_csv), "--target", "label", "--out", str(model), *FIT])
    out = capsys.readouterr()
    assert "(classification)" in out.out
    assert "train accuracy: " in out.out and "validation accuracy: " in out.out
    assert "epoch 5/5" in out.err  # progress, plain lines (not a terminal)
    saved = joblib.load(model)
    pipe = saved["model"]
    assert isinstance(pipe.named_steps["mlp"], MLPClassifier)
    assert pipe.named_steps["mlp"].early_stopping
    assert "label" not in pipe.feature_names_in_
    assert "x1" in pipe.feature_names_in_  # the pipeline saw the DataFrame's names

    preds = tmp_path / "preds.csv"
    main(["predict", str(model), str(data_csv), "--out", str(preds)])
    table = pd.read_csv(preds)
    assert list(table.columns) == ["prediction", "proba_no", "proba_yes"]
    assert len(table) == 150
    np.testing.assert_allclose(table[["proba_no", "proba_yes"]].sum(axis=1), 1.0)
    expected = pipe.predict(pd.read_csv(data_csv).drop(columns="label"))
    assert (table["prediction"].to_numpy() == expected).all()

    capsys.readouterr()
    main(["diagnose", str(model), str(data_csv), "--target", "label"])
    out = capsys.readouterr().out
    assert "training score: " in out and "gap (train - data): 0.0000" in out
    assert "score on data.csv" in out.split("Bias/variance diagnosis")[1]
    assert "validation" not in out  # the score on data.csv is what it is


def test_fit_regression_with_random_search(data_csv, tmp_path, capsys):
    model = tmp_path / "reg.skdl"
    argv = ["fit", str(data_csv), "--target", "price", "--out", str(model)]
    main([*argv, "--search", "random", "--n-iter", "2", *FIT])
    out = capsys.readouterr().out
    assert "(regression)" in out and "cross-validation R2: " in out
    assert "best parameters: " in out
    assert isinstance(joblib.load(model)["model"].named_steps["mlp"], MLPRegressor)


def test_fit_with_coarse_to_fine_search(data_csv, tmp_path, capsys):
    model = tmp_path / "c2f.skdl"
    argv = ["fit", str(data_csv), "--target", "label", "--out", str(model)]
    main([*argv, "--search", "coarse-to-fine", "--n-iter", "3", *FIT])
    out = capsys.readouterr().out
    assert "Round 2:" in out and "cross-validation accuracy: " in out
    assert isinstance(joblib.load(model)["model"].named_steps["mlp"], MLPClassifier)


def test_python_m_skdl_subprocess(data_csv, tmp_path):
    model = tmp_path / "m.skdl"
    argv = ["fit", str(data_csv), "--target", "label", "--out", str(model), *FIT]
    run = subprocess.run([sys.executable, "-m", "skdl", *argv], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert model.exists() and "saved model to" in run.stdout
    bad = [sys.executable, "-m", "skdl", "fit", str(tmp_path / "nope.csv"), "--target", "y"]
    run = subprocess.run(bad, capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip() == f"skdl: error: no such file: {tmp_path / 'nope.csv'}"


def test_missing_file(capsys, tmp_path):
    err = _error(capsys, ["fit", str(tmp_path / "missing.csv"), "--target", "y"])
    assert "no such file" in err
    err = _error(capsys, ["predict", str(tmp_path / "missing.skdl"), str(tmp_path / "x.csv")])
    assert "no such file" in err


def test_missing_target_lists_columns(capsys, data_csv):
    err = _error(capsys, ["fit", str(data_csv), "--target", "nope"])
    assert "column 'nope' not found" in err
    assert "available columns: x1, x2, color, label, price" in err


def test_empty_file(capsys, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "is empty" in _error(capsys, ["fit", str(empty), "--target", "y"])
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,y\n")
    assert "is empty" in _error(capsys, ["fit", str(header_only), "--target", "y"])


def test_unreadable_model_file(capsys, tmp_path, data_csv):
    bad = tmp_path / "bad.skdl"
    bad.write_text("not a pickle")
    err = _error(capsys, ["predict", str(bad), str(data_csv)])
    assert "cannot read model file" in err
    not_model = tmp_path / "list.skdl"
    joblib.dump([1, 2], not_model)
    argv = ["diagnose", str(not_model), str(data_csv), "--target", "y"]
    assert "not a model" in _error(capsys, argv)


def test_infer_task():
    assert infer_task(pd.Series(["a", "b"])) == "classification"
    assert infer_task(pd.Series([True, False])) == "classification"
    assert infer_task(pd.Series([0, 1, 2, 1])) == "classification"
    assert infer_task(pd.Series([0.0, 1.0])) == "classification"
    assert infer_task(pd.Series(np.arange(100))) == "regression"  # many integer values
    assert infer_task(pd.Series([0.5, 1.0, 2.0])) == "regression"


def test_fit_checks_out_path_before_training(capsys, data_csv, tmp_path):
    out = tmp_path / "nodir" / "m.skdl"
    err = _error(capsys, ["fit", str(data_csv), "--target", "label", "--out", str(out), *FIT])
    assert f"directory {tmp_path / 'nodir'} does not exist" in err
    err = _error(capsys, ["fit", str(data_csv), "--target", "label", "--out", str(tmp_path)])
    assert "is a directory" in err


def test_fit_write_failure_after_training_is_one_line(capsys, data_csv, tmp_path, monkeypatch):
    import skdl.cli

    def full_disk(path, model, **info):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(skdl.cli, "save_model", full_disk)
    out = tmp_path / "m.skdl"
    with pytest.raises(SystemExit) as info:
        main(["fit", str(data_csv), "--target", "label", "--out", str(out), *FIT])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines
    assert err.startswith("skdl: error: the model was trained but")
    assert f"could not be written to {out}: No space left on device" in err
