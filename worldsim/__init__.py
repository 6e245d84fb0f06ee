"""worldsim: play, record and train neural world models."""

from worldsim.cpu_threads import wait_passively

__version__ = "0.1.0"

wait_passively()  # before anything imports torch: its threads then sleep, not spin, while they wait
