import matplotlib.pyplot as plt
import numpy as np
import pytest

from dltheory.plotting import STYLE_PATH, theory_vs_sim, use_book_style


def test_style_file_ships_and_loads():
    assert STYLE_PATH.is_file()
    use_book_style()
    assert plt.rcParams["axes.spines.top"] is False


def test_theory_vs_sim_draws_line_and_markers():
    fig, ax = plt.subplots()
    t = np.linspace(0, 1, 5)
    sims = np.stack([t**2, t**2 + 0.1])
    line, bars = theory_vs_sim(ax, t, t**2, t, sims, label="x")
    assert line.get_linestyle() == "-"
    np.testing.assert_allclose(bars.lines[0].get_ydata(), sims.mean(axis=0))
    assert bars.lines[0].get_color() == line.get_color()
    with pytest.raises(ValueError, match="y_sim"):
        theory_vs_sim(ax, t, t, t, np.ones((2, 3)))
    plt.close(fig)
