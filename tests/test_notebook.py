"""The dashboard in a notebook: notebooks/ladder.ipynb run headless on a local Jupyter kernel
(nbclient), and the ipympl widget canvas. Needs requirements-notebook.txt (skipped without)."""

import base64
import io
import os

import pytest

from conftest import MAX_LINE, MNIST_DIR, ROOT, real_data

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = real_data
NOTEBOOK = os.path.join(ROOT, "notebooks", "ladder.ipynb")
# The budget: a full-length run of rung 1.0 (2,000 iterations, 203 frames: measured by
# bench/notebook.py) streams well under ~20 MB. The frames then get at most their share on
# average, counted as they travel: base64 text in the message (4/3 of the PNG); one frame may
# take more (the busiest picture: a batch-norm rung's bands), not twice as much.
FULL_RUN_FRAMES = 203
FRAME_LIMIT = 20e6 / FULL_RUN_FRAMES  # ~98 KB of base64, a 74 KB PNG
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDGET_PIXELS = (1120, 630)  # 16x9 inches at 70 dpi, as the inline image


class RecordingClient(nbclient.NotebookClient):
    """Runs a notebook and keeps every message the kernel sent, cell by cell; `on_message`, if
    set, sees each one as it comes (to answer as a browser would)."""

    def __init__(self, notebook, **kwargs):
        super().__init__(notebook, timeout=600, kernel_name="python3", **kwargs)
        self.messages = []  # (cell index, message type, content, buffers)
        self.on_message = None

    def process_message(self, msg, cell, cell_index):
        buffers = [bytes(buffer) for buffer in msg.get("buffers") or []]
        self.messages.append((cell_index, msg["msg_type"], msg["content"], buffers))
        if self.on_message is not None:
            self.on_message(cell_index, msg)
        return super().process_message(msg, cell, cell_index)

    def send_to_widget(self, model_id, content):
        """A message to a widget in the kernel, as the browser sends it: on the shell channel.
        A busy kernel reads it once the cell that runs is done."""
        self.kc.shell_channel.send(self.kc.session.msg("comm_msg", {
            "comm_id": model_id, "data": {"method": "custom", "content": content}}))


def run_notebook(notebook, monkeypatch, on_message=None):
    monkeypatch.setenv("MNIST_DATA_DIR", MNIST_DIR)
    for name in ("MPLBACKEND", "DISPLAY", "TFVISU_FORCE_DASHBOARD"):
        monkeypatch.delenv(name, raising=False)
    client = RecordingClient(notebook,
                             resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}})
    client.on_message = on_message and (lambda k, msg: on_message(client, k, msg))
    client.execute()
    return client


def text_of(cell):
    outputs = cell.get("outputs", [])
    return "".join(out.get("text", "") for out in outputs if out.output_type == "stream")


def test_the_notebook_is_saved_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_the_ladder_notebook_runs_every_rung_with_a_dashboard_updated_in_place(monkeypatch):
    from PIL import Image
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    setup = notebook.cells[1]
    assert "ITERATIONS = 200" in setup.source
    setup.source = setup.source.replace("ITERATIONS = 200", "ITERATIONS = 20")
    client = run_notebook(notebook, monkeypatch)
    assert not [m for m in client.messages if m[1] == "error"], "no error output"
    run_cells = [k for k, cell in enumerate(notebook.cells) if cell.source.startswith("%run ")]
    diff_cells = [k for k, cell in enumerate(notebook.cells) if cell.source.startswith("!diff ")]
    assert len(run_cells) == 9 and len(diff_cells) == 8
    for k in run_cells:
        displays = [m for m in client.messages if m[0] == k and m[1] == "display_data"]
        updates = [m for m in client.messages if m[0] == k and m[1] == "update_display_data"]
        assert len(displays) == 1, "one output area, not an image per frame"
        assert len(updates) >= 2, "updated in place while it trains"
        display_id = displays[0][2]["transient"]["display_id"]
        assert all(m[2]["transient"]["display_id"] == display_id for m in updates)
        frame_sizes = [len(m[2]["data"]["image/png"]) for m in displays + updates]
        assert sum(frame_sizes) / len(frame_sizes) <= FRAME_LIMIT, "within their share of 20 MB"
        assert max(frame_sizes) <= 2 * FRAME_LIMIT
        images = [o for o in notebook.cells[k].outputs if o.output_type == "display_data"]
        assert len(images) == 1 and "image/png" in images[0].data
        image = Image.open(io.BytesIO(base64.b64decode(images[0].data["image/png"])))
        assert image.size == (1120, 630)
        lines = text_of(notebook.cells[k]).strip().splitlines()
        assert MAX_LINE.match(lines[-1]), lines[-3:]
        assert "\riteration 20 of 20: test accuracy" in text_of(notebook.cells[k])
    for k in diff_cells:
        assert text_of(notebook.cells[k]).startswith("1c1"), "the diff shows the docstring first"


