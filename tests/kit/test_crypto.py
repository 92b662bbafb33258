"""AES-256-GCM sealing: round trip, tamper, wrong identity, wrong key, key ids, keyring parsing."""

from __future__ import annotations

import base64

import pytest

from connectorhub.kit.crypto import DecryptionError, Keyring, KeyringError, SecretBox, generate_key

AAD = "ws-a/connectors/0b0e/access_token"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Keyring.parse(f"k1:{generate_key()},k2:{generate_key()}"))


def test_round_trip_uses_the_newest_key(box):
    sealed = box.seal("s3cret ünïcode", AAD)
    assert sealed.startswith("v1.k2.")
    assert "s3cret" not in sealed
    assert box.open(sealed, AAD) == "s3cret ünïcode"


def test_same_plaintext_seals_differently_each_time(box):
    assert box.seal("same", AAD) != box.seal("same", AAD)


@pytest.mark.parametrize("position", [0, 5, 12, 20, -1])
def test_any_flipped_byte_is_detected(box, position):
    sealed = box.seal("value", AAD)
    prefix, blob = sealed.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    raw[position] ^= 0x01
    tampered = prefix + "." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(DecryptionError):
        box.open(tampered, AAD)


@pytest.mark.parametrize(
    "other",
    [
        "ws-b/connectors/0b0e/access_token",
        "ws-a/connectors/ffff/access_token",
        "ws-a/connectors/0b0e/refresh_token",
    ],
)
def test_ciphertext_moved_to_another_row_or_field_does_not_open(box, other):
    with pytest.raises(DecryptionError):
        box.open(box.seal("value", AAD), other)


def test_wrong_key_with_same_id_does_not_open(box):
    impostor = SecretBox(Keyring.parse(f"k1:{generate_key()},k2:{generate_key()}"))
    with pytest.raises(DecryptionError):
        impostor.open(box.seal("value", AAD), AAD)


def test_unknown_key_id_and_garbage_are_refused(box):
    with pytest.raises(DecryptionError, match="no key 'k9'"):
        box.open("v1.k9.AAAA", AAD)
    for garbage in ["", "plaintext", "v2.k1.AAAA", "v1.k1.!!!"]:
        with pytest.raises(DecryptionError):
            box.open(garbage, AAD)


def test_older_key_still_opens_and_needs_rotation():
    old = Keyring.parse(f"k1:{generate_key()}")
    sealed = SecretBox(old).seal("value", AAD)
    rotated = SecretBox(Keyring.parse(old.format() + f",k2:{generate_key()}"))
    assert rotated.open(sealed, AAD) == "value"
    assert rotated.needs_rotation(sealed)
    assert not rotated.needs_rotation(rotated.seal("value", AAD))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no keys"),
        ("k1", "expected id:base64key"),
        ("bad id:" + generate_key(), "expected id:base64key"),
        ("k1:" + base64.urlsafe_b64encode(b"short").decode(), "must be 32 bytes"),
        ("k1:@@@@", "32 bytes|base64"),
        (f"k1:{generate_key()},k1:{generate_key()}", "appears twice"),
    ],
    # Fixed ids: the random keys would make each xdist worker collect different test names.
    ids=["empty", "no-key", "bad-id", "short-key", "not-base64", "id-twice"],
)
def test_malformed_keyrings_are_refused(spec, message):
    with pytest.raises(KeyringError, match=message):
        Keyring.parse(spec)


def test_keyring_round_trips_through_its_text_form():
    ring = Keyring.parse(f"k1:{generate_key()}\nk2:{generate_key()}\n")
    assert Keyring.parse(ring.format()) == ring
    assert ring.active_key_id == "k2"
