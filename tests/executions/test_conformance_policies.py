"""Conformance of the node keys and the engine's policies (retry, timeouts, fallbacks,
compensation, circuit breakers, limits) and edges: every key the reference documents or the
models define, run on both dispatchers, each with its observable effect.

The names come from ``language_reference`` (docs/workflow-language.md and workflows/spec/models.py);
a name without a scenario here fails, naming itself.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from tests.executions.conformance import BOTH, Harness, Scenario, Seen, cases, doc, group, missing, observe, steps

# ----------------------------------------------------------------------------- nodes and edges

FLOW = """
  nodes:
    - {id: start, name: Start here, description: The first node, type: transform, position: {x: 10, y: 20},
       config: {mapping: {n: "{{ input.n }}"}}}
    - {id: guarded, type: transform, when: "{{ input.n > 100 }}", config: {mapping: {ran: true}}}
    - {id: behind_guard, type: noop}
    - {id: never, type: noop, when: false}
    - {id: broken, type: fail, config: {message: "broken at {{ input.n }}"}}
    - {id: on_success, type: noop}
    - {id: on_failure, type: transform, config: {mapping: {read: "{{ nodes.broken.error.message }}"}}}
    - {id: always_after_success, type: noop}
    - {id: always_after_failure, type: noop}
    - {id: check, type: condition, config: {expression: "{{ input.n > 1 }}"}}
    - {id: when_true, type: noop}
    - {id: when_false, type: noop}
    - {id: big, type: noop}
    - {id: small, type: noop}
  edges:
    - {from: start, to: guarded}
    - {from: guarded, to: behind_guard}
    - {from: start, to: broken}
    - {from: broken, to: on_success}
    - {from: broken, to: on_failure, on: failure}
    - {from: start, to: always_after_success, on: always}
    - {from: broken, to: always_after_failure, on: always}
    - {id: the-true-way, from: check, to: when_true, port: "true"}
    - {from: check, to: when_false, port: "false"}
    - {from: start, to: big, condition: "{{ output.n > 1 }}"}
    - {from: start, to: small, condition: "output.n <= 1"}
  output: {n: "{{ nodes.start.output.n }}"}
