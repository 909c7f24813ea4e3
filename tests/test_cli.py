"""The command line end to end: fit, predict, diagnose on a small CSV; one-line user errors."""

import os
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from skdl import MLPClassifier, MLPRegressor
from skdl.cli import infer_task, load_model, main

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
    # progress without a terminal: scikit-learn's verbose lines, on stdout (issue 11 item 4)
    assert "Iteration 5, loss = " in out.out
    saved = load_model(model)
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
    assert isinstance(load_model(model)["model"].named_steps["mlp"], MLPRegressor)


def test_fit_with_coarse_to_fine_search(data_csv, tmp_path, capsys):
    model = tmp_path / "c2f.skdl"
    argv = ["fit", str(data_csv), "--target", "label", "--out", str(model)]
    main([*argv, "--search", "coarse-to-fine", "--n-iter", "3", *FIT])
    out = capsys.readouterr().out
    assert "Round 2:" in out and "cross-validation accuracy: " in out
    assert isinstance(load_model(model)["model"].named_steps["mlp"], MLPClassifier)


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
    assert "is not a skdl model file (it is a text file)" in err  # issue 14 item 7
    # behaviour change (issue 12 item 3): a pickle is no longer loaded at all
    not_model = tmp_path / "list.skdl"
    joblib.dump([1, 2], not_model)
    argv = ["diagnose", str(not_model), str(data_csv), "--target", "y"]
    assert "is not a skdl model file (it looks like a pickle" in _error(capsys, argv)


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
    from skdl.cli import _commands

    def full_disk(path, model, **info):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_commands, "save_model", full_disk)  # where fit looks it up
    out = tmp_path / "m.skdl"
    with pytest.raises(SystemExit) as info:
        main(["fit", str(data_csv), "--target", "label", "--out", str(out), *FIT])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines
    assert err.startswith("skdl: error: the model was trained but")
    assert f"could not be written to {out}: No space left on device" in err


# ------------------------------------------------- the model file runs no code
@pytest.fixture(scope="module")
def cli_model(data_csv, tmp_path_factory):
    model = tmp_path_factory.mktemp("model") / "model.skdl"
    main(["fit", str(data_csv), "--target", "label", "--out", str(model), *FIT])
    return model


