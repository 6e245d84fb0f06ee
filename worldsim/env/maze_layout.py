"""Procedural mazes from an integer seed: a perfect maze, extra openings for loops, regions, landmarks.

Geometry: an N×N maze lives on a G×G grid of unit squares, G = 2N + 1. Maze cell (i, j) is square
(2i + 1, 2j + 1); the squares between cells are walls or openings; even-even squares are always wall.
Square (row, col) covers x ∈ [col, col + 1), y ∈ [row, row + 1) in the world's cell units.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass

import numpy as np

from worldsim.env.textures import NUM_FLOOR_STYLES, NUM_LANDMARK_KINDS, NUM_WALL_STYLES

_STEPS = ((0, 1), (1, 0), (0, -1), (-1, 0))  # (d_row, d_col): east, south, west, north


@dataclass(frozen=True)
class MazeLayout:
    """One generated maze. Arrays are (G, G) over grid squares unless noted."""

    seed: int
    solid: np.ndarray  # bool: wall squares (rendered, blocking)
    region: np.ndarray  # int64: region id of every square (Voronoi over region centres)
    wall_style: np.ndarray  # int64: wall texture style of every square (its region's style)
    floor_style: np.ndarray  # int64: floor texture style of every square
    landmark_squares: np.ndarray  # int64 (L, 2): (row, col) of each landmark, always a maze cell
    landmark_kinds: np.ndarray  # int64 (L,): index into textures.LANDMARK_KINDS, all distinct
    start_square: tuple[int, int]  # (row, col) of the start cell
    start_yaw: float  # radians

    @property
    def grid_size(self) -> int:
        return self.solid.shape[0]

    @property
    def blocked(self) -> np.ndarray:
        """bool (G, G): squares the agent cannot enter (walls and landmark cells)."""
        blocked = self.solid.copy()
        blocked[self.landmark_squares[:, 0], self.landmark_squares[:, 1]] = True
        return blocked


def carve_perfect_maze(size: int, rng: np.random.Generator) -> np.ndarray:
    """Recursive-backtracker maze: bool (2N+1, 2N+1) solid grid whose open squares form a tree."""
    grid_size = 2 * size + 1
    solid = np.ones((grid_size, grid_size), dtype=bool)
    visited = np.zeros((size, size), dtype=bool)
    start = (int(rng.integers(size)), int(rng.integers(size)))
    stack = [start]
    visited[start] = True
    solid[2 * start[0] + 1, 2 * start[1] + 1] = False
    while stack:
        i, j = stack[-1]
        options = [
            (i + di, j + dj)
            for di, dj in _STEPS
            if 0 <= i + di < size and 0 <= j + dj < size and not visited[i + di, j + dj]
        ]
        if not options:
            stack.pop()
            continue
        ni, nj = options[int(rng.integers(len(options)))]
        visited[ni, nj] = True
        solid[2 * ni + 1, 2 * nj + 1] = False
        solid[i + ni + 1, j + nj + 1] = False  # the wall square between the two cells
        stack.append((ni, nj))
    return solid


def open_loops(solid: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Remove `fraction` of the remaining interior walls between two cells, creating loops."""
    grid_size = solid.shape[0]
    rows, cols = np.nonzero(solid)
    between_cells = (rows % 2) != (cols % 2)
    interior = (rows > 0) & (cols > 0) & (rows < grid_size - 1) & (cols < grid_size - 1)
    candidates = np.stack([rows, cols], axis=1)[between_cells & interior]
    count = round(fraction * len(candidates))
    opened = solid.copy()
    for row, col in candidates[rng.permutation(len(candidates))[:count]]:
        opened[row, col] = False
    return opened


