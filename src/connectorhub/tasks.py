"""Every domain's background jobs: importing this registers them all (worker/registry.py).

The Hub imports it, so the app, the CLI and `connectorhub worker` know the same jobs. A new
domain with jobs adds its `tasks` module here and nowhere else.
"""

from connectorhub.execution import tasks as execution_tasks
from connectorhub.oauth import tasks as oauth_tasks
from connectorhub.publish import tasks as publish_tasks
from connectorhub.sync import tasks as sync_tasks
from connectorhub.template import tasks as template_tasks
from connectorhub.webhook import tasks as webhook_tasks

__all__ = [
    "execution_tasks",
    "oauth_tasks",
    "publish_tasks",
    "sync_tasks",
    "template_tasks",
    "webhook_tasks",
]
