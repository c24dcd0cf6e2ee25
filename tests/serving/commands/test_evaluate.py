"""``crossplan evaluate``: JSON results, a report with plots, and an MLflow run of its own."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from crossplan.serving.cli import main


def test_evaluate_writes_json_report_and_mlflow_run(crossplan_home: Path, tmp_path: Path) -> None:
    out, report = tmp_path / "eval.json", tmp_path / "report" / "eval.md"
    code = main(
        [
            "evaluate", "--seeds", "2", "--rounds", "2", "--policies", "uniform,proportional,oracle",
            "--regions", "24", "--countries", "3", "--periods", "40", "--jobs", "1", "--quiet",
            "--json", str(out), "--report", str(report),
        ]
    )  # fmt: skip
    assert code == 0
    results = json.loads(out.read_text())
    assert set(results["policies"]) == {"uniform", "proportional", "oracle"}
    assert results["policies"]["oracle"]["share_of_oracle"] == pytest.approx(1.0)
    text = report.read_text()
    assert "| oracle |" in text and "## Targets" in text
    for png in ("eval_interceptions.png", "eval_concentration.png", "eval_effort_vs_activity.png"):
        assert (report.parent / png).stat().st_size > 1000
    mlflow.set_tracking_uri(f"sqlite:///{crossplan_home / 'mlflow.db'}")
    run = mlflow.get_run(results["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["crossplan.kind"] == "evaluation"
    assert run.data.metrics["oracle.share_of_oracle"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--rounds", "0"], "rounds must be at least 1"),  # nothing to evaluate
        (["--policies", "uniform,magic"], "policies: unknown magic"),  # unknown policy
        (["--countries", "1"], "countries must be between 2"),  # a world without borders
        (["--jobs", "0"], "--jobs"),  # no workers
    ],
)
def test_bad_options_exit_2_before_any_work(
    args: list[str],
    named: str,
    crossplan_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--quiet", "--json", str(out), *args]) == 2
    assert named in capsys.readouterr().err
    assert not out.exists()
    assert not (crossplan_home / "mlflow.db").exists()
