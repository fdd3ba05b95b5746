"""Starts the server's Django in this process with every store in memory (embedded mode).

The settings are the server's own (``mbflow_site.settings``), changed before Django starts:

- the database is SQLite's ``memdb`` VFS: one in-memory database that every connection of the
  process shares (the engine's threads hold one each) with SQLite's ordinary locks and busy
  waits, and no file. It lives while a connection to it is open, so ``start`` keeps one open
  for the life of the process; the schema comes from the migrations, as on a server;
- no Redis and no broker: a local-memory cache, the in-memory channel layer, the in-process
  dispatcher (its own timers for nodes waiting for their time), circuit breakers in memory.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import uuid
from typing import Any

import django
from django.conf import settings
from django.core.management import call_command

from mbflow.errors import MBFlowError

SERVER_SETTINGS = "mbflow_site.settings"
_started = threading.Lock()
_anchor: sqlite3.Connection | None = None


def embedded_settings(database: str) -> dict[str, Any]:
    return {
        "DATABASES": {"default": {
            "ENGINE": "django.db.backends.sqlite3", "NAME": database, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"}, "HOST": "", "PORT": "", "USER": "",
            "PASSWORD": "", "ATOMIC_REQUESTS": False, "AUTOCOMMIT": True, "TIME_ZONE": None, "TEST": {}}},
        "IS_POSTGRES": False,
        "REDIS_URL": "",
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        "CHANNEL_LAYERS": {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
        "CELERY_BROKER_URL": "",
        "MBFLOW_DISPATCHER": "embedded",
        # A node waiting for its time is a timer of the in-process dispatcher, not a row a pump
        # polls for: one process, nothing to share. (The database pump also misreads SQLite's rows
        # for now: its due times come back naive and its execution ids without dashes.)
        "MBFLOW_TIMERS": "messages",
        "DEBUG": False,
    }


def start() -> None:
    """Starts Django once per process (later calls return at once)."""
    global _anchor
    with _started:
        if _anchor is not None:
            return
        chosen = os.environ.get("DJANGO_SETTINGS_MODULE", SERVER_SETTINGS)
        if settings.configured or chosen != SERVER_SETTINGS:
            raise MBFlowError("Embedded mode starts MBFlow's own Django settings in this process; this process "
                              f"already has Django settings ({chosen}). Run it in a process of its own.")
        # The server's settings keep a key file when SECRET_KEY is unset; a run in memory needs
        # no key that outlives it.
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
        os.environ["DJANGO_SETTINGS_MODULE"] = SERVER_SETTINGS
        database = f"file:/mbflow-embedded-{uuid.uuid4().hex}?vfs=memdb"
        for name, value in embedded_settings(database).items():
            setattr(settings, name, value)
        level = os.environ.get("MBFLOW_EMBEDDED_LOG_LEVEL", "WARNING").upper()
        settings.LOGGING = {**settings.LOGGING, "root": {**settings.LOGGING["root"], "level": level}}
        _anchor = sqlite3.connect(database, uri=True, check_same_thread=False)
        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
