"""The ``skdl`` command line: ``python -m skdl {demo,fit,predict,diagnose}``.

``demo`` is the README's main job: train skdl's MLPClassifier on a dataset
that ships with scikit-learn, show progress, and print its test accuracy and
fit time next to scikit-learn's MLPClassifier on the same split.

``fit DATA.csv --target COL --out model.skdl`` trains a pipeline (one-hot
encoding of the categorical columns, scaling of the numeric ones, an MLP with
early stopping) on a CSV or Parquet table, ``predict`` writes its predictions,
and ``diagnose`` compares its training score with its score on new data.
These three need ``pip install "skdl[cli]"`` (pandas, skops, pyarrow).

The model file ``fit`` writes is a skops.io zip archive, not a pickle:
loading it constructs only scikit-learn, numpy and skdl classes and runs no
code chosen by the file (:func:`load_model`); ``predict`` and ``diagnose``
also read the files :func:`skdl.save` writes.

User errors (a missing file or column, an empty table, an unreadable model,
a text or infinite cell in a numeric column, a missing optional dependency)
end with one line ``skdl: error: ...`` on stderr and exit status 2, as
argparse's own errors do.
"""

from __future__ import annotations

import argparse
import sys

from ._commands import diagnose, fit, make_model, make_search, predict
from ._common import UsageError
from ._data import (
    check_typo_columns,
    infer_task,
    numeric_cells,
    read_table,
    split_target,
)
from ._demo import DATASETS, demo
from ._modelfile import _MODEL_FORMAT as _MODEL_FORMAT
from ._modelfile import load_model, save_model, trusted_types

# Help is terminal text (argparse prints it as written): no reStructuredText.
_DESCRIPTION = """\
skdl: scikit-learn's MLPClassifier and MLPRegressor on PyTorch, from the shell.
A user error (a missing file or column, a bad cell, an unreadable model) ends
with one line "skdl: error: ..." and exit status 2.

examples:
  skdl demo                                          # skdl vs scikit-learn
  skdl fit data.csv --target label --out model.skdl  # train, save the model
  skdl predict model.skdl new.csv --out preds.csv    # predictions as CSV
  skdl diagnose model.skdl test.csv --target label   # train vs test score

"skdl COMMAND --help" describes a command."""
_COMMAND_HELP = {
    "demo": (
        "Train skdl's MLPClassifier on a dataset bundled with scikit-learn, then print\n"
        "its test accuracy and fit time next to scikit-learn's MLPClassifier.",
        "example:\n  skdl demo --dataset wine --max-iter 100",
    ),
    "fit": (
        "Train a model on a CSV or Parquet table: text columns are one-hot encoded,\n"
        "numeric ones get missing cells filled with the median and are scaled, then an\n"
        "MLP trains with early stopping. Prints the scores and saves the model (a zip\n"
        'archive without pickle) and a loss-curve PNG. Needs pip install "skdl[cli]".',
        "example:\n  skdl fit data.csv --target label --out model.skdl --search random --n-iter 20",
    ),
    "predict": (
        "Write the predictions of a model (from skdl fit or skdl.save()) on a CSV or\n"
        "Parquet table as CSV: a prediction column, and proba_<class> columns for a\n"
        "classifier. The output file is written whole or not at all.",
        "example:\n  skdl predict model.skdl new.csv --out preds.csv",
    ),
    "diagnose": (
        "Score a model on a table with the true values and compare with its training\n"
        "score: the gap and a verdict (bias or variance).",
        "example:\n  skdl diagnose model.skdl test.csv --target label",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``skdl`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="skdl",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_demo(
        sub.add_parser("demo", help="train on a bundled dataset and compare with scikit-learn")
    )
    _add_fit(sub.add_parser("fit", help="train a model on a CSV or Parquet table"))
    p = sub.add_parser("predict", help="write a model's predictions as CSV")
    p.add_argument("model", help="model file written by skdl fit or skdl.save()")
    p.add_argument("data", help="CSV or Parquet file with the model's feature columns")
    p.add_argument("--out", default="-", help="CSV file to write ('-': standard output)")
    p = sub.add_parser("diagnose", help="training score vs the score on new data")
    p.add_argument("model", help="model file written by skdl fit or skdl.save()")
    p.add_argument("data", help="CSV or Parquet file with the target column")
    p.add_argument("--target", required=True, help="column with the true values")
    for name, p in sub.choices.items():
        description, example = _COMMAND_HELP.get(name, (None, None))
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.description = p.description or description
        p.epilog = p.epilog or example
    return parser


def _add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASETS, default="digits")
    p.add_argument("--max-iter", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-compare", action="store_true", help="skip scikit-learn's MLP")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per library (median)")
    p.add_argument(
        "--threads", type=int, help="threads for both libraries (default: all CPUs; 1 when busy)"
    )


def _add_fit(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="CSV or Parquet (.parquet) file")
    p.add_argument("--target", required=True, help="column to predict")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto")
    p.add_argument("--search", choices=("none", "random", "coarse-to-fine"), default="none")
    p.add_argument(
        "--n-iter", type=int, default=10, help="candidates of the search, in all (default 10)"
    )
    p.add_argument(
        "--max-iter", type=int, default=200, help="epochs, early stopping on (default 200)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--categorical",
        action="append",
        metavar="COL",
        help="one-hot encode COL even if it holds numbers (repeat for more columns)",
    )
    p.add_argument(
        "--out", default="model.skdl", help="model file to write, no pickle (default model.skdl)"
    )


def _demo_args(args) -> None:
    demo(
        args.dataset,
        args.max_iter,
        args.seed,
        compare=not args.no_compare,
        repeats=args.repeats,
        threads=args.threads,
    )


_COMMANDS = {"demo": _demo_args, "fit": fit, "predict": predict, "diagnose": diagnose}


def main(argv=None) -> int:
    """Run the command line; returns 0, or exits with status 2 on a user error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _COMMANDS[args.command](args)
    except UsageError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    return 0


__all__ = [
    "DATASETS",
    "UsageError",
    "build_parser",
    "check_typo_columns",
    "demo",
    "diagnose",
    "fit",
    "infer_task",
    "load_model",
    "main",
    "make_model",
    "make_search",
    "numeric_cells",
    "predict",
    "read_table",
    "save_model",
    "split_target",
    "trusted_types",
]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