"""


@group(BOTH)
def flow(h: Harness) -> Seen:
    name = h.put("flow", FLOW)
    execution = h.run(name, {"n": 5})
    exported = yaml.safe_load(h.editor.get(f"/api/v1/workflows/{name}/export").content)
    unknown_type = h.validate(h.fill(_one_node("{id: x, type: no_such_type}")))
    bad_config = h.validate(h.fill(_one_node("{id: x, type: transform, config: {mapping: {}, surprise: 1}}")))
    return {"execution": execution, "steps": steps(execution), "exported": exported,
            "unknown_type": unknown_type, "bad_config": bad_config}


def _one_node(node: str) -> str:
    return f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: probe}}\nspec:\n  nodes:\n    - {node}\n"


def _statuses(seen: Seen, *nodes: str) -> dict[str, str]:
    return {node: seen["steps"][node]["status"] for node in nodes}


def _exported_node(seen: Seen, node_id: str) -> dict[str, Any]:
    return next(node for node in seen["exported"]["spec"]["nodes"] if node["id"] == node_id)


def check_node_id(seen: Seen) -> None:
    assert seen["execution"]["status"] == "succeeded", seen["execution"]["error"]
    assert seen["steps"]["start"]["output"] == {"n": 5}  # the step is the node's id
    assert seen["execution"]["output"] == {"n": 5}  # nodes.<id>.output reads it


def check_node_type(seen: Seen) -> None:
    assert seen["steps"]["check"]["output"] is True  # the condition executor ran it
    assert seen["steps"]["broken"]["error"]["code"] == "failed"  # and the fail executor this one
    assert not seen["unknown_type"]["valid"]
    assert any(error["code"] == "unknown_node_type" for error in seen["unknown_type"]["errors"]), seen["unknown_type"]


def check_node_config(seen: Seen) -> None:
    assert seen["steps"]["start"]["input"] == {"mapping": {"n": 5}}  # rendered, then run
    assert not seen["bad_config"]["valid"]
    assert any("surprise" in str(error["path"]) for error in seen["bad_config"]["errors"]), seen["bad_config"]


def check_node_when(seen: Seen) -> None:
    assert _statuses(seen, "guarded", "behind_guard", "never") == {
        "guarded": "skipped", "behind_guard": "skipped", "never": "skipped"}
    assert seen["steps"]["guarded"]["error"] is None  # skipped, not failed


def check_display_keys(key: str) -> Any:
    def check(seen: Seen) -> None:
        node = _exported_node(seen, "start")
        expected = {"name": "Start here", "description": "The first node", "position": {"x": 10, "y": 20}}[key]
        assert node[key] == expected  # kept with the workflow for the designer; the run is unchanged
        assert seen["steps"]["start"]["status"] == "succeeded"

    return check


def check_position_key(axis: str) -> Any:
    def check(seen: Seen) -> None:
        assert _exported_node(seen, "start")["position"][axis] == {"x": 10, "y": 20}[axis]

    return check


def check_edge_from_to(seen: Seen) -> None:
    assert seen["steps"]["broken"]["input"] == {"message": "broken at 5"}
    assert seen["steps"]["on_failure"]["output"] == {"read": "broken at 5"}  # ran after `from`, read it


def check_edge_on_success(seen: Seen) -> None:
    assert _statuses(seen, "on_success", "behind_guard") == {"on_success": "skipped", "behind_guard": "skipped"}
    assert seen["steps"]["check"]["status"] == "succeeded"


def check_edge_on_failure(seen: Seen) -> None:
    assert seen["steps"]["on_failure"]["status"] == "succeeded"
    assert seen["execution"]["status"] == "succeeded"  # the failure was handled


def check_edge_on_always(seen: Seen) -> None:
    assert _statuses(seen, "always_after_success", "always_after_failure") == {
        "always_after_success": "succeeded", "always_after_failure": "succeeded"}


def check_edge_on(seen: Seen) -> None:
    check_edge_on_success(seen)
    check_edge_on_failure(seen)
    check_edge_on_always(seen)


def check_edge_port(seen: Seen) -> None:
    assert _statuses(seen, "when_true", "when_false") == {"when_true": "succeeded", "when_false": "skipped"}


def check_edge_condition(seen: Seen) -> None:
    assert _statuses(seen, "big", "small") == {"big": "succeeded", "small": "skipped"}


def check_edge_id(seen: Seen) -> None:
    edge = next(edge for edge in seen["exported"]["spec"]["edges"] if edge.get("to") == "when_true")
    assert edge["id"] == "the-true-way"  # kept for the designer
    assert seen["steps"]["when_true"]["status"] == "succeeded"


# ----------------------------------------------------------------------------- retries

RETRIES = """
  defaults:
    timeout: 200ms
    retry: {max_attempts: 2, backoff: fixed, initial_delay: 50ms, jitter: false}
  nodes:
    - id: flaky
      type: http
      config: {url: "@url/flaky?fail=2&key=flaky-@tag"}
      retry: {max_attempts: 3, backoff: fixed, initial_delay: 50ms, jitter: false}
    - {id: inherits, type: http, config: {url: "@url/status/503?key=inherits-@tag"}}
    - {id: slow, type: http, config: {url: "@url/sleep?ms=1500&key=slow-@tag"}}
    - id: fixed
      type: http
      config: {url: "@url/status/503?key=fixed-@tag"}
      retry: {max_attempts: 4, backoff: fixed, initial_delay: 50ms, jitter: false}
    - id: linear
      type: http
      config: {url: "@url/status/503?key=linear-@tag"}
      retry: {max_attempts: 4, backoff: linear, initial_delay: 50ms, jitter: false}
    - id: exponential
      type: http
      config: {url: "@url/status/503?key=exponential-@tag"}
      retry: {max_attempts: 4, backoff: exponential, initial_delay: 50ms, jitter: false}
    - id: multiplied
      type: http
      config: {url: "@url/status/503?key=multiplied-@tag"}
      retry: {max_attempts: 4, backoff: exponential, initial_delay: 50ms, multiplier: 3, jitter: false}
    - id: capped
      type: http
      config: {url: "@url/status/503?key=capped-@tag"}
      retry: {max_attempts: 4, backoff: exponential, initial_delay: 50ms, max_delay: 120ms, jitter: false}
    - id: late
      type: http
      config: {url: "@url/status/503?key=late-@tag"}
      retry: {max_attempts: 2, backoff: fixed, initial_delay: 250ms, jitter: false}
    - id: jittered
      type: http
      config: {url: "@url/status/503?key=jittered-@tag"}
      retry: {max_attempts: 5, backoff: fixed, initial_delay: 100ms, jitter: true}
    - {id: handled, type: noop}
  edges:
