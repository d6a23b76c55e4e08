"""Display helpers: limits, orientation, cut-outs and the projector style."""
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from astropy.visualization import ZScaleInterval

from helpers import plot


def test_zscale_limits_are_astropys_and_ignore_nan():
    rng = np.random.default_rng(0)
    image = rng.normal(100, 5, (64, 64))
    image[0, :5] = np.nan
    assert plot.limits(image) == pytest.approx(ZScaleInterval().get_limits(image[np.isfinite(image)]))
    assert all(np.isfinite(plot.limits(image)))


def test_limits_refuse_an_image_without_finite_pixels():
    with pytest.raises(ValueError, match="no finite pixels"):
        plot.limits(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="unknown method"):
        plot.limits(np.ones((4, 4)), "log")


def test_show_puts_row_zero_at_the_bottom_and_pixel_centres_on_whole_numbers():
    image = np.zeros((10, 20))
    ax, im = plot.show(image, vmin=0, vmax=1)
    assert im.origin == "lower"
    assert im.get_extent() == [-0.5, 19.5, -0.5, 9.5]        # x across (20 columns), y up (10 rows)
    ax, im = plot.show(image, vmin=0, vmax=1, x0=100, y0=50)  # a cut-out keeps full-frame positions
    assert im.get_extent() == [99.5, 119.5, 49.5, 59.5]


def test_mark_draws_one_circle_per_position():
    ax, _ = plot.show(np.zeros((50, 50)), vmin=0, vmax=1)
    circles = plot.mark(ax, [10, 20, 30], [5, 15, 25], radius=3)
    assert len(circles.get_offsets()) == 3
    assert circles.get_offsets()[1].tolist() == [20, 15]


@pytest.fixture
def projector_off():
    """Whatever a test does (even with a broken projector_style), the settings are as before afterwards."""
    rc, size = mpl.rcParams.copy(), dict(plot._SCREEN)
    yield
    plt.close("all")
    plot._SAVED.clear()
    plot._SCREEN.update(size)
    mpl.rcParams.update(rc)


def _pixels(fig):
    """Width and height in pixels of the PNG that JupyterLab's inline backend shows (bbox_inches="tight")."""
    from io import BytesIO
    from PIL import Image

    buffer = BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return Image.open(buffer).size


def _contrast_with_white(colour):
    """WCAG contrast ratio of a colour against white."""
    def linear(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in mpl.colors.to_rgb(colour))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def _rc():
    """All rcParams but the backend (which reads differently before and after pyplot resolves it)."""
    return {key: mpl.rcParams[key] for key in mpl.rcParams.keys() if key != "backend"}


OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


def test_projector_style_is_off_by_default():
    import subprocess
    import sys
    code = ("import matplotlib as mpl; rc = lambda: {k: mpl.rcParams[k] for k in mpl.rcParams if k != 'backend'}; "
            "before = rc(); from helpers import plot; "
            "assert rc() == before; assert plot.figure_size(13, 4.3) == (13, 4.3); print('off')")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "off\n"


@pytest.mark.parametrize("screen", ["1024x768", "1920x1080"])
def test_projector_style_makes_text_large_on_the_screen(projector_off, screen):
    normal_px = mpl.rcParams["font.size"] * mpl.rcParams["figure.dpi"] / 72
    plot.projector_style(screen=screen)
    dpi = mpl.rcParams["figure.dpi"]
    assert dpi == plot.SCREENS[screen]["dpi"]
    for key in ["font.size", "axes.labelsize", "axes.titlesize", "xtick.labelsize", "legend.fontsize"]:
        pixels = mpl.font_manager.FontProperties(size=mpl.rcParams[key]).get_size_in_points() * dpi / 72
        assert pixels >= 20, f"{key} is only {pixels:.0f} px high on {screen}"
    text_px = mpl.rcParams["font.size"] * dpi / 72
    assert text_px >= 1.5 * normal_px
    height = int(screen.split("x")[1])
    assert text_px / height >= 0.028                           # 5.6 cm on a 2 m screen: readable at the back
    assert mpl.rcParams["lines.linewidth"] >= 3 and mpl.rcParams["axes.linewidth"] >= 1.5


