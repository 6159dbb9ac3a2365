import json
import re
from pathlib import Path

import numpy as np
import pytest

from dltheory.record import ClaimFailed, Record, load_records, main, records_table

ROOT = Path(__file__).resolve().parents[1]


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


def test_table_rows_for_the_report(results_in_tmp):
    rec = Record("95_rows", scale="ci", seed=0)
    rec.check_close("a", predicted=1.0, measured=1.01, abs=0.0123456, statement="s", source="src")
    rec.check_below("b", measured=0.1, bound=0.15, predicted=0.0)
    rec.check_above("c", measured=0.5, bound=0.0, predicted=0.25)
    rec.check_below("d", measured=0.1, bound=3)
    rec.check_equal("e", predicted=[[1.0, 2.0]], measured=[[1.0, 2.0]])
    rec.finish()
    rows = {r["claim"]: r for r in records_table(load_records())}
    a = rows["a"]
    assert (a["statement"], a["source"], a["tolerance"], a["predicted"]) == (
        "s",
        "src",
        "±0.0123",
        "1",
    )
    assert a["section"] == "" and a["chapter_title"] == ""  # no source for this chapter
    # a bound shows as the tolerance; its prediction only where the record holds a nonzero one
    assert (rows["b"]["predicted"], rows["b"]["tolerance"]) == ("—", "< 0.15")
    assert (rows["c"]["predicted"], rows["c"]["tolerance"]) == ("0.25", "> 0")
    assert (rows["d"]["predicted"], rows["d"]["tolerance"]) == ("—", "< 3")
    assert rows["e"]["predicted"] == rows["e"]["measured"] == "[[1, 2]]"
    assert rows["a"]["runtime (s)"] >= 0 and rows["a"]["passed"] == "pass"


CHAPTER_SOURCE = """---
title: front matter
---
# 9. A chapter

Prose naming "not-here" outside code.

## Setup: the $N_1$ modes

```{code-cell} ipython3
# a comment, not a heading
record.check_close("plain-id", predicted=1.0, measured=1.0, rel=0.1)
```

## Theory

````{prf:theorem} A fence with a heading inside
## Not a section
````

```{code-cell} ipython3
for b in range(3):
    record.check_close(f"mode-{b + 1}", predicted=1.0, measured=1.0, rel=0.1)
print(f"{b}")
```

### Theory

```{code-cell} ipython3
record.check_close("repeated-title", predicted=1.0, measured=1.0, rel=0.1)
```
"""


def test_table_links_claims_to_their_section(results_in_tmp, monkeypatch):
    import dltheory.record as record_module

    src = results_in_tmp / "src" / "94_linked.md"
    src.parent.mkdir()
    src.write_text(CHAPTER_SOURCE)
    monkeypatch.setattr(record_module, "_chapter_source", lambda ch: src)
    rec = Record("94_linked", scale="ci", seed=0)
    for cid in ("plain-id", "mode-2", "repeated-title", "unknown-id"):
        rec.check_close(cid, predicted=1.0, measured=1.0, rel=0.1)
    rec.finish()
    rows = {r["claim"]: r for r in records_table(load_records())}
    assert rows["plain-id"]["chapter_title"] == "9. A chapter"
    assert rows["plain-id"]["section"] == "setup-the-n-1-modes"
    assert rows["mode-2"]["section"] == "theory"
    # a repeated title gets a numbered id that the source does not tell: link to the chapter
    assert rows["repeated-title"]["section"] == ""
    assert rows["unknown-id"]["section"] == ""


def test_savefig(results_in_tmp):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = Record("99_demo", scale="ci", seed=0).savefig(fig, "line")
    plt.close(fig)
    assert path == results_in_tmp / "figures" / "99_demo" / "line.png" and path.stat().st_size > 0


@pytest.mark.parametrize(
    "add, name",
    [
        (lambda r: r.check_close("x", predicted=1.0, measured=1.0, rel=float("inf")), "rel"),
        (lambda r: r.check_close("x", predicted=1.0, measured=1.0, rel=0.0), "rel"),
        (lambda r: r.check_close("x", predicted=1.0, measured=1.0, abs=-1.0), "abs"),
        (lambda r: r.check_close("x", predicted=1.0, measured=1.0, abs=float("nan")), "abs"),
        (lambda r: r.check_below("x", measured=1.0, bound=float("inf")), "bound"),
        (lambda r: r.check_above("x", measured=1.0, bound=float("nan")), "bound"),
    ],
)
def test_tolerances_are_validated(add, name):
    with pytest.raises(ValueError, match=name):
        add(Record("99_demo", scale="ci", seed=0))


