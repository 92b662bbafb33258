"""`serve`'s access log never shows an invitation link's token."""

from __future__ import annotations

import logging
import logging.config

from connectorhub.web.access_log import uvicorn_log_config


def test_the_access_log_hides_invitation_tokens(capsys):
    logging.config.dictConfig(uvicorn_log_config())
    token = "Zr8Lw2-secret-invitation-token_abc"
    access = logging.getLogger("uvicorn.access")
    # The arguments uvicorn's protocol passes for one request.
    access.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/join/{token}?x=1", "1.1", 200
    )
    access.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/connectors/catalog", "1.1", 200
    )
    printed = capsys.readouterr().out
    assert token not in printed
    assert "/join/…?x=1" in printed and "/connectors/catalog" in printed
