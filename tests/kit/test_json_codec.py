import json
import math

from connectorhub.kit import json_codec


def test_reads_plain_values():
    value = {"a": [1, 2.5, None, True], "b": {"nested": "ünïcode"}, "c": 2**63 - 1}
    assert json_codec.loads(json.dumps(value)) == value
    assert json_codec.loads(json.dumps(value).encode()) == value


def test_reads_what_orjson_would_read_otherwise_as_the_standard_module_does():
    # An integer beyond 64 bits that is not exactly a float: orjson would make it one.
    exact = 123456789012345678901234567890
    assert json_codec.loads(f'{{"n": {exact}}}') == {"n": exact}
    assert isinstance(json_codec.loads(f"[{exact}]")[0], int)
    assert json_codec.loads("[18446744073709551615]") == [2**64 - 1]
    assert math.isnan(json_codec.loads('{"x": NaN}')["x"])
    assert json_codec.loads(memoryview(b'{"a": 1}')) == {"a": 1}
