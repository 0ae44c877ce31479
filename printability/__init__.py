"""printability: learn from a 3D model's geometry whether it can be printed, and where not."""

__version__ = "0.1.0"
