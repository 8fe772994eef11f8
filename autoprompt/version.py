"""The library's version, written once: the package's ``__version__``, the build's version
(``pyproject.toml`` reads it from here) and the version each run records in ``winner.json``."""

__version__ = "0.1.0"
