"""Names written another way: the one rule behind every "did you mean".

A name is compared with the known ones once case and separators are set aside
(``Smuggling-Of Migrants`` is ``smuggling_of_migrants``), then by difflib's ratio. How alike
two spellings must be depends on what a match does: a category close enough is *the same*
category written another way, and is refused as a variant (:data:`ALIKE`, strict: two real
categories such as 'firearms_trafficking' and 'arms_trafficking' stay apart); an unknown
column is refused anyway, and a match only suggests the rename (:data:`SUGGEST`, looser:
'sourse' suggests 'source').
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["ALIKE", "SUGGEST", "closest"]

#: How alike a category must be to be a variant spelling of one the panel has.
ALIKE = 0.9
#: How alike a column's name must be to one we know for the problem to suggest it.
SUGGEST = 0.8


def _spelling(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


def closest(name: str, known: Iterable[str], cutoff: float = ALIKE) -> str | None:
    """The one of ``known`` that ``name`` is a spelling of, if any (the likeliest).

    >>> closest("Smuggling-Of Migrants", ["smuggling_of_migrants", "arms_trafficking"])
    'smuggling_of_migrants'
    >>> closest("sourse", ["region_id", "source"], cutoff=SUGGEST)
    'source'
    >>> closest("notes", ["region_id", "source"], cutoff=SUGGEST) is None
    True
    """
    by_spelling = {_spelling(k): k for k in known}
    key = _spelling(name)
    if key in by_spelling:
        return by_spelling[key]
    close = difflib.get_close_matches(key, list(by_spelling), n=1, cutoff=cutoff)
    return by_spelling[close[0]] if close else None
