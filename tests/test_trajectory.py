import numpy as np
import pytest

from dltheory.trajectory import Trajectory, recorded_steps


@pytest.mark.parametrize("total, every", [(0, 1), (10, 1), (10, 3), (10, 10), (10, 25), (999, 7)])
def test_interval_records_zero_every_kth_and_the_last(total, every):
    steps = recorded_steps(total, record_every=every)
    expected = sorted(set(range(0, total + 1, every)) | {total})
    np.testing.assert_array_equal(steps, expected)
    assert steps.dtype == np.int64


def test_the_loop_default_applies_when_nothing_is_asked():
    np.testing.assert_array_equal(recorded_steps(30, default_every=10), [0, 10, 20, 30])
    np.testing.assert_array_equal(recorded_steps(30, default_every=30), [0, 30])


def test_explicit_steps_are_kept_exactly():
    np.testing.assert_array_equal(
        recorded_steps(100, record_steps=[0, 5, 50, 100]), [0, 5, 50, 100]
    )
    np.testing.assert_array_equal(recorded_steps(100, record_steps=np.array([3])), [3])


@pytest.mark.parametrize("bad", [[5, 5], [2, 1], [-1, 3], [0, 101], [], [0.5], 3, True, "0"])
def test_bad_step_lists_are_refused(bad):
    with pytest.raises((ValueError, TypeError), match="record_steps"):
        recorded_steps(100, record_steps=bad)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_bad_intervals_are_refused(bad):
    with pytest.raises((ValueError, TypeError), match="record_every"):
        recorded_steps(100, record_every=bad)


def test_interval_and_steps_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        recorded_steps(100, record_every=2, record_steps=[0, 1])


def test_time_is_steps_times_lr():
    tr = Trajectory(steps=np.array([0, 10, 20]), lr=0.5)
    np.testing.assert_allclose(tr.time, [0.0, 5.0, 10.0])
    assert tr.tau == pytest.approx(2.0)


@pytest.mark.parametrize(
    "steps", [np.array([0.0, 1.0]), np.array([2, 1]), np.array([], int), [[0]]]
)
def test_bad_trajectories_are_refused(steps):
    with pytest.raises(ValueError, match="steps"):
        Trajectory(steps=np.asarray(steps), lr=0.1)
