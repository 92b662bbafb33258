"""The access log without invitation tokens: `/join/<token>` is a credential for whoever holds
it (for a new email it creates the account), so the log shows `/join/…` instead."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

import uvicorn.config

_TOKEN_IN_PATH = re.compile(r"(/join/)[^/?#\s]+")


class HideInvitationTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access records: (client, method, path with query, http version, status).
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            if isinstance(args[2], str):
                args[2] = _TOKEN_IN_PATH.sub(r"\1…", args[2])
                record.args = tuple(args)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with the access handler filtered."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["hide_invitation_tokens"] = {"()": HideInvitationTokens}
    config["handlers"]["access"].setdefault("filters", []).append("hide_invitation_tokens")
    return config
