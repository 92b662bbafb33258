import base64
import json
import urllib.parse

import pytest

from connectorhub.kit.masking import REDACTED, SecretMask

SECRET = 'pa"ss\\wörd/1?'


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        repr(SECRET)[1:-1],
        ascii(SECRET)[1:-1],
        urllib.parse.quote(SECRET, safe=""),
        urllib.parse.quote_plus(SECRET),
        base64.b64encode(SECRET.encode()).decode(),
        json.dumps(json.dumps(SECRET)[1:-1])[1:-1],
    ],
    ids=["raw", "json", "json-utf8", "repr", "ascii", "url", "url-plus", "base64", "json-twice"],
)
def test_every_echoed_form_is_masked(form):
    mask = SecretMask([SECRET])
    masked = mask.text(f"the server said: <{form}>, done")
    assert masked == f"the server said: <{REDACTED}>, done"


def test_a_json_document_echoing_a_secret_is_masked_after_serialising():
    mask = SecretMask({"nested": {"otp": SECRET}})
    document = json.dumps({"echo": SECRET, "note": "fine"})
    assert SECRET not in mask.text(document)
    assert json.loads(mask.text(document)) == {"echo": REDACTED, "note": "fine"}


def test_basic_auth_pair_is_masked():
    mask = SecretMask()
    mask.add_basic_auth("alice", "s3cret-pw")
    header = "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()
    assert mask.text(f"Authorization: {header}") == f"Authorization: Basic {REDACTED}"
    assert mask.text("password was s3cret-pw") == f"password was {REDACTED}"


def test_values_are_masked_at_any_depth_keys_and_numbers_included():
    mask = SecretMask(["tok-abcdef", 987654])
    record = {"greeting": "hello tok-abcdef", "list": [{"pin": 987654}], "tok-abcdef": 1, "n": 5}
    assert mask.value(record) == {
        "greeting": f"hello {REDACTED}",
        "list": [{"pin": REDACTED}],
        REDACTED: 1,
        "n": 5,
    }


def test_longer_secret_wins_over_the_one_it_contains():
    mask = SecretMask(["abcd", "abcdefgh"])
    assert mask.text("xx abcdefgh yy") == f"xx {REDACTED} yy"


def test_short_values_and_empty_mask_leave_text_alone():
    assert SecretMask(["on", True, None]).text("turn it on") == "turn it on"
    assert not SecretMask()
    assert SecretMask().value({"a": "b"}) == {"a": "b"}
