"""Seeded, batched exploration policies for `MazeWorld`: random, wander (momentum) and revisit (go out, come back).

Wander and revisit plan over the maze's free squares (4-connected BFS on the layout grid) and steer the
agent towards the next square's centre, so they never push into walls. Revisit is what memory needs: it
travels to far waypoints and then returns to places seen long before, either retracing its own steps or
by the shortest path (which, with the maze's loops, is often another route); `revisit_gap` reports, per
world, how many steps ago the current square was last visited.

Steering alone only ever moves forward and turns; `detour_prob` and `pause_prob` interrupt it with the
actions a player also takes (standing still, backing up, strafing; detours.py).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from worldsim.actions import MAZE_DISCRETE_ACTIONS
from worldsim.env.detours import Detours
from worldsim.env.maze_world import MazeWorld
from worldsim.world import World

ACTION = {name: index for index, name in enumerate(MAZE_DISCRETE_ACTIONS)}
NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))
ARRIVAL_RADIUS = 0.3  # squares: a waypoint counts as reached within this distance of its centre
TURN_ONLY_ANGLE = 0.6  # radians: larger heading errors turn on the spot, smaller ones steer while moving

Square = tuple[int, int]


def bfs_path(free: np.ndarray, start: Square, goal: Square) -> list[Square]:
    """Shortest 4-connected path of free squares from start to goal (both included); [] if unreachable."""
    parent: dict[Square, Square | None] = {start: None}
    queue = deque([start])
    while queue:
        square = queue.popleft()
        if square == goal:
            path = [square]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])
            return path[::-1]
        for dr, dc in NEIGHBOURS:
            nxt = (square[0] + dr, square[1] + dc)
            if free[nxt] and nxt not in parent:
                parent[nxt] = square
                queue.append(nxt)
    return []


class MazePolicy:
    """Base: per-world square plans followed by a steering controller. Subclasses choose the plans."""

    def __init__(self, detour_prob: float = 0.0, pause_prob: float = 0.0) -> None:
        self.detours = Detours(detour_prob, pause_prob)
        self.world: MazeWorld | None = None
        self.rngs: list[np.random.Generator] = []  # per world; one shared object when seeded with an int
        self.plans: list[list[Square]] = []
        self.free: list[np.ndarray] = []

    def reset(self, world: MazeWorld, seed: int | Sequence[int]) -> None:
        """An int seeds one stream shared by all worlds; one seed per world makes each world's actions
        independent of the others (training clips then do not depend on how a batch is split)."""
        if not isinstance(world, MazeWorld):
            raise ValueError(f"{type(self).__name__} drives the built-in maze only, got {type(world).__name__}")  # noqa: TRY004 (a user error: the CLI reports ValueErrors)
        if not world.layouts:
            raise ValueError("reset the world before the policy (policy.reset(world, seed) after world.reset)")
        self.world = world
        self.rngs = _make_rngs(seed, world.batch_size)
        self.free = [~layout.blocked for layout in world.layouts]  # landmarks block too
        self.plans = [[] for _ in range(world.batch_size)]
        self.detours.reset(world.batch_size)

    def act(self) -> tuple[Tensor, Tensor | None]:
        """discrete int64 (B,) and continuous float32 (B, C) (None when the world has no continuous action)."""
        world = self._require_world()
        pose = world.pose.detach().cpu().numpy().astype(np.float64)  # (B, 3) x, y, yaw
        squares = [(int(y), int(x)) for x, y, _ in pose]
        self.observe(squares)
        discrete = np.zeros(world.batch_size, dtype=np.int64)
        yaw = np.zeros(world.batch_size, dtype=np.float32)
        for b in range(world.batch_size):
            detour = self.detours.action(b, self.rngs[b])
            if detour is not None:
                discrete[b], yaw[b] = detour, 0.0
                continue
            plan = self.plans[b]
            while plan and math.dist((pose[b, 0], pose[b, 1]), (plan[0][1] + 0.5, plan[0][0] + 0.5)) < ARRIVAL_RADIUS:
                plan.pop(0)
            if not plan:
                self.plans[b] = plan = self.next_plan(b, squares[b])
            discrete[b], yaw[b] = self._steer(b, pose[b], plan[0] if plan else squares[b])
        return self._to_tensors(discrete, yaw)

    def observe(self, squares: list[Square]) -> None:
        """Called once per step with every world's current square, before planning."""

    def next_plan(self, b: int, square: Square) -> list[Square]:
        raise NotImplementedError

    def _steer(self, b: int, pose: np.ndarray, target: Square) -> tuple[int, float]:
        dx, dy = target[1] + 0.5 - pose[0], target[0] + 0.5 - pose[1]
        error = math.remainder(math.atan2(dy, dx) - pose[2], math.tau)  # yaw grows clockwise, y points down
        bound = self._require_world().action_space.continuous_bound
        if abs(error) > TURN_ONLY_ANGLE:
            return ACTION["turn_right" if error > 0 else "turn_left"], 0.0
        # steer with the continuous yaw (mouse) half of the time and with the discrete combos otherwise
        if self.rngs[b].random() < 0.5:
            return ACTION["forward"], float(np.clip(error, -bound, bound))
        if abs(error) > 0.15:
            return ACTION["forward_right" if error > 0 else "forward_left"], 0.0
        return ACTION["forward"], 0.0

    def _to_tensors(self, discrete: np.ndarray, yaw: np.ndarray) -> tuple[Tensor, Tensor | None]:
        world = self._require_world()
        actions = torch.from_numpy(discrete).to(world.device)
        if not world.action_space.num_continuous:
            return actions, None
        return actions, torch.from_numpy(yaw[:, None]).to(world.device)

    def _require_world(self) -> MazeWorld:
        if self.world is None:
            raise RuntimeError(f"{type(self).__name__}.act called before reset(world, seed)")
        return self.world

    def _open_neighbours(self, b: int, square: Square) -> list[Square]:
        return [(square[0] + dr, square[1] + dc) for dr, dc in NEIGHBOURS if self.free[b][square[0] + dr, square[1] + dc]]