def _no_pickle(monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(joblib, "load", refuse)


def test_cli_model_file_is_not_a_pickle(cli_model, data_csv, tmp_path, capsys, monkeypatch):
    import zipfile

    assert zipfile.is_zipfile(cli_model)
    expected = load_model(cli_model)["model"].predict(pd.read_csv(data_csv))
    _no_pickle(monkeypatch)
    preds = tmp_path / "preds.csv"
    main(["predict", str(cli_model), str(data_csv), "--out", str(preds)])
    assert (pd.read_csv(preds)["prediction"].to_numpy() == expected).all()
    capsys.readouterr()
    main(["diagnose", str(cli_model), str(data_csv), "--target", "label"])
    assert "gap (train - data): 0.0000" in capsys.readouterr().out


def test_predict_reads_a_skdl_save_file(data_csv, tmp_path, monkeypatch):
    import skdl

    frame = pd.read_csv(data_csv)
    clf = MLPClassifier((4,), max_iter=5, random_state=0, verbose=0)
    with pytest.warns(Warning):
        clf.fit(frame[["x1", "x2"]], frame["label"])
    path = tmp_path / "mlp.skdl"
    skdl.save(clf, path)
    _no_pickle(monkeypatch)
    preds = tmp_path / "preds.csv"
    main(["predict", str(path), str(data_csv), "--out", str(preds)])  # extra columns dropped
    table = pd.read_csv(preds)
    assert list(table.columns) == ["prediction", "proba_no", "proba_yes"]
    assert (table["prediction"].to_numpy() == clf.predict(frame[["x1", "x2"]])).all()


class NotTrusted:
    def predict(self, X):  # pragma: no cover - never loaded
        return X


def test_model_file_with_an_untrusted_type_is_refused(tmp_path, data_csv, capsys, monkeypatch):
    import numpy as np
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    from skdl.cli import _MODEL_FORMAT

    path = tmp_path / "evil.skdl"
    sio.dump({"format": _MODEL_FORMAT, "model": NotTrusted()}, path)
    _no_pickle(monkeypatch)
    err = _error(capsys, ["predict", str(path), str(data_csv)])
    assert f"needs the type {__name__}.NotTrusted, which skdl does not load" in err
    # a function, even one of numpy, is not a class: refused
    sio.dump({"format": _MODEL_FORMAT, "model": FunctionTransformer(np.save)}, path)
    err = _error(capsys, ["predict", str(path), str(data_csv)])
    assert "needs the type numpy." in err and "save, which skdl does not load" in err


def test_trusted_types_rules():
    from skdl.cli import UsageError, trusted_types

    ok = ["numpy.dtype", "skdl.estimators._classifier.MLPClassifier"]
    assert trusted_types(ok) == ok
    for name in (
        "builtins.eval",  # not a trusted package
        "os.system",
        "skdl.cli.os",  # a module re-exported by skdl, not a class
        "skdl.cli.Path",  # a class re-exported by skdl, defined in pathlib
        "sklearn.not_a_module_yet_imported.Thing",  # never imported for a file
        "numpy.load",  # a function
    ):
        with pytest.raises(UsageError, match="which skdl does not load"):
            trusted_types([name])


def test_a_csv_given_as_the_model_is_one_line(capsys, data_csv):
    err = _error(capsys, ["predict", str(data_csv), str(data_csv)])
    assert err.strip() == (
        f"skdl: error: {data_csv} is not a skdl model file (it looks like a CSV table); "
        "a model file is the zip archive that `skdl fit DATA --target COL --out FILE` "
        "or skdl.save() writes"
    )


# ---------------------------------------------- bad cells and outputs: one line
def _with_cell(data_csv, path, column, row, value):
    frame = pd.read_csv(data_csv).astype({column: object})
    frame.loc[row, column] = value
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (
            "abc",
            "column 'x1' of {path} must hold numbers (the model was trained on numbers) "
            "but has text in 1 cell: row 3 ('abc'); correct those cells or leave them empty",
        ),
        (
            "inf",
            "column 'x1' of {path} has infinite values in 1 cell: row 3 (inf); "
            "replace them with finite numbers",
        ),
    ],
)
def test_predict_bad_cell_is_one_line_and_writes_nothing(
    cli_model, data_csv, tmp_path, capsys, cell, expected
):
    new = _with_cell(data_csv, tmp_path / "new.csv", "x1", 2, cell)
    preds = tmp_path / "preds.csv"
    err = _error(capsys, ["predict", str(cli_model), str(new), "--out", str(preds)])
    assert expected.format(path=new) in err
    assert not preds.exists() and list(tmp_path.iterdir()) == [new]
    err = _error(capsys, ["diagnose", str(cli_model), str(new), "--target", "label"])
    assert expected.format(path=new) in err


def test_predict_unwritable_out_is_one_line(cli_model, data_csv, tmp_path, capsys, monkeypatch):
    err = _error(
        capsys, ["predict", str(cli_model), str(data_csv), "--out", str(tmp_path / "no/p.csv")]
    )
    assert f"cannot write the predictions to {tmp_path / 'no/p.csv'}: directory" in err
    err = _error(capsys, ["predict", str(cli_model), str(data_csv), "--out", str(tmp_path)])
    assert "is a directory" in err
    # a failure while writing leaves the old file whole and no temporary file
    preds = tmp_path / "preds.csv"
    preds.write_text("old\n")

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", disk_full)
    err = _error(capsys, ["predict", str(cli_model), str(data_csv), "--out", str(preds)])
    assert f"cannot write the predictions to {preds}: No space left on device" in err
    assert preds.read_text() == "old\n" and list(tmp_path.iterdir()) == [preds]


def test_fit_refuses_a_numeric_column_with_a_typo(data_csv, tmp_path, capsys):
    bad = _with_cell(data_csv, tmp_path / "typo.csv", "x2", 11, "twelve")
    out = tmp_path / "m.skdl"
    argv = ["fit", str(bad), "--target", "label", "--out", str(out), *FIT]
    err = _error(capsys, argv)
    assert (
        f"column 'x2' of {bad} holds numbers except in 1 cell: row 12 ('twelve'); correct "
        "those cells or leave them empty (missing numbers are filled with the column's "
        "median), or pass --categorical x2 if the column is categories"
    ) in err
    assert not out.exists()
    main([*argv, "--categorical", "x2"])  # the user's way out: categories it is
    prep = load_model(out)["model"].named_steps["prep"]
    assert "x2" in prep.transformers_[0][2] and "x2" not in prep.transformers_[1][2]
    capsys.readouterr()
    assert "no such feature column" in _error(capsys, [*argv, "--categorical", "nope"])


