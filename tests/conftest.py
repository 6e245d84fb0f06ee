import os

import pytest

# Tests never open a real window or sound device.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# The tests' tensors are tiny: extra torch threads only add waiting, and on a busy 2-core machine torch's
# default of one thread per core made single tests take minutes (worldsim.cpu_threads explains why). Set
# before torch is imported, so this process and the ones it starts (torchrun, loader workers) inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (run on the GPU machine: pytest -m cuda)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
