"""The six-panel dashboard: what the network sees, gets wrong and learns, as it trains.

Panels, two rows of three: 1 accuracy, 2 cross-entropy loss, 3 the training batch, 4 and 5 the
spread of the weights and of the biases (or what the rung asks for: activations, say), as
percentile bands, 6 test digits. `KEYS_HELP` lists the keys.

The dashboard draws into a matplotlib figure that a renderer gives it (a window, an offscreen
canvas, a notebook: see renderers.py); it knows nothing of windows or files. The runner hands
it numpy arrays (`update_train`, `update_test`); `refresh()` turns what arrived since the last
frame into the artists and says which groups of artists changed, for the renderer to redraw.
No TensorFlow here.
"""

import contextlib
import os

import matplotlib
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.gridspec import GridSpec
from matplotlib.text import Annotation

from . import blitting, pictures
from .drawpad import DrawPad
from .gridimage import GridImage
from .textline import TextLine

# --- settings (the look is in tensorflowvisu.mplstyle) -----------------------------------------
STYLE_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "tensorflowvisu.mplstyle")
PANEL_TITLES = ("Accuracy", "Cross-entropy loss", "Training digits", "Weights", "Biases",
                "Test digits")
# key -> the panels on show (0-based), in their order on screen
LAYOUTS = {"1": (0,), "2": (1,), "3": (2,), "4": (3,), "5": (4,), "6": (5,),
           "7": (0, 1), "8": (3, 4), "9": (2, 5), "0": tuple(range(6)), "escape": tuple(range(6))}
KEYS_HELP = ("keys:  1-6 one panel   7 accuracy+loss   8 {panels_4_5}   9 training+test {noun}   "
             "0/Esc all six   Space pause   A accuracy 90-100%   O zoom (mouse)   H reset zoom   "
             "D draw (paused, done)   Ctrl-S save image   Q quit")
TOP_ACCURACY = (0.9, 1.0)  # key A: the accuracy panel's top band, where the rungs differ
GRID = dict(left=0.045, right=0.99, bottom=0.085, top=0.915, wspace=0.2, hspace=0.34,
            width_ratios=(1, 1, 1.15))
TRAIN_ROWS, TRAIN_COLUMNS = 10, 10
TEST_ROWS, TEST_COLUMNS = 25, 40
LABEL_WIDTH = 9  # pixels of the label columns on each side of a misrecognised training digit
GUTTER = 2  # white pixels between training digits, so that neighbouring errors stay apart
FIGURE_SPACE = "\u2007"  # as wide as a digit: numbers padded with it keep their width
GROUPS = ("accuracy", "loss", "train digits", "panel 4", "panel 5", "test digits", "status")
SINGLE_BAR = 0.02  # one update only: panels 4 and 5 draw a bar this share of the x axis wide


def show_points(line, x, y):
    """A curve's data; a lone point (the first update, or --evaluate) as a dot: a line through
    one point draws nothing."""
    line.set_data(x, y)
    line.set_marker("o" if len(x) == 1 else "None")


