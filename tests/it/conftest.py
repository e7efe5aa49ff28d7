"""Fixtures for Weir's integration tests: they start the real `weir serve` (WEIR_BIN,
default build/weir) on a free loopback port with a fresh data directory, wait until it
answers ApiVersions, and stop it afterwards. A failing test gets the broker's stderr
attached to its report. Run with Debian's /usr/bin/python3 (tests/it/run does).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kproto  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
START_TIMEOUT = float(os.environ.get("WEIR_IT_START_TIMEOUT", "30"))
STOP_TIMEOUT = float(os.environ.get("WEIR_IT_STOP_TIMEOUT", "15"))
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|"
                          r"runtime error:|SUMMARY: UndefinedBehaviorSanitizer")

_live_brokers = []


def weir_bin():
    path = os.environ.get("WEIR_BIN", "build/weir")
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    return path


def require_bin():
    path = weir_bin()
    if not os.access(path, os.X_OK):
        pytest.fail("broker binary %s not found or not executable (build it with make, or "
                    "set WEIR_BIN)" % path, pytrace=False)
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout=10.0, interval=0.05, what="condition"):
    """Polls cond() until it returns a truthy value, which is returned; fails the test
    with `what` when timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # the condition may raise while the thing is not ready
            last_exc = e
        if time.monotonic() >= deadline:
            msg = "timed out after %.1fs waiting for %s" % (timeout, what)
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            pytest.fail(msg, pytrace=False)
        time.sleep(interval)


def broker_env(extra):
    """The environment of a broker: this one without any WEIR_ variable (so the test
    runner's WEIR_BIN or a developer's settings never leak into it), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=66")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=67")
    # never the fixed default 127.0.0.1:8081: brokers of parallel runs would collide there
    env.setdefault("WEIR_HTTP_LISTENER", "127.0.0.1:0")
    env.update(extra)
    return env


class Broker:
    """One `weir serve` process with its own port and data dir; restart() keeps both."""

    def __init__(self, data_dir, env=None, name="weir"):
        self.bin = require_bin()
        self.data_dir = str(data_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        self.extra_env = dict(env or {})
        self.log_path = os.path.join(os.path.dirname(self.data_dir.rstrip("/")),
                                     "%s-%s.log" % (name, uuid.uuid4().hex[:6]))
        self.port = None
        self.http_port = None  # the HTTP listener (/metrics, /api/v1), kept across restarts
        self.proc = None
        self.starts = 0
        self.sanitizer_reported = False

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    @property
    def http(self):
        """host:port of the HTTP listener, as `weir topics --http` takes it."""
        return "127.0.0.1:%d" % self.http_port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def env(self):
        e = {"WEIR_LISTENERS": "PLAINTEXT://127.0.0.1:%d" % self.port,
             "WEIR_LOG_DIRS": self.data_dir,
             "WEIR_HTTP_LISTENER": "127.0.0.1:%d" % self.http_port}
        e.update(self.extra_env)
        return broker_env(e)

    def start(self):
        """Starts the broker and waits until it answers ApiVersions. On the first start a
        port someone else took between free_port() and bind is retried on a new port;
        restarts keep the port."""
        first = self.starts == 0
        for _attempt in range(3 if first else 1):
            if first:
                self.port = free_port()
                self.http_port = free_port()
            with open(self.log_path, "ab") as log:
                log.write(("\n===== start #%d on port %d: %s serve (data %s) =====\n" % (
                    self.starts + 1, self.port, self.bin, self.data_dir)).encode())
                log.flush()
                self.proc = subprocess.Popen([self.bin, "serve"], stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log, env=self.env(),
                                             cwd=os.path.dirname(self.data_dir.rstrip("/")),
                                             start_new_session=True)
            self.starts += 1
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                if kproto.probe(self.port, timeout=1.0):
                    _live_brokers.append(self)
                    return self
                time.sleep(0.05)
            if self.proc.poll() is None:
                self._kill()
                pytest.fail("broker did not answer ApiVersions on port %d within %.0fs; "
                            "stderr:\n%s" % (self.port, START_TIMEOUT, self.log_tail()),
                            pytrace=False)
            if not (first and re.search(r"in use|EADDRINUSE", self.log_tail(10), re.I)):
                break
        pytest.fail("broker exited with status %s during startup; stderr:\n%s" % (
            self.proc.returncode, self.log_tail()), pytrace=False)

    def _kill(self):
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """SIGKILL, as a crash or power cut would; waits until the process is gone."""
        assert self.alive(), "broker already dead before kill9: status %s\n%s" % (
            self.proc.returncode, self.log_tail())
        self._kill()
        if self in _live_brokers:
            _live_brokers.remove(self)
        self.check_sanitizers()

    def stop(self):
        """SIGTERM, then waits up to STOP_TIMEOUT; SIGKILL after that. Returns the exit
        status; fails when the broker had died on its own, needed SIGKILL or reported
        a sanitizer error."""
        if self.proc is None:
            return None
        if self in _live_brokers:
            _live_brokers.remove(self)
        if self.proc.poll() is not None:
            pytest.fail("broker had died by itself with status %s; stderr:\n%s" % (
                self.proc.returncode, self.log_tail()), pytrace=False)
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
            pytest.fail("broker did not exit within %.0fs of SIGTERM; stderr:\n%s" % (
                STOP_TIMEOUT, self.log_tail()), pytrace=False)
        self.check_sanitizers()
        if status not in (0, -signal.SIGTERM):
            pytest.fail("broker exited with status %s after SIGTERM; stderr:\n%s" % (
                status, self.log_tail()), pytrace=False)
        return status

    def restart(self):
        """Stops (SIGTERM) if running and starts again on the same port and data dir."""
        if self.alive():
            self.stop()
        return self.start()

    def check_sanitizers(self):
        text = self.log_text()
        if SANITIZER_RE.search(text) and not self.sanitizer_reported:
            self.sanitizer_reported = True
            pytest.fail("sanitizer report in the broker's stderr:\n%s" % self.log_tail(200),
                        pytrace=False)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=120):
        return "\n".join(self.log_text().splitlines()[-lines:])


def start_broker(base_dir, env=None, name="weir"):
    return Broker(os.path.join(str(base_dir), "data"), env=env, name=name).start()


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A broker shared by the tests of one module (default settings); tests use distinct
    topic names so they do not interfere."""
    b = start_broker(tmp_path_factory.mktemp("weir"))
    yield b
    b.stop()


