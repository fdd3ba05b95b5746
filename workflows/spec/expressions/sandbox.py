"""The Jinja environment expressions run in: immutable sandbox, no compile-time evaluation, and a
check of CPU time and size at every step that could repeat or allocate.

What it changes from Jinja's ``ImmutableSandboxedEnvironment``:

- Nothing is evaluated while compiling (the optimizer is off, output is finalized at run time,
  ``* ** + %`` are intercepted), so validating a document never computes ``9 ** 9 ** 8``.
- ``* ** + %``, ``~``, every filter, every call and every ``{% for %}`` iteration ticks the
  budget (``limits.Budget``); those that can build something much larger than their operands
  (``'a' * n``, ``x ** n``, ``center(n)``, ``replace``, ``join``, format widths, ``range``...)
  are checked before they allocate (``checks``), the others measured after.
- Only ``{% if %}``, ``{% for %}`` (not recursive), ``{% set x = ... %}`` and ``{% with %}``
  statements: macros, call/filter/set blocks and template inheritance are refused, so all
  output passes through ``finalize`` and the counted collector of ``render``.
- Methods of data values are limited to a known list (``str.upper``, ``dict.items``...).
- A secret (``secret_values.Secret``) passes through nothing but concatenation and output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace, _PassArg

from workflows.spec.expressions.checks import (
    AFTER,
    BEFORE,
    SECRET_SAFE,
    brace_format_size,
    check_power,
    check_repeat,
    length,
    method_check,
    percent_format_size,
)
from workflows.spec.expressions.errors import ExpressionLimit, SecretMisuse
from workflows.spec.expressions.functions import FILTERS, GLOBALS
from workflows.spec.expressions.limits import Budget, active, measure
from workflows.spec.expressions.secret_values import is_secret, join_parts

SECRET_HINT = ("a secret can only be used whole, as a config value or joined into text with `~` or "
               "`{{ }}` (such as \"Bearer {{ secrets.TOKEN }}\")")


def _refuse_secret(what: str) -> SecretMisuse:
    return SecretMisuse(f"A secret cannot go through {what}: {SECRET_HINT}.")


def _materialize(items: Iterator[Any], budget: Budget, what: str) -> list[Any]:
    """A filter's lazy result as a list, counted as it is built."""
    result = []
    limit = budget.limits.max_size
    for item in items:
        budget.tick()
        result.append(item)
        if len(result) > limit:
            raise ExpressionLimit(f"{what} has more than {limit:,} items.")
    return result


def _size_of(name: str, value: Any, limit: int) -> int:
    """What a filter built: its length (a list of what existed already costs its references),
    or its whole size for ``jmespath``, whose projections can repeat values."""
    if name == "jmespath":
        return measure(value, limit)
    return length(value)


def _checked_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    passes = _PassArg.from_obj(func)
    before = BEFORE.get(name)
    after = name in AFTER
    secret_safe = name in SECRET_SAFE
    what = f"The result of the `{name}` filter"

    @pass_context
    def checked(context: Context, value: Any, *args: Any, **named: Any) -> Any:
        budget = active()
        budget.tick()
        if not secret_safe and (is_secret(value) or any(map(is_secret, args)) or any(map(is_secret, named.values()))):
            raise _refuse_secret(f"the `{name}` filter")
        if before is not None:
            before(budget, value, *args, **named)
        if passes is _PassArg.context:
            result = func(context, value, *args, **named)
        elif passes is _PassArg.eval_context:
            result = func(context.eval_ctx, value, *args, **named)
        elif passes is _PassArg.environment:
            result = func(context.environment, value, *args, **named)
        else:
            result = func(value, *args, **named)
        if isinstance(result, Iterator):
            result = _materialize(result, budget, what)
        if after:
            budget.allow(_size_of(name, result, budget.limits.max_size), what)
        return result

    return checked


@pass_context
def _loop_items(context: Context, items: Any) -> Iterator[Any]:
    """Wraps the iterable of every ``{% for %}``: each iteration ticks the budget."""
    if is_secret(items):
        raise _refuse_secret("a loop")
    budget = active()
    for item in items:
        budget.tick()
        yield item


# ----------------------------------------------------------------------------- the compiler


