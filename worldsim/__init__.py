"""worldsim: play, record and train neural world models."""

__version__ = "0.1.0"
