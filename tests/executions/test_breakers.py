"""Circuit breakers: the pure state machine, with explicit times (no clock, no sleeps)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from executions.engine.breakers import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Admission,
    BreakerState,
    breaker_key,
    closed_state,
    decide_admission,
    decide_outcome,
)
from workflows.spec.models import CircuitBreaker

KEY = "orders:charge"
T0 = 1_700_000_000.0


class Breaker:
    """One breaker's stored state, driven through the pure functions like a store would."""

    def __init__(self, **policy: object) -> None:
        self.policy = CircuitBreaker.model_validate(policy)
        self.state: BreakerState | None = None

    def admit(self, now: float) -> Admission:
        admission, new = decide_admission(self.state, KEY, self.policy, now)
        if new is not None:
            self.state = new
        return admission

    def record(self, ok: bool, now: float) -> str | None:
        moved, new = decide_outcome(self.state, KEY, self.policy, ok, now)
        if new is not None:
            self.state = new
        return moved

    def call(self, ok: bool, now: float) -> str | None:
        assert self.admit(now).allowed
        return self.record(ok, now)

    @property
    def current(self) -> BreakerState:
        assert self.state is not None
        return self.state


def opened(breaker: Breaker, now: float) -> Breaker:
    for _ in range(breaker.policy.failure_threshold - 1):
        assert breaker.call(False, now) is None
    assert breaker.call(False, now) == OPEN
    return breaker


# --- closed ------------------------------------------------------------------------------------


def test_a_breaker_that_never_saw_a_call_admits_and_stores_nothing() -> None:
    admission, new = decide_admission(None, KEY, CircuitBreaker(), T0)
    assert admission == Admission(allowed=True, state=CLOSED)
    assert new is None


def test_the_first_outcome_creates_the_breaker_closed_with_it_counted() -> None:
    moved, new = decide_outcome(None, KEY, CircuitBreaker(), False, T0)
    assert moved is None
    assert new == BreakerState(key=KEY, state=CLOSED, failures=1, calls=1, window_failures=1, opened_at=None,
                               half_open_calls=0, updated_at=T0, recent=0b1)


def test_it_opens_on_the_threshold_th_failure_in_a_row() -> None:
    breaker = Breaker(failure_threshold=3, recovery_timeout="30s")
    assert breaker.call(False, T0) is None
    assert breaker.call(False, T0 + 1) is None
    assert breaker.current.state == CLOSED and breaker.current.failures == 2
    assert breaker.call(False, T0 + 2) == OPEN
    state = breaker.current
    assert (state.state, state.opened_at, state.retry_at, state.failures) == (OPEN, T0 + 2, T0 + 32, 3)
    assert (state.calls, state.window_failures) == (3, 3)  # the counts that opened it stay, to be shown


def test_a_success_breaks_the_run_of_failures() -> None:
    breaker = Breaker(failure_threshold=3)
    for ok in (False, False, True, False, False):
        assert breaker.call(ok, T0) is None
    assert breaker.current.state == CLOSED
    assert breaker.current.failures == 2
    assert (breaker.current.calls, breaker.current.window_failures) == (5, 4)


def test_a_closed_breaker_admits_without_changing_its_state() -> None:
    breaker = Breaker(failure_threshold=5)
    breaker.call(False, T0)
    before = breaker.current
    admission, new = decide_admission(before, KEY, breaker.policy, T0 + 1000)
    assert admission == Admission(allowed=True, state=CLOSED)
    assert new is None


# --- failure rate over the window ----------------------------------------------------------------


def test_the_failure_rate_counts_only_once_the_window_is_full() -> None:
    breaker = Breaker(failure_threshold=100, failure_rate_threshold=0.5, window=4)
    assert breaker.call(False, T0) is None  # 1/1 failed, but one call is not a window
    assert breaker.call(True, T0) is None
    assert breaker.call(False, T0) is None  # 2/3
    assert breaker.call(True, T0) is None  # 2/4: a success never opens it
    assert breaker.current.state == CLOSED
    assert breaker.call(False, T0) == OPEN  # the last four: ok, fail, ok, fail -> 2/4 >= 0.5
    assert (breaker.current.calls, breaker.current.window_failures) == (4, 2)


def test_old_outcomes_slide_out_of_the_window() -> None:
    breaker = Breaker(failure_threshold=100, failure_rate_threshold=1.0, window=3)
    for ok in (False, False, True, False, False):
        assert breaker.call(ok, T0) is None
    # Five failures seen, but the last three are ok, fail, fail.
    assert (breaker.current.calls, breaker.current.window_failures) == (3, 2)
    assert breaker.current.recent == 0b011
    assert breaker.call(False, T0) == OPEN  # fail, fail, fail


