"""``kapre.PCEN``: per-channel energy normalisation, librosa's and LEAF's trainable form."""

__all__: list[str] = []
