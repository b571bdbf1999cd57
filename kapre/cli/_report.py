"""Problems reported in the command's terms: an exception's reason on one line, and the
``kapre.constants.EmptyFilterbankWarning`` raised while a front-end is built, printed once (used by
:mod:`kapre.cli.options` and :mod:`kapre.cli.frontends`)."""

from __future__ import annotations

import re
import sys
import warnings

__all__ = ["reported_warnings", "_one_line"]


class reported_warnings:
    """A context that collects the ``kapre.constants.EmptyFilterbankWarning`` raised while a front-end is built (other
    warnings go on as usual); :meth:`print_to` prints each once, as ``kapre extract: warning: ...``, in the command's
    terms when the front-end was built from ``options`` (``--n-mels``, ``--n-fft``, ``--sr``, ``--fmin``/``--fmax``).
    """

    _COUNTS = re.compile(r"^(\d+) of n_mels=(\d+) mel bands are empty")

    def __init__(self, options=None, prefix: str = ""):  # options: a kapre.cli.options.FeatureOptions
        self.options, self.prefix = options, prefix
        self.messages: list[str] = []

    def __enter__(self):
        from kapre.constants import EmptyFilterbankWarning

        self._category = EmptyFilterbankWarning
        self._context = warnings.catch_warnings(record=True)
        self._caught = self._context.__enter__()
        warnings.filterwarnings("always", category=EmptyFilterbankWarning)
        return self

    def __exit__(self, *exc_info):
        self._context.__exit__(*exc_info)
        for caught in self._caught:
            if not issubclass(caught.category, self._category):
                warnings.warn_explicit(caught.message, caught.category, caught.filename, caught.lineno)
                continue
            text = self._in_flags(str(caught.message))
            if text not in self.messages:
                self.messages.append(text)
        return False

    def _in_flags(self, message: str) -> str:
        o, found = self.options, self._COUNTS.match(message)
        if o is None or found is None:
            return self.prefix + message
        fmin = float(o.fmin or 0.0)
        fmax = float(o.sample_rate / 2 if o.fmax is None else o.fmax)
        return (f"{found.group(1)} of the {found.group(2)} mel bands (--n-mels {o.n_mels}) are empty with --n-fft "
                f"{o.n_fft} at --sr {o.sample_rate} between --fmin {fmin:g} and --fmax {fmax:g} Hz: no FFT bin lies "
                "inside them, so they are always 0. Use a smaller --n-mels, a larger --n-fft, or a wider "
                "--fmin/--fmax range")

    def print_to(self, prog: str) -> None:
        for message in self.messages:
            print(f"{prog}: warning: {message}", file=sys.stderr, flush=True)


def _one_line(err: BaseException, limit: int = 240) -> str:
    """An exception's reason (:func:`kapre._validation.error_reason`: without Keras' frame) on one line, at most
    ``limit`` characters."""
    from kapre._validation import error_reason

    text = " ".join(error_reason(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
