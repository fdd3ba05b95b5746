"""Parse and validate times for generated DAGs of 1k, 10k and 100k nodes (about 2 edges per node).

Run: `make bench` or `.venv/bin/python bench/validate.py [--phases] [sizes...]`.
How: each graph is written as canonical YAML, then timed separately: `load_document` (YAML text →
native data; from 64 KB on through rapidyaml's fast path, line marks read from the text only when an
error or warning needs them), `parse_yaml` (libyaml's event walk with every line mark: what a
document the fast path leaves to it, or its marks on demand, cost) and `validate_document` (schema,
node configs, graph, expressions) on the already parsed document. Each figure is the median of
several runs (fewer for 100k) in one process on this machine; the first run of each size warms the
expression cache like a server would. Wall-clock medians, and the CPU time of parse + validate
beside them (on a shared machine the CPU time is the figure to compare).
The API refuses documents over 5 MB; the bench lifts that limit so the 100k graph can be read.
Every node is an `http` or `transform` node whose config reads its first parent through
`{{ nodes.<id>.output... }}`, so reference checks and expression handling are part of the cost.
`--phases` then times the phases of validation apart (CPU time, median, after the figures above,
which it leaves as they are): a phase that runs per block of nodes is summed over its blocks.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.spec import dump_yaml, load_document, loader, validate_document
from workflows.spec import validation as validation_module

# A 100k-node document is about 18 MB: past the API's 5 MB request limit, so the bench lifts it.
loader.MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


def generate(size: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    nodes, edges = [], []
    for index in range(size):
        node_id = f"n{index}"
        if index == 0:
            nodes.append({"id": node_id, "type": "http", "config": {"url": "https://api.example.com/{{ input.id }}"}})
            continue
        first = index - 1
        nodes.append(
            {"id": node_id, "type": "transform", "config": {"mapping": {"v": f"{{{{ nodes.n{first}.output.v }}}}"}}}
            if index % 3
            else {"id": node_id, "type": "http",
                  "config": {"method": "POST", "url": "https://api.example.com/items", "json": {"x": 1}}}
        )
        edges.append({"from": f"n{first}", "to": node_id})
        if index > 2:
            edges.append({"from": f"n{rng.randrange(0, index - 1)}", "to": node_id})
    return {"apiVersion": "mbflow/v1", "kind": "Workflow", "metadata": {"name": f"dag-{size}"},
            "spec": {"nodes": nodes, "edges": edges}}


CPU_MS: list[float] = []  # CPU time of the last `timed` call (median), ms: comparable on a busy machine


def timed(function, runs: int) -> tuple[float, object]:
    samples, cpu, result = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU_MS[:] = [statistics.median(cpu) * 1000]
    return statistics.median(samples) * 1000, result


# The phases of `validate_document`, in the order they run: functions of `workflows.spec.validation`.
PHASES = {
    "_read_nodes": "read nodes",
    "nodes_hold": "  of which pydantic",
    "_read_edges": "read edges",
    "outline_holds": "rest of document",
    "_check_schema": "schema, part by part",
    "_check_configs": "configs, part by part",
    "_node_ids": "node ids",
    "_connect": "edges",
    "_Graph": "adjacency",
    "_policy_targets": "fallbacks",
    "_topological_positions": "order",
    "_check_cycles": "cycles",
    "_check_expressions": "expressions",
    "_check_upstream": "upstream reads",
}


def phase_times(loaded: object, runs: int) -> dict[str, float]:
    """CPU ms per phase (median over runs), timing each phase function through a wrapper."""
    spent: dict[str, float] = {}
    originals = {name: getattr(validation_module, name) for name in PHASES}

    def timed_phase(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - start
        return wrapper

    samples: dict[str, list[float]] = {name: [] for name in [*PHASES, "total"]}
    try:
        for name, function in originals.items():
            setattr(validation_module, name, timed_phase(name, function))
        for _ in range(runs):
            spent.clear()
            start = time.process_time()
            validate_document(loaded)
            spent["total"] = time.process_time() - start
            for name in samples:
                samples[name].append(spent.get(name, 0.0) * 1000)
    finally:
        for name, function in originals.items():
            setattr(validation_module, name, function)
    return {name: statistics.median(values) for name, values in samples.items()}


def print_phases(size: int, times: dict[str, float]) -> None:
    print(f"  {size} nodes, CPU ms per phase: " + ", ".join(
        f"{PHASES.get(name, name).strip()} {ms:.1f}" for name, ms in times.items() if ms >= 0.05))


def main(sizes: list[int], phases: bool = False) -> None:
    print(__doc__.strip().splitlines()[0])
    print(f"{'nodes':>8} {'edges':>8} {'yaml KB':>8} {'parse ms':>10} {'event walk ms':>14} {'validate ms':>12} "
          f"{'parse+validate':>15} {'(CPU ms)':>9} {'validate µs/node':>17}")
    for size in sizes:
        document = generate(size)
        text = dump_yaml(document)
        runs = 3 if size >= 100_000 else 7
        parse_ms, loaded = timed(lambda: load_document(text), max(1, runs // 2))  # noqa: B023
        parse_cpu = CPU_MS[0]
        walk_ms, _ = timed(lambda: loader.parse_yaml(text), 1 if size >= 100_000 else 3)  # noqa: B023
        validate_document(loaded)  # warm-up: compiles each distinct expression once
        validate_ms, report = timed(lambda: validate_document(loaded), runs)  # noqa: B023
        validate_cpu = CPU_MS[0]
        assert report.valid, report.errors[:3]
        print(f"{size:>8} {len(document['spec']['edges']):>8} {len(text) // 1024:>8} {parse_ms:>10.1f} "
              f"{walk_ms:>14.1f} {validate_ms:>12.1f} {parse_ms + validate_ms:>15.1f} {parse_cpu + validate_cpu:>9.1f} "
              f"{validate_ms * 1000 / size:>17.2f}")
        if phases:
            print_phases(size, phase_times(loaded, runs))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main([int(arg) for arg in arguments if arg != "--phases"] or [1_000, 10_000, 100_000], "--phases" in arguments)
