"""Optional dependencies: one import helper, one-line errors naming the extra.

skdl's core needs numpy, scipy, scikit-learn, torch and safetensors. Everything
else is optional and imported where it is used, through
:func:`optional_import`, so that a missing package fails with one line that
says which feature needed it and which extra installs it::

    ImportError: TrainingHistoryDisplay requires matplotlib: pip install "skdl[plots]"

The extras are defined in ``pyproject.toml``; ``pip install "skdl[all]"``
installs every one of them (the README's first command does).
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: the extra of ``pyproject.toml`` that installs each optional top-level module
EXTRAS = {
    "matplotlib": "plots",
    "pandas": "pandas",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "tqdm": "progress",
    "rich": "progress",
    "dask": "dask",
    "distributed": "dask",
    "pyarrow": "cli",
    "skops": "cli",
}


class MissingOptionalDependency(ImportError):
    """An optional dependency is not installed; the message says how to install it."""


def missing_message(module: str, feature: str, extra: str | None = None) -> str:
    """The one-line message for ``feature`` needing the missing ``module``."""
    top = module.split(".")[0]
    extra = extra or EXTRAS.get(top, "all")
    return f'{feature} requires {top}: pip install "skdl[{extra}]"'


def optional_import(module: str, extra: str | None = None, feature: str = "this") -> ModuleType:
    """Import ``module`` (a dotted name), or raise a one-line :class:`ImportError`.

    Parameters
    ----------
    module : str
        The module to import, e.g. ``"matplotlib.pyplot"``.
    extra : str, optional
        The skdl extra that installs it; default: the one in :data:`EXTRAS`
        for the module's top-level package.
    feature : str
        What needs the module, named in the message (``"skdl fit"``,
        ``"History.to_frame"``).

    Returns
    -------
    module : module
        The imported module.

    Raises
    ------
    MissingOptionalDependency
        A subclass of :class:`ImportError`, with the message
        ``'<feature> requires <package>: pip install "skdl[<extra>]"'``, when
        the module (or a module it needs) cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        # ``from None``: the one line is the whole story; the chained
        # ModuleNotFoundError would only repeat it
        raise MissingOptionalDependency(missing_message(module, feature, extra), name=top) from None
