"""Compatibility layers for models made with forks of kapre.

* :mod:`kapre.compat.das`: the kapre 0.1.x fork shipped inside DAS (deep audio segmenter), so that DAS model
  files load with ``custom_objects={'Spectrogram': kapre.compat.das.Spectrogram, ...}``.
"""

from kapre.compat import das

__all__ = ["das"]
