"""visu/pictures.py: the dashboard's pictures, computed with numpy alone (no figure, no
TensorFlow, no matplotlib)."""

import sys

import numpy as np
import pytest

from visu import pictures

RED = (240 / 255, 98 / 255, 90 / 255)


def test_pictures_need_neither_tensorflow_nor_matplotlib():
    import subprocess
    code = ("import sys; sys.path.insert(0, '.'); import visu.pictures; "
            "print(sorted(m for m in ('tensorflow', 'matplotlib', 'keras') if m in sys.modules))")
    from conftest import ROOT
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_ink_colors_map_ink_to_black_on_white_or_on_red():
    colors = pictures.ink_colors(RED).view(np.uint8).reshape(512, 4)
    assert tuple(colors[0]) == (255, 255, 255, 255)  # no ink, right: white
    assert tuple(colors[255]) == (0, 0, 0, 255)  # full ink: black
    assert tuple(colors[256]) == (240, 98, 90, 255)  # no ink, wrong: red
    assert tuple(colors[511]) == (0, 0, 0, 255)


def test_digit_grid_sorts_errors_first():
    colors = pictures.ink_colors(RED)
    images = np.zeros((80, 28, 28, 1), np.float32)
    labels = np.arange(80) % 10
    predictions = labels.copy()
    predictions[[5, 51, 79]] = 0
    predictions[0] = 1
    grid = pictures.digit_grid(images, predictions, labels, 2, 40, colors, errors_first=True)
    assert grid.shape == (56, 1120, 4) and grid.dtype == np.uint8
    red_cells = [tuple(grid[0, 28 * k, :3]) == (240, 98, 90) for k in range(40)]
    assert red_cells == [True] * 4 + [False] * 36
    assert np.all(grid[28:, :, :3] == 255)


def test_digit_grid_puts_both_labels_beside_a_wrong_digit():
    colors = pictures.ink_colors(RED)
    glyphs = np.zeros((10, 28, 9), np.uint8)
    for d in range(10):
        glyphs[d, 10:18, 2:7] = 25 * (d + 1)  # a block of ink, darker for bigger digits
    images = np.ones((4, 28, 28), np.float32)  # full ink
    labels, predictions = np.array([3, 1, 2, 7]), np.array([5, 1, 2, 7])
    grid = pictures.digit_grid(images, predictions, labels, 1, 4, colors, glyphs=glyphs, gutter=2)
    width = 28 + 2 * 9 + 2
    assert grid.shape == (28, 4 * width - 2, 4)
    first = grid[:, :width - 2, :3]
    assert tuple(first[0, 0]) == (240, 98, 90)  # the wrong digit's cell: red
    left, right = first[14, 4], first[14, 9 + 28 + 4]
    assert tuple(left) == tuple(np.round(np.array([240, 98, 90]) * (1 - 100 / 255)))  # the label 3
    assert tuple(right) == tuple(np.round(np.array([240, 98, 90]) * (1 - 150 / 255)))  # 5, computed
    second = grid[:, width:2 * width - 2, :3]
    assert tuple(second[0, 0]) == (255, 255, 255) and np.all(second[:, :9] == 255)  # right: no labels


def test_digit_grid_takes_uint8_images_too():
    colors = pictures.ink_colors(RED)
    images = np.full((1, 28, 28), 255, np.uint8)
    grid = pictures.digit_grid(images, [1], [1], 1, 1, colors)
    assert np.all(grid[:, :, :3] == 0)


def test_digit_grid_at_half_size_averages_each_2x2_pixels():
    colors = pictures.ink_colors(RED)
    images = np.zeros((3, 28, 28), np.float32)
    images[0, 0:2, 0:2] = 1.0  # a full 2 x 2 block: one black pixel
    images[0, 2, 2] = 1.0  # one pixel of four: a quarter of the ink
    images[1, 27, 27] = 1.0
    grid = pictures.digit_grid(images, [0, 1, 0], [0, 1, 2], 1, 3, colors, reduce=2)
    assert grid.shape == (14, 42, 4)
    assert tuple(grid[0, 0, :3]) == (0, 0, 0)
    assert tuple(grid[1, 1, :3]) == (191, 191, 191)  # 255 * (1 - 1/4), rounded
    assert tuple(grid[13, 27, :3]) == (191, 191, 191)  # the second digit's last block
    assert tuple(grid[0, 28, :3]) == (240, 98, 90), "the third digit is wrong: on red"
    as_uint8 = pictures.digit_grid((images * 255).astype(np.uint8), [0, 1, 0], [0, 1, 2], 1, 3,
                                   colors, reduce=2)
    assert np.array_equal(as_uint8, grid)
    with pytest.raises(ValueError):  # the labels beside wrong digits are not shrunk
        pictures.digit_grid(images, [0], [0], 1, 1, colors, glyphs=pictures.label_glyphs(9),
                            reduce=2)


