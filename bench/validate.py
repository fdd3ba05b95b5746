"""Parse and validate times for generated DAGs of 1k, 10k and 100k nodes (about 2 edges per node).

Run: `make bench` or `.venv/bin/python bench/validate.py [sizes...]`.
How: each graph is written as canonical YAML, then timed separately: `load_document` (YAML text →
native data with line marks) and `validate_document` (schema, node configs, graph, expressions) on
the already parsed document. Each figure is the median of several runs (fewer for 100k) in one
process on this machine; the first run of each size warms the expression cache like a server would.
The API refuses documents over 5 MB; the bench lifts that limit so the 100k graph can be read.
Every node is an `http` or `transform` node whose config reads its first parent through
`{{ nodes.<id>.output... }}`, so reference checks and expression handling are part of the cost.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.spec import dump_yaml, load_document, loader, validate_document

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


def timed(function, runs: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, result


def main(sizes: list[int]) -> None:
    print(__doc__.strip().splitlines()[0])
    print(f"{'nodes':>8} {'edges':>8} {'yaml KB':>8} {'parse ms':>10} {'validate ms':>12} {'validate µs/node':>17}")
    for size in sizes:
        document = generate(size)
        text = dump_yaml(document)
        runs = 3 if size >= 100_000 else 7
        parse_ms, loaded = timed(lambda: load_document(text), max(1, runs // 2))  # noqa: B023
        validate_document(loaded)  # warm-up: compiles each distinct expression once
        validate_ms, report = timed(lambda: validate_document(loaded), runs)  # noqa: B023
        assert report.valid, report.errors[:3]
        print(f"{size:>8} {len(document['spec']['edges']):>8} {len(text) // 1024:>8} {parse_ms:>10.1f} "
              f"{validate_ms:>12.1f} {validate_ms * 1000 / size:>17.2f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1_000, 10_000, 100_000])
