"""Benchmarks of the book's simulations against the machine's limit and a plain baseline.

Run ``python -m bench.run [--quick] [--out _build/bench.json]``. Every figure that matters is a ratio
against something measured in the same run: the dense matmul limit is measured first, then the
deep-linear-network routes (a) plain loop, (b) batched full matrices, (c) exact mode space, then the
Jacobian spectra (matrix-free against dense). See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from dltheory.experiments.early_stopping import MULTIPLIERS
from dltheory.experiments.lampinen_ganguli import SETUP
from dltheory.linear_nets import simulate_gd
from dltheory.teachers import snr_singular_values

FULL = dict(
    n_in=100,
    n_out=50,
    n_seeds=10,
    epochs=8000,
    record_every=10,
    base_seeds=2,
    base_epochs=2000,
    matmul_batches=(12, 60),
    matmul_large=2000,
    repeats=5,
    scaling_n1=(100, 200, 400, 1000),
    scaling_batch=6,
    scaling_epochs_full=10,
    scaling_epochs_modes=2000,
    jac_n=(400, 1000, 1797),
    jac_width=256,
    jac_k=100,
    jac_deep=True,
    dense_limit_gb=2.0,
    book_chapters=None,  # every chapter
    book_scales=("ci", "book"),
    make_test=True,
    load_chapter="02",
)
QUICK = dict(
    n_in=20,
    n_out=10,
    n_seeds=2,
    epochs=200,
    record_every=10,
    base_seeds=1,
    base_epochs=100,
    matmul_batches=(4,),
    matmul_large=200,
    repeats=2,
    scaling_n1=(20, 40),
    scaling_batch=2,
    scaling_epochs_full=5,
    scaling_epochs_modes=50,
    jac_n=(40,),
    jac_width=16,
    jac_k=5,
    jac_deep=True,
    dense_limit_gb=2.0,
    book_chapters=("01",),
    book_scales=("ci",),
    make_test=False,
    load_chapter="01",
)
ROOT = Path(__file__).resolve().parents[1]


def _best(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# ----------------------------------------------------------------------------- machine limit
def matmul_limit(cfg: dict, rng: np.random.Generator) -> dict:
    """Dense matmul GFLOP/s at the simulations' shapes (batched, numpy and torch) and a large square."""
    out = {}
    n1, n3 = cfg["n_in"], cfg["n_out"]
    for dtype in ("float64", "float32"):
        res = {}
        for B in cfg["matmul_batches"]:
            A = rng.standard_normal((B, n3, n1)).astype(dtype)
            Bm = rng.standard_normal((B, n1, n3)).astype(dtype)
            C = np.empty((B, n3, n3), dtype=dtype)
            reps = max(1, min(20000, int(1e9 // (2 * B * n3 * n1 * n3))))  # ~1 GFLOP per timing

            def run(A=A, Bm=Bm, C=C, reps=reps):
                for _ in range(reps):
                    np.matmul(A, Bm, out=C)

            t = _best(run, cfg["repeats"])
            res[f"batched_B{B}_{n3}x{n1}@{n1}x{n3}"] = 2 * B * n3 * n1 * n3 * reps / t / 1e9
            tA, tB, tC = (torch.from_numpy(x) for x in (A, Bm, C))

            def run_torch(tA=tA, tB=tB, tC=tC, reps=reps):
                for _ in range(reps):
                    torch.bmm(tA, tB, out=tC)

            t = _best(run_torch, cfg["repeats"])
            res[f"torch_bmm_B{B}_{n3}x{n1}@{n1}x{n3}"] = 2 * B * n3 * n1 * n3 * reps / t / 1e9
        m = cfg["matmul_large"]
        A = rng.standard_normal((m, m)).astype(dtype)
        Bm = rng.standard_normal((m, m)).astype(dtype)
        t = _best(lambda A=A, Bm=Bm: A @ Bm, cfg["repeats"])
        res[f"square_{m}"] = 2 * m**3 / t / 1e9
        # the best of numpy and torch at the simulations' shapes: route (b) is held to this
        res["sim_shape_best"] = max(
            v for k, v in res.items() if k.startswith(("batched", "torch_bmm"))
        )
        out[dtype] = res
    return out


# ----------------------------------------------------------------------------- deep linear nets
def make_grid(cfg: dict, rng: np.random.Generator) -> dict:
    """Chapter 2's grid (its SNRs and draws): 6 SNRs x n_seeds for each rank in {1, 3}, conditions-major."""
    n1, n3 = cfg["n_in"], cfg["n_out"]
    snrs = np.array([SETUP.threshold(n1, n3), *MULTIPLIERS])
    data = {}
    for r in (1, 3):
        s = np.stack([snr_singular_values(r, m) for m in snrs])
        data[r] = SETUP.draw(n1, n3, s, cfg["n_seeds"], rng=rng)
    return {"snrs": snrs.tolist(), "data": data}


def plain_loop(sigma31: np.ndarray, W_bar: np.ndarray, hidden: int, epochs: int) -> np.ndarray:
    """Route (a): one run, full matrices, both errors every epoch, as a researcher's script would.

    Returns the test error at every epoch 0..epochs, ``(epochs + 1,)``.
    """
    U, s, Vt = np.linalg.svd(sigma31, full_matrices=False)
    a = np.sqrt(SETUP.eps)  # two layers, product strength eps
    W1 = np.zeros((sigma31.shape[0], hidden))
    W0 = np.zeros((hidden, sigma31.shape[1]))
    k = min(hidden, s.size)
    W1[:, :k] = a * U[:, :k]
    W0[:k, :] = a * Vt[:k, :]
    train = np.empty(epochs + 1)
    test = np.empty(epochs + 1)
    norm_train = np.sum(sigma31**2)
    norm_test = np.sum(W_bar**2)
    for epoch in range(epochs + 1):
        W = W1 @ W0
        train[epoch] = np.sum((W - sigma31) ** 2) / norm_train
        test[epoch] = np.sum((W - W_bar) ** 2) / norm_test
        if epoch == epochs:
            break
        L = sigma31 - W
        g0 = W1.T @ L
        g1 = L @ W0.T
        W0 = W0 + SETUP.lr * g0
        W1 = W1 + SETUP.lr * g1
    return test


def _sim(data, cfg, method, dtype="float64", epochs=None):
    return simulate_gd(
        data,
        hidden=cfg["n_out"],
        init="aligned",
        eps=SETUP.eps,
        lr=SETUP.lr,
        epochs=cfg["epochs"] if epochs is None else epochs,
        record_every=cfg["record_every"],
        method=method,
        dtype=dtype,
        progress=False,
    )


def deep_linear(cfg: dict, limit: dict, rng: np.random.Generator) -> dict:
    grid = make_grid(cfg, rng)
    data = grid["data"]
    n1, n3 = cfg["n_in"], cfg["n_out"]
    n2 = n3
    n_runs = sum(d.batch for d in data.values())
    epochs = cfg["epochs"]
    out = {
        "grid": {
            "snrs": grid["snrs"],
            "ranks": [1, 3],
            "n_seeds": cfg["n_seeds"],
            "n_runs": n_runs,
            "N1": n1,
            "N2": n2,
            "N3": n3,
            "epochs": epochs,
            "record_every": cfg["record_every"],
            "lr": SETUP.lr,
            "eps": SETUP.eps,
            "init": "aligned",
        }
    }
    # (b) and (c) over the whole grid
    times, recs = {}, {}
    for key, method, dtype in [
        ("b_full_float64", "full", "float64"),
        ("b_full_float32", "full", "float32"),
        ("c_modes", "modes", "float64"),
    ]:
        t0 = time.perf_counter()
        recs[key] = {r: _sim(d, cfg, method, dtype) for r, d in data.items()}
        times[key] = time.perf_counter() - t0
    flops = 3 * 2 * n3 * n2 * n1 * n_runs * epochs
    # (a) on a subset: the first base_seeds seeds of every condition, base_epochs epochs
    n_sub = cfg["base_seeds"]
    e_sub = min(cfg["base_epochs"], epochs)
    step = cfg["record_every"]
    idx = np.arange(e_sub + 1)[::step]
    if idx[-1] != e_sub:
        idx = np.r_[idx, e_sub]
    diff_ab = {"float64": 0.0, "float32": 0.0}
    diff_ac = 0.0
    t_a = 0.0
    n_a = 0
    for r, d in data.items():
        runs = [c * cfg["n_seeds"] + s for c in range(6) for s in range(n_sub)]
        for b in runs:
            t0 = time.perf_counter()
            test_a = plain_loop(d.sigma31[b], d.teacher.W[b], n2, e_sub)
            t_a += time.perf_counter() - t0
            n_a += 1
            rows = slice(0, idx.size)  # recorded epochs 0, step, ..., e_sub are the first rows
            ref = test_a[idx]
            for dt, key in (("float64", "b_full_float64"), ("float32", "b_full_float32")):
                got = recs[key][r].test_error[rows, b]
                diff_ab[dt] = max(diff_ab[dt], float(np.max(np.abs(got - ref))))
            diff_ac = max(
                diff_ac, float(np.max(np.abs(recs["c_modes"][r].test_error[rows, b] - ref)))
            )
    diff_bc = max(
        float(np.max(np.abs(recs["b_full_float64"][r].test_error - recs["c_modes"][r].test_error)))
        for r in data
    )
    per_run_epoch_a = t_a / (n_a * e_sub)
    a_full = per_run_epoch_a * n_runs * epochs
    extrapolated = (n_a, e_sub) != (n_runs, epochs)
    gflops = {k: flops / times[f"b_full_{k}"] / 1e9 for k in ("float64", "float32")}
    out["a_plain_loop"] = {
        "measured_runs": n_a,
        "measured_epochs": e_sub,
        "measured_s": t_a,
        "per_run_epoch_s": per_run_epoch_a,
        "grid_s": a_full,
        "extrapolated": extrapolated,
        "note": "errors computed every epoch; grid_s = per_run_epoch_s * runs * epochs"
        if extrapolated
        else "measured on the whole grid",
    }
    out["b_full"] = {
        dt: {
            "wall_s": times[f"b_full_{dt}"],
            "gflops": gflops[dt],
            "limit_gflops_sim_shape": limit[dt]["sim_shape_best"],
            "fraction_of_limit": gflops[dt] / limit[dt]["sim_shape_best"],
        }
        for dt in ("float64", "float32")
    }
    out["b_full"]["flop_count"] = "3 matmuls x 2*N3*N2*N1 per run per epoch (errors not counted)"
    out["c_modes"] = {"wall_s": times["c_modes"]}
    out["agreement"] = {
        "max_abs_test_error_b64_vs_a": diff_ab["float64"],
        "max_abs_test_error_b32_vs_a": diff_ab["float32"],
        "max_abs_test_error_c_vs_a": diff_ac,
        "max_abs_test_error_c_vs_b64": diff_bc,
        "compared_epochs": int(e_sub),
    }
    out["ratios"] = {
        "a_over_b64": a_full / times["b_full_float64"],
        "a_over_b32": a_full / times["b_full_float32"],
        "b64_over_c": times["b_full_float64"] / times["c_modes"],
        "a_over_c": a_full / times["c_modes"],
        "b64_fraction_of_limit": out["b_full"]["float64"]["fraction_of_limit"],
        "b32_fraction_of_limit": out["b_full"]["float32"]["fraction_of_limit"],
    }
    return out


def scaling(cfg: dict, rng: np.random.Generator) -> dict:
    """Per-epoch cost of routes (b) and (c) as N1 grows (N2 = N3 = N1 / 2)."""
    rows = []
    for n1 in cfg["scaling_n1"]:
        n3 = n1 // 2
        data = SETUP.draw(n1, n3, np.full((cfg["scaling_batch"], 1), 4.0), 1, rng=rng)
        row = {"N1": n1, "N2": n3, "N3": n3, "batch": cfg["scaling_batch"]}
        for key, method, dtype, ep in [
            ("b_full_float64", "full", "float64", cfg["scaling_epochs_full"]),
            ("b_full_float32", "full", "float32", cfg["scaling_epochs_full"]),
            ("c_modes", "modes", "float64", cfg["scaling_epochs_modes"]),
        ]:
            sub = dict(cfg, n_out=n3, record_every=ep)
            t0 = time.perf_counter()
            _sim(data, sub, method, dtype, epochs=ep)
            row[f"{key}_per_epoch_s"] = (time.perf_counter() - t0) / ep
        rows.append(row)
    return {"rows": rows, "note": "per-epoch wall time over the whole batch, 2 records per call"}


# ----------------------------------------------------------------------------- Jacobian spectra
def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _measure(fn):
    """Wall time and peak RSS above the RSS before the call, sampled every 5 ms by a thread."""
    base = _rss_bytes()
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            stop.wait(0.005)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        wall = time.perf_counter() - t0
        stop.set()
        th.join()
    peak[0] = max(peak[0], _rss_bytes())
    return wall, (peak[0] - base) / 2**30


def jacobian(cfg: dict, rng: np.random.Generator) -> dict:
    from dltheory.datasets import load_digits_data
    from dltheory.jacobian import JacobianOperator, top_singular
    from dltheory.nets import three_layer_net, two_layer_net

    rows = []
    K = 10
    nets = [("two-layer", two_layer_net)] + (
        [("three-layer", three_layer_net)] if cfg["jac_deep"] else []
    )
    for n in cfg["jac_n"]:
        data = load_digits_data(40, rng=np.random.default_rng(0))
        X_all = np.concatenate([data.X_train, data.X_test])
        X = X_all[:n]
        for name, ctor in nets:
            net = ctor(X.shape[1], cfg["jac_width"], K, rng=np.random.default_rng(1))
            op = JacobianOperator(net, X)
            m, p = op.shape
            k = min(cfg["jac_k"], m - 1)
            row = {"net": name, "n": int(n), "Kn": int(m), "p": int(p), "k": int(k)}
            res = {}

            def mf(op=op, k=k, res=res):
                res["mf"] = top_singular(op, k, frobenius=False, rng=np.random.default_rng(0))

            row["matrix_free_s"], row["matrix_free_peak_gb"] = _measure(mf)
            gram_gb = m * m * 8 / 2**30
            jac_gb = m * p * 8 / 2**30
            if name == "two-layer":
                dense_gb, route = gram_gb, "gram"
            else:
                dense_gb, route = gram_gb + jac_gb, "dense"
            row["dense_route"] = route
            row["dense_needs_gb"] = dense_gb
            if dense_gb > cfg["dense_limit_gb"]:
                row["dense_s"] = None
                row["dense_peak_gb"] = None
                row["dense_skipped"] = (
                    f"{route} route needs {dense_gb:.2f} GB (> {cfg['dense_limit_gb']} GB limit)"
                )
            else:

                def dense(op=op, k=k, net=net, X=X, route=route, res=res):
                    kw = dict(model=net, X=X) if route == "gram" else {}
                    res["dense"] = top_singular(op, k, method=route, frobenius=False, **kw)

                row["dense_s"], row["dense_peak_gb"] = _measure(dense)
                row["max_rel_diff_top_k"] = float(
                    np.max(np.abs(res["mf"].s - res["dense"].s) / res["dense"].s[0])
                )
            rows.append(row)
    return {
        "rows": rows,
        "memory_method": "peak RSS minus RSS before the call, /proc/self/statm sampled every 5 ms",
        "dense_limit_gb": cfg["dense_limit_gb"],
        "data": "sklearn digits, first n of (train split of 40 per class, then the rest)",
    }


# ----------------------------------------------------------------------------- whole book
def _record_row(path: Path, source: str, wall_s: float | None = None) -> dict:
    rec = json.loads(path.read_text())
    return {
        "chapter": rec["chapter"],
        "scale": rec["scale"],
        "source": source,
        "wall_s": wall_s,
        "record_runtime_s": rec["runtime_s"],
        "claims": len(rec["claims"]),
        "claims_passed": sum(bool(c["passed"]) for c in rec["claims"]),
    }


def _run_chapters(sources: list[Path], scale: str, run_dir: Path) -> list[dict]:
    """Each chapter from its MyST source by papermill, one fresh kernel each, as make chapter does."""
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DLTHEORY_RESULTS_DIR=str(run_dir / "results"), DLTHEORY_PROGRESS="0")
    rows = []
    for src in sources:
        nb_in, nb_out = run_dir / f"{src.stem}.src.ipynb", run_dir / f"{src.stem}.ipynb"
        subprocess.run(
            [sys.executable, "-m", "jupytext", "--quiet", "--from", "myst", "--to", "ipynb",
             "--set-kernel", "python3", "-o", str(nb_in), str(src)],
            check=True,
        )  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "papermill", "--cwd", str(ROOT / "book"), "-p", "scale",
             scale, "--log-level", "WARNING", "--no-progress-bar", str(nb_in), str(nb_out)],
            check=True, env=env,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        rows.append(_record_row(run_dir / "results" / f"{src.stem}.json", "papermill", wall))
    return rows


def whole_book(cfg: dict, out_dir: Path, *, book_scale: bool = False) -> dict:
    """Run time of every chapter at the ci and book scales, and of ``make test``.

    * ``ci``: ``make test`` is run and timed as a whole; each chapter's time is its record's own
      clock (``record_runtime_s``: from the chapter's setup to its last claim) in that run. (Quick
      mode runs the chosen chapters by papermill instead, and no ``make test``.)
    * ``book``: with ``book_scale``, every chapter is run by papermill (``wall_s`` includes the
      kernel start; records go to ``out_dir``, not to the site). Without it, the records that the
      last ``make book`` wrote to ``_build/results`` are read, if they are at the book scale: the
      whole-book section then costs only ``make test``, so ``make bench`` stays under 10 minutes.
    """
    sources = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
    if cfg["book_chapters"] is not None:
        sources = [p for p in sources if p.name[:2] in cfg["book_chapters"]]
    rows, out = [], {}
    if cfg["make_test"]:
        log = out_dir / "make_test.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with log.open("w") as f:
            subprocess.run(
                ["make", "test"], cwd=ROOT, check=True, stdout=f, stderr=subprocess.STDOUT
            )
        out["make_test_s"] = time.perf_counter() - t0
        out["make_test_log"] = str(log.relative_to(ROOT)) if log.is_relative_to(ROOT) else str(log)
        ci_dir = ROOT / "_build" / "ci" / "results"
        rows += [_record_row(ci_dir / f"{src.stem}.json", "make test") for src in sources]
    elif "ci" in cfg["book_scales"]:
        rows += _run_chapters(sources, "ci", out_dir / "ci")
    if "book" in cfg["book_scales"]:
        site = ROOT / "_build" / "results"
        found = [site / f"{src.stem}.json" for src in sources]
        if book_scale:
            rows += _run_chapters(sources, "book", out_dir / "book")
        elif all(p.exists() and json.loads(p.read_text()).get("scale") == "book" for p in found):
            rows += [_record_row(p, "make book") for p in found]
        else:
            out["book_scale_missing"] = (
                "no book-scale records in _build/results: run `make book` before `make bench`, "
                "or `python -m bench.run --book-scale` to time the chapters here"
            )
    out["rows"] = rows
    return out


# ----------------------------------------------------------------------------- under load
_SPIN = "while True: pass"


def under_load(cfg: dict, out_dir: Path) -> dict:
    """One chapter at the ci scale alone, then beside one competing CPU-bound process.

    The book's thread policy (:mod:`dltheory.threads`) is what keeps ``slowdown`` near 1 on a
    machine with a core to spare for the competitor; a threaded kernel that waits for a busy core
    would show here as a slowdown of several times.
    """
    src = next((ROOT / "book").glob(f"{cfg['load_chapter']}_*.md"))
    alone = _run_chapters([src], "ci", out_dir / "alone")[0]["wall_s"]
    spin = subprocess.Popen([sys.executable, "-c", _SPIN])
    try:
        loaded = _run_chapters([src], "ci", out_dir / "loaded")[0]["wall_s"]
    finally:
        spin.kill()
        spin.wait()
    return {
        "chapter": src.stem,
        "competitors": 1,
        "cpus": os.cpu_count(),
        "alone_s": alone,
        "loaded_s": loaded,
        "slowdown": loaded / alone,
    }


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes (seconds), for the smoke test"
    )
    parser.add_argument("--out", default="_build/bench.json")
    parser.add_argument("--skip-jacobian", action="store_true")
    parser.add_argument(
        "--skip-book", action="store_true", help="skip the whole-book chapter and make-test timings"
    )
    parser.add_argument(
        "--skip-load", action="store_true", help="skip the chapter run beside a competing process"
    )
    parser.add_argument(
        "--only-load", action="store_true", help="run only the chapter under load (about 2 minutes)"
    )
    parser.add_argument(
        "--book-scale",
        action="store_true",
        help="run every chapter at the book scale here (about 4 minutes more) instead of reading "
        "the records of the last make book",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    rng = np.random.default_rng(0)
    t_start = time.perf_counter()
    result = {
        "mode": "quick" if args.quick else "full",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpus": os.cpu_count(),
        },
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
    }
    sections = {}
    runs = Path(args.out).resolve().parent / "bench_runs"
    if not args.skip_load:
        t0 = time.perf_counter()
        result["under_load"] = under_load(cfg, runs / "under_load")
        sections["under_load"] = time.perf_counter() - t0
    if args.only_load:
        return _write(result, sections, t_start, Path(args.out))
    t0 = time.perf_counter()
    result["matmul_limit_gflops"] = matmul_limit(cfg, rng)
    sections["matmul"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result["deep_linear"] = deep_linear(cfg, result["matmul_limit_gflops"], rng)
    sections["deep_linear"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result["scaling"] = scaling(cfg, rng)
    sections["scaling"] = time.perf_counter() - t0
    if not args.skip_jacobian:
        t0 = time.perf_counter()
        result["jacobian"] = jacobian(cfg, rng)
        sections["jacobian"] = time.perf_counter() - t0
    if not args.skip_book:
        t0 = time.perf_counter()
        result["whole_book"] = whole_book(cfg, runs, book_scale=args.book_scale)
        sections["whole_book"] = time.perf_counter() - t0
    return _write(result, sections, t_start, Path(args.out))


def _write(result: dict, sections: dict, t_start: float, out: Path) -> dict:
    sections["total"] = time.perf_counter() - t_start
    result["wall_s"] = sections
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    _summary(result, out)
    return result


def _summary(res: dict, out: Path) -> None:
    print(f"bench ({res['mode']}) -> {out}  total {res['wall_s']['total']:.1f} s")
    if "under_load" in res:
        u = res["under_load"]
        print(
            f"  {u['chapter']} at ci: {u['alone_s']:.1f} s alone, {u['loaded_s']:.1f} s beside one "
            f"CPU-bound process ({u['slowdown']:.2f}x)"
        )
    if "matmul_limit_gflops" not in res:
        return
    lim = res["matmul_limit_gflops"]
    dl = res["deep_linear"]
    r = dl["ratios"]
    for dt in ("float64", "float32"):
        print(f"  matmul limit {dt}: " + ", ".join(f"{k} {v:.1f}" for k, v in lim[dt].items()))
    a = dl["a_plain_loop"]
    print(
        f"  (a) plain loop: {a['grid_s']:.1f} s for the grid"
        f"{' (extrapolated)' if a['extrapolated'] else ''}; "
        f"(b) f64 {dl['b_full']['float64']['wall_s']:.2f} s, f32 {dl['b_full']['float32']['wall_s']:.2f} s; "
        f"(c) {dl['c_modes']['wall_s']:.3f} s"
    )
    print(
        f"  a/b64 {r['a_over_b64']:.1f}x, a/b32 {r['a_over_b32']:.1f}x, b64/c {r['b64_over_c']:.0f}x, "
        f"b64 at {r['b64_fraction_of_limit']:.0%} of limit, b32 at {r['b32_fraction_of_limit']:.0%}"
    )
    print("  agreement: " + ", ".join(f"{k} {v:.1e}" for k, v in dl["agreement"].items()))
    for row in res["scaling"]["rows"]:
        print(
            f"  N1={row['N1']}: (b) {row['b_full_float64_per_epoch_s'] * 1e3:.3f} ms/epoch, "
            f"(c) {row['c_modes_per_epoch_s'] * 1e3:.4f} ms/epoch"
        )
    wb = res.get("whole_book", {})
    for row in wb.get("rows", []):
        wall = f", {row['wall_s']:.1f} s with the kernel start" if row["wall_s"] else ""
        print(
            f"  {row['chapter']} at {row['scale']} ({row['source']}): "
            f"{row['record_runtime_s']:.1f} s{wall} ({row['claims_passed']}/{row['claims']} claims pass)"
        )
    if "book_scale_missing" in wb:
        print(f"  book scale: {wb['book_scale_missing']}")
    if "make_test_s" in wb:
        print(f"  make test: {wb['make_test_s']:.0f} s")
    for row in res.get("jacobian", {}).get("rows", []):
        dense = (
            f"{row['dense_route']} {row['dense_s']:.1f} s, {row['dense_peak_gb']:.2f} GB"
            if row["dense_s"] is not None
            else row["dense_skipped"]
        )
        print(
            f"  jacobian {row['net']} n={row['n']}: matrix-free top-{row['k']} "
            f"{row['matrix_free_s']:.1f} s, {row['matrix_free_peak_gb']:.2f} GB; {dense}"
        )


if __name__ == "__main__":
    main()