def test_fit_infinite_cell_names_the_column(data_csv, tmp_path, capsys):
    bad = _with_cell(data_csv, tmp_path / "inf.csv", "x1", 4, "-inf")
    err = _error(capsys, ["fit", str(bad), "--target", "label", "--out", str(tmp_path / "m.skdl")])
    assert f"column 'x1' of {bad} has infinite values in 1 cell: row 5 (-inf)" in err


# ----------------------------------------------- optional dependencies: one line
def test_without_pandas_fit_is_one_line_naming_the_extra(data_csv):
    code = (
        "import sys; sys.modules['pandas'] = None; from skdl.cli import main; "
        f"sys.exit(main(['fit', {str(data_csv)!r}, '--target', 'label']))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == (
        "skdl: error: reading a CSV or Parquet table needs pandas, which is not installed; "
        """install the command line's dependencies with: pip install "skdl[cli]\""""
    )


def test_without_skops_fit_stops_before_training(data_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "skops", None)
    monkeypatch.setitem(sys.modules, "skops.io", None)
    err = _error(capsys, ["fit", str(data_csv), "--target", "label", "--out", str(tmp_path / "m")])
    assert "writing the model file needs skops, which is not installed; " in err
    assert 'pip install "skdl[cli]"' in err


def test_parquet_with_and_without_pyarrow(data_csv, tmp_path, capsys, monkeypatch):
    table = tmp_path / "data.parquet"
    pd.read_csv(data_csv).to_parquet(table)
    model = tmp_path / "m.skdl"
    main(["fit", str(table), "--target", "label", "--out", str(model), *FIT])
    assert "(classification)" in capsys.readouterr().out
    for engine in ("pyarrow", "fastparquet"):
        monkeypatch.setitem(sys.modules, engine, None)
    err = _error(capsys, ["predict", str(model), str(table)])
    assert f"reading the Parquet file {table} needs pyarrow, which is not installed" in err
    assert 'pip install "skdl[cli]"' in err


# --------------------------------------------------------------------- help
def test_help_is_terminal_text_with_an_example_per_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top and ":func:" not in top
    for command in ("demo", "fit", "predict", "diagnose"):
        assert f"\n  skdl {command}" in top  # an example line, indented as written
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "``" not in text and "`skdl" not in text
        assert f"example:\n  skdl {command}" in text
    assert max(len(line) for line in top.splitlines()) <= 80


# ------------------------------------- a one-hot encoding stays sparse in fit
def test_sparse_X_is_densified_per_batch_not_whole(monkeypatch):
    import scipy.sparse as sp

    X = sp.random(400, 30, density=0.1, random_state=0, format="csr")
    y = np.arange(400) % 3
    dense = MLPClassifier((8,), batch_size=50, max_iter=2, random_state=0, verbose=0)
    with pytest.warns(Warning):
        dense.fit(X.toarray(), y)
    densified = []
    toarray = sp.csr_matrix.toarray

    def spy(self, *args, **kwargs):
        densified.append(self.shape[0])
        return toarray(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", spy)
    clf = MLPClassifier((8,), batch_size=50, max_iter=2, random_state=0, verbose=0)
    with pytest.warns(Warning):
        clf.fit(X, y)
    assert densified and max(densified) == 50  # one batch at a time, never all 400 rows
    monkeypatch.setattr(sp.csr_matrix, "toarray", toarray)
    np.testing.assert_array_equal(clf.predict_proba(X), dense.predict_proba(X.toarray()))
    assert clf.loss_curve_ == dense.loss_curve_


# --------------------------------------------- no process-wide matplotlib state
def test_loss_curve_png_leaves_matplotlibs_backend_alone(tmp_path):
    # the figure is drawn on its own Agg canvas: a program that calls the command
    # keeps its backend, and pyplot (with its global figure registry) is not imported
    pytest.importorskip("matplotlib")
    code = (
        "import sys, types, matplotlib; from skdl.cli._commands import _plot_loss; "
        "mlp = types.SimpleNamespace(loss_curve_=[1.0, 0.5], validation_loss_curve_=[1.1, 0.7]); "
        f"png = _plot_loss(mlp, {str(tmp_path / 'm.loss.png')!r}); "
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules, png is not None)"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["svg", "False", "True"]
    assert (tmp_path / "m.loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
