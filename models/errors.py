"""Errors of :mod:`models`.

::

    ValueError
    └── PanelError      the panel cannot be forecast by this model: no rows, unknown
                        regions or categories, another frequency, missing count columns

A :class:`PanelError` is about the data a caller gave, so callers may show it to users; any
other exception from a model is a bug.
"""

from __future__ import annotations

__all__ = ["PanelError"]


class PanelError(ValueError):
    """The panel does not fit the model (or is not a panel it can read)."""
