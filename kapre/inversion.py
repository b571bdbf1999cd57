"""The way back: ``kapre.GriffinLim``, ``kapre.InverseMel`` and ``kapre.MFCCToMel``."""

__all__: list[str] = []
