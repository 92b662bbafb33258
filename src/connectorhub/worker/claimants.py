"""Who runs a job: `job:<queue job id>#<attempt>` for a Procrastinate job, or
`process:<host>:<pid>:<nonce>` for the embedded default's in-process worker.

A job retried after its worker died keeps its id and gets the next attempt; only that same job
may pick its run up again, and the attempt fences the earlier one off (see run/lifecycle.py).
"""

from __future__ import annotations

import os
import socket
import uuid


def job_claimant(job_id: int, attempt: int) -> str:
    return f"job:{job_id}#{attempt}"


def process_claimant() -> str:
    return f"process:{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def same_job(a: str | None, b: str) -> bool:
    """Claimants of one queue job (any attempt), or the very same process."""
    return a is not None and a.split("#")[0] == b.split("#")[0]


def _process_here(claimed_by: str | None) -> list[str] | None:
    parts = (claimed_by or "").split(":")
    if len(parts) != 4 or parts[0] != "process" or parts[1] != socket.gethostname()[:40]:
        return None
    return parts


def process_alive_here(claimed_by: str | None) -> bool:
    """A process on this machine holds the run and still runs."""
    return _process_here(claimed_by) is not None and not holder_is_gone(claimed_by)


def holder_is_gone(claimed_by: str | None) -> bool:
    """A run held by a process on this machine that no longer exists. Runs held by queue jobs
    are recovered by the workers' stalled-job retries instead."""
    parts = _process_here(claimed_by)
    if parts is None:
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False
    return False
