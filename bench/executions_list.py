"""The executions list on a million executions: the time of a page, by page number and by cursor.

Run: `DATABASE_URL=postgresql://... .venv/bin/python bench/executions_list.py [--rounds 15]`
after `bench/metrics.py` has filled its database (`<the DATABASE_URL database>_metrics_bench`:
one tenant's 1,000,000 executions over 30 days among 20 workflows, all started over the API),
which this one migrates and reads.

Each call goes through Django's test client (routing, API-key auth, the view, the JSON answer)
and is timed `--rounds` times after one warm-up: median, p95 and slowest wall time, and the CPU
per call of this process and the PostgreSQL backends (from /proc: unlike wall time, it does not
grow with the machine's load). The browser's list asks with `?cursor=`; the page-number lines
show what that avoids (a COUNT of the whole list, an OFFSET of every row before the page).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from base64 import b64encode
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--rounds", type=int, default=15)
ARGS = parser.parse_args()

SOURCE_URL = os.environ.get("DATABASE_URL", "")
if not SOURCE_URL.startswith(("postgres://", "postgresql://")):
    sys.exit("bench/executions_list.py needs DATABASE_URL pointing at PostgreSQL")
_parsed = urlparse(SOURCE_URL)
BENCH_NAME = _parsed.path.lstrip("/") + "_metrics_bench"
os.environ["DATABASE_URL"] = urlunparse(_parsed._replace(path="/" + BENCH_NAME))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
os.environ.setdefault("LOG_LEVEL", "warning")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from executions.models import Execution  # noqa: E402
from workflows.models import ApiKey, Role, Tenant  # noqa: E402
from workflows.models.keys import generate_raw_key  # noqa: E402

TENANT = "bench-metrics"


def _backends_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL backends of the bench database (0 when remote)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [BENCH_NAME])
        pids = [row[0] for row in cursor.fetchall()]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _timed(client: Client, path: str) -> tuple[str, dict[str, Any], float]:
    samples, cpu, body = [], 0.0, {}
    for index in range(ARGS.rounds + 1):
        cpu_before = time.process_time() + _backends_cpu()
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        if index:
            samples.append(elapsed)
            cpu += time.process_time() + _backends_cpu() - cpu_before
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return f"{statistics.median(samples):>8.1f} {p95:>8.1f} {max(samples):>8.1f}", body, cpu * 1000 / ARGS.rounds


def _cursor_at(execution: Execution) -> str:
    """The cursor of the page that starts after ``execution`` (as the list's `next` would be)."""
    return b64encode(urlencode({"p": str(execution.created_at)}).encode()).decode()


def main() -> None:
    call_command("migrate", verbosity=0)  # the indexes of this tree
    tenant = Tenant.objects.filter(slug=TENANT).first()
    total = Execution.objects.filter(tenant=tenant).count() if tenant else 0
    if total < 100_000:
        sys.exit(f"{BENCH_NAME} holds {total:,} executions: fill it with bench/metrics.py first")
    raw = generate_raw_key()
    key = ApiKey(tenant=tenant, name="bench-list", role=Role.VIEWER)
    key.set_secret(raw)
    key.save()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    ordered = Execution.objects.filter(tenant=tenant).order_by("-created_at", "-pk")
    middle = ordered.only("created_at")[total // 2]
    newest = ordered.only("created_at")[0].created_at
    some_id = str(ordered.only("pk")[total // 3].pk)
    workflow = Execution.objects.filter(tenant=tenant).only("workflow__name").select_related("workflow").first()
    calls = [
        ("page 1 (counts the list)", "/api/v1/executions?page_size=50"),
        ("page 2,000 (OFFSET 100,000)", "/api/v1/executions?page_size=50&page=2000"),
        ("cursor: first page", "/api/v1/executions?cursor=&page_size=50"),
        ("cursor: half way down (500,000 newer)", f"/api/v1/executions?cursor={_cursor_at(middle)}&page_size=50"),
        ("cursor: status=failed", "/api/v1/executions?cursor=&page_size=50&status=failed"),
        ("cursor: status=failed,cancelled", "/api/v1/executions?cursor=&page_size=50&status=failed,cancelled"),
        ("cursor: one workflow", f"/api/v1/executions?cursor=&page_size=50&workflow={workflow.workflow.name}"),
        ("cursor: trigger=api (every run matches)", "/api/v1/executions?cursor=&page_size=50&trigger=api"),
        ("cursor: trigger=webhook (none matches)", "/api/v1/executions?cursor=&page_size=50&trigger=webhook"),
        ("cursor: status=paused (none is)", "/api/v1/executions?cursor=&page_size=50&status=paused"),
        ("cursor: created in the last hour", "/api/v1/executions?cursor=&page_size=50&created_after="
         + (newest - timedelta(hours=1)).replace(microsecond=0).isoformat().replace("+00:00", "Z")),
        ("cursor: id starting with 8 characters", f"/api/v1/executions?cursor=&page_size=50&id={some_id[:8]}"),
    ]
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(f"{total:,} executions of one tenant in {BENCH_NAME}; {ARGS.rounds} calls each (ms); "
          f"load average {load} on {os.cpu_count()} CPUs\n")
    print(f"{'call':<42} {'rows':>5} {'median':>8} {'p95':>8} {'max':>8} {'cpu/call':>8}")
    for label, path in calls:
        figures, body, cpu = _timed(client, path)
        print(f"{label:<42} {len(body['results']):>5} {figures} {cpu:>8.1f}", flush=True)
    key.delete()


if __name__ == "__main__":
    main()
