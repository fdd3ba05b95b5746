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


ONLY_ITS_OWN = '''\
import importlib.abc, sys, sysconfig
site = sysconfig.get_paths()["purelib"]
# httpx, httpx-sse, pydantic and what they need: any other installed package is refused.
ALLOWED = {"httpx", "httpcore", "h11", "anyio", "sniffio", "idna", "certifi", "httpx_sse", "pydantic",
           "pydantic_core", "typing_extensions", "annotated_types", "typing_inspection", "mbflow"}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ALLOWED | set(sys.stdlib_module_names):
            return None
        for finder in sys.meta_path[1:]:
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                if spec.origin and spec.origin.startswith(site):
                    raise ImportError(f"{name} is not a dependency of the SDK")
                return None
        return None

sys.meta_path.insert(0, Refuse())
import mbflow, mbflow.worker, mbflow.embedded
with mbflow.Client("http://127.0.0.1:9", "key", retry=mbflow.RetryPolicy(attempts=1)) as client:
    try:
        client.workflows.list()
    except mbflow.TransportError:
        print("unreachable, as it should be")
'''


def test_the_sdk_needs_only_httpx_httpx_sse_and_pydantic() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", ONLY_ITS_OWN], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unreachable, as it should be"
