"""A webhook's token out of the web server's access log.

The token in ``/hooks/<token>`` is the webhook's credential. Django's own log lines pass the
redaction filter of the logging settings (``mbflow_site.logging``); uvicorn's access log has its
handlers of its own, and its formatter reads the request line from the record's arguments, so
this filter masks the token inside those arguments and keeps their shape.
"""

from __future__ import annotations

import logging

from mbflow_site.logging import redact

ACCESS_LOGGER = "uvicorn.access"


class RedactHookTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(arg) if isinstance(arg, str) and "/hooks/" in arg else arg for arg in record.args
            )
        elif isinstance(record.msg, str) and "/hooks/" in record.msg:
            record.msg = redact(record.msg)
        return True


def redact_access_log() -> None:
    """Adds the filter to uvicorn's access logger (once)."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, RedactHookTokens) for existing in access.filters):
        access.addFilter(RedactHookTokens())
