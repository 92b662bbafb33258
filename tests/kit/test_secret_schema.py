"""Which values a schema makes secret: every keyword that can apply a subschema to a value
is followed, so a `writeOnly` behind any of them is found (missing one stored it in clear)."""

from __future__ import annotations

import pytest

from connectorhub.kit.secret_schema import secret_paths

SECRET = {"type": "string", "writeOnly": True}


@pytest.mark.parametrize(
    ("schema", "instance", "expected"),
    [
        ({"properties": {"a": {"properties": {"otp": SECRET}}}}, {"a": {"otp": "1"}}, [("a", "otp")]),
        ({"dependentSchemas": {"user": {"properties": {"pin": SECRET}}}},
         {"user": "x", "pin": "1"}, [("pin",)]),
        ({"properties": {"id": {}}, "unevaluatedProperties": SECRET}, {"id": 1, "key": "k"},
         [("key",)]),
        ({"prefixItems": [{}], "unevaluatedItems": SECRET}, ["open", "hidden"], [(1,)]),
        ({"type": "array", "contains": SECRET}, ["a", "b"], [(0,), (1,)]),
        ({"$defs": {"s": SECRET}, "properties": {"t": {"$ref": "#/$defs/s"}}}, {"t": "1"},
         [("t",)]),
    ],
    ids=["nested", "dependentSchemas", "unevaluatedProperties", "unevaluatedItems", "contains",
         "ref"],
)  # fmt: skip
def test_a_secret_behind_any_applicator_is_found(schema, instance, expected):
    assert secret_paths(schema, instance) == expected