def test_a_rate_exactly_at_the_threshold_opens_despite_float_rounding() -> None:
    # 0.3 * 10 is 3.0000000000000004 in floats: three failures in ten must still open it.
    breaker = Breaker(failure_threshold=100, failure_rate_threshold=0.3, window=10)
    for ok in [True] * 7 + [False] * 2:
        assert breaker.call(ok, T0) is None
    assert breaker.call(False, T0) == OPEN


def test_a_rate_below_the_threshold_keeps_it_closed() -> None:
    breaker = Breaker(failure_threshold=100, failure_rate_threshold=0.5, window=4)
    for ok in (True, True, True, False, True, True, True, False):
        assert breaker.call(ok, T0) is None
    assert breaker.current.state == CLOSED
    assert (breaker.current.calls, breaker.current.window_failures) == (4, 1)  # ok, ok, ok, fail


def test_without_a_rate_threshold_only_failures_in_a_row_open_it() -> None:
    breaker = Breaker(failure_threshold=3, window=2)
    for ok in (False, False, True) * 4:
        assert breaker.call(ok, T0) is None
    assert breaker.current.state == CLOSED


def test_a_smaller_window_in_a_new_policy_keeps_only_its_last_outcomes() -> None:
    wide = Breaker(failure_threshold=100, window=10)
    for ok in (False, False, False, True, False):
        wide.call(ok, T0)
    narrow = CircuitBreaker(failure_threshold=100, failure_rate_threshold=0.75, window=3)
    moved, new = decide_outcome(wide.current, KEY, narrow, False, T0)
    # The last three, newest first: fail (now), fail, ok.
    assert new is not None and (new.calls, new.window_failures, new.recent) == (3, 2, 0b011)
    assert moved is None  # 2/3 < 0.75


# --- open --------------------------------------------------------------------------------------


def test_an_open_breaker_refuses_until_the_recovery_timeout_with_its_retry_time() -> None:
    breaker = opened(Breaker(failure_threshold=2, recovery_timeout="60s"), T0)
    for now in (T0, T0 + 1, T0 + 59.999):
        admission, new = decide_admission(breaker.current, KEY, breaker.policy, now)
        assert admission == Admission(allowed=False, state=OPEN, retry_at=T0 + 60)
        assert new is None  # a refusal writes nothing


def test_an_outcome_reported_while_open_changes_nothing() -> None:
    breaker = opened(Breaker(failure_threshold=2), T0)
    for ok in (True, False):
        assert decide_outcome(breaker.current, KEY, breaker.policy, ok, T0 + 1) == (None, None)


def test_the_retry_time_is_fixed_when_it_opens_not_by_a_later_policy() -> None:
    breaker = opened(Breaker(failure_threshold=1, recovery_timeout="10s"), T0)
    longer = CircuitBreaker(failure_threshold=1, recovery_timeout=100)
    admission, _ = decide_admission(breaker.current, KEY, longer, T0 + 10)
    assert admission.allowed and admission.changed == HALF_OPEN


# --- half open ---------------------------------------------------------------------------------


def test_the_first_call_after_the_recovery_timeout_is_a_probe_that_turns_it_half_open() -> None:
    breaker = opened(Breaker(failure_threshold=1, recovery_timeout="60s", half_open_max_calls=2), T0)
    admission = breaker.admit(T0 + 60)
    assert admission == Admission(allowed=True, state=HALF_OPEN, changed=HALF_OPEN)
    state = breaker.current
    assert (state.state, state.half_open_calls, state.probed_at, state.retry_at) == (HALF_OPEN, 1, T0 + 60, None)


def test_half_open_lets_through_at_most_the_maximum_of_probes_at_a_time() -> None:
    breaker = opened(Breaker(failure_threshold=1, recovery_timeout="60s", half_open_max_calls=3), T0)
    assert [breaker.admit(T0 + 60 + i).allowed for i in range(5)] == [True, True, True, False, False]
    refused = breaker.admit(T0 + 65)
    # Refused until the probes are given up as lost: the last one went at T0 + 62.
    assert refused == Admission(allowed=False, state=HALF_OPEN, retry_at=T0 + 122)
    assert breaker.current.half_open_calls == 3


def test_each_successful_probe_frees_its_slot_and_the_maximum_of_successes_closes_it() -> None:
    breaker = opened(Breaker(failure_threshold=1, recovery_timeout="60s", half_open_max_calls=2), T0)
    assert breaker.admit(T0 + 60).allowed and breaker.admit(T0 + 60).allowed
    assert not breaker.admit(T0 + 60).allowed
    assert breaker.record(True, T0 + 61) is None
    assert (breaker.current.state, breaker.current.half_open_calls, breaker.current.half_open_successes) == (
        HALF_OPEN, 1, 1)
    assert breaker.admit(T0 + 61).allowed  # the freed slot
    assert breaker.record(True, T0 + 62) == CLOSED
    assert breaker.current == closed_state(KEY, T0 + 62)  # its counts forgotten


