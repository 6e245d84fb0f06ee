"""Clean stops on SIGINT/SIGTERM: the trainer finishes its step, saves a checkpoint and exits; a second SIGINT
kills (the first restores the previous handler)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def install_stop_handlers(request_stop: Callable[[str], None]) -> dict:
    """Route SIGINT/SIGTERM to `request_stop("signal SIGTERM")` once -> the previous handlers, for
    `restore_handlers`. Signals can be handled only in the main thread: elsewhere nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}

    def on_signal(signum: int, _frame: object) -> None:
        request_stop(f"signal {signal.Signals(signum).name}")
        signal.signal(signum, previous[signum])

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, on_signal)
    return previous


def restore_handlers(previous: dict) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
