"""What a process loads that it does not use stays out of its memory: a worker's start loads no
view (Django's system checks would load the whole URL conf), and no process loads the OTLP
exporter while tracing is off. Each case runs in a fresh interpreter, as the process starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPORTER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"

WORKER_START = f"""
import json, sys
EXPORTER = "{EXPORTER}"
from mbflow_site.celery import app
app.loader.import_default_modules()  # what `celery worker` does first: Django's fix-up, the tasks
VIEWS = ("mbflow_site.urls", "drf_spectacular.views")
print(json.dumps(sorted(m for m in sys.modules if m.startswith((*VIEWS, EXPORTER)))))
"""

WEB_START = f"""
import json, sys
EXPORTER = "{EXPORTER}"
import mbflow_site.asgi
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps(sorted(m for m in sys.modules if m.startswith(EXPORTER))))
"""


def loaded(script: str, **env: str) -> list[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    environment.update({"DJANGO_SETTINGS_MODULE": "mbflow_site.settings", **env})
    environment.pop("CELERY_SKIP_CHECKS", None)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_worker_starts_without_the_views_or_the_exporter() -> None:
    assert loaded(WORKER_START) == []


def test_the_web_process_loads_the_exporter_only_when_tracing_is_on() -> None:
    assert loaded(WEB_START) == []
    assert loaded(WEB_START, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9") == [EXPORTER]