"""
FAILING = ("inherits", "slow", "fixed", "linear", "exponential", "multiplied", "capped", "late", "jittered")


@group(BOTH)
def retries(h: Harness) -> Seen:
    edges = "".join(f"    - {{from: {node}, to: handled, on: failure}}\n" for node in FAILING)
    name = h.put("retries", RETRIES + edges)
    execution = h.run(name)
    return {"execution": execution, "steps": steps(execution),
            "events": {node: h.events(execution["id"], node) for node in (*FAILING, "flaky")},
            "calls": {node: len(h.calls(f"{node}-{h.tag}")) for node in (*FAILING, "flaky")}}


def _delays(seen: Seen, node: str) -> list[float]:
    """Seconds from each failure to the retry it scheduled; and each retry started no sooner."""
    events = seen["events"][node]
    delays = []
    for index, event in enumerate(events):
        if event["type"] != "node.retrying":
            continue
        due = datetime.fromisoformat(event["payload"]["scheduled_at"])
        delays.append((due - event["time"]).total_seconds())
        started = next(later for later in events[index + 1:] if later["type"] == "node.started")
        assert started["time"] >= due - timedelta(milliseconds=10), (node, index)
    return delays


def _close(delays: list[float], expected: list[float]) -> bool:
    return len(delays) == len(expected) and all(abs(a - b) < 0.015 for a, b in zip(delays, expected, strict=True))


def check_node_retry(seen: Seen) -> None:
    # The node's own policy (3 attempts) overrides the defaults' (2): the third attempt succeeds.
    flaky = seen["steps"]["flaky"]
    assert (flaky["status"], flaky["attempt"]) == ("succeeded", 3), flaky
    assert flaky["output"]["body"] == {"ok": True, "hit": 3}


def check_defaults_retry(seen: Seen) -> None:
    inherits = seen["steps"]["inherits"]  # no retry of its own: the defaults' two attempts
    assert (inherits["status"], inherits["attempt"], seen["calls"]["inherits"]) == ("failed", 2, 2), inherits
    assert _close(_delays(seen, "inherits"), [0.05])


def check_defaults_timeout(seen: Seen) -> None:
    slow = seen["steps"]["slow"]  # no timeout of its own: the defaults' 200ms, each attempt
    assert (slow["status"], slow["error"]["code"], slow["attempt"]) == ("timed_out", "timeout", 2), slow


def check_spec_defaults(seen: Seen) -> None:
    check_defaults_retry(seen)
    check_defaults_timeout(seen)


def check_max_attempts(seen: Seen) -> None:
    assert seen["calls"]["flaky"] == 3
    assert (seen["steps"]["fixed"]["status"], seen["steps"]["fixed"]["attempt"]) == ("failed", 4)
    assert seen["calls"]["fixed"] == 4


def check_backoff(kind: str, expected: list[float]) -> Any:
    def check(seen: Seen) -> None:
        delays = _delays(seen, kind)
        assert _close(delays, expected), f"{kind} backoff: {delays}, expected {expected}"

    return check


def check_backoff_key(seen: Seen) -> None:
    for kind, expected in (("fixed", [0.05] * 3), ("linear", [0.05, 0.1, 0.15]), ("exponential", [0.05, 0.1, 0.2])):
        check_backoff(kind, expected)(seen)


def check_initial_delay(seen: Seen) -> None:
    assert _close(_delays(seen, "late"), [0.25]), _delays(seen, "late")
    assert _close(_delays(seen, "fixed"), [0.05] * 3)


def check_multiplier(seen: Seen) -> None:
    assert _close(_delays(seen, "multiplied"), [0.05, 0.15, 0.45]), _delays(seen, "multiplied")


def check_max_delay(seen: Seen) -> None:
    assert _close(_delays(seen, "capped"), [0.05, 0.1, 0.12]), _delays(seen, "capped")


def check_jitter(seen: Seen) -> None:
    jittered = _delays(seen, "jittered")
    assert len(jittered) == 4 and all(0.05 - 0.005 <= delay <= 0.1 + 0.005 for delay in jittered), jittered
    assert len({round(delay, 3) for delay in jittered}) > 1, jittered  # spread, not one value
    assert len({round(delay, 3) for delay in _delays(seen, "fixed")}) == 1  # without jitter: exact


# ----------------------------------------------------------------------------- timeouts

TIMEOUTS = """
  nodes:
    - {id: plain, type: http, timeout: 150ms, config: {url: "@url/sleep?ms=1500&key=plain-@tag"}}
    - id: ignored
      type: http
      timeout: 150ms
      timeout_action: ignore
      retry: {max_attempts: 3, initial_delay: 10ms}
      config: {url: "@url/sleep?ms=1500&key=ignored-@tag"}
    - {id: after_ignored, type: transform, config: {mapping: {got: "{{ nodes.ignored.output }}"}}}
    - id: retried
      type: http
      timeout: 150ms
      timeout_action: retry
      retry: {max_attempts: 2, backoff: fixed, initial_delay: 10ms, jitter: false}
      config: {url: "@url/sleep?ms=1500&key=retried-@tag"}
    - id: falls_back
      type: http
      timeout: 150ms
      timeout_action: fallback
      retry: {max_attempts: 3, initial_delay: 10ms}
      fallback: stand_in
      config: {url: "@url/sleep?ms=1500&key=falls_back-@tag"}
    - {id: stand_in, type: transform, config: {mapping: {from: stand_in}}}
    - {id: handled, type: noop}
  edges:
    - {from: ignored, to: after_ignored}
    - {from: plain, to: handled, on: failure}
    - {from: retried, to: handled, on: failure}
"""

CLEANUP = """
  nodes:
    - {id: first, type: transform, config: {mapping: {done: true}}}
    - id: slow
      type: http
      timeout: 150ms
      timeout_action: cancel_and_cleanup
      retry: {max_attempts: 3, initial_delay: 10ms}
      fallback_output: {replaced: true}
      config: {url: "@url/sleep?ms=1500&key=cleanup-@tag"}
    - {id: undo_first, type: http, config: {url: "@url/echo?key=undo-first-@tag"}}
  edges:
    - {from: first, to: slow}
  compensation:
    - {node: undo_first, compensates: first}
