"""``crossplan import``: see :mod:`serving.commands.data`."""

from serving.commands.data import register_import as register

__all__ = ["register"]
