"""The maze's texture atlas (wall styles, floor styles, ceiling) and its landmark palette.

Every texture is TEXTURE_SIZE × TEXTURE_SIZE RGB. A region of the maze picks one wall style and one
floor style, so colour *and* pattern tell regions apart; landmarks are saturated colours on top.
"""

from __future__ import annotations

import numpy as np

TEXTURE_SIZE = 16

# (base colour, pattern) per wall style; colours are kept muted so landmarks stand out.
_WALL_STYLES: tuple[tuple[tuple[int, int, int], str], ...] = (
    ((170, 70, 60), "bricks"),
    ((70, 100, 175), "vertical_stripes"),
    ((80, 150, 80), "horizontal_bands"),
    ((185, 165, 80), "checker"),
    ((130, 80, 160), "diagonal"),
    ((70, 155, 160), "panels"),
    ((175, 120, 70), "bricks"),
    ((150, 150, 150), "vertical_stripes"),
)
_FLOOR_TINTS: tuple[tuple[int, int, int], ...] = (
    (120, 95, 80),
    (85, 95, 120),
    (90, 115, 85),
    (125, 115, 80),
    (105, 85, 115),
    (80, 110, 110),
    (110, 100, 90),
    (100, 100, 100),
)
_CEILING_COLOUR = (175, 175, 185)

NUM_WALL_STYLES = len(_WALL_STYLES)
NUM_FLOOR_STYLES = len(_FLOOR_TINTS)
FLOOR_STYLE_OFFSET = NUM_WALL_STYLES  # atlas index of floor style 0
CEILING_TEXTURE = NUM_WALL_STYLES + NUM_FLOOR_STYLES  # atlas index of the ceiling

# Landmark kinds: (colour, shape). Shapes alternate so that two landmarks differ in more than hue.
LANDMARK_KINDS: tuple[tuple[tuple[int, int, int], str], ...] = (
    ((255, 40, 40), "sphere"),
    ((255, 150, 0), "pillar"),
    ((255, 255, 40), "sphere"),
    ((40, 255, 60), "pillar"),
    ((0, 230, 255), "sphere"),
    ((40, 60, 255), "pillar"),
    ((255, 50, 220), "sphere"),
    ((255, 255, 255), "pillar"),
)
NUM_LANDMARK_KINDS = len(LANDMARK_KINDS)


def _pattern(name: str) -> np.ndarray:
    """Brightness multiplier (S, S) for a pattern; rows are v (down the wall), columns u (along it)."""
    v, u = np.mgrid[0:TEXTURE_SIZE, 0:TEXTURE_SIZE]
    if name == "bricks":
        mortar = (v % 4 == 0) | (((u + 4 * ((v // 4) % 2)) % 8) == 0)
        return np.where(mortar, 0.55, 1.0)
    if name == "vertical_stripes":
        return np.where((u // 2) % 2 == 0, 1.0, 0.6)
    if name == "horizontal_bands":
        return np.where((v // 4) % 2 == 0, 1.0, 0.65)
    if name == "checker":
        return np.where(((u // 4) + (v // 4)) % 2 == 0, 1.0, 0.6)
    if name == "diagonal":
        return np.where(((u + v) // 3) % 2 == 0, 1.0, 0.6)
    if name == "panels":
        border = (u % 8 == 0) | (v % 8 == 0) | (u % 8 == 7) | (v % 8 == 7)
        return np.where(border, 0.5, 1.0)
    raise ValueError(f"unknown texture pattern {name!r}")


def _floor_tile() -> np.ndarray:
    """Brightness (S, S) of one floor square: a tile with dark grout lines and a slight checker."""
    v, u = np.mgrid[0:TEXTURE_SIZE, 0:TEXTURE_SIZE]
    grout = (u == 0) | (v == 0)
    half = ((u // (TEXTURE_SIZE // 2)) + (v // (TEXTURE_SIZE // 2))) % 2
    return np.where(grout, 0.45, np.where(half == 0, 1.0, 0.85))


def build_atlas() -> np.ndarray:
    """All textures stacked: float32 (NUM_WALL_STYLES + NUM_FLOOR_STYLES + 1, S, S, 3) in [0, 255]."""
    textures = [
        _pattern(pattern)[..., None] * np.asarray(colour, dtype=np.float64)
        for colour, pattern in _WALL_STYLES
    ]
    tile = _floor_tile()[..., None]
    textures += [tile * np.asarray(tint, dtype=np.float64) for tint in _FLOOR_TINTS]
    v, u = np.mgrid[0:TEXTURE_SIZE, 0:TEXTURE_SIZE]
    ceiling_lines = np.where((u % 8 == 0) | (v % 8 == 0), 0.85, 1.0)
    textures.append(ceiling_lines[..., None] * np.asarray(_CEILING_COLOUR, dtype=np.float64))
    return np.stack(textures).astype(np.float32)


def landmark_palette() -> tuple[np.ndarray, np.ndarray]:
    """Colours float32 (K, 3) in [0, 255] and is-sphere flags bool (K,) of the landmark kinds."""
    colours = np.asarray([colour for colour, _ in LANDMARK_KINDS], dtype=np.float32)
    spheres = np.asarray([shape == "sphere" for _, shape in LANDMARK_KINDS])
    return colours, spheres
