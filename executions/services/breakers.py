"""A tenant's circuit breakers: their current state, and a reset (admins).

The state lives behind the engine's breaker store (Redis, or this process's memory when
embedded), never in the database; these functions are all the API and the admin use of it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from executions.engine import ports
from executions.engine.breakers import BreakerState, closed_state
from mbflow_site.errors import NotFound
from workflows.models import Tenant

logger = logging.getLogger(__name__)


def breaker_time(seconds: float) -> datetime:
    """A breaker's time (epoch seconds, as stored) as an aware datetime in UTC."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def breaker_states(tenant: Tenant) -> list[BreakerState]:
    """Every breaker of the tenant that has seen a call, by key."""
    return ports.breaker_store().states(tenant.pk)


def do_reset_breaker(tenant: Tenant, key: str, *, by: str = "") -> BreakerState:
    """Closes the tenant's breaker ``key`` and forgets its counts; NotFound when the tenant has
    no such breaker (another tenant's breaker of the same key is another breaker)."""
    store = ports.breaker_store()
    if not store.reset(tenant.pk, key):
        raise NotFound(f"No circuit breaker {key!r}.")
    logger.info("circuit breaker %s of tenant %s reset by %s", key, tenant.slug, by or "?")
    # Read back, since a call may already have been counted since the reset.
    return next((state for state in store.states(tenant.pk) if state.key == key), None) or closed_state(
        key, time.time())
