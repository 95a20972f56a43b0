"""A process forked at any moment serves its own requests (real os.fork, in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="POSIX fork")

#: Shared by both scripts: a decorated handler, and fork_and_serve(), which forks while the
#: parent's other threads are busy and reports whether the child served within 10 seconds.
PRELUDE = """
import io, os, signal, sys, threading, warnings
import pandas as pd
from interleave_sdk import ArmExecutor, JsonLineSink, SSMConfig, StaticConfig, interleaved
warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads

def frame(ids):
    return pd.DataFrame({"item_id": ids})

def build(config, sink, served=None):
    @interleaved(rankers={"B": lambda user_id: frame([3, 1])}, config=config, sink=sink,
                 executor=ArmExecutor(max_workers=2), metrics=True)
    def recommend(user_id):
        return frame([1, 2]) if served is None else served
    return recommend

def fork_and_serve(recommend, children=5):
    served = 0
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            signal.alarm(10)  # a child that hangs dies and is counted as not served
            recommend("u-child")
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        served += os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    print("served", served, "of", children)
"""

MID_SSM_READ = """
started, release, calls = threading.Event(), threading.Event(), [0]

class Client:
    def get_parameters(self, Names, WithDecryption=False):
        calls[0] += 1
        if calls[0] == 1:  # the parent's first read hangs until released
            started.set()
            release.wait(30)
        return {"Parameters": [{"Name": "/exp/mode", "Value": "INTERLEAVE", "Version": 1},
                               {"Name": "/exp/sampling_rate", "Value": "1", "Version": 1}]}

recommend = build(SSMConfig("/exp", client=Client()), JsonLineSink(io.StringIO()))
reader = threading.Thread(target=recommend, args=("u-parent",), daemon=True)
reader.start()
started.wait(10)
fork_and_serve(recommend)
release.set()
"""

MID_LINE = """
class SlowStream(io.StringIO):
    def write(self, text):  # holds the sink's lock a while, as a slow pipe would
        threading.Event().wait(0.002)
        return super().write(text)

sink = JsonLineSink(SlowStream())
recommend = build(StaticConfig(mode="INTERLEAVE", sampling_rate=1.0), sink)
# The writers serve a frame built here: pandas builds frames through pyarrow, which is not safe
# to fork while another thread is inside it (the application's frames, not the SDK's state).
baseline = build(StaticConfig(mode="A"), sink, served=frame([1, 2]))
stop = threading.Event()

def writer():
    while not stop.is_set():
        baseline("u-writer")

threads = [threading.Thread(target=writer, daemon=True) for _ in range(4)]
for thread in threads:
    thread.start()
fork_and_serve(recommend, children=20)
stop.set()
"""


def run(script: str) -> str:
    code = textwrap.dedent(PRELUDE) + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_child_forked_mid_ssm_read_is_served() -> None:
    """Forked while the parent's first SSM read is in flight, every child serves its request."""
    assert run(MID_SSM_READ) == "served 5 of 5"


def test_children_forked_while_threads_write_lines_are_served() -> None:
    """Forked while other threads write log lines, every child serves its request."""
    assert run(MID_LINE) == "served 20 of 20"
