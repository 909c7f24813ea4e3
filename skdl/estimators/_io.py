"""Where the estimators' ``save``, ``load`` and ``to_onnx`` find their formats.

The file formats live above the estimators: :mod:`skdl.persistence` and
:mod:`skdl.export` import the estimators, never the reverse. Each registers
its functions here with :func:`register_io` when it is imported, and
``import skdl`` (which any ``import skdl.<module>`` runs first) imports both,
so the methods always find them. Registering imports nothing heavy: ``onnx``
is imported only when a model is exported.
"""

from __future__ import annotations

_PROVIDERS = {"save": "skdl.persistence", "load_as": "skdl.persistence", "to_onnx": "skdl.export"}
_REGISTRY: dict = {}


def register_io(**functions) -> None:
    """Register the functions behind ``BaseMLP.save``, ``.load`` and ``.to_onnx``.

    Parameters
    ----------
    **functions : callable
        Any of ``save(estimator, path)``, ``load_as(cls, path, device=None)``
        and ``to_onnx(estimator, path=None)``.
    """
    unknown = sorted(set(functions) - set(_PROVIDERS))
    if unknown:
        raise TypeError(
            f"register_io got unknown function names {unknown}; the known ones are "
            f"{sorted(_PROVIDERS)}."
        )
    _REGISTRY.update(functions)


def registered(name: str):
    """The function registered as ``name``; a clear error when none is."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise RuntimeError(
            f"No {name!r} function is registered: it comes from {_PROVIDERS[name]}, "
            f"which registers it when imported. Import {_PROVIDERS[name]} (or skdl) first."
        ) from None
