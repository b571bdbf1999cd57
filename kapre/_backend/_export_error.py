"""The error of :mod:`kapre.export` (defined here so that the backend's export routes raise it without importing
:mod:`kapre.export`, which imports them)."""


class ExportError(ValueError):
    """A model, a route or a file that cannot be exported or run, with the reason."""
