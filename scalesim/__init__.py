"""scalesim: a differentiable scaling simulator."""

__version__ = "0.1.0"
