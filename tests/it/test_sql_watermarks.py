"""`weir sql` shows each source's watermark (issue 5 item 1): --show-watermarks prints a
line per source table every second on stderr even when it is not a terminal, the progress
line on a terminal carries "wm HH:MM:SS", and SHOW WATERMARKS; at the prompt prints the
running jobs' lines. The jobs read an unbounded datagen table with a WATERMARK through a
TUMBLE window aggregation into blackhole; no broker is needed.
"""

import os
import re
import signal
import subprocess

import pytest

from conftest import SANITIZER_RE, broker_env, require_bin, wait_until
from test_sql_cli import Pty

DDL = ("CREATE TABLE src (k INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)\n"
       "  WITH ('connector' = 'datagen', 'rows-per-second' = '500');\n"
       "CREATE TABLE sink (ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');\n")
INSERT = ("INSERT INTO sink SELECT window_start, window_end, COUNT(*)\n"
          "  FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY window_start, window_end;\n")

TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
LINE = re.compile(r"^src: watermark (" + TIME + r") \(2 splits, 0 idle\); window operator: (" + TIME +
                  r"|none yet), \d+ late rows?$", re.M)


def test_show_watermarks_on_a_pipe(tmp_path):
    script = tmp_path / "job.sql"
    script.write_text(DDL + INSERT)
    out = open(tmp_path / "out.txt", "w+b")
    err = open(tmp_path / "err.txt", "w+b")
    p = subprocess.Popen([require_bin(), "sql", "-f", str(script), "--parallelism", "2", "--show-watermarks"],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=broker_env({"HOME": str(tmp_path)}))
    errfile = tmp_path / "err.txt"
    try:
        wait_until(lambda: len(LINE.findall(errfile.read_text())) >= 2 or p.poll() is not None,
                   timeout=20, what="two watermark lines on stderr")
        assert p.poll() is None, errfile.read_text()
        marks = LINE.findall(errfile.read_text())
        # printed every second: the source's watermark moves on (datagen's times are now)
        wait_until(lambda: LINE.findall(errfile.read_text())[-1][0] > marks[0][0], timeout=20,
                   what="an advancing watermark")
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = errfile.read_text()
    assert rc == 0, text
    assert not SANITIZER_RE.search(text), text
    assert "\x1b[K" not in text  # no progress line on a pipe


def test_progress_line_shows_the_watermark(tmp_path):
    script = tmp_path / "job.sql"
    script.write_text(DDL + INSERT)
    t = Pty(tmp_path, ["-f", str(script), "--parallelism", "2"])
    try:
        t.expect(r"rows in .*, wm \d\d:\d\d:\d\d")
        os.kill(t.pid, signal.SIGINT)
        assert t.wait() == 0
    finally:
        t.close()


def test_show_watermarks_at_the_prompt(tmp_path):
    t = Pty(tmp_path, [])
    try:
        t.expect(r"weir> $")
        t.send("SHOW WATERMARKS;\r")
        t.expect(r"No job is running")
        t.expect(r"weir> $")
        t.send(DDL.replace("\n", " ") + "\r")
        t.expect(r"weir> $")
        t.send("SET 'parallelism.default' = '2';\r")
        t.expect(r"weir> $")
        t.send(INSERT.replace("\n", " ") + "\r")
        t.expect(r"Job started")
        t.expect(r"weir> $")
        deadline_rx = r"^src: watermark " + TIME + r" \(2 splits, 0 idle\); window operator: "
        # the first rows may not have come yet: ask again until a time shows
        for _ in range(100):
            t.send("show  watermarks ;\r")
            m = t.expect(r"(^src: watermark .*$)")
            t.expect(r"weir> $")
            if re.match(deadline_rx, m.group(1)):
                break
        else:
            pytest.fail("no watermark value: " + t.text[-500:])
        t.send("quit;\r")
        assert t.wait() == 0
    finally:
        t.close()
