"""``kapre.LEAF``: the learnable audio front-end (Zeghidour et al., ICLR 2021)."""

__all__: list[str] = []