@pytest.mark.parametrize(
    "add",
    [
        lambda r: r.check_equal("x", predicted=float("nan"), measured=float("nan")),
        lambda r: r.check_equal("x", predicted=[1.0, float("inf")], measured=[1.0, float("inf")]),
        lambda r: r.check_close("x", predicted=float("nan"), measured=1.0, abs=1.0),
        lambda r: r.check_below("x", measured=float("nan"), bound=1.0),
    ],
)
def test_non_finite_never_passes(add):
    rec = Record("99_demo", scale="ci", seed=0)
    assert not add(rec).passed


@pytest.mark.parametrize("name", ["", "..", "../../x", "a/b", ".hidden", None, 3])
def test_chapter_and_figure_names_are_validated(name):
    with pytest.raises(ValueError, match="chapter"):
        Record(name, scale="ci", seed=0)
    with pytest.raises(ValueError, match="name"):
        Record("99_demo", scale="ci", seed=0).savefig(None, name)


def _write(directory, name, record):
    (directory / f"{name}.json").write_text(json.dumps(record))


def _passing(name):
    rec = Record(name, scale="ci", seed=0)
    rec.check_close("a", predicted=1.0, measured=1.01, rel=0.05)
    return rec


def test_check_recomputes_verdicts_and_rejects_non_finite(results_in_tmp, capsys):
    good = _passing("90_good").to_dict()
    _write(results_in_tmp, "90_good", good)
    assert main(["check", "90_good"]) == 0
    for bad_claim in (
        {"measured": "nan"},  # a NaN measurement stored beside passed: true
        {"measured": 2.0},  # outside the tolerance, flag says passed
        {"tolerance": {"rel": "inf"}},
        {"tolerance": {"abs": 0.0}},
        {"tolerance": {"rel": -1.0}},
        {"tolerance": {"bogus": 1.0}},
    ):
        rec = json.loads(json.dumps(good))
        rec["claims"][0].update(bad_claim)
        _write(results_in_tmp, "90_good", rec)
        assert main(["check", "90_good"]) == 1, bad_claim
    rec = json.loads(json.dumps(good))
    rec["claims"][0]["passed"] = False  # a correct claim whose stored flag says otherwise
    _write(results_in_tmp, "90_good", rec)
    assert main(["check", "90_good"]) == 1
    assert "disagrees" in capsys.readouterr().err


def test_check_rejects_stale_records(results_in_tmp, capsys):
    rec = _passing("91_stale").to_dict()
    rec["library_sha256"] = "0" * 64  # written by another version of the library
    _write(results_in_tmp, "91_stale", rec)
    assert main(["check", "91_stale"]) == 1
    assert "older than the library" in capsys.readouterr().err


def test_check_rejects_record_of_changed_chapter_source(results_in_tmp, capsys):
    # chapter 01's record must carry the hash of book/01_*.md as it is now
    chapter = sorted(p.stem for p in (ROOT / "book").glob("01_*.md"))[0]
    rec = _passing(chapter).to_dict()
    assert rec["source_sha256"] is not None
    _write(results_in_tmp, chapter, rec)
    assert main(["check", chapter]) == 0
    rec["source_sha256"] = "f" * 64
    _write(results_in_tmp, chapter, rec)
    assert main(["check", chapter]) == 1
    assert "older than the chapter's source" in capsys.readouterr().err


def test_rerun_that_dies_leaves_no_record(results_in_tmp):
    _passing("92_rerun").finish()
    assert (results_in_tmp / "92_rerun.json").is_file()
    Record("92_rerun", scale="ci", seed=0)  # a rerun starts ... and dies before finish()
    assert main(["check", "92_rerun"]) == 1


def test_corrupt_record_is_one_line_and_others_are_still_checked(results_in_tmp, capsys):
    _passing("93_ok").finish()
    (results_in_tmp / "94_corrupt.json").write_text('{"chapter": "94_corrupt", "cla')
    (results_in_tmp / "95_list.json").write_text("[1, 2]")
    assert main(["check", "94_corrupt", "95_list", "93_ok"]) == 1
    out = capsys.readouterr()
    err = [line for line in out.err.splitlines() if line]
    assert len(err) == 2 and "corrupt record" in err[0] and "95_list" in err[1]
    assert "93_ok: 1 claims" in out.out
    with pytest.raises(ValueError, match="corrupt record"):
        load_records(results_in_tmp)


def test_save_is_atomic(results_in_tmp, monkeypatch):
    rec = _passing("96_atomic")
    path = rec.save()
    before = path.read_text()

    def broken_replace(*a, **k):
        raise RuntimeError("interrupted between the write and the rename")

    rec.check_close("b", predicted=1.0, measured=1.0, rel=0.01)
    monkeypatch.setattr("dltheory.record.os.replace", broken_replace)
    with pytest.raises(RuntimeError):
        rec.save()
    assert path.read_text() == before
    assert [p.name for p in results_in_tmp.iterdir()] == [path.name]


