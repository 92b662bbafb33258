"""Claim, cancel and finish-once: the rules every run follows, whatever it runs.

A run is claimed by one claimant (worker/claimants.py) in the transaction that marks it
running; a running run is taken again only by the same queue job (retried after its worker
died) or with `take_over` (the embedded default's only worker, restarted). It ends exactly once,
and only while its claimant still holds it. A queued run is cancelled at once; a running one is
asked to stop and does so before its next step.
"""

from __future__ import annotations

from typing import Any

from connectorhub.exceptions import Conflict
from connectorhub.kit.models import utcnow
from connectorhub.run.models import RunMixin, RunStatus, end_run
from connectorhub.worker.claimants import same_job

NOT_STARTED = "cancelled before it started"


def claim(
    run: RunMixin | None, *, claimant: str, take_over: bool, restart_clock: bool = True
) -> bool:
    """Mark `run` running for `claimant` (the caller holds its row lock). False when there is
    nothing to do: gone, finished already, running elsewhere, or cancelled while queued (then
    ended as cancelled here). `restart_clock=False` keeps the first attempt's start time."""
    if run is None or RunStatus(run.status).finished:
        return False
    if run.status == RunStatus.running.value and not (
        take_over or same_job(run.claimed_by, claimant)
    ):
        return False
    if run.cancel_requested:
        end_run(run, RunStatus.cancelled, NOT_STARTED)
        return False
    run.status, run.claimed_by = RunStatus.running.value, claimant
    run.attempt += 1
    if restart_clock or run.started_at is None:
        run.started_at = utcnow()
    return True


def may_finish(run: RunMixin | None, claimant: str | None) -> bool:
    """Whether `claimant` may end `run` now: it has not ended, and (given a claimant) that
    claimant still holds it; an attempt taken for dead and fenced off by its retry ends nothing."""
    if run is None or RunStatus(run.status).finished:
        return False
    return claimant is None or run.claimed_by == claimant


def request_cancel(run: Any, noun: str) -> None:
    """Cancel a queued run at once; ask a running one to stop before its next step.
    Raises Conflict when it has already finished."""
    status = RunStatus(run.status)
    if status.finished:
        raise Conflict(f"the {noun} has already {status.value}")
    run.cancel_requested = True
    if status == RunStatus.queued:
        end_run(run, RunStatus.cancelled, NOT_STARTED)
