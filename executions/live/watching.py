"""Which live groups have a listener, so that the publisher skips groups nobody watches.

Sending to a channels-redis group costs about half a millisecond of CPU even when the group
is empty, twice per committed step; most executions are watched by nobody. A consumer counts
itself in before it joins its group and out after it leaves, and the publisher sends to a
group only while its count is above zero. A consumer that connects while a step commits is
either counted before the publisher looks (and gets the message) or joins after the publisher
looked (and the event is in the log, for the replay it may ask for): the same as before there
were counts. A count left by a process that died expires after ``WATCH_TTL``, longer than
channels-redis keeps a group member.

Only the Redis channel layer needs this; the in-memory layer of ``make run`` is not counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings

from executions.services.waiting import redis_client

logger = logging.getLogger(__name__)
WATCH_TTL = 2 * 86400


def counted() -> bool:
    return bool(settings.REDIS_URL)


def watch_key(group: str) -> str:
    return f"mbflow:watch:{group}"


def watch(group: str) -> None:
    pipe = redis_client().pipeline()
    pipe.incr(watch_key(group))
    pipe.expire(watch_key(group), WATCH_TTL)
    pipe.execute()


def unwatch(group: str) -> None:
    redis_client().decr(watch_key(group))  # left at zero; the TTL removes it


def watched_groups(groups: Sequence[str], publish: Sequence[tuple[str, bytes]] = ()) -> list[str]:
    """Those of ``groups`` a consumer listens to (all of them when Redis cannot tell: then send).
    ``publish``: (channel, message) pairs sent to Redis in the same round trip."""
    keys = [watch_key(group) for group in groups]
    try:
        if publish:
            pipe = redis_client().pipeline(transaction=False)
            pipe.mget(keys)
            for channel, message in publish:
                pipe.publish(channel, message)
            values = pipe.execute()[0]
        else:
            values = redis_client().mget(keys)
    except Exception:
        logger.warning("Could not read the watch counts of %s; sending anyway", ", ".join(groups))
        return list(groups)
    return [group for group, value in zip(groups, values, strict=True) if value is not None and int(value) > 0]


def watched(group: str) -> bool:
    """True while a consumer listens to ``group`` (and when Redis cannot tell: then send)."""
    return bool(watched_groups([group]))
