"""The errors an expression raises: bad syntax or a failed evaluation, going over a limit, and
a secret used in a way that would expose it."""

from __future__ import annotations


class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated.

    ``path`` is where the expression sits inside the value being rendered (``("mapping",
    "total")``), filled in as the error travels up through ``render_value``.
    """

    code = "expression_error"

    def __init__(self, message: str, expression: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.line = line
        self.path: list[str | int] = []

    @property
    def field(self) -> str:
        """The dotted path of the expression inside the rendered value (``mapping.total``)."""
        return ".".join(f"[{part}]" if isinstance(part, int) else part for part in self.path).replace(".[", "[")


class ExpressionLimit(ExpressionError):
    """The expression went over its CPU time or size budget, or would have."""

    code = "expression_limit"


class ExpressionTimeout(ExpressionLimit):
    """The expression ran past the deadline of the node evaluating it (its ``timeout``)."""

    code = "timeout"


class SecretMisuse(ExpressionError):
    """A secret was passed where it would be transformed, compared or taken apart."""

    code = "secret_misuse"
