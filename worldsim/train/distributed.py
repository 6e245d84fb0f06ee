"""Process layout under torchrun: one process per GPU, DistributedDataParallel, rank 0 logs and saves.

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK; without them this is a single process. The global
batch is data.batch_size × WORLD_SIZE clips per optimizer step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from worldsim.device import resolve_device


@dataclass(frozen=True)
class ProcessInfo:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_processes(requested_device: str) -> ProcessInfo:
    """Join the torchrun process group if WORLD_SIZE > 1 (NCCL on CUDA, gloo on CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(requested_device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world_size)
    return ProcessInfo(rank, local_rank, world_size, device)


def all_reduce_sum(values: torch.Tensor, info: ProcessInfo) -> torch.Tensor:
    if info.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def barrier(info: ProcessInfo) -> None:
    if info.distributed:
        dist.barrier()


def shutdown(info: ProcessInfo, completed: bool) -> None:
    """Leave the process group. After a completed run every rank first waits for the others: a rank that
    tore gloo down while another was still in a collective sometimes aborted at exit ("terminate called
    without an active exception"). After an error it leaves at once, so torchrun can stop the others."""
    if info.distributed and dist.is_initialized():
        if completed:
            dist.barrier()
        dist.destroy_process_group()
