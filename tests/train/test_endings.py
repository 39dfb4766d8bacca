"""How a worker's end is told from its exit when it wrote no final word: the signal that killed it, by name."""

import signal

from core.train.endings import explain_end


def test_a_killed_worker_is_told_by_its_signal_name(tmp_path):
    status, message = explain_end(tmp_path, -signal.SIGKILL, stopped_now=False, step=7)
    assert (
        status == "died" and "killed (signal 9, SIGKILL) at step 7" in message and "out of memory" in message
    )
    assert "(signal 15, SIGTERM)" in explain_end(tmp_path, -signal.SIGTERM, False)[1]
    realtime = signal.SIGRTMIN + 2  # no name of its own: the system's description
    assert f"(signal {realtime}, {signal.strsignal(realtime)})" in explain_end(tmp_path, -realtime, False)[1]
