"""A game id -> a gymnasium environment: gymnasium's registry, or old-`gym` / dm_env games through shimmy.

Forms (the part after the prefix; keyword arguments from `--env-kwargs` go to the game's constructor):
- `gym:<id>`: a gymnasium id, e.g. `gym:ALE/Pong-v5`; `gym:<module>:<id>` imports `module` first (for
  games that register themselves on import, e.g. `gym:my_game:MyGame-v0`).
- `oldgym:<id>` / `oldgym:<module>:<id>`: a game registered with the old OpenAI `gym` (0.21-0.26),
  converted by shimmy's GymV21/GymV26 compatibility wrappers.
- `dm_env:<module>:<function>`: `module.function(**kwargs)` returns a dm_env environment built on
  dm_control (e.g. `dm_env:memory_maze.tasks:memory_maze_9x9`), converted by shimmy.
The optional libraries (gymnasium, ale_py, gym, shimmy) are imported only when such an id is made; a
missing one is a ValueError that says what to install.
"""

from __future__ import annotations

import importlib
import json
import warnings
from typing import Any

GYM_PREFIX, OLD_GYM_PREFIX, DM_ENV_PREFIX = "gym:", "oldgym:", "dm_env:"
PREFIXES = (GYM_PREFIX, OLD_GYM_PREFIX, DM_ENV_PREFIX)
ID_FORMS = (
    "'gym:<gymnasium id>' (e.g. gym:ALE/Pong-v5, or gym:<module>:<id> to import a module that registers it), "
    "'oldgym:[<module>:]<gym id>' (old OpenAI gym, through shimmy) or 'dm_env:<module>:<function>' "
    "(a dm_env game, through shimmy)"
)
INSTALL_HINT = "pip install 'worldsim[envs]'"
SHIMMY_HINT = {
    OLD_GYM_PREFIX: "pip install 'shimmy[gym-v26]' (or 'shimmy[gym-v21]' for gym 0.21 games)",
    DM_ENV_PREFIX: "pip install 'shimmy[dm-control]'",
}


def is_game_id(world_id: str) -> bool:
    """True for the gym:/oldgym:/dm_env: forms (with something after the prefix)."""
    return any(world_id.startswith(prefix) and len(world_id) > len(prefix) for prefix in PREFIXES)


def parse_env_kwargs(text: str | None) -> dict[str, Any]:
    """`--env-kwargs` JSON object -> dict; None or empty -> {}."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"--env-kwargs {text!r} is not valid JSON ({error}); e.g. '{{\"frameskip\": 1}}'"
        ) from error
    if not isinstance(value, dict):  # a user error: the CLI reports ValueErrors
        example = '{"frameskip": 1}'
        message = f"--env-kwargs must be a JSON object such as '{example}', got {text!r}"
        raise ValueError(message)  # noqa: TRY004
    return value


def import_gymnasium() -> Any:
    """gymnasium, with the Atari environments registered when ale_py is installed."""
    try:
        import gymnasium
    except ImportError as error:
        raise ValueError(f"gymnasium worlds need gymnasium: {INSTALL_HINT} ({error})") from error
    try:
        import ale_py
    except ImportError:
        return gymnasium  # no Atari; other environments still work
    gymnasium.register_envs(ale_py)
    return gymnasium


def make_env(world_id: str, env_kwargs: dict[str, Any] | None = None) -> tuple[Any, float | None]:
    """(gymnasium environment, frames per second the game runs at or None if it does not say).

    `world_id` is one of the forms above; an id without a prefix is a gymnasium id.
    """
    kwargs = dict(env_kwargs or {})
    gym = import_gymnasium()
    try:
        if world_id.startswith(OLD_GYM_PREFIX):
            env = _make_old_gym(world_id[len(OLD_GYM_PREFIX) :], kwargs)
        elif world_id.startswith(DM_ENV_PREFIX):
            return _make_dm_env(world_id, kwargs)
        else:
            name = world_id.removeprefix(GYM_PREFIX)
            env = _with_rgb_rendering(lambda **extra: gym.make(name, **kwargs, **extra), kwargs)
    except gym.error.Error as error:  # NameNotFound, VersionNotFound, NamespaceNotFound, ...
        raise ValueError(f"unknown game {world_id!r}: {error}") from error
    except ModuleNotFoundError as error:  # the <module> of a module:<id> form
        raise ValueError(f"{world_id}: {error} Is the game's package installed?") from error
    except TypeError as error:  # the game's constructor refused a keyword argument
        raise ValueError(
            f"{world_id}: the game rejected its arguments {kwargs} ({error}); check --env-kwargs"
        ) from error
    fps = env.metadata.get("render_fps") if isinstance(getattr(env, "metadata", None), dict) else None
    return env, _positive(fps)


def _with_rgb_rendering(make: Any, kwargs: dict[str, Any]) -> Any:
    """make(render_mode="rgb_array"), or make() for games whose constructor takes no render_mode (their
    frames must then come from the observation)."""
    if "render_mode" in kwargs:
        return make()
    try:
        # gymnasium warns about a render_mode the game does not list, then passes it on anyway: the
        # TypeError below is what tells whether the game takes it
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*render_mode='rgb_array' that is not in the possible")
            return make(render_mode="rgb_array")
    except TypeError as error:
        if "render_mode" not in str(error):
            raise
        return make()


def _import_shimmy(prefix: str) -> Any:
    try:
        import shimmy
    except ImportError as error:
        raise ValueError(
            f"'{prefix}' games load through shimmy, which is not installed: {SHIMMY_HINT[prefix]} ({error})"
        ) from error
    return shimmy


def _make_old_gym(name: str, kwargs: dict[str, Any]) -> Any:
    shimmy = _import_shimmy(OLD_GYM_PREFIX)
    try:
        import gym
    except ImportError as error:
        raise ValueError(
            f"'oldgym:' games need the old OpenAI gym package: pip install gym ({error})"
        ) from error
    version = tuple(int(part) for part in gym.__version__.split(".")[:2] if part.isdigit())
    if version >= (0, 26):
        return _with_rgb_rendering(
            lambda **extra: shimmy.GymV26CompatibilityV0(env_id=name, make_kwargs={**kwargs, **extra}), kwargs
        )
    return shimmy.GymV21CompatibilityV0(env_id=name, make_kwargs=kwargs, render_mode="rgb_array")


def _make_dm_env(world_id: str, kwargs: dict[str, Any]) -> tuple[Any, float | None]:
    module_name, _, function_name = world_id[len(DM_ENV_PREFIX) :].rpartition(":")
    if not module_name or not function_name:
        raise ValueError(
            f"{world_id!r}: expected dm_env:<module>:<function>, "
            f"e.g. dm_env:memory_maze.tasks:memory_maze_9x9"
        )
    shimmy = _import_shimmy(DM_ENV_PREFIX)
    function = getattr(importlib.import_module(module_name), function_name, None)
    if not callable(function):
        raise ValueError(f"{world_id!r}: {module_name} has no function {function_name!r}")  # noqa: TRY004
    game = function(**kwargs)
    timestep = getattr(game, "control_timestep", None)  # seconds per step (dm_control)
    fps = 1.0 / float(timestep()) if callable(timestep) else None
    return shimmy.DmControlCompatibilityV0(game), _positive(fps)


def _positive(value: Any) -> float | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if number and value > 0 else None
