from monitoring.models.alerts import (
    AlertFiring,
    AlertNotification,
    AlertRule,
    AlertState,
    FiringStatus,
    NotificationStatus,
    Severity,
)
from monitoring.models.business import MetricObservation, MetricSeries
from monitoring.models.rollups import ExecutionRollup, NodeRollup, RollupDirty, RollupPeriod
from monitoring.models.tallies import Tally, TallyCursor
from monitoring.models.traces import TraceStart

__all__ = ["AlertFiring", "AlertNotification", "AlertRule", "AlertState", "ExecutionRollup", "FiringStatus",
           "MetricObservation", "MetricSeries", "NodeRollup", "NotificationStatus", "RollupDirty", "RollupPeriod",
           "Severity", "Tally", "TallyCursor", "TraceStart"]
