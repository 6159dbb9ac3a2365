"""The thread policy reaches every BLAS, OpenMP runtime and torch, however a chapter imports things."""

import json
import os
import subprocess
import sys

import pytest

from dltheory.threads import THREADS_ENV, policy_threads

PROBE = """
import json, numpy, scipy.linalg, torch           # a chapter may import these first
import dltheory.linear_nets                       # then the library
from threadpoolctl import threadpool_info
print(json.dumps({"torch": torch.get_num_threads(),
                  "pools": sorted({p["num_threads"] for p in threadpool_info()}),
                  "apis": sorted({p["user_api"] for p in threadpool_info()})}))
"""


def _probe(threads: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != THREADS_ENV}
    if threads is not None:
        env[THREADS_ENV] = threads
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_one_thread_everywhere_by_default():
    got = _probe(None)
    assert got["torch"] == 1 and got["pools"] == [1]
    assert "blas" in got["apis"]


def test_env_sets_another_count():
    got = _probe("2")
    assert got["torch"] == 2 and got["pools"] == [2]


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_bad_env_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv(THREADS_ENV, bad)
    with pytest.raises(ValueError, match=THREADS_ENV):
        policy_threads()