"""


@group(BOTH)
def timeouts(h: Harness) -> Seen:
    name, cleanup = h.put("timeouts", TIMEOUTS), h.put("cleanup", CLEANUP)
    timed, cleaned = h.run_all([(name, None), (cleanup, None)])
    return {"execution": timed, "steps": steps(timed), "events": {n: h.events(timed["id"], n) for n in ("ignored",)},
            "calls": {key: len(h.calls(f"{key}-{h.tag}")) for key in ("retried", "falls_back", "cleanup",
                                                                      "undo-first", "ignored")},
            "cleanup": cleaned, "cleanup_steps": steps(cleaned)}


def check_node_timeout(seen: Seen) -> None:
    plain = seen["steps"]["plain"]
    assert (plain["status"], plain["error"]["code"]) == ("timed_out", "timeout"), plain


def check_timeout_action_ignore(seen: Seen) -> None:
    ignored = seen["steps"]["ignored"]
    assert (ignored["status"], ignored["output"], ignored["attempt"]) == ("succeeded", None, 1), ignored
    succeeded = [e for e in seen["events"]["ignored"] if e["type"] == "node.succeeded"]
    assert succeeded[-1]["payload"]["ignored_error"]["code"] == "timeout"
    assert seen["steps"]["after_ignored"]["output"] == {"got": None}


def check_timeout_action_retry(seen: Seen) -> None:
    retried = seen["steps"]["retried"]
    assert (retried["status"], retried["attempt"]) == ("timed_out", 2), retried
    assert seen["calls"]["retried"] == 2


def check_timeout_action_fallback(seen: Seen) -> None:
    falls_back = seen["steps"]["falls_back"]
    assert (falls_back["status"], falls_back["attempt"]) == ("succeeded", 1), falls_back  # no retry
    assert falls_back["output"] == {"from": "stand_in"}
    assert falls_back["error"]["replaced_by"] == "stand_in"
    assert seen["calls"]["falls_back"] == 1


def check_timeout_action_cancel(seen: Seen) -> None:
    slow = seen["cleanup_steps"]["slow"]
    assert (slow["status"], slow["attempt"]) == ("timed_out", 1), slow  # no retry, no fallback_output
    assert seen["calls"]["cleanup"] == 1
    assert seen["cleanup"]["status"] == "failed"
    assert seen["cleanup"]["compensation"]["nodes"] == ["undo_first"]  # and it compensated
    assert seen["calls"]["undo-first"] == 1


def check_timeout_action(seen: Seen) -> None:
    check_timeout_action_ignore(seen)
    check_timeout_action_retry(seen)
    check_timeout_action_fallback(seen)
    check_timeout_action_cancel(seen)


# ----------------------------------------------------------------------------- fallbacks

FALLBACKS = """
  nodes:
    - {id: call, type: http, config: {url: "@url/status/500?key=call-@tag"}, fallback: backup}
    - {id: backup, type: transform, config: {mapping: {source: backup, why: "{{ nodes.call.error.code }}"}}}
    - {id: after_call, type: transform, config: {mapping: {got: "{{ nodes.call.output.source }}"}}}
    - {id: fine, type: http, config: {url: "@url/echo?key=fine-@tag"}, fallback: unused}
    - {id: unused, type: transform, config: {mapping: {source: unused}}}
    - id: missing
      type: http
      config: {url: "@url/status/404?key=missing-@tag"}
      retry: {max_attempts: 3, initial_delay: 10ms}
      fallback_output: {found: false, at: "{{ input.at }}"}
    - {id: after_missing, type: transform, config: {mapping: {found: "{{ nodes.missing.output.found }}"}}}
  edges:
    - {from: call, to: after_call}
    - {from: missing, to: after_missing}
"""


@group(BOTH)
def fallbacks(h: Harness) -> Seen:
    execution = h.run(h.put("fallbacks", FALLBACKS), {"at": "here"})
    return {"execution": execution, "steps": steps(execution)}


def check_fallback(seen: Seen) -> None:
    assert seen["execution"]["status"] == "succeeded", seen["execution"]["error"]
    call = seen["steps"]["call"]
    assert (call["status"], call["output"]) == ("succeeded", {"source": "backup", "why": "http_status"})
    assert call["error"]["replaced_by"] == "backup"
    assert seen["steps"]["after_call"]["output"] == {"got": "backup"}  # the branch went on
    assert seen["steps"]["unused"]["status"] == "skipped"  # only in its role, when its node fails


def check_fallback_output(seen: Seen) -> None:
    missing_ = seen["steps"]["missing"]
    assert (missing_["status"], missing_["output"]) == ("succeeded", {"found": False, "at": "here"}), missing_
    assert missing_["error"]["replaced_by"] == "fallback_output"
    assert seen["steps"]["after_missing"]["output"] == {"found": False}


# ----------------------------------------------------------------------------- compensation

SAGA = """
  nodes:
    - {id: reserve, type: http, config: {url: "@url/echo?key=saga-{{ input.run }}-@tag&step=reserve"}}
    - {id: hold, type: http, config: {url: "@url/echo?key=saga-{{ input.run }}-@tag&step=hold"}}
    - {id: charge, type: http, config: {url: "@url/{{ input.charge }}?key=saga-{{ input.run }}-@tag&step=charge"}}
    - {id: ship, type: http, config: {url: "@url/echo?key=saga-{{ input.run }}-@tag&step=ship"}}
    - id: undo_reserve
      type: http
      config:
        method: POST
        url: "@url/echo?key=saga-{{ input.run }}-@tag&step=undo_reserve"
        json: {because: "{{ nodes.charge.error.message }}", reserved: "{{ nodes.reserve.output.body.query.step }}"}
    - {id: undo_hold, type: http, config: {url: "@url/echo?key=saga-{{ input.run }}-@tag&step=undo_hold"}}
    - {id: undo_ship, type: http, config: {url: "@url/echo?key=saga-{{ input.run }}-@tag&step=undo_ship"}}
    - {id: on_charge, type: http, config: {url: "@url/echo?key=saga-{{ input.run }}-@tag&step=on_charge"}}
    - {id: on_ship, type: http, config: {url: "@url/echo?key=saga-{{ input.run }}-@tag&step=on_ship"}}
    - {id: notify, type: http, config: {url: "@url/echo?key=saga-{{ input.run }}-@tag&step=notify"}}
  edges:
    - {from: reserve, to: hold}
    - {from: hold, to: charge}
    - {from: charge, to: ship}
  compensation:
    - {node: notify}
    - {node: on_charge, when_failed: charge}
    - {node: undo_reserve, compensates: reserve}
    - {node: undo_hold, compensates: hold}
    - {node: undo_ship, compensates: ship}
    - {node: on_ship, when_failed: ship}
