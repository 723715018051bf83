#!/usr/bin/env python3
"""Runs the REST behaviour scripts (tests/api/scripts/*.test) against a real quidditch node.

    run_scripts.py [--binary PATH | --url URL] [--keep] [--stop-on-failure] [-v] [SCRIPT_OR_DIR ...]

Each script gets a fresh node (qdnode.Node: free ports, its own data directory) and is a sequence
of steps in the style of DuckDB's sqllogictest; docs/testing-api.md is the reference. In short:

    # a comment (only between steps)
    request PUT /logs?wait_for_active_shards=1
    {"settings": {"number_of_shards": 2}}
    ----
    200
    {"acknowledged": true, "index": "logs"}

    restart            (SIGTERM, start again on the same data dir, wait for yellow/green)
    restart kill       (the same with SIGKILL)
    xfail <reason>     (the next request step is known to fail; it is an error if it passes)

The body is every line between the request line and `----`, each followed by a newline, sent
verbatim (Content-Type application/x-ndjson for paths ending in _bulk or _msearch, else
application/json); a line `<blank>` stands for an empty line. After `----`: the exact status, then optionally the expected body up
to the next blank line. An expected body starting with `{` or `[` is JSON compared as a subset:

  - objects: every expected key must be present and match; other keys are ignored. The value
    "<absent>" requires the key to be missing.
  - arrays: same length, element by element, unless the last expected element is "...": then the
    actual array may be longer (a prefix match).
  - "*" matches anything (the key must be present); "/regex/" matches a string, or the JSON text of
    a number/bool/null, in full (Python re syntax); "<capture NAME>" matches anything and saves
    the value as ${NAME} for the paths, bodies and expected strings of later steps of the script.
  - numbers compare by value (1 == 1.0); a bool never equals a number.

Any other expected body is text (the _cat tables): one regex per line, each matching the whole
actual line (trailing blanks ignored), with as many lines as the response has.

Stdlib + requests only. Exit status 0 when every step passed (xfail steps failing as expected).
"""

import argparse
import json
import os
import re
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qdnode  # noqa: E402


class ScriptError(Exception):
    """A malformed script (not a failed expectation)."""


class Step:
    def __init__(self, kind, line, **kw):
        self.kind = kind  # "request" or "restart"
        self.line = line
        self.method = kw.get("method")
        self.path = kw.get("path")
        self.body = kw.get("body")  # str or None
        self.status = kw.get("status")
        self.expected_text = kw.get("expected_text")  # str or None
        self.kill = kw.get("kill", False)
        self.xfail = None  # reason, when the step is expected to fail


