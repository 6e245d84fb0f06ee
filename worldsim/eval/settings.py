"""Settings of the evaluation commands (no torch import: the command line reads them for its --help)."""

from __future__ import annotations

from dataclasses import dataclass

from worldsim.sampling_steps import DEFAULT_SAMPLING_STEPS

TESTS = ("retrace", "rotation", "recall", "response")  # the memory benchmark's tests (worldsim.eval.memory)
ROLLOUT_TESTS = ("retrace", "rotation", "recall")  # those scored as whole history vs attention window


@dataclass
class CompareSettings:
    clips: int = 8  # held-out mazes, one clip each
    context: int = 24  # ground-truth frames before predicting
    rollout: int = 100  # frames generated after the context
    skip: int = 0  # each clip's first frames dropped (a shorter context then predicts the same frames)
    steps: int = DEFAULT_SAMPLING_STEPS  # Euler steps per generated frame
    commit_noise: tuple[float, ...] = (1.0,)  # rollout context levels to try, 1.0 = clean
    data: str | None = None  # a recorded dataset: clips of episodes no checkpoint trained on, not mazes

    def __post_init__(self) -> None:
        for name in ("clips", "context", "rollout", "steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"eval: {name} must be >= 1, got {getattr(self, name)}")
        if self.skip < 0:
            raise ValueError(f"eval: skip must be >= 0, got {self.skip}")
        for level in self.commit_noise:
            if not 0.0 <= level <= 1.0:
                raise ValueError(f"eval: commit-noise levels must be in [0, 1], got {level}")


@dataclass
class MemorySettings:
    mazes: int = 8  # held-out mazes, one trajectory each (a batch)
    outbound: int = 160  # retrace: frames walked out, all given as context
    back: int = 80  # retrace: frames generated on the way back (<= outbound)
    prime_extra: int = 8  # rotation: context frames beyond one full turn
    generate: int = 24  # rotation: frames generated (less than a turn: the last true view never comes back)
    response_context: int = 16  # response: true frames before the actions
    response_steps: int = 8  # response: frames generated per action
    steps: int = DEFAULT_SAMPLING_STEPS  # Euler steps per generated frame
    seed: int = 0  # sampling noise and the walks' policy seed
    # the shorter priming: the last `window` context frames; 0: each checkpoint's attn_window
    window: int = 0

    def __post_init__(self) -> None:
        for name in ("mazes", "outbound", "back", "generate", "response_context", "response_steps", "steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"eval memory: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("prime_extra", "window"):
            if getattr(self, name) < 0:
                raise ValueError(f"eval memory: {name} must be >= 0, got {getattr(self, name)}")
        if self.back > self.outbound:
            raise ValueError(f"eval memory: back ({self.back}) must not exceed outbound ({self.outbound}): "
                             "the way back retraces the way out")


@dataclass(frozen=True)
class RecallToySettings:
    """The recall toy's dataset (worldsim.eval.recall_toy)."""

    episodes: int = 1500
    length: int = 24  # frames per episode = configs/recall_toy.yaml's clip_length
    size: int = 16  # frame height and width (even: four equal squares)
    pattern_steps: int = 3  # frames per pattern: pattern k (from 0) shows from step k * pattern_steps
    recall_first: int = 8  # one pattern: the recall step is drawn uniformly from recall_first..recall_last
    recall_last: int = 20
    seed: int = 0
    patterns: int = 1  # K patterns shown in turn, actions recall_1..recall_K (one: the action `recall`)

    @property
    def recall_start(self) -> int:
        """The earliest recall step: recall_first moved by the patterns after the first, so that the gray gap
        after the last pattern is recall_first - pattern_steps frames whatever K."""
        return self.recall_first + (self.patterns - 1) * self.pattern_steps

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"recall toy: episodes must be >= 1, got {self.episodes}")
        if self.size < 2 or self.size % 2:
            raise ValueError(f"recall toy: size must be even and >= 2, got {self.size}")
        if self.patterns < 1:
            raise ValueError(f"recall toy: patterns must be >= 1, got {self.patterns}")
        if not 0 < self.pattern_steps < self.recall_first <= self.recall_last < self.length:
            raise ValueError(f"recall toy: need 0 < pattern_steps ({self.pattern_steps}) < recall_first "
                             f"({self.recall_first}) <= recall_last ({self.recall_last}) < length ({self.length})")
        if self.recall_start > self.recall_last:
            raise ValueError(f"recall toy: {self.patterns} patterns of {self.pattern_steps} frames leave no "
                             f"recall step: the earliest, {self.recall_start}, is after recall_last "
                             f"({self.recall_last}); use at most {self.max_patterns} patterns")

    @property
    def max_patterns(self) -> int:
        return 1 + (self.recall_last - self.recall_first) // self.pattern_steps
