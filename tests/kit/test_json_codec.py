import json
import math

from connectorhub.kit import json_codec


def test_round_trips_what_orjson_handles():
    value = {"a": [1, 2.5, None, True], "b": {"nested": "ünïcode"}}
    assert json_codec.loads(json_codec.dumps(value)) == value
    assert isinstance(json_codec.dumps(value), str)


def test_falls_back_to_the_standard_module_where_orjson_refuses():
    big = {"n": 2**70}
    assert json_codec.dumps(big) == json.dumps(big)
    assert json_codec.dumps({1: "x"}) == '{"1": "x"}'
    assert math.isnan(json_codec.loads('{"x": NaN}')["x"])
    assert json_codec.loads(b'{"n": 1180591620717411303424}') == {"n": 2**70}
