"""A backtest's forecast rows, kept in memory up to a budget and on disk beyond it.

A backtest makes one block of rows per task (a candidate and its refit block of origins;
:func:`pipelines.backtest.backtest`): every region, category, origin and horizon. On a large
panel all candidates' rows together are more than a training should hold while it fits the
next candidate, so each block is added here as its task ends and, once the rows in memory
pass ``spill_bytes``, they are written to Parquet files in a temporary directory and
dropped from memory. Readers ask for what they need: one candidate's rows to score it
(:meth:`ForecastRows.read` with ``models``), a few columns of every candidate for the
paired bootstrap (``columns``), or every row streamed into one file
(:meth:`ForecastRows.write`). Rows come back in the order of their tasks, wherever they
were kept, so a result does not depend on when it spilled.

The files are removed when the last :class:`ForecastRows` that holds them is collected. A
pickled one carries its rows with it (a result sent to another process keeps its rows).
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["SPILL_BYTES", "ForecastRows"]

#: Bytes of forecast rows kept in memory before they are written to disk.
SPILL_BYTES = 256 * 2**20


@dataclass
class _Part:
    """One task's rows of one candidate: in memory (``frame``) or in a file (``path``)."""

    model: str
    order: int
    frame: pd.DataFrame | None
    path: Path | None = None
    # The directory that holds ``path``, kept alive as long as a part refers to it.
    folder: tempfile.TemporaryDirectory[str] | None = None

    def load(self, columns: Sequence[str] | None, dtypes: pd.Series) -> pd.DataFrame:
        if self.frame is not None:
            return self.frame if columns is None else self.frame[list(columns)]
        assert self.path is not None
        frame = pd.read_parquet(self.path, columns=None if columns is None else list(columns))
        # Parquet has one string type: the columns come back as they went in.
        return frame.astype({c: dtypes[c] for c in frame if frame[c].dtype != dtypes[c]})


class ForecastRows:
    """The forecast rows of a backtest, with a ``model`` column, added a block at a time.

    Parameters
    ----------
    spill_bytes
        Bytes of rows held in memory; beyond, every row in memory is written to disk (0:
        every block goes to disk as it is added).
    """

    def __init__(self, spill_bytes: int = SPILL_BYTES) -> None:
        self._reset(spill_bytes)

    def _reset(self, spill_bytes: int) -> None:
        self.spill_bytes = spill_bytes
        self._parts: list[_Part] = []
        self._columns: list[str] | None = None
        self._dtypes = pd.Series(dtype=object)
        self._in_memory = 0
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def of(cls, frame: pd.DataFrame, spill_bytes: int = SPILL_BYTES) -> ForecastRows:
        """The rows of ``frame`` (every candidate's, one block each)."""
        rows = cls(spill_bytes)
        rows.add(frame)
        return rows

    @property
    def models(self) -> list[str]:
        """The candidates, in the order their first rows came."""
        return list(dict.fromkeys(p.model for p in sorted(self._parts, key=lambda p: p.order)))

    @property
    def columns(self) -> list[str]:
        return list(self._columns or [])

    @property
    def spilled(self) -> int:
        """Blocks of rows kept on disk."""
        return sum(p.path is not None for p in self._parts)

    def add(self, frame: pd.DataFrame, order: int | None = None) -> None:
        """Add ``frame``'s rows (one block per candidate in it); ``order`` places them among
        the others when read (default: after every block added so far)."""
        if self._columns is None:
            self._columns, self._dtypes = list(frame.columns), frame.dtypes
        elif list(frame.columns) != self._columns:
            raise ValueError(
                f"forecast rows with columns {list(frame.columns)} cannot join rows with "
                f"{self._columns}"
            )
        order = len(self._parts) if order is None else order
        for model, block in frame.groupby("model", sort=False):
            block = block.reset_index(drop=True)
            self._parts.append(_Part(str(model), order, block))
            self._in_memory += int(block.memory_usage(deep=True).sum())
        if self._in_memory > self.spill_bytes:
            self._spill()

    def with_rows(self, frame: pd.DataFrame) -> ForecastRows:
        """These rows and ``frame``'s after them, as a new :class:`ForecastRows` (the blocks
        on disk are shared, not copied)."""
        rows = ForecastRows(self.spill_bytes)
        rows._parts = list(self._parts)
        rows._columns, rows._dtypes = self._columns, self._dtypes
        rows._in_memory = self._in_memory
        rows.add(frame[self._columns] if self._columns else frame, self._next_order())
        return rows

    def read(
        self, models: Collection[str] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The rows of ``models`` (default: all), only ``columns`` (default: all)."""
        wanted = [p for p in self._ordered() if models is None or p.model in models]
        names = self.columns if columns is None else list(columns)
        frames = [p.load(columns, self._dtypes) for p in wanted]
        if not frames:
            return pd.DataFrame(columns=names)
        return pd.concat(frames, ignore_index=True)

    def write(self, path: Path) -> None:
        """Every row in one Parquet file, a block at a time (never all of them in memory)."""
        writer: pq.ParquetWriter | None = None
        try:
            for part in self._ordered():
                table = pa.Table.from_pandas(part.load(None, self._dtypes), preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            pd.DataFrame(columns=self.columns).to_parquet(path, index=False)

    def __len__(self) -> int:
        return sum(
            len(p.frame) if p.frame is not None else pq.ParquetFile(p.path).metadata.num_rows
            for p in self._parts
        )

    def __getstate__(self) -> dict[str, Any]:
        return {"frame": self.read(), "spill_bytes": self.spill_bytes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._reset(state["spill_bytes"])
        self.add(state["frame"])

    def _next_order(self) -> int:
        return max((p.order for p in self._parts), default=-1) + 1

    def _ordered(self) -> list[_Part]:
        return sorted(self._parts, key=lambda p: p.order)  # stable: blocks keep their order

    def _spill(self) -> None:
        """Write every block in memory to its own file and drop it from memory."""
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="crossplan-backtest-")
        for part in self._parts:
            if part.frame is None:
                continue
            part.path = Path(self._folder.name) / f"rows-{id(part):x}-{part.order}.parquet"
            part.frame.to_parquet(part.path, index=False)
            part.frame, part.folder = None, self._folder
        self._in_memory = 0