class RandomPolicy(MazePolicy):
    """Uniformly random discrete actions and yaw deltas: bumps into walls, covers little ground.

    Needs no map, so it drives any world (gymnasium ones included), not only the maze. With `repeat_prob`
    > 0 each world keeps its previous action with that probability (sticky actions chosen by the player,
    so the recorded action is the one taken): keys are held for 1 / (1 - repeat_prob) steps on average
    (random Breakout episodes last 206 frames on average at 0.5, 176 without).
    """

    def __init__(self, repeat_prob: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= repeat_prob < 1.0:
            raise ValueError(f"repeat_prob must be in [0, 1), got {repeat_prob}")
        self.repeat_prob = repeat_prob
        self.previous: tuple[np.ndarray | None, np.ndarray] | None = None  # last (discrete, continuous)

    def reset(self, world: World, seed: int | Sequence[int]) -> None:  # type: ignore[override]
        self.world = world  # type: ignore[assignment]
        self.rngs = _make_rngs(seed, world.batch_size)
        self.previous = None

    def act(self) -> tuple[Tensor | None, Tensor | None]:
        world = self._require_world()
        space, batch = world.action_space, world.batch_size
        bound, count = space.continuous_bound, space.num_discrete
        width = max(1, space.num_continuous)  # the maze without mouse look still draws its yaw: same stream
        if all(rng is self.rngs[0] for rng in self.rngs):  # one shared stream: batch-wide draws (the original order)
            discrete = self.rngs[0].integers(0, count, batch) if count else None
            continuous = self.rngs[0].uniform(-bound, bound, (batch, width)).astype(np.float32)
        else:
            discrete = np.array([rng.integers(0, count) for rng in self.rngs], np.int64) if count else None
            continuous = np.array([rng.uniform(-bound, bound, width) for rng in self.rngs], np.float32)
        if self.repeat_prob and self.previous is not None:  # drawn after the new actions: p = 0 keeps the old stream
            keep = np.array([rng.random() < self.repeat_prob for rng in self.rngs])
            discrete = None if discrete is None else np.where(keep, self.previous[0], discrete)
            continuous = np.where(keep[:, None], self.previous[1], continuous)
        self.previous = (discrete, continuous)
        discrete = None if discrete is None else torch.from_numpy(discrete).to(world.device)
        if not space.num_continuous:
            return discrete, None
        return discrete, torch.from_numpy(continuous).to(world.device)


class WanderPolicy(MazePolicy):
    """Walks corridor by corridor: keeps its heading (momentum), turns at junctions, reverses only at dead ends."""

    def __init__(self, straight_bias: float = 0.7, detour_prob: float = 0.0, pause_prob: float = 0.0) -> None:
        super().__init__(detour_prob, pause_prob)
        self.straight_bias = straight_bias
        self.heading: list[Square] = []

    def reset(self, world: MazeWorld, seed: int) -> None:
        super().reset(world, seed)
        self.heading = [(0, 0)] * world.batch_size

    def next_plan(self, b: int, square: Square) -> list[Square]:
        options = self._open_neighbours(b, square)
        back = (square[0] - self.heading[b][0], square[1] - self.heading[b][1])
        forward = [s for s in options if s != back] or options
        ahead = (square[0] + self.heading[b][0], square[1] + self.heading[b][1])
        nxt = ahead if ahead in forward and self.rngs[b].random() < self.straight_bias else forward[self.rngs[b].integers(len(forward))]
        self.heading[b] = (nxt[0] - square[0], nxt[1] - square[1])
        return [nxt]


class RevisitPolicy(MazePolicy):
    """Alternates outbound trips to far squares with returns to squares visited long ago.

    On a return it retraces its own trajectory with probability `retrace_prob` (same way back), otherwise
    it takes the shortest path (often another route through the maze's loops).
    """

    def __init__(self, retrace_prob: float = 0.5, min_trip: int = 6, detour_prob: float = 0.0,
                 pause_prob: float = 0.0) -> None:
        super().__init__(detour_prob, pause_prob)
        self.retrace_prob = retrace_prob
        self.min_trip = min_trip  # squares: outbound targets are at least this far away
        self.history: list[list[Square]] = []  # per world, the square at every step
        self.last_seen: list[dict[Square, int]] = []
        self.outbound: list[bool] = []
        self.revisit_gap = np.zeros(0, dtype=np.int64)

    def reset(self, world: MazeWorld, seed: int) -> None:
        super().reset(world, seed)
        self.history = [[] for _ in range(world.batch_size)]
        self.last_seen = [{} for _ in range(world.batch_size)]
        self.outbound = [True] * world.batch_size
        self.revisit_gap = np.full(world.batch_size, -1, dtype=np.int64)  # -1: square never seen before

    def observe(self, squares: list[Square]) -> None:
        for b, square in enumerate(squares):
            step = len(self.history[b])
            seen = self.last_seen[b].get(square)
            # a gap counts only when the agent comes back, not while it stands in the same square
            if self.history[b] and self.history[b][-1] != square:
                self.revisit_gap[b] = -1 if seen is None else step - seen
            self.last_seen[b][square] = step
            self.history[b].append(square)

    def next_plan(self, b: int, square: Square) -> list[Square]:
        free, history = self.free[b], self.history[b]
        self.outbound[b] = going_out = not self.outbound[b] or len(history) < 2
        if going_out:
            cells = np.argwhere(free)
            far = [tuple(c) for c in cells if abs(c[0] - square[0]) + abs(c[1] - square[1]) >= self.min_trip]
            pool = far or [tuple(c) for c in cells]
            goal = pool[self.rngs[b].integers(len(pool))]
            return bfs_path(free, square, goal)[1:]
        # return trip: a square from the older half of the trajectory
        target_step = int(self.rngs[b].integers(0, max(1, len(history) // 2)))
        if self.rngs[b].random() < self.retrace_prob:
            route = _dedupe(history[target_step:][::-1])
            if route and route[0] == square:
                return route[1:]
        return bfs_path(free, square, history[target_step])[1:]


def _make_rngs(seed: int | Sequence[int], batch_size: int) -> list[np.random.Generator]:
    if isinstance(seed, int | np.integer):
        return [np.random.default_rng(seed)] * batch_size  # the same object: draws interleave across worlds
    if len(seed) != batch_size:
        raise ValueError(f"got {len(seed)} policy seeds for {batch_size} worlds; give one int or one per world")
    return [np.random.default_rng(s) for s in seed]


def _dedupe(squares: list[Square]) -> list[Square]:
    """Drop consecutive repeats (the agent spends several steps in one square)."""
    return [s for i, s in enumerate(squares) if i == 0 or s != squares[i - 1]]


POLICIES = {"random": RandomPolicy, "wander": WanderPolicy, "revisit": RevisitPolicy}


def make_policy(name: str, detour_prob: float = 0.0, repeat_prob: float = 0.0, pause_prob: float = 0.0) -> MazePolicy:
    """A policy by name; `detour_prob` and `pause_prob` apply to the map-reading ones (random takes every
    action anyway), `repeat_prob` to random."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose one of {sorted(POLICIES)}")
    if name == "random":
        return RandomPolicy(repeat_prob=repeat_prob)
    if repeat_prob:
        raise ValueError(f"repeat_prob (--repeat-prob) applies to the random policy, not {name!r}")
    return POLICIES[name](detour_prob=detour_prob, pause_prob=pause_prob)
