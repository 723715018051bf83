"""Tests of the behaviour-script runner itself (run_scripts.py): parsing and matching.

No node is started: these check that the runner fails when it should, so a green script run
means something.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_scripts as rs  # noqa: E402


def m(expected, actual, captures=None):
    return rs.match(expected, actual, "$", {} if captures is None else captures)


def test_subset_objects():
    assert m({"a": 1}, {"a": 1, "b": 2}) is None
    assert "missing key 'a'" in m({"a": 1}, {"b": 2})
    assert "$.a.b" in m({"a": {"b": 1}}, {"a": {"b": 2}})
    assert m({"a": "<absent>"}, {"b": 1}) is None
    assert "expected no such key" in m({"a": "<absent>"}, {"a": None})
    assert "expected an object" in m({"a": 1}, [1])


def test_arrays_exact_or_prefix():
    assert m([1, 2], [1, 2]) is None
    assert "expected 2 elements, got 3" in m([1, 2], [1, 2, 3])
    assert m([1, "..."], [1, 2, 3]) is None
    assert "at least 2" in m([1, 2, "..."], [1])
    assert "$[1]" in m([{"a": 1}, {"a": 2}], [{"a": 1}, {"a": 3}])


def test_scalars():
    assert m(1, 1.0) is None
    assert m(1, 2) is not None
    assert m(True, 1) is not None and m(1, True) is not None
    assert m(None, None) is None and m(None, 0) is not None
    assert m("a", "a") is None and m("1", 1) is not None


def test_wildcards_regexes_captures():
    assert m("*", None) is None and m({"a": "*"}, {}) is not None
    assert m("/[a-z]{3}/", "abc") is None
    assert m("/[a-z]{3}/", "abcd") is not None  # full match only
    assert m("/\\d+/", 42) is None and m("/true/", True) is None
    assert m("/.*/", {"a": 1}) is not None
    captures = {}
    assert m({"id": "<capture x>"}, {"id": "q1"}, captures) is None
    assert captures == {"x": "q1"}
    assert m("${x}", "q1", captures) is None and m("${x}", "q2", captures) is not None
    assert rs.substitute('{"id": "${x}"}', captures, "here") == '{"id": "q1"}'
    with pytest.raises(rs.ScriptError, match="never captured"):
        rs.substitute("${nope}", captures, "here")


def test_text_tables():
    assert rs.match_text("a +b\n1 +2", "a  b\n1  2\n") is None
    assert "expected 2 lines, got 1" in rs.match_text("a +b\n1 +2", "a b\n")
    assert "line 2" in rs.match_text("a +b\n1 +2", "a b\n1 3\n")


def write(tmp_path, text):
    p = tmp_path / "s.test"
    p.write_text(text)
    return str(p)


def test_parse_steps(tmp_path):
    steps = rs.parse_script(write(tmp_path, """# c
request POST /x/_bulk
{"index": {}}
<blank>
----
200
{"errors": false}

restart kill

xfail not there yet
request GET /y
----
404
"""))
    assert [s.kind for s in steps] == ["request", "restart", "request"]
    assert steps[0].body == '{"index": {}}\n\n' and steps[0].expected_json == {"errors": False}
    assert steps[0].line == 1 and steps[1].kill and steps[2].xfail == "not there yet"
    assert steps[2].body is None and steps[2].expected_text is None


@pytest.mark.parametrize("text,error", [
    ("request GET /x\n{}", "has no `----`"),
    ("request GET /x\n{}\n\n----\n200\n", "blank line before `----`"),
    ("request GET /x\n----\nok\n", "expected an HTTP status"),
    ("request GET x\n----\n200\n", "expected `request METHOD /path`"),
    ("request GET /x\n----\n200\n{bad\n", "expected body is not JSON"),
    ("restart now\n", "expected `restart` or `restart kill`"),
    ("get /x\n", "unknown step"),
    ("xfail why\n", "applies to nothing"),
])
def test_parse_errors(tmp_path, text, error):
    with pytest.raises(rs.ScriptError, match=error):
        rs.parse_script(write(tmp_path, text))


def test_content_type():
    assert rs.content_type("/_bulk?refresh=true") == "application/x-ndjson"
    assert rs.content_type("/i/_msearch") == "application/x-ndjson"
    assert rs.content_type("/i/_search") == "application/json"
