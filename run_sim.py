"""Play the shipped world model: `python run_sim.py [worldsim play options]`.

Opens checkpoints/default.safetensors when it exists, else the built-in maze (ground truth).
"""

import sys

from worldsim.cli import main

if __name__ == "__main__":
    sys.exit(main(["play", *sys.argv[1:]]))
