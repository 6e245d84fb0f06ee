import pytest
import torch

from worldsim.device import resolve_device


def test_resolve_device_names_bad_requests():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="'gpu0': not a device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda:1: cuda requested but no CUDA GPU"):
            resolve_device("cuda:1")
