"""The Prometheus families monitoring adds to /metrics (registered by ``MonitoringConfig``).

Each family is computed when /metrics is read, from the database and Redis (see
``services.tallies`` and ``services.system`` for how every process's work is reached). A source
that fails leaves its families out of that scrape and sets ``mbflow_metrics_source_up`` to 0;
the rest of the page is served.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from monitoring.services import business, system, tallies

logger = logging.getLogger(__name__)

COUNTERS = {
    "executions_started_total": ("mbflow_executions_started", "Executions started, by workflow.",
                                 ("tenant", "workflow")),
    "executions_finished_total": ("mbflow_executions_finished", "Executions that ended, by workflow and status "
                                  "(an execution retried and ending again counts again).",
                                  ("tenant", "workflow", "status")),
    "node_runs_total": ("mbflow_node_runs", "Node runs that ended, by node type and status "
                        "(failed and timed_out are the failures).", ("type", "status")),
    "node_retries_total": ("mbflow_node_retries", "Node attempts that failed and were retried, by node type.",
                           ("type",)),
}
HISTOGRAMS = {
    "execution_duration_seconds": ("mbflow_execution_duration_seconds", "Execution durations (start to end), by "
                                   "workflow.", ("tenant", "workflow"), tallies.EXECUTION_BUCKETS),
    "node_duration_seconds": ("mbflow_node_duration_seconds", "Node durations (its last attempt), by node type.",
                              ("type",), tallies.NODE_BUCKETS),
}


class MonitoringCollector(Collector):
    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration: collecting reads the database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mbflow_metrics_source_up", "1 when the source of these metrics could be read.",
                               labels=["source"])
        sources: list[tuple[str, Callable[[], list[Metric]]]] = [
            ("executions", _execution_families), ("processes", _process_families), ("business", _business_families)]
        if settings.MBFLOW_DISPATCHER == "celery":
            sources.append(("broker", _queue_families))
        for name, source in sources:
            try:
                families = source()
            except Exception:
                logger.warning("Could not read the %s metrics", name, exc_info=True)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def _execution_families() -> list[Metric]:
    current = tallies.current()
    families: list[Metric] = []
    for metric, (name, documentation, labels) in COUNTERS.items():
        family = CounterMetricFamily(name, documentation, labels=list(labels))
        for (kind, key), value in sorted(current.items()):
            if kind == metric:
                values = json.loads(key)
                family.add_metric([values[label] for label in labels], value)
        families.append(family)
    for metric, (name, documentation, labels, bounds) in HISTOGRAMS.items():
        families.append(_histogram(current, metric, name, documentation, labels, bounds))
    return families


def _histogram(current: dict[tallies.Key, float], metric: str, name: str, documentation: str,
               labels: tuple[str, ...], bounds: tuple[float, ...]) -> HistogramMetricFamily:
    counts: dict[tuple[str, ...], dict[float, float]] = defaultdict(dict)
    sums: dict[tuple[str, ...], float] = defaultdict(float)
    for (kind, key), value in current.items():
        if kind == f"{metric}_bucket":
            values = json.loads(key)
            counts[tuple(values[label] for label in labels)][float(values["le"])] = value
        elif kind == f"{metric}_sum":
            sums[tuple(json.loads(key)[label] for label in labels)] += value
    family = HistogramMetricFamily(name, documentation, labels=list(labels))
    for label_values in sorted(counts):
        cumulative, buckets = 0.0, []
        for bound in (*bounds, float("inf")):
            cumulative += counts[label_values].get(float(bound), 0.0)
            buckets.append((floatToGoString(bound), cumulative))
        family.add_metric(list(label_values), buckets, sums[label_values])
    return family


def _process_families() -> list[Metric]:
    families = {
        "size": GaugeMetricFamily("mbflow_db_pool_connections", "Open database connections of the process's pool.",
                                  labels=["process", "role"]),
        "idle": GaugeMetricFamily("mbflow_db_pool_connections_idle", "Of those, how many are idle.",
                                  labels=["process", "role"]),
        "max": GaugeMetricFamily("mbflow_db_pool_connections_max", "The pool's most (DB_MAX_CONNECTIONS).",
                                 labels=["process", "role"]),
        "waiting": GaugeMetricFamily("mbflow_db_pool_requests_waiting", "Threads waiting for a connection.",
                                     labels=["process", "role"]),
    }
    live = GaugeMetricFamily("mbflow_live_subscribers", "Live subscriptions over all processes: WebSocket groups "
                             "joined (an execution or a tenant feed) and SSE streams open.", labels=["transport"])
    snapshots = system.process_snapshots()
    for snapshot in snapshots:
        if "pool" in snapshot:
            for field, family in families.items():
                family.add_metric([snapshot["process"], snapshot["role"]], snapshot["pool"][field])
    live.add_metric(["websocket"], system.websocket_subscriptions())
    live.add_metric(["sse"], sum(snapshot.get("sse_streams", 0) for snapshot in snapshots))
    return [*families.values(), live]


def _queue_families() -> list[Metric]:
    family = GaugeMetricFamily("mbflow_queue_messages", "Messages waiting in each Celery queue (not those a worker "
                               "holds, nor those scheduled for later).", labels=["queue"])
    for queue, depth in system.queue_depths().items():
        family.add_metric([queue], depth)
    return [family]


def _business_families() -> list[Metric]:
    """``mbflow_business_<name>`` per metric the workflows declare (``spec.metrics``), labelled by
    tenant, workflow and the metric's own labels. A name two workflows declare with two types
    gets a family per type, the later ones named ``..._<type>``."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in business.series_totals():
        groups[row["metric"], row["type"]].append(row)
    families: list[Metric] = []
    named: set[str] = set()
    for (metric, kind), rows in groups.items():
        name = f"mbflow_business_{metric}" if metric not in named else f"mbflow_business_{metric}_{kind}"
        named.add(metric)
        own = sorted({label for row in rows for label in row["labels"]})
        labels = ["tenant", "workflow", *own]
        documentation = f"Business metric {metric} ({kind}) the workflows' runs feed (spec.metrics)."

        def values(row: dict[str, Any], own: list[str] = own) -> list[str]:
            return [row["tenant"], row["workflow"], *(row["labels"].get(label, "") for label in own)]

        if kind == "counter":
            counter = CounterMetricFamily(name, documentation, labels=labels)
            for row in rows:
                counter.add_metric(values(row), row["total"])
            families.append(counter)
        elif kind == "gauge":
            gauge = GaugeMetricFamily(name, documentation, labels=labels)
            for row in rows:
                if row["last"] is not None:
                    gauge.add_metric(values(row), row["last"])
            families.append(gauge)
        else:
            histogram = HistogramMetricFamily(name, documentation, labels=labels)
            for row in rows:
                cumulative, buckets = 0.0, []
                for bound, count in zip((*row["bounds"], float("inf")), row["buckets"], strict=False):
                    cumulative += count
                    buckets.append((floatToGoString(bound), cumulative))
                histogram.add_metric(values(row), buckets, row["total"])
            families.append(histogram)
    return families


def register(registry: Any) -> None:
    registry.register(MonitoringCollector())
