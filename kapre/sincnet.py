"""``kapre.SincConv``: SincNet's band-pass sinc convolution (Ravanelli and Bengio, 2018)."""

__all__: list[str] = []