class Dashboard:
    """The panels on `figure`, for a run of `iterations` iterations of the script `title`.
    title4, title5: what panels 4 and 5 show ("Weights" and "Biases" unless the rung says)."""

    def __init__(self, figure, title, iterations, title4="Weights", title5="Biases", noun="digits",
                 classes=None):
        self.fig = figure
        self.canvas = figure.canvas
        self.title = title
        self.iterations = iterations
        self.noun = noun  # what the images are: "digits", "images"
        self.classes = classes if classes is not None else [str(d) for d in range(10)]
        self.panel_titles = (PANEL_TITLES[0], PANEL_TITLES[1], f"Training {noun}", title4,
                             title5, f"Test {noun}")
        self.paused = False
        self.ending = None  # "done" or "stopped", once the run ended
        self.layout = "0"
        self.iteration = 0  # the iteration of the data on show
        self.epoch = 0.0
        self.learning_rate = None
        self.on_layout_change = lambda: self.canvas.draw_idle()  # a renderer may do better
        self.request_frame = lambda groups: None  # a live renderer's: show these groups now
        # the renderer's: every artist drawn, for savefig (a blitting renderer animates some)
        self.drawing_context = contextlib.nullcontext
        self._train_x, self._train_accuracy, self._train_loss = [], [], []
        self._test_x, self._test_accuracy, self._test_loss = [], [], []
        self._bands = {3: [], 4: []}  # panel -> band edges, one row per training update
        self._batch = None
        self._test_digits = None
        self._pending = set()  # the data that arrived since the last refresh
        self._fitted = set()  # the band panels whose limits were fitted to the data already
        self._build()
        self.canvas.mpl_connect("key_press_event", lambda event: self.on_key(event.key))

    # -- the figure ------------------------------------------------------------------------------
    def _build(self):
        fig = self.fig
        colors = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
        self.train_color, self.test_color = colors[0], colors[1]
        self.error_rgb = to_rgb(colors[4])
        self._ink = pictures.ink_colors(self.error_rgb)
        self.axes = [fig.add_subplot(2, 3, k + 1) for k in range(6)]
        ax_acc, ax_loss, ax_train, ax_4, ax_5, ax_test = self.axes
        for ax, title in zip(self.axes, self.panel_titles):
            ax.set_title(title)
        x_max = self.x_max = max(self.iterations, 1)

        # 1 and 2: accuracy and loss curves
        self.train_accuracy_line, = ax_acc.plot([], [], color=self.train_color, lw=1,
                                                label="training (current batch of 100)")
        self.test_accuracy_line, = ax_acc.plot([], [], color=self.test_color, lw=2,
                                               label=f"test (10,000 {self.noun})")
        ax_acc.set(xlim=(0, x_max), ylim=(0, 1), xlabel="iteration",
                   ylabel="accuracy (1 = 100% correct)")
        self.train_loss_line, = ax_loss.plot([], [], color=self.train_color, lw=1, label="training")
        self.test_loss_line, = ax_loss.plot([], [], color=self.test_color, lw=2, label="test")
        ax_loss.set(xlim=(0, x_max), ylim=(0, pictures.LOSS_TOP), xlabel="iteration",
                    ylabel="cross-entropy")
        # opaque: drawn once and kept as pixels, over the curves (see cached below)
        legends = (ax_acc.legend(loc="lower right", framealpha=1),
                   ax_loss.legend(loc="upper right", framealpha=1))

        # 4 and 5: percentile bands, one polygon per band
        self.bands = {}
        for k, color in ((3, colors[2]), (4, colors[3])):
            ax = self.axes[k]
            bands = PolyCollection([np.zeros((0, 2))] * pictures.BANDS, edgecolors="none",
                                   facecolors=pictures.band_colors(to_rgb(color)))
            ax.add_collection(bands)
            what = {"Weights": "weight values", "Biases": "bias values"}.get(
                self.panel_titles[k], "values")
            ax.set(xlim=(0, x_max), ylim=(-1, 1), xlabel="iteration",
                   ylabel=f"{what} ({pictures.BANDS} bands, 1/{pictures.BANDS} of them each)")
            self.bands[k] = bands

        # 3 and 6: digit grids, as RGBA images computed with numpy
        blank_train = pictures.blank_grid(TRAIN_ROWS, TRAIN_COLUMNS, LABEL_WIDTH, GUTTER)
        self.train_image = GridImage(ax_train, lambda reduce: blank_train, blank_train.shape[:2],
                                     halves=False)  # (labels and gutters: not halved)
        blank_test = pictures.blank_grid(TEST_ROWS, TEST_COLUMNS)  # drawn at the size it shows
        self.test_image = GridImage(ax_test, lambda reduce: blank_test[::reduce, ::reduce],
                                    blank_test.shape[:2])
        counts = []
        explained = "errors on red: correct label on the left, computed one on the right"
        if self.classes != [str(d) for d in range(10)]:  # the labels' names, under the errors
            names = [f"{k} {name}" for k, name in enumerate(self.classes)]
            explained += "\n" + "\n".join("   ".join(names[k:k + 5]) for k in (0, 5))
        test_caption = f"{TEST_ROWS * TEST_COLUMNS:,} test {self.noun}, errors first, on red"
        for ax, text in ((ax_train, explained), (ax_test, test_caption)):
            ax.grid(False)
            ax.set_xticks([])
            ax.set_xlabel(text)
            # the number of errors, top right
            counts.append(ax.text(1, 1.01, "", transform=ax.transAxes, ha="right", va="bottom",
                                  color=self.test_color, fontweight="bold"))
        self.train_count, self.test_count = counts
        # D: the drawing pad, on the training images' panel (square, as high as the panel)
        self.pad = DrawPad(ax_train, size=self.train_image.get_array().shape[0],
                           classes=self.classes, color=self.train_color)
        self.pad.changed = lambda: self.request_frame({"train digits"})
        ax_train.set_yticks([])
        # the percentage scale: one line of 40 digits is 4% of the 1,000
        lines = [0, 2, 5, 10, 15, 20, 25]
        ax_test.set_yticks([k * 28 for k in lines], [f"{k * 100 // TEST_ROWS}%" for k in lines])
        ax_test.set_yticks(np.arange(TEST_ROWS + 1) * 28, minor=True)
        ax_test.set_ylabel(f"errors (one line = {100 // TEST_ROWS}%)")

        # around the panels: the script's name, the status line, the pause flag, the keys
        fig.text(0.006, 0.972, self.title, ha="left", va="center", fontsize="x-large",
                 fontweight="bold")
        self.status = TextLine(fig, 0.994, 0.972, fontsize="large")  # its words, its numbers
        self.pause_text = fig.add_artist(Annotation(
            "PAUSED", xy=(0, 0.5), xycoords=self.status.get_window_extent, xytext=(-16, 0),
            textcoords="offset points", ha="right", va="center", fontsize="x-large",
            fontweight="bold", color=self.test_color, visible=False))
        panels_4_5 = ("weights+biases" if self.panel_titles[3:5] == PANEL_TITLES[3:5]
                      else "panels 4+5")
        self.keys_text = fig.text(0.5, 0.008,
                                  KEYS_HELP.format(panels_4_5=panels_4_5, noun=self.noun),
                                  ha="center", va="bottom", color="0.35")

        # What changes from frame to frame, by group: a renderer that blits redraws just these,
        # over a saved background. The y axes of the panels whose limits follow the data come
        # first in their groups (the curves and bands go over their grid lines), so that new
        # limits cost no full redraw.
        self.following = (ax_loss, ax_4, ax_5)
        self.groups = dict(zip(GROUPS, (
            [self.train_accuracy_line, self.test_accuracy_line, legends[0]],
            [ax_loss.yaxis, self.train_loss_line, self.test_loss_line, legends[1]],
            [self.train_image, self.train_count, *self.pad.artists],
            [ax_4.yaxis, self.bands[3]],
            [ax_5.yaxis, self.bands[4]],
            [self.test_image, self.test_count],
            # the status line's last piece first: never empty, it gives the group its strip
            [*reversed(self.status.artists), self.pause_text])))
        # slow artists, kept as pixels while their key is the same
        self.cached = {ax.yaxis: (lambda ax=ax: (ax.get_ylim(), ax.get_ylabel()))
                       for ax in self.following}
        self.cached.update({legend: (lambda: "legend") for legend in legends})
        # texts: their pixels are kept, for when the same words come back
        self.cached.update({text: (lambda text=text: blitting.text_key(text)) for text in counts})
        self.cached.update({piece: (lambda piece=piece: self.status.key(piece))
                            for piece in self.status.artists})
        self._followed = {ax: [(ax.get_xlim(), ax.get_ylim())] for ax in self.following}
        self._home_limits = {ax: (ax.get_xlim(), ax.get_ylim()) for ax in self.axes}
        self.apply_layout(self.layout)
        self._update_status()

    def regions(self, renderer):
        """Where each group of changing artists draws, in display pixels (for blitting)."""
        return blitting.regions(self.groups, renderer, following=self.following)

    def background_key(self):
        """What the saved background depends on: the layout and the views of the panels (not
        the y limits of the panels that follow the data: their y axes are redrawn)."""
        return self.layout, tuple((ax.get_xlim(), None if ax in self.following else ax.get_ylim())
                                  for ax in self.axes if ax.get_visible())

    def apply_layout(self, key):
        """Show the panels of LAYOUTS[key], filling the figure."""
        panels = LAYOUTS[key]
        if len(panels) == 6:
            grid = GridSpec(2, 3, figure=self.fig, **GRID)
        else:
            grid = GridSpec(1, len(panels), figure=self.fig,
                            **{**GRID, "width_ratios": None, "wspace": 0.12, "right": 0.98})
        for k, ax in enumerate(self.axes):
            ax.set_visible(k in panels)
        for slot, k in enumerate(panels):
            self.axes[k].set_subplotspec(grid[slot])
        for ax in (self.axes[2], self.axes[5]):  # the digits: at the top in a row, else centred
            ax.set_anchor("N" if len(panels) == 6 else "C")
        self.layout = key
        toolbar = getattr(self.canvas, "toolbar", None)
        if toolbar is not None:
            toolbar.update()  # forget the zoom history: its views hold the panels' old places

    def visible_panels(self):
        """The numbers (1-6) of the panels on show."""
        return [k + 1 for k, ax in enumerate(self.axes) if ax.get_visible()]

    # -- data from the runner --------------------------------------------------------------------
    def update_train(self, i, accuracy, loss, images, predictions, labels, values4, values5,
                     epoch, learning_rate):
        """A training update: the batch's accuracy and loss, its images with their predicted and
        true labels, the values shown in panels 4 and 5 (weights and biases, say)."""
        self._train_x.append(i)
        self._train_accuracy.append(accuracy)
        self._train_loss.append(loss)
        self._bands[3].append(pictures.percentiles(values4))
        self._bands[4].append(pictures.percentiles(values5))
        n = TRAIN_ROWS * TRAIN_COLUMNS
        self._batch = (images[:n], predictions[:n], labels[:n])  # made into an image when drawn
        self.iteration, self.epoch, self.learning_rate = i, epoch, learning_rate
        self._pending.update(("train", "bands", "batch", "status"))

    def update_test(self, i, accuracy, loss, images, predictions, labels):
        """A test update: accuracy and loss on the test set, its images and labels."""
        self._test_x.append(i)
        self._test_accuracy.append(accuracy)
        self._test_loss.append(loss)
        n = TEST_ROWS * TEST_COLUMNS
        # made into an image when drawn
        self._test_digits = (images[:n], predictions[:n], labels[:n])
        self.iteration = max(self.iteration, i)
        self._pending.update(("test", "status"))

    def set_state(self, paused=None, ending=None):
        """The pause flag, and the run's ending ("done", "stopped") for the status line."""
        if paused is not None:
            self.paused = paused
        if ending is not None:
            self.ending = ending
        self._pending.add("status")

    # -- from the data to the artists ------------------------------------------------------------
    def refresh(self):
        """Push the data received since the last call into the artists; return the names of
        the groups of artists that changed."""
        pending, self._pending = self._pending, set()
        changed = set()
        if "train" in pending:
            for line, y in ((self.train_accuracy_line, self._train_accuracy),
                            (self.train_loss_line, self._train_loss)):
                show_points(line, self._train_x, y)
            changed.update(("accuracy", "loss"))
        if "test" in pending:
            for line, y in ((self.test_accuracy_line, self._test_accuracy),
                            (self.test_loss_line, self._test_loss)):
                show_points(line, self._test_x, y)
            images, predictions, labels = self._test_digits

            def test_grid(reduce, digits=self._test_digits):  # made when drawn, at its size
                return pictures.digit_grid(*digits, TEST_ROWS, TEST_COLUMNS, self._ink,
                                           errors_first=True, reduce=reduce)
            self.test_image.set_maker(test_grid)
            self.test_count.set_text(pictures.errors_text(predictions, labels))
            changed.update(("accuracy", "loss", "test digits"))
        if pending & {"train", "test", "limits"}:
            loss = self.axes[1]
            self._follow(loss, pictures.loss_limits(self._train_loss, self._test_loss,
                                                    loss.get_ylim()))
            changed.add("loss")
        if pending & {"bands", "limits"} and self._train_x:
            x = np.asarray(self._train_x, np.float64)
            for k, name in ((3, "panel 4"), (4, "panel 5")):
                ax, edges = self.axes[k], np.asarray(self._bands[k])
                xs = x
                if len(x) == 1:  # one update (the first, or --evaluate): a bar, not a line
                    xs, edges = x + [0, SINGLE_BAR * self.x_max], np.repeat(edges, 2, axis=0)
                self.bands[k].set_verts(pictures.band_polygons(xs, edges))
                self._follow(ax, pictures.band_limits(edges, ax.get_ylim(),
                                                      initial=ax not in self._fitted))
                self._fitted.add(ax)
                changed.add(name)
        if "batch" in pending and self._batch is not None:
            _, predictions, labels = self._batch

            def train_grid(reduce, batch=self._batch):  # made when drawn
                return pictures.digit_grid(*batch, TRAIN_ROWS, TRAIN_COLUMNS, self._ink,
                                           glyphs=pictures.label_glyphs(LABEL_WIDTH),
                                           gutter=GUTTER)
            self.train_image.set_maker(train_grid)
            self.train_count.set_text(pictures.errors_text(predictions, labels))
            changed.add("train digits")
        if "status" in pending:
            self._update_status()
            changed.add("status")
        return changed

    def _update_status(self):
        """The status line, its numbers padded to a fixed width so that it does not jitter."""
        def padded(text, width):
            return FIGURE_SPACE * (width - len(text)) + text

        # the numbers apart from the words: a frame redraws what changed (textline.py)
        total = f"{self.iterations:,}"
        pieces = ["iteration ", padded(f"{self.iteration:,}", len(total)),
                  f" / {total}    epoch ", padded(f"{self.epoch:.2f}", 5)]
        if self.learning_rate is not None:
            pieces += ["    learning rate ", f"{self.learning_rate:.5f}"]
        if self._test_accuracy:
            pieces += ["    test accuracy ", f"{self._test_accuracy[-1]:.4f}", " (best ",
                       f"{max(self._test_accuracy):.4f}", ")"]
        if self.ending:
            pieces.append(f"    {self.ending}")
        self.status.set_pieces(pieces)
        self.pause_text.set_visible(self.paused)

    # -- following the data, zooms ----------------------------------------------------------------
    def _follow(self, ax, ylim):
        """Set the y limits the data asks for, unless the user zoomed or panned this panel. A
        view the data chose before (the toolbar's Home, Back) lets the panel follow again."""
        view = (ax.get_xlim(), ax.get_ylim())
        followed = self._followed[ax]
        if view != followed[-1] and view not in followed:
            return  # zoomed by hand: H gives it back
        if tuple(ylim) != ax.get_ylim():
            ax.set_ylim(ylim)
        view = (ax.get_xlim(), ax.get_ylim())
        if view != followed[-1]:
            followed.append(view)

    def reset_zoom(self):
        """H: every panel back to its own limits; those that follow the data, to the limits the
        data gave them before the zoom (they go on following it)."""
        for ax, (xlim, ylim) in self._home_limits.items():
            if ax in self.following:
                xlim, ylim = self._followed[ax][-1]
            ax.set(xlim=xlim, ylim=ylim)
        toolbar = getattr(self.canvas, "toolbar", None)
        if toolbar is not None:
            toolbar.update()  # forget the zoom history
        self._pending.add("limits")

    # -- keys ------------------------------------------------------------------------------------
    def on_key(self, key):
        """The dashboard's keys (matplotlib's own, O for zoom, Q, are matplotlib's)."""
        if key in LAYOUTS:
            self.apply_layout(key)
            self.on_layout_change()
        elif key == " " and self.ending is None:
            self.set_state(paused=not self.paused)
        elif key in matplotlib.rcParams["keymap.home"]:
            self.reset_zoom()
            self.on_layout_change()
        elif key in ("a", "A"):
            self.zoom_accuracy()
            self.on_layout_change()
        elif key in ("d", "D"):
            self.toggle_pad()
        elif key in ("c", "C") and self.pad.active:
            self.pad.clear()

    def toggle_pad(self):
        """D: the drawing pad instead of the training images, once the run is paused or done."""
        if not (self.paused or self.ending or self.pad.active):
            print("D, the drawing pad: pause first (Space), or wait for the end of the run",
                  flush=True)
            return
        self.pad.toggle()
        self.train_image.set_visible(not self.pad.active)
        self.train_count.set_visible(not self.pad.active)
        ax = self.axes[2]
        if self.pad.active:
            self._pad_saved = ax.get_title(), ax.get_xlabel()
            thing = "digit" if self.noun == "digits" else "picture"
            ax.set(title=f"Draw a {thing} with the mouse", xlabel="C clears the pad, D gives the "
                   f"training {self.noun} back")
        else:
            ax.set(title=self._pad_saved[0], xlabel=self._pad_saved[1])
        self.on_layout_change()  # a new title and caption: a full drawing

    def zoom_accuracy(self):
        """A: the accuracy panel between 0.9 and 1, where 0.98 and 0.99 differ visibly; again:
        between 0 and 1, the codelab's view."""
        ax = self.axes[0]
        ax.set_ylim((0, 1) if ax.get_ylim() == TOP_ACCURACY else TOP_ACCURACY)