"""


@group(BOTH)
def compensation(h: Harness) -> Seen:
    name = h.put("saga", SAGA)
    failed, succeeded = h.run_all([(name, {"run": "fail", "charge": "status/400"}),
                                   (name, {"run": "ok", "charge": "echo"})])
    order = {run: [call["query"]["step"] for call in h.calls(f"saga-{run}-{h.tag}")] for run in ("fail", "ok")}
    undo = next(call for call in h.calls(f"saga-fail-{h.tag}") if call["query"]["step"] == "undo_reserve")
    return {"failed": failed, "failed_steps": steps(failed), "succeeded": succeeded,
            "failed_events": [event["type"] for event in h.events(failed["id"], "")],
            "succeeded_steps": steps(succeeded), "order": order, "undo_body": undo["body"]}


def check_compensation_node(seen: Seen) -> None:
    # Never on its own: a successful run calls only the forward steps, and its steps are skipped.
    assert seen["order"]["ok"] == ["reserve", "hold", "charge", "ship"]
    assert seen["succeeded"]["compensation"] is None
    assert {seen["succeeded_steps"][n]["status"] for n in ("notify", "undo_reserve", "on_charge")} == {"skipped"}
    # On failure: the due steps, undoing latest first, then the others in the order written.
    assert seen["order"]["fail"] == ["reserve", "hold", "charge", "undo_hold", "undo_reserve", "notify", "on_charge"]
    assert seen["failed"]["compensation"]["status"] == "completed"
    assert seen["failed"]["error"]["compensated"] is True


def check_spec_compensation(seen: Seen) -> None:
    compensated = seen["failed"]["compensation"]
    assert compensated["nodes"] == ["undo_hold", "undo_reserve", "notify", "on_charge"], compensated
    assert compensated["error"]["node_id"] == "charge"
    assert seen["failed"]["error"]["compensation"] == dict.fromkeys(compensated["nodes"], "succeeded")
    assert seen["failed_events"][-2:] == ["execution.compensating", "execution.failed"]


def check_compensates(seen: Seen) -> None:
    assert seen["undo_body"] == {"because": seen["failed_steps"]["charge"]["error"]["message"], "reserved": "reserve"}
    assert seen["failed_steps"]["undo_ship"]["status"] == "skipped"  # ship never succeeded: nothing to undo


def check_when_failed(seen: Seen) -> None:
    assert seen["failed_steps"]["on_charge"]["status"] == "succeeded"  # charge failed
    assert seen["failed_steps"]["on_ship"]["status"] == "skipped"  # ship did not fail (it never ran)


# ----------------------------------------------------------------------------- circuit breakers

BREAKER = """
  nodes:
    - id: call
      type: http
      config: {url: "@url/{{ input.path }}?key=breaker-@tag"}
      circuit_breaker: {failure_threshold: 2, recovery_timeout: 1s, half_open_max_calls: 2}
"""
SHARED = """
  nodes:
    - id: pay
      type: http
      config: {url: "@url/status/503?key=shared-@tag"}
      circuit_breaker: {failure_threshold: 1, recovery_timeout: 1h, key: shared-@tag}
"""
RATE = """
  nodes:
    - id: call
      type: http
      config: {url: "@url/{{ input.path }}?key=rate-@tag"}
      circuit_breaker: {failure_threshold: 100, failure_rate_threshold: 0.5, window: 4, recovery_timeout: 1h}
