"""Where worldsim looks for the shipped checkpoint and where it writes when no path is given.

The checkpoints are found beside the package (the repository's checkpoints/), wherever the command runs;
screenshots, recordings, videos and benchmark results default to out/ in the current folder, which the
repository's .gitignore ignores.
"""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPOSITORY / "checkpoints" / "default.safetensors"
# A smaller model for machines without a CUDA GPU, played instead of the default there when it ships.
CPU_CHECKPOINT = REPOSITORY / "checkpoints" / "cpu.safetensors"
OUTPUT_DIR = Path("out")


def shown(path: Path) -> str:
    """`path` relative to the current folder when it lies under it (shorter to read), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