@pytest.mark.parametrize("screen", ["1024x768", "1920x1080"])
def test_projector_figures_fit_the_screen(projector_off, screen):
    from matplotlib.figure import Figure

    plot.projector_style(screen=screen)
    width, height = plot.SCREENS[screen]["area"]
    fig, ax = plt.subplots()                                   # a standard figure
    ax.plot([0, 1, 2], [3, 1, 2], label="a line")
    ax.set(xlabel="x (column)", ylabel="counts (ADU)", title="A standard figure")
    ax.legend()
    w, h = _pixels(fig)
    assert w <= width and h <= height                          # no scrolling
    assert max(w / width, h / height) >= 0.75                  # and not a stamp in a corner
    for size in [(6.5, 6), (6.5, 6.5), (13, 4.3), (12, 5)]:    # the sliders' figures
        fig = Figure(figsize=plot.figure_size(*size))
        for ax in fig.subplots(1, 3 if size[0] == 13 else 1, squeeze=False).flat:
            ax.imshow(np.zeros((20, 20)))
            ax.set(xlabel="x (column)", ylabel="y (row)", title="a panel")
        w, h = _pixels(fig)
        assert w <= width and h <= height - plot.SLIDER_ROOM, f"{size} in drawn as {w} x {h} px"
    plot.show_row([np.zeros((10, 10))] * 4, size=5, ncols=2)     # chapter 00's 2 x 2 frames
    w, h = _pixels(plt.gcf())
    assert w <= width and h <= height


def test_projector_colours_are_colour_blind_safe_and_visible(projector_off):
    plot.projector_style()
    cycle = [c.upper() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert len(cycle) >= 6 and len(set(cycle)) == len(cycle)
    assert set(cycle) <= OKABE_ITO
    assert min(_contrast_with_white(c) for c in cycle) >= 2.0  # the pale yellow (1.3:1) would vanish
    fig, ax = plt.subplots()
    line, = ax.plot([0, 1])
    assert mpl.colors.to_hex(line.get_color()).upper() == cycle[0]
    assert line.get_linewidth() >= 3
    plt.close(fig)


def test_figure_size_is_unchanged_normally_and_shrinks_to_fit_with_the_projector(projector_off):
    assert plot.figure_size(6.5, 6) == (6.5, 6)
    assert plot.figure_size(20, 20) == (20, 20)
    plot.projector_style(screen="1024x768")                    # 840 x 600 px at 80 dpi
    assert plot.figure_size(6.5, 6) == (6.5, 6)               # 520 x 480 px: fits above the slider
    w, h = plot.figure_size(6.5, 7)
    assert h * 80 == pytest.approx(600 - plot.SLIDER_ROOM) and w / h == pytest.approx(6.5 / 7)
    w, h = plot.figure_size(13, 4.3)
    assert w * 80 == pytest.approx(840) and w / h == pytest.approx(13 / 4.3)   # keeps its shape
    assert plot.figure_size(2, 1) == (2, 1)                    # a small figure is not enlarged
    plot.projector_style(screen="1920x1080")                   # 1740 x 910 px at 112 dpi
    w, h = plot.figure_size(13, 4.3)
    assert w == pytest.approx(13)
    plot.projector_style(False)
    assert plot.figure_size(13, 4.3) == (13, 4.3)


@pytest.mark.parametrize("screen", ["1024x768", "1920x1080"])
@pytest.mark.parametrize("size", [(13, 8.4), (12, 12), (13, 4.5), (8, 6.5), (5.5, 5)])
def test_notebook_figures_are_shown_at_a_dpi_that_fits_the_screen(projector_off, screen, size):
    plot.projector_style(screen=screen)
    width, height = plot.SCREENS[screen]["area"]
    fig, ax = plt.subplots(figsize=size)
    ax.plot([0, 1], [0, 1])
    ax.set(xlabel="a label", ylabel="another label", title="a title")
    dpi = plot.display_dpi(fig)
    assert dpi <= plot.MAX_ENLARGE * plot.SCREENS[screen]["dpi"]
    from io import BytesIO
    from PIL import Image
    buffer = BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=dpi)
    w, h = Image.open(buffer).size
    assert w <= width and h <= height and max(w / width, h / height) > 0.6, (w, h)
    plt.close(fig)
    plot.projector_style(False)
    fig = plt.figure(figsize=size)
    assert plot.display_dpi(fig) == fig.dpi                    # off: a figure's own dpi
    plt.close(fig)