class _CodeGenerator(CodeGenerator):
    """Output goes through ``environment.finalize`` untouched by ``str()`` (so a secret stays an
    object until the collector), and ``~`` through ``environment.concat_checked``."""

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(finalize.src)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_checked((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


_ALLOWED_STATEMENTS = (nodes.Output, nodes.If, nodes.For, nodes.Assign, nodes.With)
LOOP_FILTER = "_mbflow_loop"
_RUNTIME_OBJECTS = (LoopContext, Cycler, Joiner)


def _guard(tree: nodes.Template) -> None:
    """Refuses the statements whose output would escape the counted collector, and makes every
    loop tick the budget."""
    for statement in tree.find_all(nodes.Stmt):
        if not isinstance(statement, _ALLOWED_STATEMENTS):
            keyword = type(statement).__name__.lower()
            raise TemplateSyntaxError(
                f"`{{% {keyword} %}}` is not supported in workflow expressions (use if, for, set, with).",
                statement.lineno)
        if isinstance(statement, nodes.For):
            if statement.recursive:
                raise TemplateSyntaxError("A recursive loop is not supported in workflow expressions.",
                                          statement.lineno)
            statement.iter = nodes.Filter(statement.iter, LOOP_FILTER, [], [], None, None,
                                          lineno=statement.lineno)


class DataEnvironment(ImmutableSandboxedEnvironment):
    """Workflow data is JSON: ``output.items`` is the key ``items``, not ``dict.items``."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=ChainableUndefined, autoescape=False, optimized=False, finalize=_finalize)
        self.globals.pop("lipsum", None)
        self.globals.update(GLOBALS)
        self.filters.update(FILTERS)
        self.filters = {name: _checked_filter(name, func) for name, func in self.filters.items()}
        self.filters[LOOP_FILTER] = _loop_items
        self._allowed_calls = {id(function) for function in (*GLOBALS.values(), dict, Namespace, Cycler, Joiner)}

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """The globals of a template as one plain dict, not Jinja's ``ChainMap`` over the
        environment's: every render copies them into its context, and copying a ``ChainMap``
        is a Python loop (8 of the 25 us of a node's ``{{ upstream.v + 1 }}``). The
        environment's globals are set once, above, before any template is made."""
        return {**self.globals, **(d or {})}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        _guard(tree)
        return tree

    # --- reading values ---------------------------------------------------------------
    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        if is_secret(obj):
            raise _refuse_secret(f"`.{attribute}`")
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if is_secret(obj):
            raise _refuse_secret("`[...]`")
        return super().getitem(obj, argument)

    # --- operators, concatenation, output ------------------------------------------------
    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = active()
        budget.tick()
        if is_secret(left) or is_secret(right):
            if operator == "+" and all(isinstance(side, str) or is_secret(side) for side in (left, right)):
                return join_parts((left, right))
            raise _refuse_secret(f"`{operator}`")
        if operator == "*":
            check_repeat(budget, left, right)
        elif operator == "**":
            check_power(budget, left, right)
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                budget.allow(len(left) + len(right), "The sum")
        elif operator == "%" and isinstance(left, str):
            percent_format_size(budget, left, right)
        return self.binop_table[operator](left, right)

    def concat_checked(self, parts: tuple[Any, ...]) -> Any:
        budget = active()
        budget.tick()
        texts = [part if isinstance(part, str) or is_secret(part) else _finalize_value(budget, part)
                 for part in parts]
        budget.allow(sum(len(part) if isinstance(part, str) else 8 for part in texts), "The joined text")
        return join_parts(texts)

    # --- calls ------------------------------------------------------------------------
    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = active()
        budget.tick()
        check = method_check(__obj)
        if check is not None:
            if any(map(is_secret, args)) or any(map(is_secret, kwargs.values())):
                raise _refuse_secret(f"`{getattr(__obj, '__name__', 'a method')}()`")
            check(budget, __obj.__self__, *args, **kwargs)
        elif not (id(__obj) in __self._allowed_calls or getattr(__obj, "_mbflow_checked", False)
                  or isinstance(__obj, Joiner | Undefined)
                  or isinstance(getattr(__obj, "__self__", None), _RUNTIME_OBJECTS)):
            name = getattr(__obj, "__name__", type(__obj).__name__)
            raise ExpressionLimit(f"Calling `{name}()` is not supported in workflow expressions.")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            budget = active()
            if is_secret(template) or any(map(is_secret, args)) or any(map(is_secret, kwargs.values())):
                raise _refuse_secret("`.format()`")
            brace_format_size(budget, template, [args, kwargs])
            return wrapped(*args, **kwargs)

        checked._mbflow_checked = True  # type: ignore[attr-defined]
        return checked


def _finalize_value(budget: Budget, value: Any) -> Any:
    if isinstance(value, str) or is_secret(value):
        return value
    if isinstance(value, Undefined):
        return str(value)
    if not isinstance(value, int | float | bool) and value is not None:
        budget.allow(measure(value, budget.limits.max_size), "The printed value")
    return str(value)


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Every ``{{ }}`` inside text: a string, or a secret kept whole for the collector."""
    return _finalize_value(active(), value)


ENV = DataEnvironment()
