"""skdl's version, in a module of its own: the file format records it, and a
subpackage reads it here rather than from the ``skdl`` package above it."""

__version__ = "0.1.0.dev0"
