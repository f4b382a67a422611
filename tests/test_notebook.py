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


class RecordingClient(nbclient.NotebookClient):
    """Runs a notebook and keeps every message the kernel sent, cell by cell."""

    def __init__(self, notebook, **kwargs):
        super().__init__(notebook, timeout=600, kernel_name="python3", **kwargs)
        self.messages = []  # (cell index, message type, content)

    def process_message(self, msg, cell, cell_index):
        self.messages.append((cell_index, msg["msg_type"], msg["content"]))
        return super().process_message(msg, cell, cell_index)


def run_notebook(notebook, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", MNIST_DIR)
    for name in ("MPLBACKEND", "DISPLAY", "TFVISU_FORCE_DASHBOARD"):
        monkeypatch.delenv(name, raising=False)
    client = RecordingClient(notebook, resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}})
    client.execute()
    return client


def text_of(cell):
    return "".join(out.get("text", "") for out in cell.get("outputs", []) if out.output_type == "stream")


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
        images = [o for o in notebook.cells[k].outputs if o.output_type == "display_data"]
        assert len(images) == 1 and "image/png" in images[0].data
        image = Image.open(io.BytesIO(base64.b64decode(images[0].data["image/png"])))
        assert image.size == (1120, 630)
        lines = text_of(notebook.cells[k]).strip().splitlines()
        assert MAX_LINE.match(lines[-1]), lines[-3:]
        assert "\riteration 20 of 20: test accuracy" in text_of(notebook.cells[k])
    for k in diff_cells:
        assert text_of(notebook.cells[k]).startswith("1c1"), "the diff shows the docstring first"


def test_with_ipympl_the_dashboard_is_an_interactive_canvas(monkeypatch):
    pytest.importorskip("ipympl")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "%matplotlib widget",
        f"import os; os.chdir({ROOT!r})",
        "%run mnist_1.0_softmax.py --iterations 30",
        # after the run, the keys work on the canvas: 7 shows accuracy and loss only
        "canvas = datavis.dashboard.canvas\n"
        "print(type(canvas).__module__, type(canvas).__name__)\n"
        "canvas.manager.handle_json({'type': 'key_press', 'key': 'k7'})  # as the browser sends it\n"
        "print(datavis.dashboard.visible_panels())",
    )])
    client = run_notebook(notebook, monkeypatch)
    assert not [m for m in client.messages if m[1] == "error"]
    run_output = notebook.cells[2].outputs
    widgets = [o for o in run_output if o.output_type == "display_data"
               and "application/vnd.jupyter.widget-view+json" in o.data]
    assert len(widgets) == 1, "the canvas widget, shown once"
    assert MAX_LINE.match(text_of(notebook.cells[2]).strip().splitlines()[-1])
    frames = [m for m in client.messages if m[0] == 2 and m[1] == "comm_msg"]
    assert len(frames) >= 4, "frames pushed to the canvas while it trained"
    assert text_of(notebook.cells[3]).split("\n")[:2] == ["ipympl.backend_nbagg Canvas", "[1, 2]"]
