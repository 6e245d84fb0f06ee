import json

from worldsim.bench.play import sample_points
from worldsim.cli import main


def test_sample_points_are_log_spaced_and_end_at_the_last_frame():
    assert sample_points(120) == [1, 2, 5, 10, 20, 50, 100, 120]
    assert sample_points(10_000)[-1] == 10_000


def test_bench_play_writes_json_and_png_per_variant(tmp_path, capsys):
    out = tmp_path / "bench"
    tiny = ["image_height=16", "image_width=16", "width=32", "depth=2", "attn_heads=2", "ssm_headdim=16",
            "block_sizes=[[4,4],[2,2]]", "ssm_chunk=8"]
    assert main(["bench", "play", "--device", "cpu", "--frames", "6", "--steps", "1", "--out", str(out),
                 "--set", *tiny]) == 0
    err = capsys.readouterr().err
    assert all(f"{label}: 100%" in err for label in ("ssm+local eager", "local eager", "full eager"))  # progress
    report = json.loads(out.with_suffix(".json").read_text())
    assert [run["variant"] for run in report["runs"]] == ["ssm+local", "local", "full", "pack+local"]
    for run in report["runs"]:
        assert [p["frame"] for p in run["points"]] == [1, 2, 5, 6]
        assert all(p["ms_per_frame"] > 0 and p["rss"] > 0 for p in run["points"])
    assert out.with_suffix(".png").stat().st_size > 1000
