"""The nearest-neighbour explorer: the right neighbours, a PNG of the expected size, a static figure
with one image row per query and space."""
import io

import matplotlib
import pytest
import torch
from PIL import Image

from labutils.explore.neighbours import NeighbourSearch, first_of_each_digit, neighbour_explorer, neighbour_figure

matplotlib.use("Agg")


@pytest.fixture
def search():
    """20 training and 6 test images; "line" places the training rows at 0, 1, ..., 19 on a line."""
    g = torch.Generator().manual_seed(0)
    train_images, test_images = torch.rand(20, 784, generator=g), torch.rand(6, 784, generator=g)
    line_train = torch.arange(20.0)[:, None]
    line_test = torch.tensor([[2.2], [17.9], [0.0], [9.6], [5.0], [12.4]])
    spaces = {"pixels": (train_images, test_images), "line": (line_train, line_test),
              "codes": (torch.randn(20, 3, generator=g), torch.randn(6, 3, generator=g))}
    return NeighbourSearch.build(spaces, train_images, test_images, torch.arange(20) % 10,
                                 torch.tensor([2, 4, 9, 4, 0, 1]))


def test_nearest_are_in_order_of_distance(search):
    assert search.nearest("line", 0, n=4).tolist() == [2, 3, 1, 4]
    assert search.nearest("line", 1, n=3).tolist() == [18, 17, 19]


def test_a_query_equal_to_a_training_row_finds_that_row_first(search):
    search.spaces["pixels"][1][3] = search.spaces["pixels"][0][11]
    assert search.nearest("pixels", 3, n=8)[0] == 11


def test_nearest_agrees_with_brute_force_distances(search):
    train, test = search.spaces["codes"]
    for index in range(len(test)):
        expected = torch.cdist(test[index:index + 1], train)[0].argsort()[:5]
        assert search.nearest("codes", index, n=5).tolist() == expected.tolist()


def test_row_is_the_query_then_its_neighbours(search):
    row = search.row("line", 0, n=3)
    assert torch.equal(row[0], search.test_images[0])
    assert torch.equal(row[1:], search.train_images[[2, 3, 1]])


def test_render_is_a_png_of_one_row_per_space(search):
    explorer = neighbour_explorer(search, n=4)
    assert explorer.css_class == "lab-neighbour-explorer"
    explorer.controls["index"].value = 5
    picture = Image.open(io.BytesIO(explorer.render(**explorer.values())))
    # 1 query + 1 blank + 4 neighbours a row, 3 spaces; tiles of 28 + 2 padding, scaled x4 (112 px an image).
    assert picture.size == (4 * (6 * 30 + 2), 4 * (3 * 30 + 2))
    assert explorer.controls["index"].max == 5


def test_render_leaves_torch_threads_as_they_were(search):
    threads = torch.get_num_threads()
    explorer = neighbour_explorer(search, n=2)
    torch.set_num_threads(2)
    explorer.render(index=0)
    assert torch.get_num_threads() == 2
    torch.set_num_threads(threads)


def test_first_of_each_digit():
    assert first_of_each_digit(torch.tensor([0, 4, 9, 4, 0, 1]), (4, 1, 0)) == [1, 5, 0]


def test_static_figure_has_a_row_per_query_and_space(search):
    fig = neighbour_figure(search, [0, 2], n=4)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len({ax.get_subplotspec().rowspan.start for ax in image_axes}) == 2 * 3
    assert len(image_axes) == 2 * 3 * 5
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels[1].startswith("test image 0, line:") and labels[3].startswith("test image 2, pixels:")
    # on the line, query 0 (a 2) has the neighbours 2, 3, 1, 4, of the digits 2, 3, 1, 4
    assert labels[1].endswith("1 of 4 are 2s")
