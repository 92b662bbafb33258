"""Email addresses as ConnectorHub takes them (members, invitations, users, login).

A self-hosted hub's people often live on internal domains (`.local`, `.internal`, `.lan`,
`.test`). email_validator refuses special-use names (`.local`, `.test`) even with
deliverability checks off; its documented switch is `SPECIAL_USE_DOMAIN_NAMES`, which it reads
on every call, so those names are taken off it here, once, for the whole process.
"""

from __future__ import annotations

from typing import Annotated

import email_validator
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator

# `.internal` and `.lan` are not on email_validator's list; `.local` (mDNS) and `.test` are.
INTERNAL_SUFFIXES = ("local", "internal", "lan", "test")

email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
    name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name not in INTERNAL_SUFFIXES
]


def normalized_email(value: str) -> str:
    """The address in its normal form (domain lower-cased, IDNA). Mail is never sent to check
    it. Raises ValueError (EmailNotValidError) naming what is wrong."""
    return validate_email(value, check_deliverability=False).normalized


EmailAddress = Annotated[str, AfterValidator(normalized_email)]

__all__ = ["EmailAddress", "EmailNotValidError", "normalized_email"]
