"""What the README and docs tell a newcomer matches the code: commands, folder names, the CPU torch build."""

import re
from pathlib import Path

from worldsim.paths import OUTPUT_DIR

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = {path.name: path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))}


def test_the_readme_test_command_is_what_ci_runs():
    ci_command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert f"```bash\n{ci_command}\n```" in README


def test_the_cpu_torch_build_is_explained_with_the_same_pin_as_the_two_commands():
    pins = set(re.findall(r"torch==([0-9][0-9.]*)", README))
    assert len(pins) == 1, pins  # one version everywhere: the CPU wheel then satisfies the two commands
    assert f"pip install torch=={pins.pop()} --index-url https://download.pytorch.org/whl/cpu" in README


def test_the_headless_demo_writes_into_the_output_folder():
    demo = re.search(r"`(python run_sim.py --headless[^`]*)`", README).group(1)
    assert f"--out {OUTPUT_DIR}/" in demo


def test_checkpoint_folder_names_in_the_docs_are_the_trainers():
    from worldsim.train.run_checkpoints import checkpoint_name

    for name, text in {"README.md": README, **DOCS}.items():
        for found in re.findall(r"step_\d+", text):
            assert found == checkpoint_name(int(found[5:])), f"{name}: {found}"


def test_the_atari_job_records_what_own_game_md_says():
    """scripts/gpu_atari_chunk.sh shards the recording over processes; docs/own-game.md names the one
    `worldsim record` command that gives the same episodes, and configs/atari_breakout.yaml trains on them."""
    import shlex

    import yaml

    documented = re.search(r"\n(worldsim record --env gym:ALE/Breakout-v5 [^`]*?--out data/atari_breakout)\n",
                           DOCS["own-game.md"]).group(1)
    script = (ROOT / "scripts" / "gpu_atari_chunk.sh").read_text()
    recorded = re.search(r"python -m worldsim record (.*?)--no-progress", script, re.DOTALL).group(1)

    def options(command: str) -> dict[str, str]:
        words = shlex.split(command.replace("\\\n", " "))
        return {word: words[i + 1] for i, word in enumerate(words) if word.startswith("--")}

    doc, job = options(documented), options(recorded)
    same = ("--env", "--env-kwargs", "--repeat-prob", "--fps", "--height", "--width")
    assert {key: doc[key] for key in same} == {key: job[key] for key in same}
    assert doc["--seed"] == "0" and "--seed $((k * per))" in recorded  # shard k starts at seed k * per
    assert f'episodes=${{EPISODES:-{doc["--episodes"]}}} steps=${{STEPS:-{doc["--steps"]}}}' in script
    config = yaml.safe_load((ROOT / "configs" / "atari_breakout.yaml").read_text())
    assert config["data"]["dataset_dir"] == doc["--out"] and f"data={doc['--out']}" in script
