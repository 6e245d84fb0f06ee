"""Recorded datasets: the episode format, atomic writing, the recorder and the memory-mapped clip loader."""
