"""A backtest's forecast rows on disk beyond a budget: the same results as in memory."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from crossplan.models import LastValue, MovingAverage, PanelForecaster, PoissonGLM
from crossplan.pipelines.backtest import BacktestResult, backtest
from crossplan.pipelines.contract import load_dataset, read_truth
from crossplan.pipelines.forecast_rows import ForecastRows
from crossplan.pipelines.selection import add_blend, select


def _models() -> dict[str, PanelForecaster]:
    return {
        "last_value": LastValue(horizon=2),
        "moving_average": MovingAverage(horizon=2),
        "poisson_glm": PoissonGLM(horizon=2),
    }


@pytest.fixture(scope="module")
def runs(small_world_dir: Path) -> tuple[BacktestResult, BacktestResult]:
    """The same backtest with every task's rows on disk, and with all of them in memory."""
    ds, truth = load_dataset(small_world_dir), read_truth(small_world_dir)
    disk, memory = (
        backtest(
            ds.incidents, ds.regions, ds.adjacency, _models(), origins=3, horizon=2,
            truth=truth, spill_bytes=budget,
        )
        for budget in (0, 2**40)
    )  # fmt: skip
    return disk, memory


def test_rows_kept_on_disk_give_the_results_kept_in_memory(
    runs: tuple[BacktestResult, BacktestResult],
) -> None:
    disk, memory = runs
    assert disk.rows.spilled == 3 * 3  # every task's rows went to disk as it ended
    assert memory.rows.spilled == 0
    pd.testing.assert_frame_equal(disk.predictions, memory.predictions)
    assert disk.metrics() == memory.metrics()
    assert disk.metrics("country") == memory.metrics("country")
    # One candidate's rows are read alone, in the order of the origins.
    glm = disk.rows.read(["poisson_glm"], ["model", "origin"])
    assert list(glm.columns) == ["model", "origin"]
    assert set(glm["model"]) == {"poisson_glm"}
    assert glm["origin"].is_monotonic_increasing
    assert len(glm) == (memory.predictions["model"] == "poisson_glm").sum()
    # The blend and the selection read the rows they need: the same verdict.
    members = ["last_value", "moving_average", "poisson_glm"]
    (blend_disk, weights_disk), (blend_memory, weights_memory) = (
        add_blend(r, members) for r in (disk, memory)
    )
    assert weights_disk == weights_memory
    assert blend_disk.rows.models == [*members, "blend"]
    pd.testing.assert_frame_equal(blend_disk.predictions, blend_memory.predictions)
    chosen = [select(r, replicates=300) for r in (blend_disk, blend_memory)]
    assert chosen[0].to_dict() == chosen[1].to_dict()


def test_rows_write_one_file_and_survive_pickling(
    runs: tuple[BacktestResult, BacktestResult], tmp_path: Path
) -> None:
    # A result of its own (the module's is used by the other test), spilled at once.
    result = BacktestResult(
        ForecastRows.of(runs[1].predictions, spill_bytes=0), runs[1].origins, 2, True
    )
    assert result.rows.spilled == 3
    result.rows.write(tmp_path / "predictions.parquet")
    written = pd.read_parquet(tmp_path / "predictions.parquet")
    pd.testing.assert_frame_equal(written, result.predictions, check_dtype=False)
    copy = pickle.loads(pickle.dumps(result))
    del result  # its files go; the copy carries its rows
    assert len(copy.rows) == len(written)
    pd.testing.assert_frame_equal(copy.predictions, written, check_dtype=False)


def test_rows_with_other_columns_are_refused() -> None:
    rows = ForecastRows.of(pd.DataFrame({"model": ["a"], "prediction": [1.0]}))
    with pytest.raises(ValueError, match="cannot join"):
        rows.add(pd.DataFrame({"model": ["b"], "q10": [0.0]}))
    assert rows.models == ["a"]
    assert len(rows.read()) == 1
