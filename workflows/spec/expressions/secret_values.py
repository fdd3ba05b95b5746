"""Secret values inside expressions: opaque objects that flow whole, never as text.

``secrets.NAME`` evaluates to a ``Secret``: it has no attribute, no item, no length, no
comparison, and it cannot go through a filter, a method or an operator other than
concatenation. Text that concatenates a secret (``"Bearer {{ secrets.TOKEN }}"``, ``'k=' ~
secrets.KEY``) becomes a ``SecretText``, which is just as opaque. Turned into text any other way
(``str()``, JSON, a log line), both read ``[secret]``. Only ``reveal`` gives the real text back,
and only the executors that send a value out (an HTTP call, an LLM call) call it, on the request
they are about to send. So no form derived from a secret can be computed inside a workflow,
stored in an output or an event, or returned by the API: the expression language never holds the
secret's characters at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from workflows.spec.expressions.errors import SecretMisuse

MASK = "[secret]"


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise SecretMisuse("A secret cannot be compared or taken apart; it can only be used whole.")


class Secret:
    """One secret of the tenant, by name; its value is read only by ``reveal``."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self._value = value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return MASK

    def __bool__(self) -> bool:
        return True

    def __reduce__(self) -> NoReturn:
        raise TypeError("A secret cannot be serialised.")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse  # type: ignore[assignment]
    __hash__ = object.__hash__


class SecretText:
    """Text made of plain parts and secrets, as concatenation built it."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[str | Secret, ...]) -> None:
        self.parts = parts

    def __str__(self) -> str:
        return "".join(part if isinstance(part, str) else MASK for part in self.parts)

    def __repr__(self) -> str:
        return repr(str(self))

    def __bool__(self) -> bool:
        return True

    def __reduce__(self) -> NoReturn:
        raise TypeError("A secret cannot be serialised.")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse  # type: ignore[assignment]
    __hash__ = object.__hash__


SECRET_TYPES = (Secret, SecretText)


def is_secret(value: Any) -> bool:
    return isinstance(value, SECRET_TYPES)


def join_parts(parts: Iterable[Any]) -> str | SecretText:
    """Concatenates strings and secrets: a plain ``str`` when no secret is among them."""
    flat: list[str | Secret] = []
    secret = False
    for part in parts:
        if isinstance(part, Secret):
            flat.append(part)
            secret = True
        elif isinstance(part, SecretText):
            flat.extend(part.parts)
            secret = True
        else:
            flat.append(part if isinstance(part, str) else str(part))
    if not secret:
        return "".join(flat)  # type: ignore[arg-type]
    return SecretText(tuple(flat))


def reveal(value: Any) -> Any:
    """``value`` with every secret replaced by its real text: for a request about to be sent."""
    if isinstance(value, Secret):
        return value._value
    if isinstance(value, SecretText):
        return "".join(part if isinstance(part, str) else part._value for part in value.parts)
    if isinstance(value, dict):
        return {reveal(key): reveal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [reveal(item) for item in value]
    return value


def holds_secret(value: Any) -> bool:
    """Whether a secret is anywhere inside ``value`` (walked without recursion)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, SECRET_TYPES):
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False
