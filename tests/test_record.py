import json

import numpy as np
import pytest

from dltheory.record import ClaimFailed, Record, load_records, main, records_table


@pytest.fixture(autouse=True)
def results_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("DLTHEORY_RESULTS_DIR", str(tmp_path))
    return tmp_path


def test_passing_record_is_saved(results_in_tmp):
    rec = Record("99_demo", scale="ci", seed=0)
    rec.check_close("a", predicted=1.0, measured=np.float64(1.04), rel=0.05)
    rec.check_close("b", predicted=0.0, measured=0.01, abs=0.02)
    rec.check_below("c", measured=0.1, bound=0.2)
    rec.check_above("d", measured=1.1, bound=1.0)
    rec.check_equal("e", predicted=[1, 2, 3], measured=np.array([1, 2, 3]))
    path = rec.finish()
    data = json.loads(path.read_text())
    assert path == results_in_tmp / "99_demo.json"
    assert data["scale"] == "ci" and data["seed"] == 0 and "numpy" in data["versions"]
    assert [c["id"] for c in data["claims"]] == list("abcde")
    assert all(c["passed"] for c in data["claims"])
    assert data["claims"][0]["tolerance"] == {"rel": 0.05}


@pytest.mark.parametrize(
    "add",
    [
        lambda r: r.check_close("x", predicted=1.0, measured=1.06, rel=0.05),
        lambda r: r.check_close("x", predicted=1.0, measured=float("nan"), abs=10.0),
        lambda r: r.check_below("x", measured=0.3, bound=0.2),
        lambda r: r.check_above("x", measured=0.3, bound=0.3),
        lambda r: r.check_equal("x", predicted=[1, 2], measured=[2, 1]),
    ],
)
def test_failing_claim_raises_after_saving(results_in_tmp, add):
    rec = Record("99_demo", scale="ci", seed=0)
    add(rec)
    with pytest.raises(ClaimFailed, match="x"):
        rec.finish()
    data = json.loads((results_in_tmp / "99_demo.json").read_text())
    assert data["claims"][0]["passed"] is False


def test_bad_use_raises():
    rec = Record("99_demo", scale="ci", seed=0)
    with pytest.raises(ValueError, match="no claims"):
        rec.finish()
    with pytest.raises(ValueError, match="exactly one"):
        rec.check_close("a", predicted=1.0, measured=1.0)
    rec.check_below("a", measured=0.0, bound=1.0)
    with pytest.raises(ValueError, match="twice"):
        rec.check_below("a", measured=0.0, bound=1.0)


def test_same_inputs_same_record(results_in_tmp):
    def make():
        rec = Record("99_demo", scale="ci", seed=0)
        rec.check_close("a", predicted=1.0, measured=1.01, rel=0.05)
        d = rec.to_dict()
        d.pop("runtime_s")
        return d

    assert make() == make()


def test_table_and_check_cli(results_in_tmp, capsys):
    rec = Record("98_ok", scale="ci", seed=0)
    rec.check_close("a", predicted=1.0, measured=1.01, rel=0.05)
    rec.finish()
    rows = records_table(load_records())
    assert rows[0]["claim"] == "a" and rows[0]["passed"] == "pass"
    assert main(["check", "--scale", "ci", "book/98_ok.md"]) == 0
    assert main(["check", "--scale", "book", "98_ok"]) == 1  # wrong scale
    assert main(["check", "97_missing"]) == 1
    bad = Record("96_bad", scale="ci", seed=0)
    bad.check_below("z", measured=2.0, bound=1.0)
    with pytest.raises(ClaimFailed):
        bad.finish()
    assert main(["check", "96_bad"]) == 1
    assert "failed" in capsys.readouterr().err


def test_savefig(results_in_tmp):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = Record("99_demo", scale="ci", seed=0).savefig(fig, "line")
    plt.close(fig)
    assert path == results_in_tmp / "figures" / "99_demo" / "line.png" and path.stat().st_size > 0