def parse_script(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    steps = []
    pending_xfail = None
    i = 0

    def err(msg, at=None):
        return ScriptError(f"{path}:{(at if at is not None else i) + 1}: {msg}")

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        words = stripped.split(None, 2)
        if words[0] == "xfail":
            if len(words) < 2:
                raise err("xfail needs a reason")
            pending_xfail = stripped[len("xfail"):].strip()
            i += 1
            continue
        if words[0] == "restart":
            if len(words) > 2 or (len(words) == 2 and words[1] != "kill"):
                raise err("expected `restart` or `restart kill`")
            if pending_xfail:
                raise err("xfail applies to request steps only")
            steps.append(Step("restart", i, kill=len(words) == 2))
            i += 1
            continue
        if words[0] != "request":
            raise err(f"unknown step {words[0]!r} (expected request, restart, xfail or # comment)")
        if len(words) != 3 or not words[2].startswith("/"):
            raise err("expected `request METHOD /path`")
        start = i
        method, req_path = words[1].upper(), words[2]
        i += 1
        body_lines = []
        while i < len(lines) and lines[i].strip() != "----":
            if not lines[i].strip():
                raise err(f"request at line {start + 1}: blank line before `----`")
            # A blank line would end the step, so a body that needs one writes <blank>.
            body_lines.append("" if lines[i].strip() == "<blank>" else lines[i])
            i += 1
        if i == len(lines):
            raise err(f"request at line {start + 1} has no `----`", start)
        i += 1  # past ----
        if i == len(lines) or not re.fullmatch(r"\d{3}", lines[i].strip()):
            raise err("expected an HTTP status (3 digits) after `----`")
        status = int(lines[i].strip())
        i += 1
        exp_lines = []
        while i < len(lines) and lines[i].strip():
            exp_lines.append(lines[i])
            i += 1
        step = Step("request", start, method=method, path=req_path,
                    body="\n".join(body_lines) + "\n" if body_lines else None,
                    status=status, expected_text="\n".join(exp_lines) if exp_lines else None)
        if step.expected_text and step.expected_text.lstrip()[:1] in "{[":
            try:
                step.expected_json = json.loads(step.expected_text)
            except ValueError as e:
                raise err(f"expected body is not JSON: {e}", start)
        else:
            step.expected_json = None
        step.xfail, pending_xfail = pending_xfail, None
        steps.append(step)
    if pending_xfail:
        raise err("xfail at the end of the script applies to nothing")
    return steps


# --- matching -----------------------------------------------------------------------------------

ABSENT = "<absent>"
CAPTURE = re.compile(r"<capture ([A-Za-z_][A-Za-z0-9_]*)>")


def _json_text(v):
    return v if isinstance(v, str) else json.dumps(v)


def match(expected, actual, where, captures):
    """None when `actual` matches `expected` (see the module doc), else a message naming where."""
    if isinstance(expected, str):
        if "${" in expected:
            expected = substitute(expected, captures, where)
        m = CAPTURE.fullmatch(expected)
        if m:
            captures[m.group(1)] = actual
            return None
        if expected == "*":
            return None
        if len(expected) >= 2 and expected.startswith("/") and expected.endswith("/"):
            if isinstance(actual, (dict, list)):
                return f"at {where}: expected a value matching {expected}, got {_short(actual)}"
            if re.fullmatch(expected[1:-1], _json_text(actual), re.S):
                return None
            return f"at {where}: {_short(actual)} does not match {expected}"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"at {where}: expected an object, got {_short(actual)}"
        for k, v in expected.items():
            if v == ABSENT:
                if k in actual:
                    return f"at {where}.{k}: expected no such key, got {_short(actual[k])}"
                continue
            if k not in actual:
                return f"at {where}: missing key {k!r} (keys: {', '.join(map(str, actual))})"
            msg = match(v, actual[k], f"{where}.{k}", captures)
            if msg:
                return msg
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"at {where}: expected an array, got {_short(actual)}"
        prefix = bool(expected) and expected[-1] == "..."
        items = expected[:-1] if prefix else expected
        if len(actual) < len(items) or (not prefix and len(actual) != len(items)):
            return (f"at {where}: expected {'at least ' if prefix else ''}{len(items)} elements, "
                    f"got {len(actual)}: {_short(actual)}")
        for n, v in enumerate(items):
            msg = match(v, actual[n], f"{where}[{n}]", captures)
            if msg:
                return msg
        return None
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None:
        if expected is actual or (type(expected) is type(actual) and expected == actual):
            return None
        return f"at {where}: expected {_short(expected)}, got {_short(actual)}"
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if expected == actual:
            return None
        return f"at {where}: expected {_short(expected)}, got {_short(actual)}"
    if expected == actual and type(expected) is type(actual):
        return None
    return f"at {where}: expected {_short(expected)}, got {_short(actual)}"


def match_text(expected_text, actual_text):
    exp = [l.rstrip() for l in expected_text.split("\n")]
    act = [l.rstrip() for l in actual_text.rstrip("\n").split("\n")] if actual_text else []
    if len(exp) != len(act):
        return f"expected {len(exp)} lines, got {len(act)}"
    for n, (e, a) in enumerate(zip(exp, act)):
        try:
            if not re.fullmatch(e, a):
                return f"line {n + 1}: {a!r} does not match /{e}/"
        except re.error as ex:
            return f"line {n + 1}: bad regex /{e}/: {ex}"
    return None


def _short(v, limit=300):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + "..."


def substitute(text, captures, where):
    def repl(m):
        name = m.group(1)
        if name not in captures:
            raise ScriptError(f"{where}: ${{{name}}} was never captured")
        return _json_text(captures[name])
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", repl, text)


# --- running ------------------------------------------------------------------------------------

def content_type(path):
    last = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return "application/x-ndjson" if last in ("_bulk", "_msearch") else "application/json"


def run_request(session, node, step, captures, where):
    path = substitute(step.path, captures, where)
    body = substitute(step.body, captures, where) if step.body is not None else None
    headers = {}
    if body is not None:
        headers["Content-Type"] = content_type(path)
    resp = session.request(step.method, node.url + path,
                           data=body.encode("utf-8") if body is not None else None,
                           headers=headers, timeout=120)
    text = resp.content.decode("utf-8", "replace")
    problem = None
    if resp.status_code != step.status:
        problem = f"expected status {step.status}, got {resp.status_code}"
    if step.expected_text is not None:
        if step.expected_json is not None:
            try:
                actual = json.loads(text)
            except ValueError as e:
                actual = None
                problem = problem or f"response is not JSON ({e})"
            if actual is not None:
                problem = problem or match(step.expected_json, actual, "$", captures)
        else:
            problem = problem or match_text(step.expected_text, text)
    return path, body, resp, text, problem


def report_failure(out, where, step, path, body, resp, text, problem):
    out.write(f"FAIL {where}: {step.method} {path}\n")
    if body is not None:
        out.write(_indent("request body", body.rstrip("\n")))
    exp = f"{step.status}" + (f"\n{step.expected_text}" if step.expected_text else "")
    out.write(_indent("expected", exp))
    shown = text
    try:
        shown = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        pass
    if len(shown) > 4000:
        shown = shown[:4000] + "\n... (cut)"
    out.write(_indent("got", f"{resp.status_code}\n{shown}"))
    out.write(f"  => {problem}\n\n")


def _indent(title, text):
    return f"  {title}:\n" + "".join(f"    {l}\n" for l in text.split("\n"))


def run_script(path, args, out):
    """Runs one script; returns (passed, failed, xfailed) step counts."""
    steps = parse_script(path)
    node = qdnode.ExternalServer(args.url) if args.url else qdnode.Node(binary=args.binary)
    passed = failed = xfailed = 0
    started = time.monotonic()
    rel = os.path.relpath(path)
    try:
        node.start()
        session = requests.Session()
        captures = {}
        for step in steps:
            where = f"{rel}:{step.line + 1}"
            if step.kind == "restart":
                session.close()
                try:
                    node.restart(kill=step.kill)
                except qdnode.NodeError as e:
                    out.write(f"FAIL {where}: restart{' kill' if step.kill else ''}: {e}\n\n")
                    failed += 1
                    break  # nothing after a node that does not come back can be meaningful
                session = requests.Session()
                if args.verbose:
                    out.write(f"ok   {where}: restart{' kill' if step.kill else ''}\n")
                passed += 1
                continue
            try:
                path_, body, resp, text, problem = run_request(session, node, step, captures,
                                                               where)
            except requests.RequestException as e:
                path_, body, resp, text = step.path, step.body, None, ""
                problem = f"request failed: {e}"
                if node.proc is not None and node.proc.poll() is not None:
                    problem += (f"\n  the node exited with code {node.proc.returncode}; server "
                                f"log:\n{node.log_tail()}")
            if step.xfail is not None:
                if problem:
                    xfailed += 1
                    if args.verbose:
                        out.write(f"xfail {where}: {step.method} {step.path} ({step.xfail})\n")
                else:
                    failed += 1
                    out.write(f"XPASS {where}: {step.method} {path_} passes but is marked "
                              f"`xfail {step.xfail}`: remove the marker\n\n")
            elif problem:
                failed += 1
                if resp is None:
                    out.write(f"FAIL {where}: {step.method} {path_}\n  => {problem}\n\n")
                else:
                    report_failure(out, where, step, path_, body, resp, text, problem)
            else:
                passed += 1
                if args.verbose:
                    out.write(f"ok   {where}: {step.method} {path_}\n")
            if failed and args.stop_on_failure:
                break
        session.close()
        if node.proc is not None and node.proc.poll() is not None:
            out.write(f"FAIL {rel}: the node died (exit code {node.proc.returncode}); server "
                      f"log:\n{node.log_tail()}\n\n")
            failed += 1
    except qdnode.NodeError as e:
        out.write(f"FAIL {rel}: {e}\n\n")
        failed += 1
    finally:
        keep = args.keep or failed > 0  # a failed script's log and data are evidence
        try:
            node.close(keep=keep)
        except qdnode.NodeError as e:
            out.write(f"FAIL {rel}: at shutdown: {e}\n\n")
            failed += 1
        if keep and isinstance(node, qdnode.Node):
            out.write(f"     {rel}: node directory kept in {node.workdir}\n")
    out.write(f"{'FAIL' if failed else 'PASS'} {rel}: {passed} passed, {failed} failed, "
              f"{xfailed} xfailed ({time.monotonic() - started:.1f}s)\n")
    out.flush()
    return passed, failed, xfailed


def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".test"))
        else:
            files.append(p)
    return files


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", default=[os.path.join(here, "scripts")])
    ap.add_argument("--binary", help="quidditch binary (default $QUIDDITCH_BIN, then "
                    "build/release/quidditch)")
    ap.add_argument("--url", help="run against this server instead of starting nodes (e.g. a "
                    "real OpenSearch 2.19 to check expectations; `restart` steps fail, and the "
                    "server must not hold the scripts' indices)")
    ap.add_argument("--keep", action="store_true", help="keep every node's data dir and log (a failed script's are always kept)")
    ap.add_argument("--stop-on-failure", action="store_true",
                    help="stop a script at its first failed step")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every step")
    args = ap.parse_args()
    files = collect(args.paths)
    if not files:
        print("no .test scripts found", file=sys.stderr)
        return 2
    try:
        for f in files:
            parse_script(f)  # a malformed script fails before any node starts
    except (ScriptError, OSError) as e:
        print(f"ERROR {e}", file=sys.stderr)
        return 2
    totals = [0, 0, 0]
    for f in files:
        for n, v in enumerate(run_script(f, args, sys.stdout)):
            totals[n] += v
    if totals[2]:
        print(f"{totals[2]} steps xfailed (known bugs and missing features: the scripts' xfail lines)")
    print(f"{totals[0]} passed, {totals[1]} failed")
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
