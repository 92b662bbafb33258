"""Email addresses on internal domains are taken; malformed ones are still refused."""

from __future__ import annotations

import pytest
from pydantic import EmailStr, TypeAdapter, ValidationError

from connectorhub.kit.emails import INTERNAL_SUFFIXES, EmailAddress, normalized_email


@pytest.mark.parametrize("suffix", INTERNAL_SUFFIXES)
def test_internal_domains_are_accepted(suffix):
    assert normalized_email(f"Ops@Corp.{suffix.upper()}") == f"Ops@corp.{suffix}"
    assert TypeAdapter(EmailAddress).validate_python(f"a@corp.{suffix}") == f"a@corp.{suffix}"
    # pydantic's own EmailStr asks the same validator, so it agrees wherever it is still used.
    assert TypeAdapter(EmailStr).validate_python(f"a@corp.{suffix}") == f"a@corp.{suffix}"


@pytest.mark.parametrize("bad", ["not-an-email", "a@", "a@corp", "a@x.onion", "a@x.invalid"])
def test_malformed_and_other_special_use_domains_are_refused(bad):
    with pytest.raises(ValueError):
        normalized_email(bad)
    with pytest.raises(ValidationError):
        TypeAdapter(EmailAddress).validate_python(bad)
