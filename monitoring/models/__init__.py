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
from monitoring.models.tallies import Tally, TallyCursor
from monitoring.models.traces import TraceStart

__all__ = ["AlertFiring", "AlertNotification", "AlertRule", "AlertState", "FiringStatus", "MetricObservation",
           "MetricSeries", "NotificationStatus", "Severity", "Tally", "TallyCursor", "TraceStart"]
