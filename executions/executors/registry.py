from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from executions.executors.base import Executor

_EXECUTORS: dict[str, Executor] = {}
E = TypeVar("E", bound=type[Executor])


class UnknownExecutor(LookupError):
    pass


def executor(type_name: str) -> Callable[[E], E]:
    """Registers the decorated Executor class as the runtime of node type ``type_name``."""

    def register(cls: E) -> E:
        cls.type = type_name
        _EXECUTORS[type_name] = cls()
        return cls

    return register


def get_executor(type_name: str) -> Executor:
    try:
        return _EXECUTORS[type_name]
    except KeyError:
        raise UnknownExecutor(f"No executor is registered for node type {type_name!r}.") from None


def is_light(type_name: str) -> bool:
    found = _EXECUTORS.get(type_name)
    return bool(found and found.light)


def registered_types() -> list[str]:
    return sorted(_EXECUTORS)