@pytest.fixture
def fresh_broker(tmp_path):
    """A broker of this test alone, for tests that restart, kill or reconfigure it."""
    b = start_broker(tmp_path)
    yield b
    if b.alive():
        b.stop()


@pytest.fixture
def broker_factory(tmp_path):
    """broker_factory(**env) starts a broker of this test with extra WEIR_ settings."""
    started = []

    def make(env=None, name="weir"):
        b = start_broker(tmp_path / ("b%d" % len(started)), env=env, name=name)
        started.append(b)
        return b

    yield make
    for b in started:
        if b.alive():
            b.stop()


@pytest.fixture
def topic(request):
    """A topic name unique to this test."""
    base = re.sub(r"[^A-Za-z0-9._-]", "-", request.node.name)[:80]
    return "%s-%s" % (base, uuid.uuid4().hex[:8])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for b in list(_live_brokers):
            rep.sections.append(("weir stderr (%s, port %s, tail)" % (b.log_path, b.port),
                                 b.log_tail(80)))
        # a broker that died during the test: say so plainly
        for b in list(_live_brokers):
            if not b.alive():
                rep.sections.append(("weir died", "broker on port %s exited with status %s"
                                     % (b.port, b.proc.returncode)))


# ---------------------------------------------------------------- client helpers

def admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def create_topic(bootstrap, name, partitions=1, config=None, timeout=20):
    """Creates a topic with confluent-kafka's AdminClient and waits until the metadata
    lists it with all its partitions."""
    from confluent_kafka.admin import NewTopic
    a = admin(bootstrap)
    fs = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                                   config=config or {})], operation_timeout=timeout)
    fs[name].result(timeout=timeout)

    def listed():
        md = a.list_topics(name, timeout=5)
        t = md.topics.get(name)
        return t is not None and t.error is None and len(t.partitions) == partitions

    wait_until(listed, timeout=timeout, what="topic %s in metadata" % name)
    return name


def client_works(broker):
    """Asserts a fresh connection gets ApiVersions and Metadata answered and a fresh
    librdkafka client can read the cluster metadata: the broker survived whatever the
    test did to it."""
    assert broker.alive(), "broker died: status %s\n%s" % (broker.proc.returncode,
                                                           broker.log_tail())
    with kproto.Conn(broker.port) as c:
        av = kproto.api_versions(c, 0)
        assert av["error"] == 0
        md = kproto.metadata(c, None)
        assert [b["port"] for b in md["brokers"]] == [broker.port]
    md = admin(broker.bootstrap).list_topics(timeout=10)
    assert len(md.brokers) == 1


CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def assert_stored_codec(broker, topic, partition, codec, librdkafka=True, offset=0, upto=None):
    """Asserts the batches stored from offset (up to upto) carry codec, i.e. the
    client really compressed and the broker kept it. (librdkafka enables lz4 only when the
    broker advertises FindCoordinator v0, its LZ4 feature flag: this catches that.)
    A client may send a batch uncompressed when compressing would not shrink it (librdkafka
    does so for a lone small record), so uncompressed single-record batches are allowed,
    but at least one batch must carry the codec."""
    with kproto.Conn(broker.port) as c:
        res = kproto.fetch(c, topic, partition, offset, max_bytes=1 << 20)
    batches = [b for b in kproto.batch_headers(res["records"]) if upto is None or b[0] < upto]
    assert batches, "fetch returned no whole batch"
    want = CODEC_IDS[codec]
    wrong = [b for b in batches if b[1] & 7 != want and not (b[1] & 7 == 0 and b[2] == 1)]
    assert not wrong, "stored batches %r, expected codec %s" % (batches, codec)
    assert any(b[1] & 7 == want for b in batches), "no batch carries codec %s: %r" % (codec, batches)