def test_check_cli_rejects_path_like_names():
    with pytest.raises(SystemExit):
        main(["check", "../x.json/.."])


def test_summary_has_one_line_per_claim_with_its_verdict():
    rec = Record("99_demo", scale="ci", seed=0)
    rec.check_close("a-long-claim-id", predicted=2.0, measured=2.1, rel=0.1)
    rec.check_below("b", measured=3.0, bound=1.0)
    lines = rec.summary().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("PASS  a-long-claim-id") and "±10% rel" in lines[0]
    assert lines[1].startswith("FAIL  b ") and "< 1" in lines[1]


def test_seed_spread_is_stored_only_when_given(results_in_tmp):
    rec = Record("99_spread", scale="ci", seed=0)
    rec.check_close("with-se", predicted=1.0, measured=1.02, rel=0.1, se=0.01, n=8)
    rec.check_below("bound-se", measured=0.5, bound=1.0, se=0.1, n=4)
    rec.check_close("plain", predicted=1.0, measured=1.02, rel=0.1)
    claims = json.loads(rec.finish().read_text())["claims"]
    assert (claims[0]["se"], claims[0]["n"]) == (0.01, 8)
    assert (claims[1]["se"], claims[1]["n"]) == (0.1, 4)
    assert "se" not in claims[2] and "n" not in claims[2]


@pytest.mark.parametrize(
    "spread",
    [{"se": 0.1}, {"n": 3}, {"se": -0.1, "n": 3}, {"se": 0.1, "n": 1}, {"se": 0.1, "n": 2.0}],
)
def test_seed_spread_is_validated(results_in_tmp, spread):
    rec = Record("99_spread", scale="ci", seed=0)
    with pytest.raises((ValueError, TypeError), match="se|n "):
        rec.check_close("x", predicted=1.0, measured=1.0, rel=0.1, **spread)


def test_claim_shows_as_one_table_row_in_a_notebook():
    rec = Record("99_demo", scale="ci", seed=0)
    claim = rec.check_close("a<b", predicted=2.0, measured=np.float64(2.1), rel=0.1)
    bound = rec.check_below("c", measured=0.1, bound=0.2)
    html = claim._repr_html_()
    assert "Claim(" not in html and html.count("<tr>") == 2  # the header and one row
    cells = re.findall(r"<td>(.*?)</td>", html)
    assert cells == ["<strong>pass</strong>", "<code>a&lt;b</code>", "2", "2.1", "±10% rel"]
    assert re.findall(r"<td>(.*?)</td>", bound._repr_html_())[2:] == ["—", "0.1", "&lt; 0.2"]
    assert repr(claim).startswith("Claim(")  # the terminal repr is the dataclass's


def test_summary_is_text_in_a_terminal_and_a_table_in_html(results_in_tmp):
    rec = Record("99_demo", scale="ci", seed=0)
    rec.check_close("a", predicted=1.0, measured=1.01, rel=0.05, statement="x < y & z")
    rec.check_below("b", measured=3.0, bound=1.0)
    rec.check_equal("c", predicted=[1, 2], measured=[1, 2])
    summary = rec.summary()
    assert str(summary).splitlines()[0].startswith("PASS  a ") and "<" not in str(summary)[:10]
    html = summary._repr_html_()
    headers = re.findall(r"<th>(.*?)</th>", html)
    assert headers == ["statement", "prediction", "measurement", "tolerance", "verdict"]
    rows = re.findall(r"<tr>(.*?)</tr>", html)[1:]
    assert len(rows) == 3
    assert re.findall(r"<td>(.*?)</td>", rows[0]) == [
        "x &lt; y &amp; z<br><code>a</code>", "1", "1.01", "±5% rel", "<strong>pass</strong>",
    ]  # fmt: skip
    assert "FAIL" in rows[1] and "[1, 2]" in rows[2]
    assert "overflow-x:auto" in html  # a wide table scrolls inside its box, not the page
    from IPython.lib.pretty import pretty

    assert pretty(summary) == str(summary)  # Jupyter's text/plain view shows the lines as they are


def test_html_views_leave_the_json_record_unchanged(results_in_tmp):
    def make(show):
        rec = Record("99_demo", scale="ci", seed=0)
        c = rec.check_close("a", predicted=1.0, measured=1.01, rel=0.05, se=0.001, n=4)
        if show:
            c._repr_html_(), rec.summary()._repr_html_()
        d = rec.to_dict()
        d.pop("runtime_s")
        return d

    assert make(False) == make(True)
    assert set(make(True)["claims"][0]) == {
        "id", "source", "statement", "predicted", "measured", "tolerance", "passed", "se", "n",
    }  # fmt: skip
