"""The jobs every process knows: the names the queue stores must stay those of the real jobs
(a helper slipped under a decorator would take a job's place)."""

from __future__ import annotations

import connectorhub.tasks  # noqa: F401  (registers every domain's jobs)
from connectorhub.worker.registry import AT_STARTUP, JOBS, PERIODIC


def test_the_registered_jobs_are_the_domains_jobs():
    assert sorted(JOBS) == [
        "deliver_webhook",
        "notify_template_update",
        "publish_publication",
        "run_execution",
        "run_sync",
    ]
    assert sorted(PERIODIC) == [
        "keep_tokens_alive", "requeue_lost_execution_jobs", "requeue_lost_publications",
        "requeue_lost_webhook_deliveries", "resolve_stalled_publications",
        "start_scheduled_syncs",
    ]  # fmt: skip
    assert all(not name.startswith("_") for name in [*JOBS, *PERIODIC, *AT_STARTUP])