def test_switching_off_restores_exactly_what_was_there_before(projector_off):
    with mpl.rc_context({"figure.dpi": 72, "font.size": 11, "figure.figsize": (6, 4), "lines.linewidth": 1.25}):
        before = _rc()                           # a notebook's own settings, not the defaults
        plot.projector_style()
        assert _rc() != before
        plot.projector_style(False)
        assert _rc() == before
        assert mpl.rcParams["figure.dpi"] == 72 and mpl.rcParams["font.size"] == 11


def test_switching_on_twice_or_changing_screen_keeps_the_originals(projector_off):
    before, size_before = _rc(), dict(plot._SCREEN)
    plot.projector_style()
    plot.projector_style()
    plot.projector_style(screen="1920x1080")
    assert mpl.rcParams["figure.dpi"] == plot.SCREENS["1920x1080"]["dpi"]
    plot.projector_style(False)
    assert _rc() == before and plot._SCREEN == size_before
    plot.projector_style(False)                                # off when off changes nothing
    assert _rc() == before


def test_projector_style_refuses_an_unknown_screen(projector_off):
    before = _rc()
    with pytest.raises(ValueError, match="1024x768"):
        plot.projector_style(screen="800x600")
    assert _rc() == before


def test_in_a_notebook_kernel_figures_fit_and_switching_off_restores_the_kernels_own_settings():
    """In a real IPython kernel with the inline backend, as in JupyterLab."""
    import base64
    import sys
    from io import BytesIO

    import nbformat
    from nbclient import NotebookClient
    from PIL import Image

    figure = "fig, ax = plt.subplots(figsize=(13, 8.4))\nax.plot([0, 1], [0, 1])\nax.set_xlabel('x')"
    rc = "{k: mpl.rcParams[k] for k in mpl.rcParams if k != 'backend'}"
    cells = ["import sys, matplotlib as mpl, matplotlib.pyplot as plt\nprint(sys.executable)",
             # on before the notebook's first figure: the inline backend is not loaded yet
             "from helpers import plot\nplot.projector_style()\n" + figure,
             "plot.projector_style(False)\n" + figure,
             # on later, twice, with a change of screen; then off: the kernel's settings exactly
             f"before = {rc}\nplot.projector_style()\nplot.projector_style(screen='1920x1080')\n" + figure,
             f"plot.projector_style(False)\nprint({{k: v for k, v in before.items() if mpl.rcParams[k] != v}})"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, kernel_name="python3", timeout=60).execute()

    def png_size(cell):
        data = next(o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {}))
        return Image.open(BytesIO(base64.b64decode(data))).size

    assert notebook.cells[0].outputs[0]["text"].strip() == sys.executable     # this venv's kernel
    width, height = png_size(notebook.cells[1])
    assert width <= 840 and height <= 600 and width > 800      # fitted to the 1024x768 screen
    normal = png_size(notebook.cells[2])
    assert normal[0] > 1000 and normal[1] > 650                # off: the kernel's own 100 dpi again
    width, height = png_size(notebook.cells[3])
    assert width <= 1740 and height <= 910 and height > 850    # fitted to the 1920x1080 screen
    assert notebook.cells[4].outputs[0]["text"] == "{}\n"      # nothing differs
