import dataclasses

import numpy as np
import pytest

from dltheory.config import SCALES, get_scale
from dltheory.datasets import digits_data


def test_three_scales_exist_and_grow():
    assert set(SCALES) == {"ci", "book", "paper"}
    ci, book, paper = (get_scale(n).svd_dynamics for n in ("ci", "book", "paper"))
    assert ci.n_in <= book.n_in <= paper.n_in
    assert ci.n_seeds <= book.n_seeds <= paper.n_seeds


def test_scales_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_scale("ci").svd_dynamics.n_in = 3


def test_unknown_scale_raises():
    with pytest.raises(ValueError, match="scale name must be one of"):
        get_scale("huge")


def test_default_follows_environment(monkeypatch):
    monkeypatch.setenv("BOOK_SCALE", "ci")
    assert get_scale().name == "ci"
    monkeypatch.delenv("BOOK_SCALE")
    assert get_scale().name == "book"


@pytest.mark.parametrize("name", ["ci", "book", "paper"])
def test_jacobian_sweep_sizes(name):
    sizes = get_scale(name).jacobian
    assert sizes.deep_steps <= sizes.steps
    assert list(sizes.widths) == sorted(set(sizes.widths)) and all(w % 2 == 0 for w in sizes.widths)
    # the disjoint held-out sets come from the images left after the training split
    left = np.bincount(digits_data()[1]).min() - sizes.per_class
    assert sizes.heldout_draws * sizes.per_class <= left
