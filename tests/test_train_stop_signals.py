"""SIGINT/SIGTERM ask the trainer to stop once; the second signal meets the previous handler."""

import os
import signal
import threading

from worldsim.train.stop_signals import install_stop_handlers, restore_handlers


def test_a_signal_requests_a_stop_once_then_the_previous_handler_is_back() -> None:
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    reasons: list[str] = []
    previous = install_stop_handlers(reasons.append)
    try:
        assert previous == before
        os.kill(os.getpid(), signal.SIGTERM)
        assert reasons == ["signal SIGTERM"]
        assert signal.getsignal(signal.SIGTERM) == before[signal.SIGTERM]  # a second SIGTERM is not caught
        assert signal.getsignal(signal.SIGINT) != before[signal.SIGINT]  # SIGINT still asks for a stop
    finally:
        restore_handlers(previous)
    assert {signum: signal.getsignal(signum) for signum in before} == before


def test_outside_the_main_thread_nothing_is_installed() -> None:
    found = []
    thread = threading.Thread(target=lambda: found.append(install_stop_handlers(lambda reason: None)))
    thread.start()
    thread.join()
    assert found == [{}]
