"""Instructions per workflow start, counted by valgrind: a figure that does not move with the
machine's load, for comparing commits on a busy host where timings vary by 20% from run to run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_instr \\
        .venv/bin/python bench/instructions.py [--lengths 1,40] [--runs 20] [--tree DIR]

How it is measured: for each chain length, this script runs itself twice under ``valgrind
--tool=callgrind`` (``PYTHONHASHSEED=0``), one after the other: both set up as ``bench/engine.py``
does (a tenant, the chain of ``transform`` nodes), start the chain 30 times to warm up, and then
one starts it ``--runs`` times more. The difference between the two totals, divided by
``--runs``, is what one start costs this process: the engine's ``runner.start`` (the plan, every
node's expressions, events and rows, the step's one statement sent to PostgreSQL and its answer
read), inside one transaction rolled back at the end. Not counted: what PostgreSQL does (its own
process), the HTTP request around a start, and the commit and what runs after it (the live
events' publisher, a thread whose work depends on timing, as does anything waiting on a clock:
through the HTTP client the totals moved by a hundred million instructions from run to run).
Per node: (chain-40 - chain-1) / 39.

``--tree DIR`` measures another commit's code (a ``git worktree``; migrate its database first if
its migrations differ), as ``bench/engine.py --variants`` does. Each valgrind run takes 2-4
minutes on this machine (valgrind runs Python some 50 times slower).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(tree: Path, length: int, runs: int) -> int:
    """The instructions callgrind counted in one run of ``inner`` (warm-up, then ``runs`` starts)."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "PYTHONHASHSEED": "0", "MBFLOW_BENCH_TREE": str(tree), "PYTHONPATH": str(tree)}
        # cwd: Celery's Django fix-up puts the working directory first on sys.path.
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out", sys.executable, __file__,
             "--inner", "--lengths", str(length), "--runs", str(runs)],
            cwd=tree, env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return int(found.group(1))


def inner(length: int, runs: int) -> None:
    """Under valgrind: set up, warm up, then ``runs`` starts of chain-``length``."""
    # Imported here, not at the top: importing bench/engine.py sets Django up on the tree
    # measured, which only the process under valgrind does.
    sys.path.insert(0, str(HERE))
    import engine
    from django.core.management import call_command
    from django.db import transaction

    from executions.engine import runner
    from executions.engine.plan import plan_for_version
    from executions.models import Execution
    from workflows.models import Workflow

    call_command("migrate", verbosity=0)
    bench = engine.Bench(runs=1, scenarios={"1"})
    bench.server.terminate()
    name = {1: "chain1", 3: "three", 40: "chain40"}.get(length, f"chain{length}-instr")
    if length not in (1, 3, 40):
        engine.do_create_workflow(bench.tenant, engine.check_document({"yaml": engine.chain(name, length)}),
                                  message="", author="bench")
    workflow = Workflow.objects.get(tenant=bench.tenant, name=name)
    version = workflow.active_version

    def start() -> None:
        execution = Execution(tenant=bench.tenant, workflow=workflow, version=version, input={"v": 1},
                              trigger={"type": "api"}, metadata={})
        runner.start(execution, plan_for_version(version.pk))
        assert execution.status == "succeeded", execution.error

    with transaction.atomic():
        for _ in range(30):
            start()
        for _ in range(runs):
            start()
        transaction.set_rollback(True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", default="1,40")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tree", default=str(HERE.parent), help="the project's code to measure (a git worktree)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    lengths = [int(part) for part in args.lengths.split(",")]
    if args.inner:
        inner(lengths[0], args.runs)
        return
    tree = Path(args.tree).resolve()
    commit = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h %s"], capture_output=True,
                            text=True).stdout.strip()[:70]
    print(f"Instructions per start (valgrind callgrind, PYTHONHASHSEED=0), code {tree} ({commit}), "
          f"{args.runs} starts measured after 30 to warm up, POST /api/v1/executions wait=30 in process:")
    per_start: dict[int, float] = {}
    for length in lengths:
        base, total = measure(tree, length, 0), measure(tree, length, args.runs)
        per_start[length] = (total - base) / args.runs
        print(f"  chain-{length}: {per_start[length] / 1e6:.2f} M instructions a start", flush=True)
    if 1 in per_start and len(per_start) > 1:
        longest = max(per_start)
        print(f"  per light node, (chain-{longest} - chain-1) / {longest - 1}: "
              f"{(per_start[longest] - per_start[1]) / (longest - 1) / 1e3:.0f} k instructions")


if __name__ == "__main__":
    main()
