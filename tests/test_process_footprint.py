"""What a process loads that it does not use stays out of its memory: a worker's start loads no
view (Django's system checks would load the whole URL conf) and none of DRF's views, serializers
or the OpenAPI generator (the services raise errors and page lists without them), and no process
loads the OTLP exporter while tracing is off. Each case runs in a fresh interpreter, as the
process starts."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPORTER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"

WORKER_START = f"""
import json, sys
EXPORTER = "{EXPORTER}"
from mbflow_site.celery import app
app.loader.import_default_modules()  # what `celery worker` does first: Django's fix-up, the tasks
VIEWS = ("mbflow_site.urls", "drf_spectacular.openapi", "rest_framework.views", "rest_framework.serializers")
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


ARENAS = """
import ctypes, ctypes.util, importlib, re, sys, tempfile, threading
if "%(module)s":
    importlib.import_module("%(module)s")
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
held, together = [], threading.Barrier(8)
def allocate():
    held.append(libc.malloc(65536))
    together.wait()  # all alive at once: an arena of an ended thread would be taken again
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with tempfile.NamedTemporaryFile("r") as out:
    stream = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(len(re.findall(r'<heap nr="', out.read())))
"""


def arenas_after_eight_threads(module: str, **env: str) -> int:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "mbflow_site.settings", **env}
    result = subprocess.run([sys.executable, "-c", ARENAS % {"module": module}], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return int(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")
def test_the_server_and_the_worker_share_two_malloc_arenas_among_their_threads() -> None:
    environment = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "environ", environment)
        assert arenas_after_eight_threads("") > 2  # glibc's default: an arena per thread
        assert arenas_after_eight_threads("mbflow_site.asgi") <= 2
        assert arenas_after_eight_threads("mbflow_site.celery") <= 2
        # The environment's setting wins.
        assert arenas_after_eight_threads("mbflow_site.asgi", MALLOC_ARENA_MAX="4") == 4