"""
FAIL, PASS = {"path": "status/500"}, {"path": "echo"}


@group(BOTH)
def breakers(h: Harness) -> Seen:
    seen: Seen = {}
    name = h.put("breaker", BREAKER)
    key = f"{name}:call"
    runs, states = [], []
    for data in (FAIL, FAIL, PASS):
        runs.append(h.run(name, data))
        states.append(_breaker(h, key))
    seen["calls_while_open"] = len(h.calls(f"breaker-{h.tag}"))
    first, second = h.put("payer-a", SHARED), h.put("payer-b", SHARED)
    seen["shared"] = [h.run(first), h.run(second)]
    seen["shared_calls"] = len(h.calls(f"shared-{h.tag}"))
    seen["shared_state"] = _breaker(h, f"shared-{h.tag}")
    rate = h.put("rate", RATE)
    seen["rate"], seen["rate_states"] = [], []
    for data in (FAIL, FAIL, PASS, FAIL, PASS):
        seen["rate"].append(h.run(rate, data))
        seen["rate_states"].append(_breaker(h, f"{rate}:call")["state"])
    seen["rate_calls"] = len(h.calls(f"rate-{h.tag}"))
    retry_at = datetime.fromisoformat(states[-1]["retry_at"])  # meanwhile the first breaker recovers
    while datetime.now(UTC) < retry_at:  # the breaker's own recovery time, read from it
        time.sleep(0.02)
    for data in (PASS, PASS):
        runs.append(h.run(name, data))
        states.append(_breaker(h, key))
    seen.update(runs=runs, states=states, events=h.events(runs[1]["id"], "call"),
                calls=len(h.calls(f"breaker-{h.tag}")))
    return seen


def _breaker(h: Harness, key: str) -> dict[str, Any]:
    listed = h.admin.get("/api/v1/circuit-breakers", {"page_size": 200}).json()["results"]
    return next(breaker for breaker in listed if breaker["key"] == key)


def _codes(runs: list[dict[str, Any]], node: str = "call") -> list[str | None]:
    return [(steps(run)[node]["error"] or {}).get("code") for run in runs]


def check_circuit_breaker(seen: Seen) -> None:
    assert _codes(seen["runs"]) == ["http_status", "http_status", "circuit_open", None, None]
    assert seen["calls_while_open"] == 2  # the third call was refused without being made
    assert any(e["payload"].get("circuit", {}).get("state") == "open" for e in seen["events"])


def check_failure_threshold(seen: Seen) -> None:
    assert [state["state"] for state in seen["states"][:2]] == ["closed", "open"]  # the second failure opened it


def check_recovery_timeout(seen: Seen) -> None:
    opened, retry_at = (datetime.fromisoformat(seen["states"][1][key]) for key in ("opened_at", "retry_at"))
    assert abs((retry_at - opened).total_seconds() - 1.0) < 0.01
    assert seen["runs"][3]["status"] == "succeeded" and seen["calls"] == 4  # a probe went through after it


def check_half_open_max_calls(seen: Seen) -> None:
    # Two probes: one success leaves it half open, the second closes it.
    assert [state["state"] for state in seen["states"][3:]] == ["half_open", "closed"]


def check_breaker_key(seen: Seen) -> None:
    assert _codes(seen["shared"], "pay") == ["http_status", "circuit_open"]  # another workflow, one breaker
    assert seen["shared_calls"] == 1
    assert seen["shared_state"]["state"] == "open"


def check_failure_rate_threshold(seen: Seen) -> None:
    # failed, failed, passed (the window of 4 is not full yet), failed: 3 of the last 4 → open,
    # though never more than two failures in a row (failure_threshold: 100).
    assert seen["rate_states"] == ["closed", "closed", "closed", "open", "open"]
    assert _codes(seen["rate"]) == ["http_status", "http_status", None, "http_status", "circuit_open"]
    assert seen["rate_calls"] == 4


def check_window(seen: Seen) -> None:
    # After three calls two thirds had failed, over the threshold, but the window (4) was not full.
    assert seen["rate_states"][2] == "closed"
    check_failure_rate_threshold(seen)


# ----------------------------------------------------------------------------- limits

# Each run first waits at a gate (the local server answers when all the runs have arrived), so
# the limited calls become due together however slowly the runs were started.
GATE = """
    - {id: gate, type: http, config: {url: "@url/gather?key=GATE-@tag&n=COUNT&timeout=20"}}
"""
BULKHEAD = """
  nodes:
    - {id: call, type: http, concurrency: 2, config: {url: "@url/inflight?key=bulkhead-@tag&ms=300&until_peak=2"}}
@gate
  edges:
    - {from: gate, to: call}
"""
SHARED_LIMIT = """
  nodes:
    - {id: call, type: http, limit: svc-@tag, concurrency: 1, config: {url: "@url/inflight?key=limit-@tag&ms=150"}}
@gate
  edges:
    - {from: gate, to: call}
"""
PACED = """
  nodes:
    - {id: call, type: http, rate_limit: {requests: 2, per: 1s}, config: {url: "@url/echo?key=paced-@tag"}}
@gate
  edges:
    - {from: gate, to: call}
"""
PER = """
  nodes:
    - {id: call, type: http, rate_limit: {requests: 1, per: 400ms}, config: {url: "@url/echo?key=per-@tag"}}
@gate
  edges:
    - {from: gate, to: call}
