"""The metrics are computed by different SQL on SQLite (functions added by monitoring.aggregates):
when this run is on PostgreSQL, the exact-value tests, and those of the rollups and of pruned
runs (the embedded mode rolls up and prunes too), run again in a process on SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="this run is on SQLite already")
def test_the_metrics_are_the_same_exact_values_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'metrics.sqlite3'}", "REDIS_URL": "",
           "CELERY_BROKER_URL": "", "MBFLOW_REQUIRE_SERVICES": "0"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:xdist",
               str(HERE / "test_metrics_api.py"), str(HERE / "test_metrics_rollups.py"),
               str(HERE / "test_metrics_retention.py")]
    result = subprocess.run(
        command, cwd=HERE.parents[1], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