def reachable(free: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """bool (G, G): squares reachable from `start` through 4-connected free squares."""
    seen = np.zeros_like(free, dtype=bool)
    if not free[start]:
        return seen
    seen[start] = True
    queue = deque([start])
    while queue:
        row, col = queue.popleft()
        for d_row, d_col in _STEPS:
            nxt = (row + d_row, col + d_col)
            if free[nxt] and not seen[nxt]:
                seen[nxt] = True
                queue.append(nxt)
    return seen


def _regions(grid_size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """int64 (G, G): Voronoi regions around `count` random maze-cell centres."""
    cells = grid_size // 2
    picks = rng.choice(cells * cells, size=count, replace=False)
    centres = np.stack([2 * (picks // cells) + 1, 2 * (picks % cells) + 1], axis=1).astype(np.float64)
    rows, cols = np.mgrid[0:grid_size, 0:grid_size]
    squares = np.stack([rows, cols], axis=-1).astype(np.float64)
    distance = ((squares[:, :, None, :] - centres[None, None]) ** 2).sum(-1)  # (G, G, count)
    return distance.argmin(-1).astype(np.int64)


def _place_landmarks(
    solid: np.ndarray, count: int, rng: np.random.Generator
) -> np.ndarray:
    """(L, 2) maze cells for landmarks: dead ends first, never disconnecting the free squares."""
    grid_size = solid.shape[0]
    cells = [(r, c) for r in range(1, grid_size, 2) for c in range(1, grid_size, 2)]
    order = rng.permutation(len(cells))
    free = ~solid

    def open_sides(square: tuple[int, int]) -> int:
        return sum(bool(free[square[0] + dr, square[1] + dc]) for dr, dc in _STEPS)

    candidates = sorted((cells[k] for k in order), key=lambda sq: open_sides(sq) != 1)
    chosen: list[tuple[int, int]] = []
    for square in candidates:
        if len(chosen) == count:
            break
        trial = free.copy()
        trial[square] = False
        rest = np.argwhere(trial)
        if len(rest) and reachable(trial, tuple(rest[0])).sum() == len(rest):
            free = trial
            chosen.append(square)
    if len(chosen) < count:
        raise ValueError(f"could not place {count} landmarks without cutting the maze; use fewer")
    return np.asarray(chosen, dtype=np.int64).reshape(count, 2)


_MAX_CARVE_ATTEMPTS = 50


@functools.lru_cache(maxsize=4096)
def generate_layout(
    seed: int,
    size: int = 9,
    loop_fraction: float = 0.15,
    num_regions: int = 4,
    num_landmarks: int = 6,
) -> MazeLayout:
    """The maze of `seed`: same arguments → identical layout (cached; treat it as read-only)."""
    if size < 2:
        raise ValueError(f"maze size must be >= 2 cells, got {size}")
    if not 0.0 <= loop_fraction <= 1.0:
        raise ValueError(f"loop_fraction must be in [0, 1], got {loop_fraction}")
    if not 1 <= num_regions <= min(NUM_WALL_STYLES, size * size):
        raise ValueError(f"num_regions must be in [1, {min(NUM_WALL_STYLES, size * size)}], got {num_regions}")
    if not 0 <= num_landmarks <= min(NUM_LANDMARK_KINDS, size * size - 1):
        raise ValueError(
            f"num_landmarks must be in [0, {min(NUM_LANDMARK_KINDS, size * size - 1)}], got {num_landmarks}"
        )
    rng = np.random.default_rng(seed)
    # Small mazes sometimes cannot hold every landmark without cutting a corridor: carve again from the
    # same generator (still deterministic per seed), so every layout of a batch has the same landmark count.
    for attempt in range(_MAX_CARVE_ATTEMPTS):
        solid = open_loops(carve_perfect_maze(size, rng), loop_fraction, rng)
        try:
            landmarks = _place_landmarks(solid, num_landmarks, rng)
            break
        except ValueError:
            if attempt == _MAX_CARVE_ATTEMPTS - 1:
                raise
    region = _regions(solid.shape[0], num_regions, rng)
    wall_styles = rng.permutation(NUM_WALL_STYLES)[:num_regions]
    floor_styles = rng.permutation(NUM_FLOOR_STYLES)[:num_regions]
    kinds = rng.permutation(NUM_LANDMARK_KINDS)[:num_landmarks].astype(np.int64)
    taken = {tuple(square) for square in landmarks.tolist()}
    starts = [
        (r, c) for r in range(1, solid.shape[0], 2) for c in range(1, solid.shape[0], 2) if (r, c) not in taken
    ]
    start = starts[int(rng.integers(len(starts)))]
    start_yaw = float(rng.uniform(0.0, 2.0 * np.pi))
    arrays = {"solid": solid, "region": region, "wall_style": wall_styles[region], "floor_style": floor_styles[region]}
    for array in arrays.values():
        array.setflags(write=False)
    return MazeLayout(
        seed=seed,
        landmark_squares=landmarks,
        landmark_kinds=kinds,
        start_square=start,
        start_yaw=start_yaw,
        **arrays,
    )
