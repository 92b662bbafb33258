"""Every background job by name: what a queued Job's `name` runs."""

from __future__ import annotations

from connectorhub.execution.tasks import run_execution

JOBS = {"run_execution": run_execution}
