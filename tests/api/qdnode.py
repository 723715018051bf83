"""One real `quidditch` process (all roles, single-node Raft) for the REST API suites.

Used by conftest.py (opensearch-py suite) and run_scripts.py (behaviour scripts). Standard library
only, so the script runner works outside the virtualenv too.

The node gets free loopback ports for HTTP, Raft, the control-plane gRPC and the node gRPC, and a
data directory of its own, so suites run in parallel without colliding. A restart reuses the same
ports and data directory: the Raft group bootstrapped on the first start records its member's
address, and the durability tests are about reopening exactly what was written.

A node that does not come up (process exits, or no healthy answer in time) raises NodeError with
the tail of the server log in the message: a suite that cannot start its node must say why.
"""

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

DEFAULT_BINARY_ENV = "QUIDDITCH_BIN"


class NodeError(Exception):
    pass


_PORT_LOCKS = []  # open lock files: each reserves its port until this process exits
_next_port = [os.getpid() * 7919]


def free_port():
    """A loopback port that is free now and that no other test process will hand out.

    As src/common/testing/ports.h: ports below Linux's ephemeral range (where the kernel also
    picks the local ports of outgoing connections, which could take the port before the node
    binds it), each reserved with an exclusive flock on /tmp/quidditch-test-ports/<port>.
    """
    first, count = 20000, 12768
    os.makedirs("/tmp/quidditch-test-ports", exist_ok=True)
    for _ in range(count):
        port = first + _next_port[0] % count
        _next_port[0] += 1
        lock = open(f"/tmp/quidditch-test-ports/{port}", "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                lock.close()
                continue
        _PORT_LOCKS.append(lock)
        return port
    raise RuntimeError(f"no free loopback port in [{first}, {first + count})")


def find_binary(explicit=None):
    """The quidditch binary: `explicit`, else $QUIDDITCH_BIN, else build/release/quidditch."""
    candidates = [explicit, os.environ.get(DEFAULT_BINARY_ENV)]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidates.append(os.path.join(root, "build", "release", "quidditch"))
    for c in candidates:
        if c:
            if not os.access(c, os.X_OK):
                raise NodeError(f"quidditch binary {c!r} is not an executable file")
            return os.path.abspath(c)  # the node runs in its own directory
    raise NodeError("no quidditch binary")  # unreachable: the last candidate is always set


class Node:
    """A quidditch process on loopback. Not thread-safe; one owner drives start/stop/restart."""

    def __init__(self, binary=None, workdir=None, node_id="qd-api-node", cluster_name="qd-api"):
        self.binary = find_binary(binary)
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="qd-api-")
        self.data_dir = os.path.join(self.workdir, "data")
        self.log_path = os.path.join(self.workdir, "quidditch.log")
        self.node_id = node_id
        self.cluster_name = cluster_name
        self.http_port = free_port()
        self.raft_port = free_port()
        self.raft_grpc_port = free_port()
        self.node_grpc_port = free_port()
        self.proc = None
        self.starts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def args(self):
        settings = {
            "cluster.name": self.cluster_name,
            "controlPlane.mode": "raft",
            "node.nodeId": self.node_id,
            "node.bindAddr": "127.0.0.1",
            "node.httpPort": self.http_port,
            "node.grpcPort": self.node_grpc_port,
            "controlPlane.raft.bindAddr": "127.0.0.1",
            "controlPlane.raft.raftPort": self.raft_port,
            "controlPlane.raft.grpcPort": self.raft_grpc_port,
            # A one-member group elects itself after one election timeout: keep it short so
            # starts and restarts stay fast (the default 3s is meant for real networks).
            "controlPlane.raft.heartbeatTimeout": "200ms",
            "controlPlane.raft.electionTimeout": "500ms",
            "data.dataDir": self.data_dir,
        }
        args = [self.binary]
        for k, v in settings.items():
            args += ["-E", f"{k}={v}"]
        return args

    def log_tail(self, lines=60):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"(no server log: {e})"
        tail = text.splitlines()[-lines:]
        return "\n".join(tail)

    def start(self, timeout=60.0):
        """Starts the process; waits until health is green or yellow with this node in the cluster."""
        if self.proc is not None:
            raise NodeError("node already running")
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"==== start {self.starts}: {' '.join(self.args())}\n".encode())
        log.flush()
        try:
            self.proc = subprocess.Popen(
                self.args(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.workdir)
        except OSError as e:
            raise NodeError(f"cannot run {self.binary}: {e}") from e
        finally:
            log.close()
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self.proc = None
                raise NodeError(f"quidditch exited with code {code} during startup; server log "
                                f"({self.log_path}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/_cluster/health", timeout=2) as r:
                    body = json.loads(r.read())
                    last = f"health {body.get('status')}"
                    # The node joins the cluster state shortly after the control plane answers;
                    # a suite starting before that would see number_of_nodes 0.
                    if (body.get("status") in ("green", "yellow")
                            and body.get("number_of_data_nodes", 0) >= 1):
                        return
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}: {e.read()[:200]!r}"
            except (OSError, ValueError) as e:
                last = str(e)
            time.sleep(0.05)
        raise NodeError(f"quidditch not healthy after {timeout}s ({last}); server log "
                        f"({self.log_path}):\n{self.log_tail()}")

    def stop(self, kill=False, timeout=30.0):
        """SIGTERM (clean shutdown, which must finish within `timeout`) or SIGKILL."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if kill:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise NodeError(f"quidditch did not stop within {timeout}s of SIGTERM; server log:\n"
                            f"{self.log_tail()}")
        if code != 0:
            raise NodeError(f"quidditch exited with code {code} after SIGTERM; server log:\n"
                            f"{self.log_tail()}")

    def restart(self, kill=False, timeout=60.0):
        self.stop(kill=kill)
        self.start(timeout)

    def close(self, keep=False):
        """Stops the node (SIGKILL if SIGTERM fails) and removes its directory unless `keep`."""
        try:
            self.stop()
        finally:
            if self.proc is not None:
                self.proc.kill()
                self.proc.wait()
                self.proc = None
            if self._own_workdir and not keep:

                shutil.rmtree(self.workdir, ignore_errors=True)


class ExternalServer:
    """A server the suites did not start (--url / $QD_API_URL), e.g. a real OpenSearch 2.19 to
    check the expectations against. It cannot be restarted; close() leaves it alone."""

    def __init__(self, url, node_id="qd-api-node", cluster_name="qd-api"):
        self.url = url.rstrip("/")
        self.node_id = node_id
        self.cluster_name = cluster_name
        self.http_port = int(self.url.rsplit(":", 1)[1]) if self.url.count(":") == 2 else 80
        self.proc = None
        self.workdir = "(external server)"
        self.log_path = "(external server)"

    def start(self, timeout=60.0):
        pass

    def restart(self, kill=False, timeout=60.0):
        raise NodeError("restart needs a node the suite started (not --url)")

    def stop(self, kill=False, timeout=30.0):
        raise NodeError("stop needs a node the suite started (not --url)")

    def log_tail(self, lines=60):
        return "(external server: no log)"

    def close(self, keep=False):
        pass

