"""pytest fixtures of the opensearch-py suite: one quidditch node for the whole session.

The node is the real binary ($QUIDDITCH_BIN, else build/release/quidditch) on free loopback ports
with a temporary data directory (qdnode.Node). A node that does not start ends the session at
once with the server log, instead of failing every test with the same error. When any test fails,
the node's directory (data and quidditch.log) is kept and the end of the log is printed; set
QD_API_KEEP=1 to keep it always. QD_API_URL=http://host:port runs the suite against a server it
did not start (a real OpenSearch 2.19, to check what the tests expect); the durability test, which
starts nodes of its own, still needs the binary.

Tests share the node, so each one works on indices named after itself (the `index` fixture) and
never on "all indices" unless it says why that is safe.
"""

import os
import re
import sys

import pytest
from opensearchpy import OpenSearch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qdnode  # noqa: E402

_state = {"node": None, "failed": False}


@pytest.fixture(scope="session")
def node():
    try:
        url = os.environ.get("QD_API_URL")
        n = qdnode.ExternalServer(url) if url else qdnode.Node()
        n.start()
    except qdnode.NodeError as e:
        pytest.exit(f"cannot start quidditch: {e}", returncode=1)
    _state["node"] = n
    yield n
    keep = _state["failed"] or os.environ.get("QD_API_KEEP") == "1"
    n.close(keep=keep)


@pytest.fixture(scope="session")
def client(node):
    # No retries: a failed request must fail the test, not be sent again (the client retries on
    # connection errors and 502-504 by default).
    c = OpenSearch(hosts=[node.url], timeout=60, max_retries=0, retry_on_timeout=False)
    yield c
    c.close()


@pytest.fixture
def index(request):
    """A fresh index name for this test (not created): lower-case test name plus a counter."""
    base = re.sub(r"[^a-z0-9_-]+", "-", request.node.name.lower()).strip("-_")
    _index_counter[0] += 1
    return f"{base[:80]}-{_index_counter[0]}"


_index_counter = [0]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # An xfail that fails as expected is not a failure worth keeping the node for.
    if report.failed and not hasattr(report, "wasxfail"):
        _state["failed"] = True


def pytest_terminal_summary(terminalreporter):
    n = _state["node"]
    if n is None:
        return
    if _state["failed"] or os.environ.get("QD_API_KEEP") == "1":
        terminalreporter.write_sep("-", f"quidditch node kept in {n.workdir}")
    if _state["failed"]:
        terminalreporter.write_line(f"last lines of {n.log_path}:")
        terminalreporter.write_line(n.log_tail(40))
