"""``crossplan export``: see :mod:`serving.commands.data`."""

from crossplan.serving.commands.data import register_export as register

__all__ = ["register"]
