"""Smoke test: the benchmark runs at tiny sizes and its routes agree (no timing assertions)."""

import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # bench/ is a top-level package beside src/


def test_bench_quick(tmp_path):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    main = importlib.import_module("bench.run").main
    out = tmp_path / "bench.json"
    main(["--quick", "--skip-load", "--out", str(out)])
    res = json.loads(out.read_text())
    for key in (
        "matmul_limit_gflops",
        "deep_linear",
        "scaling",
        "jacobian",
        "whole_book",
        "wall_s",
    ):
        assert key in res
    for dtype in ("float64", "float32"):
        assert res["matmul_limit_gflops"][dtype]["sim_shape_best"] > 0
    dl = res["deep_linear"]
    for key in ("a_plain_loop", "b_full", "c_modes", "agreement", "ratios"):
        assert key in dl
    agree = dl["agreement"]
    assert agree["max_abs_test_error_b64_vs_a"] < 1e-10
    assert agree["max_abs_test_error_c_vs_a"] < 1e-10
    assert agree["max_abs_test_error_c_vs_b64"] < 1e-12
    assert agree["max_abs_test_error_b32_vs_a"] < 1e-4
    assert dl["a_plain_loop"]["extrapolated"] in (True, False)
    assert [row["N1"] for row in res["scaling"]["rows"]]
    for row in res["jacobian"]["rows"]:
        assert row["matrix_free_s"] >= 0
        if row["dense_s"] is not None:
            assert row["max_rel_diff_top_k"] < 1e-8
    (row,) = res["whole_book"]["rows"]  # quick mode: chapter 1 at ci scale
    assert row["chapter"].startswith("01_") and row["scale"] == "ci"
    assert row["claims"] > 0 and row["claims_passed"] == row["claims"]


def test_under_load_runs_the_chapter_beside_a_competitor(tmp_path, monkeypatch):
    # The chapter runs themselves are the smoke test's; here, what under_load does around them: the
    # second run happens while one CPU-bound process is alive, and that process is gone afterwards.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    run = importlib.import_module("bench.run")
    spawned, alive_during = [], []
    real_popen = run.subprocess.Popen

    def popen(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        spawned.append(proc)
        return proc

    def fake_run_chapters(sources, scale, run_dir):
        alive_during.append([p.poll() is None for p in spawned])
        return [{"wall_s": 2.0 if spawned else 1.0}]

    monkeypatch.setattr(run.subprocess, "Popen", popen)
    monkeypatch.setattr(run, "_run_chapters", fake_run_chapters)
    res = run.under_load(run.FULL, tmp_path)
    assert res["chapter"].startswith("02_") and res["competitors"] == 1
    assert (res["alone_s"], res["loaded_s"], res["slowdown"]) == (1.0, 2.0, 2.0)
    assert alive_during == [[], [True]]  # alone, then beside the competitor
    assert spawned[0].poll() is not None  # the competitor was stopped
