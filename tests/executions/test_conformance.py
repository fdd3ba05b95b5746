"""The language reference and the code agree, both ways, and every name has a scenario.

docs/workflow-language.md is read into names (``language_reference.documented``): the document's
keys, the node keys table, the retry, circuit breaker and rate limit policies, edges, compensation,
each built-in node type and its config keys, the functions and filters (and Jinja's built-ins,
which the reference includes), the trigger types and their keys. The code gives the same names
(``language_reference.defined``): the pydantic models, the node-type catalog, the expression
environment. A name on one side only fails here, saying which side lacks it.

The scenarios that run each name are in test_conformance_{policies,document,node_types,
expressions,triggers}.py; here, every name belongs to one of them and every scenario to a name.
"""

from __future__ import annotations

import pytest

from tests.executions import (
    test_conformance_document,
    test_conformance_expressions,
    test_conformance_node_types,
    test_conformance_policies,
    test_conformance_triggers,
)
from tests.executions.conformance import AREAS, area_of
from tests.executions.language_reference import REFERENCE_ONLY, defined, documented, where_defined

# Disagreements found, reported to the lead (each test is expected to fail until the docs or the
# code change, strictly: the change shows here).
KNOWN: dict[str, str] = {}
MODULES = {"policies": test_conformance_policies, "document": test_conformance_document,
           "node_types": test_conformance_node_types, "expressions": test_conformance_expressions,
           "triggers": test_conformance_triggers}


def _compared() -> list[object]:
    names = sorted((documented() | defined()) - {name for name in documented() if name.startswith(REFERENCE_ONLY)})
    return [pytest.param(name, id=name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN[name])]
                         if name in KNOWN else []) for name in names]


@pytest.mark.parametrize("name", _compared())
def test_the_reference_and_the_code_agree(name: str) -> None:
    in_docs, in_code = name in documented(), name in defined()
    assert in_docs, f"`{name}` is defined in {where_defined(name)} but docs/workflow-language.md does not document it"
    assert in_code, f"docs/workflow-language.md documents `{name}` but it is not defined in {where_defined(name)}"


def test_the_reference_is_read_whole() -> None:
    """The reader finds every part of the reference (a heading or a table it no longer finds
    would make a whole part disappear from both checks at once)."""
    heads = {name.split("=")[0].split(".")[0] for name in documented()}
    assert heads >= {"document", "metadata", "spec", "defaults", "node", "retry", "circuit_breaker", "rate_limit",
                     "position", "edge", "compensation", "type", "filter", "test", "trigger", "expression",
                     "statement", "method", "duration"}, heads
    assert len([name for name in documented() if name.startswith("type.")]) >= 15
    assert len([name for name in documented() if name.endswith("()")]) >= 6


def test_every_name_belongs_to_a_scenario_module() -> None:
    homeless = sorted(name for name in documented() | defined() if area_of(name) not in MODULES)
    assert not homeless, f"no conformance module covers {homeless}: add their prefix to conformance.AREAS"
    assert set(AREAS) | {"node_types"} == set(MODULES)


@pytest.mark.parametrize("area", sorted(MODULES))
def test_every_scenario_shows_a_name_of_its_module(area: str) -> None:
    """A scenario for a name neither documented nor defined (a key renamed or removed) is stale."""
    scenarios = MODULES[area].SCENARIOS
    stale = sorted(name for name in scenarios if name not in documented() | defined() or area_of(name) != area)
    assert not stale, f"scenarios for names the reference and the code no longer have: {stale}"
