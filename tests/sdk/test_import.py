"""The SDK stands on its own: importing it loads neither Django nor any part of the server."""

from __future__ import annotations

import os
import subprocess
import sys

SERVER = ("django", "rest_framework", "workflows", "executions", "triggers", "designer", "mbflow_site", "celery")


def test_importing_the_sdk_cli_and_generators_loads_no_server_code_and_needs_no_settings() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    script = ("import sys, mbflow, mbflow.worker, mbflow.cli, mbflow.codegen, mbflow.embedded\n"
              f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {SERVER!r})\n"
              "print(','.join(loaded))")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", done.stdout