def test_errors_text():
    assert pictures.errors_text([1, 2, 3], [1, 2, 3]) == "0 errors (0.0%)"
    assert pictures.errors_text([1, 0, 3, 0], [1, 2, 3, 4]) == "2 errors (50.0%)"
    assert pictures.errors_text([0], [1]) == "1 error (100.0%)"


def test_percentiles_cut_the_values_into_seven_equal_bands():
    values = np.arange(7001, dtype=np.float64)
    edges = pictures.percentiles(values)
    assert len(edges) == pictures.BANDS + 1
    assert edges[0] == 0 and edges[-1] == 7000
    assert np.allclose(edges, np.linspace(0, 7000, 8))
    assert np.all(pictures.percentiles([]) == 0)


def test_percentiles_of_big_arrays_come_from_a_fixed_sample():
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, 200_000)
    edges = pictures.percentiles(values)
    exact = np.percentile(values, np.linspace(0, 100, 8))
    assert edges[0] == values.min() and edges[-1] == values.max()  # the extremes: exact
    assert np.allclose(edges[1:-1], exact[1:-1], atol=0.02)
    assert np.array_equal(edges, pictures.percentiles(values))  # the same sample every time


def test_band_polygons_go_along_the_lower_edge_and_back_along_the_upper():
    x = np.array([0.0, 10.0, 20.0])
    edges = np.array([np.arange(8), np.arange(8) + 1, np.arange(8) + 2], np.float64)
    polygons = pictures.band_polygons(x, edges)
    assert len(polygons) == 7
    assert polygons[0].tolist() == [[0, 0], [10, 1], [20, 2], [20, 3], [10, 2], [0, 1]]


@pytest.mark.parametrize("low, high", [(-0.37, 0.52), (0, 100), (-1e-3, 2e-3), (5, 1234)])
def test_nice_limits_round_out_to_tick_values(low, high):
    bottom, top = pictures.nice_limits(low, high, room=0)
    step = pictures.nice_step(top - bottom)
    assert bottom <= low and top >= high
    assert abs(bottom / step - round(bottom / step)) < 1e-6 and abs(top / step - round(top / step)) < 1e-6
    assert (top - bottom) / step <= 10 + 1e-9


def test_band_limits_change_only_when_the_bands_leave_them_or_shrink_a_lot():
    edges = np.array([[-0.1, 0, 0, 0, 0, 0, 0, 0.1]])
    first = pictures.band_limits(edges, (-1, 1), initial=True)
    assert first[0] <= -0.1 and first[1] >= 0.1 and first[1] - first[0] < 0.5
    assert pictures.band_limits(edges * 0.9, first) == first  # still inside: unchanged
    wider = pictures.band_limits(edges * 5, first)
    assert wider[0] <= -0.5 and wider[1] >= 0.5
    assert pictures.band_limits(edges * 0.1, wider) != wider  # shrank to less than half
    assert pictures.band_limits(np.array([[np.nan] * 8]), first) == first
    single = pictures.band_limits(np.array([[0.1] * 8]), (-1, 1), initial=True)
    assert single[0] < 0.1 < single[1] and single[1] - single[0] < 0.5


def test_loss_limits_keep_the_codelab_scale_unless_the_loss_stays_above_it():
    assert pictures.loss_limits([230], [230], (0, 100)) == (0, 100)
    assert pictures.loss_limits([230, 150, 90, 60, 40], [50], (0, 100)) == (0, 100)
    high = pictures.loss_limits([500] * 6, [480] * 6, (0, 100))
    assert high[0] == 0 and high[1] >= 500
    assert pictures.loss_limits([500] * 6, [480] * 6, high) == high