def test_with_ipympl_the_canvas_gets_the_frames_while_it_trains_and_the_keys_after(monkeypatch):
    pytest.importorskip("ipympl")
    from PIL import Image
    widget = {}  # the canvas widget's model id; when the keys were sent (a message's number)

    def as_a_browser(client, cell_index, msg):
        """Keys pressed while the network trains (7: accuracy and loss; O: zoom): sent on the
        shell channel, as the browser sends them, to the canvas shown in the cell's output."""
        data = msg["content"].get("data") or {}
        if cell_index == 2 and "application/vnd.jupyter.widget-view+json" in data:
            widget["model_id"] = data["application/vnd.jupyter.widget-view+json"]["model_id"]
        text = msg["content"].get("text", "") if msg["msg_type"] == "stream" else ""
        if "iteration 10 of 30" in text and "model_id" in widget and "keys_sent" not in widget:
            for key in ("k7", "ko"):
                client.send_to_widget(widget["model_id"], {"type": "key_press", "key": key})
            widget["keys_sent"] = len(client.messages)

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "%matplotlib widget",
        f"import os; os.chdir({ROOT!r})",
        "%run mnist_1.0_softmax.py --iterations 30",
        # the keys sent while it trained acted once the cell was done
        "import matplotlib.pyplot as plt\n"
        "plt.ioff()  # a key redraws the canvas whatever pyplot's interactive mode\n"
        "canvas = datavis.dashboard.canvas\n"
        "def press(key):  # the browser's message, handed to the widget as the kernel does\n"
        "    canvas.comm.handle_msg({'content': {'comm_id': canvas.comm.comm_id, 'data': {\n"
        "        'method': 'custom', 'content': {'type': 'key_press', 'key': 'k' + key}}},\n"
        "        'buffers': []})\n"
        "print(type(canvas).__module__, type(canvas).__name__)\n"
        "print(datavis.dashboard.visible_panels())\n"
        "print(canvas.toolbar.mode)\n"
        "print('Space' in datavis.dashboard.keys_text.get_text())",
        # H: the zoomed panel back to its view
        "ax = datavis.dashboard.axes[0]\n"
        "home = ax.get_xlim()\n"
        "ax.set_xlim(5, 10)  # as a zoom with the mouse does\n"
        "press('h')\n"
        "print(ax.get_xlim() == home)",
        "press('0')\n"
        "print(datavis.dashboard.visible_panels())",
    )])
    client = run_notebook(notebook, monkeypatch, on_message=as_a_browser)
    assert not [m for m in client.messages if m[1] == "error"]
    widgets = [o for o in notebook.cells[2].outputs if o.output_type == "display_data"
               and "application/vnd.jupyter.widget-view+json" in o.data]
    assert len(widgets) == 1, "the canvas widget, shown once"
    assert MAX_LINE.match(text_of(notebook.cells[2]).strip().splitlines()[-1])

    def images_pushed(cell_index):  # the widget's messages that carry an image
        return [(n, m[3][0]) for n, m in enumerate(client.messages)
                if m[0] == cell_index and m[1] == "comm_msg" and m[3]]

    # frames: PNGs of the pixels that changed (not the raw pixels: 2.8 MB), while it trains
    frames = images_pushed(2)
    assert all(png.startswith(PNG_SIGNATURE) and len(png) < 1e6 for _, png in frames)
    assert Image.open(io.BytesIO(frames[0][1])).size == WIDGET_PIXELS
    trained = next(n for n, m in enumerate(client.messages)
                   if m[1] == "stream" and "iteration 30 of 30" in m[2]["text"])
    assert len([n for n, _ in frames if n < trained]) >= 4, "frames pushed while it trained"
    assert widget["keys_sent"] < trained, "the keys were sent while it trained"
    # the keys, once the cell was done: 7, O; then H and 0, each redrawn and pushed at once;
    # the keys line offers no pause (Space cannot reach a running cell)
    assert text_of(notebook.cells[3]).split("\n")[:4] == [
        "ipympl.backend_nbagg Canvas", "[1, 2]", "zoom rect", "False"]
    assert text_of(notebook.cells[4]).strip() == "True" and images_pushed(4)
    assert text_of(notebook.cells[5]).strip() == "[1, 2, 3, 4, 5, 6]" and images_pushed(5)


def test_without_the_ipympl_attribute_frames_go_as_the_canvas_sends_them():
    """send_frames_as_png's fallback: a canvas without ipympl's `syncing_data_url` is left
    alone (another ipympl version, or not ipympl)."""
    from visu.notebook import send_frames_as_png
    from visu.renderers import new_agg_figure
    canvas = new_agg_figure().canvas
    assert send_frames_as_png(canvas) is False and not hasattr(canvas, "syncing_data_url")
