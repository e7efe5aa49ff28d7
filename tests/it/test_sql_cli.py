"""`weir sql` as a user drives it (issue 4 item 8): -e and -f scripts and their exit
statuses (0 ran, 1 failed while running, 2 refused with FILE:LINE:COLUMN), the script
from stdin, unbounded datagen jobs and queries stopped by SIGINT / SIGTERM after they
printed rows, the interactive prompt through a pseudo-terminal (continuation lines, an
error that keeps the prompt, Ctrl-C, history file, quit;), the progress line on a
terminal's stderr, and --help. No broker is needed: the jobs read VALUES and datagen.
"""

import array
import fcntl
import os
import pty
import re
import select
import signal
import subprocess
import termios
import time

import pytest

from clients import assert_delivered, produce_all, producer
from conftest import SANITIZER_RE, broker_env, create_topic, require_bin, wait_until

RUN_TIMEOUT = 60


def env_for(tmp_path):
    return broker_env({"HOME": str(tmp_path)})


def run_sql(tmp_path, args, stdin=None):
    weir = require_bin()
    p = subprocess.run([weir, "sql"] + args, input=stdin, capture_output=True, text=True,
                       env=env_for(tmp_path), timeout=RUN_TIMEOUT)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return p


def write_script(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ---- scripts and exit statuses ------------------------------------------------------------

def test_help_lists_options_and_exit_statuses(tmp_path):
    p = run_sql(tmp_path, ["--help"])
    assert p.returncode == 0
    for word in ["-f", "-e", "--bootstrap-servers", "--parallelism", "exit status",
                 "130", "143", "refused", "~/.weir_sql_history"]:
        assert word in p.stdout, word
    assert re.search(r"^\s+0\s", p.stdout, re.M)
    assert re.search(r"^\s+1\s", p.stdout, re.M)
    assert re.search(r"^\s+2\s", p.stdout, re.M)


def test_weir_usage_lists_sql(tmp_path):
    p = subprocess.run([require_bin(), "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and re.search(r"^\s+sql\s", p.stdout, re.M)


def test_values_query_prints_tableau(tmp_path):
    p = run_sql(tmp_path, ["-e", "SELECT * FROM (VALUES (1, 'one'), (2, 'two')) AS t(id, name);"])
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert re.match(r"^\| op \|\s+id \|\s+name \|$", lines[1]), p.stdout
    assert re.search(r"^\| \+I \|\s+1 \|\s+one \|$", p.stdout, re.M)
    assert re.search(r"^\| \+I \|\s+2 \|\s+two \|$", p.stdout, re.M)
    assert lines[-1] == "Received a total of 2 rows"
    assert p.stderr == ""


def test_syntax_error_names_file_line_and_column(tmp_path):
    path = write_script(tmp_path, "job.sql",
                        "-- a job\nSET 'parallelism.default' = '1';\nSELECT id,\n  FROM t;\n")
    p = run_sql(tmp_path, ["-f", path])
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith(path + ":4:3: "), p.stderr
    assert "FROM" in p.stderr
    assert p.stdout == ""


def test_unknown_column_says_did_you_mean_and_nothing_runs(tmp_path):
    # the first query is fine, but the script is checked as a whole before anything runs
    path = write_script(tmp_path, "job.sql",
                        "SELECT 'first' AS s;\n"
                        "CREATE VIEW orders AS SELECT * FROM (VALUES (1, 2.50)) AS t(id, amount);\n"
                        "SELECT id, amout FROM orders;\n")
    p = run_sql(tmp_path, ["-f", path])
    assert p.returncode == 2, p.stderr
    assert re.match(re.escape(path) + r":3:12: column 'amout' not found .*did you mean 'amount'\?", p.stderr), \
        p.stderr
    assert "first" not in p.stdout


def test_runtime_error_exits_1(tmp_path):
    p = run_sql(tmp_path, ["-e", "SELECT 10 / x AS q FROM (VALUES (5), (0), (2)) AS t(x);"])
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "division by zero" in p.stderr
    assert re.search(r"line 1, column \d+", p.stderr), p.stderr


def test_runtime_error_in_file_names_the_file(tmp_path):
    path = write_script(tmp_path, "job.sql", "SELECT 1 AS a;\n\nSELECT CAST(x AS INT) AS n FROM (VALUES ('7'), ('x2')) AS t(x);\n")
    p = run_sql(tmp_path, ["-f", path])
    assert p.returncode == 1, p.stderr
    assert p.stderr.startswith(path + ":3:"), p.stderr
    assert "x2" in p.stderr
    assert "Received a total of 1 row" in p.stdout  # the first statement ran


def test_refused_set_value_exits_2(tmp_path):
    p = run_sql(tmp_path, ["-e", "SET 'execution.checkpointing.interval' = 'soon';"])
    assert p.returncode == 2, p.stderr
    assert "not a duration" in p.stderr


def test_script_from_stdin(tmp_path):
    p = run_sql(tmp_path, [], stdin="SELECT 'from stdin' AS s;\nSELECT 41 + 1 AS answer;\n")
    assert p.returncode == 0, p.stderr
    assert re.search(r"^\| \+I \|\s+from stdin \|$", p.stdout, re.M), p.stdout
    assert re.search(r"^\| \+I \|\s+42 \|$", p.stdout, re.M), p.stdout
    p = run_sql(tmp_path, [], stdin="SELECT 1 AS a;\nSELECT b;\n")
    assert p.returncode == 2
    assert p.stderr.startswith("<stdin>:2:8: "), p.stderr


def test_last_statement_needs_no_semicolon(tmp_path):
    p = run_sql(tmp_path, ["-e", "SELECT 1 AS a; SELECT 2 AS b"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("Received a total of 1 row") == 2


def test_usage_errors_exit_2(tmp_path):
    for args, what in [(["--nope"], "unknown argument"),
                       (["-f", "a.sql", "-e", "SELECT 1"], "not both"),
                       (["--parallelism", "0", "-e", "SELECT 1"], "--parallelism"),
                       (["-f"], "needs a value"),
                       (["-f", str(tmp_path / "missing.sql")], "cannot read")]:
        p = run_sql(tmp_path, args)
        assert p.returncode == 2, args
        assert what in p.stderr, (args, p.stderr)


def test_bad_records_summary_and_runtime_failure(fresh_broker, tmp_path):
    # a Kafka topic with two records that are not JSON, read to its end; the table names
    # another cluster, --bootstrap-servers points it at the test broker
    bs = fresh_broker.bootstrap
    create_topic(bs, "cli_bad", partitions=1)
    values = [b'{"id": 1}', b"not json", b'{"id": 2}', b"{"]
    assert_delivered(produce_all(producer(bs), "cli_bad", [{"value": v} for v in values]))
    table = ("CREATE TABLE src (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'cli_bad',\n"
             "  'properties.bootstrap.servers' = '127.0.0.1:1', 'scan.startup.mode' = 'earliest-offset',\n"
             "  'scan.bounded.mode' = 'latest-offset', 'format' = 'json'%s);\n")
    skipping = write_script(tmp_path, "skip.sql", table % ", 'json.ignore-parse-errors' = 'true'" +
                            "SELECT id FROM src;\n")
    p = run_sql(tmp_path, ["-f", skipping, "--bootstrap-servers", bs])
    assert p.returncode == 0, p.stderr
    assert sorted(re.findall(r"^\| \+I \|\s+(\d+) \|$", p.stdout, re.M)) == ["1", "2"], p.stdout
    assert "weir sql: 2 bad records skipped, 0 written to the dead-letter topic\n" in p.stderr, p.stderr

    failing = write_script(tmp_path, "fail.sql", table % "" + "SELECT id FROM src;\n")
    p = run_sql(tmp_path, ["-f", failing, "--bootstrap-servers", bs])
    assert p.returncode == 1, p.stderr
    assert p.stderr.startswith(failing + ": "), p.stderr
    assert "cli_bad" in p.stderr and "offset 1" in p.stderr, p.stderr
    assert "bad records" not in p.stderr


# ---- unbounded jobs stopped by signals -------------------------------------------------------

DATAGEN = ("CREATE TABLE src (id BIGINT, v INT) WITH ('connector' = 'datagen', 'rows-per-second' = '50',\n"
           "  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000000');\n")


def start_sql(tmp_path, args):
    out = open(tmp_path / "out.txt", "w+b")
    err = open(tmp_path / "err.txt", "w+b")
    p = subprocess.Popen([require_bin(), "sql"] + args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                         env=env_for(tmp_path))
    return p, tmp_path / "out.txt", tmp_path / "err.txt"


def stop_and_wait(p, sig, errfile):
    p.send_signal(sig)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("weir sql did not stop within 30 s of %s: %s" % (sig, errfile.read_text()))
    assert not SANITIZER_RE.search(errfile.read_text()), errfile.read_text()
    return rc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_unbounded_print_job_stops_on_signal(tmp_path, sig):
    path = write_script(tmp_path, "job.sql", DATAGEN +
                        "CREATE TABLE out (id BIGINT, v INT) WITH ('connector' = 'print');\n"
                        "INSERT INTO out SELECT id, v FROM src;\n")
    p, out, err = start_sql(tmp_path, ["-f", path, "--parallelism", "1"])
    wait_until(lambda: len(re.findall(r"\+I\[\d+, -?\d+\]", out.read_text())) >= 5 or p.poll() is not None,
               timeout=20, what="rows printed by the print sink")
    assert p.poll() is None, err.read_text()
    rc = stop_and_wait(p, sig, err)
    assert rc == 0, err.read_text()
    ids = [int(m) for m in re.findall(r"\+I\[(\d+), ", out.read_text())]
    assert ids[:5] == [1, 2, 3, 4, 5]
    assert "stopping" in err.read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_unbounded_query_stops_on_signal(tmp_path, sig):
    p, out, err = start_sql(tmp_path, ["-e", DATAGEN + "SELECT id FROM src;"])
    wait_until(lambda: len(re.findall(r"^\| \+I \|", out.read_text(), re.M)) >= 3 or p.poll() is not None,
               timeout=20, what="query rows")
    assert p.poll() is None, err.read_text()
    rc = stop_and_wait(p, sig, err)
    assert rc == 0, err.read_text()
    assert re.search(r"^Query terminated, received a total of \d+ rows?$", out.read_text(), re.M), out.read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_second_signal_exits_at_once(tmp_path, sig):
    # The print sink writes into a pipe nobody reads: once it is full the sink cannot flush,
    # so the first signal cannot finish stopping and the second one must end the process.
    path = write_script(tmp_path, "job.sql", DATAGEN.replace("'50'", "'100000'") +
                        "CREATE TABLE out (id BIGINT, v INT) WITH ('connector' = 'print');\n"
                        "INSERT INTO out SELECT id, v FROM src;\n")
    err = open(tmp_path / "err.txt", "w+b")
    p = subprocess.Popen([require_bin(), "sql", "-f", path, "--parallelism", "1"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=err, env=env_for(tmp_path))
    try:
        pipe_size = fcntl.fcntl(p.stdout.fileno(), 1032)  # F_GETPIPE_SZ

        def pipe_full():
            buf = array.array("i", [0])
            fcntl.ioctl(p.stdout.fileno(), termios.FIONREAD, buf)
            return buf[0] >= pipe_size or p.poll() is not None
        wait_until(pipe_full, timeout=20, what="the print sink to fill its pipe")
        assert p.poll() is None, (tmp_path / "err.txt").read_text()
        p.send_signal(sig)
        wait_until(lambda: "stopping" in (tmp_path / "err.txt").read_text(), timeout=10, what="the stop message")
        p.send_signal(sig)
        rc = p.wait(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    assert rc == 128 + sig, (tmp_path / "err.txt").read_text()
    assert "exiting without flushing" in (tmp_path / "err.txt").read_text()


def test_bounded_datagen_job_ends_by_itself(tmp_path):
    path = write_script(tmp_path, "job.sql",
                        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '25',\n"
                        "  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '25');\n"
                        "CREATE TABLE out (id BIGINT) WITH ('connector' = 'print');\n"
                        "INSERT INTO out SELECT id * 2 FROM src;\n")
    p = run_sql(tmp_path, ["-f", path, "--parallelism", "2"])
    assert p.returncode == 0, p.stderr
    assert sorted(int(m) for m in re.findall(r"\+I\[(\d+)\]", p.stdout)) == list(range(2, 51, 2))


def test_statement_set_is_one_statement(tmp_path):
    # the ';' inside BEGIN ... END (and after a CASE ... END) do not end the statement
    path = write_script(tmp_path, "job.sql",
                        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '6',\n"
                        "  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '6');\n"
                        "CREATE TABLE evens (id BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'evens');\n"
                        "CREATE TABLE odds (id BIGINT, kind STRING) WITH ('connector' = 'print',\n"
                        "  'print-identifier' = 'odds');\n"
                        "EXECUTE STATEMENT SET\nBEGIN\n"
                        "  INSERT INTO evens SELECT id FROM src WHERE id % 2 = 0;\n"
                        "  INSERT INTO odds SELECT id, CASE WHEN id > 3 THEN 'big;' ELSE 'small' END\n"
                        "    FROM src WHERE id % 2 = 1;\n"
                        "END;\n"
                        "SELECT 'after' AS s\n")
    p = run_sql(tmp_path, ["-f", path])
    assert p.returncode == 0, p.stderr
    assert sorted(re.findall(r"evens(?::\d+)?> \+I\[(\d+)\]", p.stdout)) == ["2", "4", "6"], p.stdout
    assert sorted(re.findall(r"odds(?::\d+)?> \+I\[(\d+, [a-z;]+)\]", p.stdout)) == \
        ["1, small", "3, small", "5, big;"], p.stdout
    assert re.search(r"^\| \+I \|\s+after \|$", p.stdout, re.M), p.stdout


# ---- the terminal: interactive prompt and progress line --------------------------------------

class Pty:
    """weir sql on a pseudo-terminal (its controlling terminal, so Ctrl-C is a SIGINT)."""

    def __init__(self, tmp_path, args):
        weir = require_bin()
        env = env_for(tmp_path)
        env["TERM"] = "xterm"
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(weir, [weir, "sql"] + args, env)
        self.text = ""
        self.seen = 0  # what expect() has consumed
        self.status = None

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.text += data.decode("utf-8", "replace")
        return True

    def expect(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern, re.M)
        while True:
            m = rx.search(self.text, self.seen)
            if m:
                self.seen = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.2)):
                if not rx.search(self.text, self.seen):
                    pytest.fail("timed out waiting for %r; the terminal shows:\n%s"
                                % (pattern, self.text[self.seen:]), pytrace=False)

    def send(self, data):
        os.write(self.fd, data.encode())

    def wait(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05) and time.monotonic() < deadline:
                    pass
                os.close(self.fd)
                assert not SANITIZER_RE.search(self.text), self.text
                self.status = status
                return os.waitstatus_to_exitcode(status)
            self._read(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        pytest.fail("weir sql did not exit; the terminal shows:\n" + self.text, pytrace=False)

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


@pytest.fixture
def term(tmp_path):
    made = []

    def make(args):
        t = Pty(tmp_path, args)
        made.append(t)
        return t
    yield make
    for t in made:
        t.close()


PROMPT = r"weir> $"


def test_interactive_prompt(tmp_path, term):
    t = term([])
    t.expect(PROMPT)
    t.send("SELECT 1 AS a,\r")
    t.expect(r"   -> $")  # the statement goes on
    t.send("  2 AS b;\r")
    t.expect(r"^\| \+I \|\s+1 \|\s+2 \|\r?$")
    t.expect(r"Received a total of 1 row")
    t.expect(PROMPT)
    t.send("SELECT nosuch;\r")  # an error keeps the prompt
    t.expect(r"\[ERROR\] line 1, column 8: column 'nosuch' not found")
    t.expect(PROMPT)
    t.send("CREATE VIEW v AS SELECT 'x' AS s; SELECT s FROM v;\r")  # two on one line
    t.expect(r"\[INFO\] Execute statement succeeded")
    t.expect(r"^\| \+I \|\s+x \|\r?$")
    t.expect(PROMPT)
    t.send("SELECT 'half typed'")
    t.expect(r"half typed'$")
    t.send("\x03")  # Ctrl-C at the prompt forgets the typed line
    t.expect(PROMPT)
    t.send("SELECT 5 AS five;\r")
    t.expect(r"^\| \+I \|\s+5 \|\r?$")
    t.expect(PROMPT)
    t.send("quit;\r")
    assert t.wait() == 0
    history = (tmp_path / ".weir_sql_history").read_text()
    assert "SELECT\\040nosuch;" in history or "SELECT nosuch;" in history, history
    assert "half" not in t.text[t.text.index("SELECT 5"):]


def test_interactive_history_is_loaded_and_ctrl_d_leaves(tmp_path, term):
    t = term([])
    t.expect(PROMPT)
    t.send("SELECT 'remember me' AS r;\r")
    t.expect(PROMPT)
    t.send("exit;\r")
    assert t.wait() == 0
    t = term([])
    t.expect(PROMPT)
    t.send("\x1b[A\x1b[A")  # up arrow twice: the statement before the previous run's exit;
    t.expect(r"remember me")
    t.send("\r")
    t.expect(r"^\| \+I \|\s+remember me \|\r?$")
    t.expect(PROMPT)
    t.send("\x04")  # Ctrl-D on an empty line
    assert t.wait() == 0


def test_interactive_ctrl_c_stops_the_running_query(tmp_path, term):
    t = term([])
    t.expect(PROMPT)
    t.send(DATAGEN.replace("\n", " ") + "\r")
    t.expect(r"\[INFO\] Execute statement succeeded")
    t.expect(PROMPT)
    t.send("SELECT id FROM src;\r")
    t.expect(r"^\| \+I \|\s+3 \|")
    t.send("\x03")
    t.expect(r"Query terminated, received a total of \d+ rows")
    t.expect(PROMPT)
    t.send("SELECT 'still here' AS s;\r")
    t.expect(r"still here \|")
    t.expect(PROMPT)
    t.send("quit;\r")
    assert t.wait() == 0


def test_progress_line_on_terminal_stderr(tmp_path, term):
    path = write_script(tmp_path, "job.sql", DATAGEN.replace("'50'", "'2000'") +
                        "CREATE TABLE sink (id BIGINT, v INT) WITH ('connector' = 'blackhole');\n"
                        "INSERT INTO sink SELECT id, v FROM src;\n")
    t = term(["-f", path])
    t.expect(r"rows in [\d.]+K?/s, out [\d.]+K?/s \(total in [\d.]+K?, out [\d.]+K?\)")
    t.expect(r"\(total in [\d.]+K?, out [\d.]+K?\)")  # refreshed
    os.kill(t.pid, signal.SIGINT)
    assert t.wait() == 0
    # the line was erased before the stop message and at the end
    last = t.text.rindex("rows in")
    assert "\r\x1b[K" in t.text[last:], repr(t.text[last:])
