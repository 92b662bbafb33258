"""Every background job by name: what a queued Job's `name` runs."""

from __future__ import annotations

from connectorhub.execution.tasks import run_execution
from connectorhub.sync.tasks import run_sync
from connectorhub.template.tasks import notify_template_update

JOBS = {
    "run_execution": run_execution,
    "run_sync": run_sync,
    "notify_template_update": notify_template_update,
}
