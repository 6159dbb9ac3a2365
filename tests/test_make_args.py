"""Every bad argument to a make target stops make with one line and exit 2, and leaves nothing behind."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dltheory.config import SCALES

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def test_makefile_lists_the_config_scales():
    line = next(x for x in (ROOT / "Makefile").read_text().splitlines() if x.startswith("SCALES"))
    assert line.split(":=")[1].split() == list(SCALES)


@pytest.mark.parametrize(
    "args, says",
    [
        (["chapter"], "usage: make chapter"),
        (["chapter", "CH=99"], "no chapter CH=99"),
        (["chapter", "CH=1"], "no chapter CH=1"),
        (["chapter", "CH=../book/01"], "no chapter"),
        (["chapter", "CH=*"], "no chapter"),
        (["chapter", "CH=01", "SCALE=bogus"], "SCALE must be one of"),
        (["chapter", "CH=01", "SCALE="], "SCALE must be one of"),
        (["grade"], "usage:.*make grade"),
        (["grade", "CH=01", "SUB=/no/such/file.ipynb"], "no file or folder SUB="),
        (["grade", "CH=77", "SUB=README.md"], "no chapter CH=77"),
        (["test-site", "CHROMIUM=/no/such/chromium"], "run make book first|no Chromium"),
    ],
)
def test_bad_make_argument_is_one_line(tmp_path, args, says):
    before = set(ROOT.glob("_build/**/*"))
    # -n: even if a check were missing, make would only print the recipe, never run it
    res = subprocess.run(
        ["make", "--no-print-directory", "-n", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 2
    lines = [x for x in (res.stdout + res.stderr).splitlines() if x.strip()]
    assert len(lines) == 1 and re.search(says, lines[0]), lines
    assert set(ROOT.glob("_build/**/*")) == before