"""


def _gated(h: Harness, name: str, body: str, gate: str, count: int) -> str:
    return h.put(name, body.replace("@gate\n", GATE.replace("GATE", gate).replace("COUNT", str(count))))


@group(BOTH)
def limits(h: Harness) -> Seen:
    bulkhead = _gated(h, "bulkhead", BULKHEAD, "bulkhead", 6)
    one, two = _gated(h, "limit-one", SHARED_LIMIT, "shared", 4), _gated(h, "limit-two", SHARED_LIMIT, "shared", 4)
    paced, per = _gated(h, "paced", PACED, "paced", 3), _gated(h, "per", PER, "per", 2)
    starts = [(bulkhead, None)] * 6 + [(one, None), (two, None)] * 2 + [(paced, None)] * 3 + [(per, None)] * 2
    runs = h.run_all(starts)
    events = {run["id"]: h.events(run["id"], "call") for run in runs}
    return {"runs": runs, "bulkhead_events": [events[run["id"]] for run in runs[:6]],
            "paced_events": [events[run["id"]] for run in runs[10:13]],
            "per_events": [events[run["id"]] for run in runs[13:]],
            "peak": h.server.peak[f"bulkhead-{h.tag}"], "shared_peak": h.server.peak[f"limit-{h.tag}"]}


def check_concurrency(seen: Seen) -> None:
    assert [run["status"] for run in seen["runs"][:6]] == ["succeeded"] * 6
    assert seen["peak"] == 2  # six due at once: two at a time
    waited = [e for events in seen["bulkhead_events"] for e in events if e["type"] == "node.waiting"]
    assert waited and all(e["payload"]["reason"] == "limit" for e in waited)


def check_limit(seen: Seen) -> None:
    assert [run["status"] for run in seen["runs"][6:10]] == ["succeeded"] * 4
    assert seen["shared_peak"] == 1  # two workflows naming one limit of concurrency 1


def _paced_starts(seen: Seen) -> list[datetime]:
    return sorted(e["time"] for events in seen["paced_events"] for e in events if e["type"] == "node.started")


def _scheduled(events: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [e for run in events for e in run if e["type"] == "node.scheduled" and e["payload"].get("limit")]


def check_rate_limit(seen: Seen) -> None:
    assert [run["status"] for run in seen["runs"][10:]] == ["succeeded"] * 5
    started = _paced_starts(seen)
    assert len(started) == 3
    # Never three in one second (a start is decided a moment before its event is written).
    assert (started[2] - started[0]).total_seconds() >= 0.9, started


def check_rate_requests(seen: Seen) -> None:
    check_rate_limit(seen)
    assert len(_scheduled(seen["paced_events"])) == 1  # two started at once, the third waited for its turn


def check_rate_per(seen: Seen) -> None:
    # One start per 400ms: the second, due with the first, is scheduled 400ms after it (not a second).
    [scheduled] = _scheduled(seen["per_events"])
    first = min(e["time"] for run in seen["per_events"] for e in run if e["type"] == "node.started")
    gap = (datetime.fromisoformat(scheduled["payload"]["scheduled_at"]) - first).total_seconds()
    assert 0.3 <= gap <= 0.45, gap


# ----------------------------------------------------------------------------- the workflow's timeout

BOUNDED = """
  timeout: 300ms
  @action
  nodes:
    - {id: first, type: transform, config: {mapping: {done: true}}}
    - {id: slow, type: http, config: {url: "@url/sleep?ms=1500&key=bounded-@tag"}}
    - {id: undo_first, type: http, config: {url: "@url/echo?key=undo-bounded-{{ execution.id }}"}}
  edges:
    - {from: first, to: slow}
  compensation:
    - {node: undo_first, compensates: first}