def test_one_failed_probe_opens_it_again_for_another_recovery_timeout() -> None:
    breaker = opened(Breaker(failure_threshold=1, recovery_timeout="60s", half_open_max_calls=3), T0)
    assert breaker.admit(T0 + 60).allowed
    assert breaker.record(True, T0 + 61) is None
    assert breaker.admit(T0 + 61).allowed
    assert breaker.record(False, T0 + 62) == OPEN
    state = breaker.current
    assert (state.state, state.opened_at, state.retry_at, state.half_open_calls, state.half_open_successes) == (
        OPEN, T0 + 62, T0 + 122, 0, 0)
    assert breaker.admit(T0 + 121) == Admission(allowed=False, state=OPEN, retry_at=T0 + 122)
    assert breaker.admit(T0 + 122).changed == HALF_OPEN


def test_probes_that_never_report_are_given_up_after_the_recovery_timeout() -> None:
    """GIVEN both probe slots taken by calls whose worker died
    WHEN the recovery timeout has passed since the last probe went
    THEN new probes are let through and their successes close the breaker."""
    breaker = opened(Breaker(failure_threshold=1, recovery_timeout="30s", half_open_max_calls=2), T0)
    assert breaker.admit(T0 + 30).allowed and breaker.admit(T0 + 31).allowed
    assert not breaker.admit(T0 + 60.9).allowed
    assert breaker.admit(T0 + 61).allowed
    assert breaker.current.half_open_calls == 1
    assert breaker.admit(T0 + 61).allowed
    assert breaker.record(True, T0 + 62) is None
    assert breaker.record(True, T0 + 62) == CLOSED


def test_a_stored_open_state_without_a_retry_time_waits_from_when_it_opened() -> None:
    state = replace(opened(Breaker(failure_threshold=1), T0).current, retry_at=None)
    policy = CircuitBreaker(failure_threshold=1, recovery_timeout=5)
    assert decide_admission(state, KEY, policy, T0 + 4)[0] == Admission(allowed=False, state=OPEN, retry_at=T0 + 5)
    assert decide_admission(state, KEY, policy, T0 + 5)[0].allowed


def test_closing_starts_counting_afresh() -> None:
    breaker = opened(Breaker(failure_threshold=2, recovery_timeout="1s"), T0)
    breaker.admit(T0 + 1)
    assert breaker.record(True, T0 + 1) == CLOSED
    assert breaker.call(False, T0 + 2) is None  # one failure, not three in a row
    assert breaker.call(False, T0 + 3) == OPEN


# --- keys --------------------------------------------------------------------------------------


def test_a_breaker_is_keyed_by_workflow_and_node_unless_a_shared_key_is_given() -> None:
    assert breaker_key(CircuitBreaker(), "orders", "charge") == "orders:charge"
    assert breaker_key(CircuitBreaker(key="payments-api"), "orders", "charge") == "payments-api"


# --- invariants over any sequence ----------------------------------------------------------------

steps = st.lists(st.tuples(st.sampled_from(["admit", "ok", "fail"]), st.floats(0, 40)), max_size=60)
policies = st.builds(
    CircuitBreaker,
    failure_threshold=st.integers(1, 6),
    recovery_timeout=st.floats(0, 30),
    half_open_max_calls=st.integers(1, 4),
    failure_rate_threshold=st.none() | st.floats(0.01, 1),
    window=st.integers(1, 8),
)


@settings(max_examples=300, deadline=None)
@given(policy=policies, sequence=steps)
def test_any_sequence_keeps_the_counts_and_the_probes_within_their_bounds(
        policy: CircuitBreaker, sequence: list[tuple[str, float]]) -> None:
    state: BreakerState | None = None
    now = T0
    for action, elapsed in sequence:
        now += elapsed
        before = state
        if action == "admit":
            admission, new = decide_admission(state, KEY, policy, now)
            if before is None or before.state == CLOSED:
                assert admission.allowed and new is None
            if not admission.allowed:
                assert new is None and admission.retry_at is not None and admission.retry_at > now
        else:
            moved, new = decide_outcome(state, KEY, policy, action == "ok", now)
            if action == "ok":
                assert moved in (None, CLOSED)
            if before is not None and before.state == OPEN:
                assert (moved, new) == (None, None)
        state = new or state
        if state is None:
            continue
        assert state.state in (CLOSED, OPEN, HALF_OPEN)
        assert 0 <= state.calls <= policy.window
        assert state.window_failures == state.recent.bit_count() <= state.calls
        assert state.recent < (1 << state.calls)
        assert 0 <= state.half_open_calls <= policy.half_open_max_calls
        if state.state == OPEN:
            assert state.retry_at is not None and state.opened_at is not None
        if state.state == CLOSED:
            assert state.failures < policy.failure_threshold and state.half_open_calls == 0
