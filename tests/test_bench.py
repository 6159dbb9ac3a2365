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
    main(["--quick", "--out", str(out)])
    res = json.loads(out.read_text())
    for key in (
        "matmul_limit_gflops",
        "deep_linear",
        "scaling",
        "jacobian",
        "whole_book",
        "under_load",
        "wall_s",
    ):
        assert key in res
    load = res["under_load"]
    assert load["alone_s"] > 0 and load["loaded_s"] > 0
    assert load["slowdown"] == load["loaded_s"] / load["alone_s"]
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