"""
ACTIONS = ("cancel_and_cleanup", "retry", "fallback", "ignore")


@group(BOTH)
def workflow_timeout(h: Harness) -> Seen:
    plain = h.put("bounded", BOUNDED.replace("@action", ""))
    ignoring = h.put("bounded-ignore", BOUNDED.replace("@action", "timeout_action: ignore"))
    runs = h.run_all([(plain, None), (ignoring, None)])
    accepted = {action: h.validate(doc("probe", h.fill(BOUNDED.replace("@action", f"timeout_action: {action}"))))
                ["valid"] for action in ACTIONS}
    return {"runs": runs, "steps": [steps(run) for run in runs], "accepted": accepted,
            "types": [[event["type"] for event in h.events(run["id"], "")] for run in runs],
            "undone": [len(h.calls(f"undo-bounded-{run['id']}")) for run in runs]}


def _took(execution: dict[str, Any]) -> float:
    return (datetime.fromisoformat(execution["finished_at"])
            - datetime.fromisoformat(execution["started_at"])).total_seconds()


def check_spec_timeout(seen: Seen) -> None:
    bounded = seen["runs"][0]
    assert (bounded["status"], bounded["error"]["code"]) == ("failed", "timeout"), bounded["error"]
    assert _took(bounded) < 1.4  # not the 1.5s the call would have taken
    assert seen["steps"][0]["slow"]["status"] == "cancelled"
    assert seen["undone"][0] == 1  # and what had succeeded was compensated


def check_spec_timeout_action(seen: Seen) -> None:
    """cancel_and_cleanup (the default) cancels, compensates and fails; ignore records that the
    time passed and the run goes on; retry and fallback are for nodes only (refused here)."""
    assert seen["accepted"] == {"cancel_and_cleanup": True, "retry": False, "fallback": False, "ignore": True}
    ignoring, steps_ = seen["runs"][1], seen["steps"][1]
    assert ignoring["status"] == "succeeded", ignoring["error"]
    assert steps_["slow"]["status"] == "succeeded" and seen["undone"][1] == 0  # not cancelled, nothing undone
    assert "execution.timeout_passed" in seen["types"][1]
    check_spec_timeout(seen)


# ----------------------------------------------------------------------------- the table

SCENARIOS: dict[str, Scenario] = {
    "node.id": Scenario(flow, check_node_id),
    "node.name": Scenario(flow, check_display_keys("name")),
    "node.description": Scenario(flow, check_display_keys("description")),
    "node.position": Scenario(flow, check_display_keys("position")),
    "position.x": Scenario(flow, check_position_key("x")),
    "position.y": Scenario(flow, check_position_key("y")),
    "node.type": Scenario(flow, check_node_type),
    "node.config": Scenario(flow, check_node_config),
    "node.when": Scenario(flow, check_node_when),
    "edge.from": Scenario(flow, check_edge_from_to),
    "edge.to": Scenario(flow, check_edge_from_to),
    "edge.on": Scenario(flow, check_edge_on),
    "edge.on=success": Scenario(flow, check_edge_on_success),
    "edge.on=failure": Scenario(flow, check_edge_on_failure),
    "edge.on=always": Scenario(flow, check_edge_on_always),
    "edge.port": Scenario(flow, check_edge_port),
    "edge.condition": Scenario(flow, check_edge_condition),
    "edge.id": Scenario(flow, check_edge_id),
    "node.retry": Scenario(retries, check_node_retry),
    "retry.max_attempts": Scenario(retries, check_max_attempts),
    "retry.backoff": Scenario(retries, check_backoff_key),
    "retry.backoff=fixed": Scenario(retries, check_backoff("fixed", [0.05, 0.05, 0.05])),
    "retry.backoff=linear": Scenario(retries, check_backoff("linear", [0.05, 0.1, 0.15])),
    "retry.backoff=exponential": Scenario(retries, check_backoff("exponential", [0.05, 0.1, 0.2])),
    "retry.initial_delay": Scenario(retries, check_initial_delay),
    "retry.multiplier": Scenario(retries, check_multiplier),
    "retry.max_delay": Scenario(retries, check_max_delay),
    "retry.jitter": Scenario(retries, check_jitter),
    "node.timeout": Scenario(timeouts, check_node_timeout),
    "node.timeout_action": Scenario(timeouts, check_timeout_action),
    "node.timeout_action=ignore": Scenario(timeouts, check_timeout_action_ignore),
    "node.timeout_action=retry": Scenario(timeouts, check_timeout_action_retry),
    "node.timeout_action=fallback": Scenario(timeouts, check_timeout_action_fallback),
    "node.timeout_action=cancel_and_cleanup": Scenario(timeouts, check_timeout_action_cancel),
    "node.fallback": Scenario(fallbacks, check_fallback),
    "node.fallback_output": Scenario(fallbacks, check_fallback_output),
    "compensation.node": Scenario(compensation, check_compensation_node),
    "compensation.compensates": Scenario(compensation, check_compensates),
    "compensation.when_failed": Scenario(compensation, check_when_failed),
    "node.circuit_breaker": Scenario(breakers, check_circuit_breaker),
    "circuit_breaker.failure_threshold": Scenario(breakers, check_failure_threshold),
    "circuit_breaker.recovery_timeout": Scenario(breakers, check_recovery_timeout),
    "circuit_breaker.half_open_max_calls": Scenario(breakers, check_half_open_max_calls),
    "circuit_breaker.key": Scenario(breakers, check_breaker_key),
    "circuit_breaker.failure_rate_threshold": Scenario(breakers, check_failure_rate_threshold),
    "circuit_breaker.window": Scenario(breakers, check_window),
    "node.concurrency": Scenario(limits, check_concurrency),
    "spec.defaults": Scenario(retries, check_spec_defaults),
    "defaults.retry": Scenario(retries, check_defaults_retry),
    "defaults.timeout": Scenario(retries, check_defaults_timeout),
    "spec.compensation": Scenario(compensation, check_spec_compensation),
    "spec.timeout": Scenario(workflow_timeout, check_spec_timeout),
    "spec.timeout_action": Scenario(workflow_timeout, check_spec_timeout_action),
    "node.limit": Scenario(limits, check_limit),
    "node.rate_limit": Scenario(limits, check_rate_limit),
    "rate_limit.requests": Scenario(limits, check_rate_requests),
    "rate_limit.per": Scenario(limits, check_rate_per),
}

# Defects reported to the lead: their tests are expected to fail, strictly (see conformance.cases).
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(("name", "dispatcher"), list(cases(SCENARIOS, "policies", KNOWN)))
def test_the_runtime_keeps_the_promise(name: str, dispatcher: str, request: pytest.FixtureRequest) -> None:
    scenario = SCENARIOS.get(name)
    assert scenario is not None, missing(name)
    scenario.check(observe(request, scenario.group, dispatcher))
