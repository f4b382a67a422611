"""What a rung's dashboard streams to the browser in a notebook, measured.

    python3 bench/notebook.py [--iterations 2000] [--rung 1.0] [--widget]

Runs `%run <rung> --iterations N` in a new notebook on a local Jupyter kernel (nbclient), as a
learner's cell does, and counts the dashboard's frames in the messages the kernel sends: the
inline image replaced in place (display_data, then update_display_data), or with --widget
(after `%matplotlib widget`) the images pushed to ipympl's canvas. Bytes are counted as they
travel: an inline frame is a PNG in base64 in the message's JSON (4/3 of the PNG), a widget
frame a binary buffer (a PNG of the pixels that changed). Prints one line: frames, MB in all,
median and largest KB per frame, the cell's wall time. The issue's budget: a full-length run
of rung 1.0 (2,000 iterations) streams well under ~20 MB in all.
Needs requirements-notebook.txt; without nbclient, it says so and skips.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA_DIR, REPO, RUNGS  # noqa: E402


def measure(iterations, rung="1.0", widget=False):
    """Run the rung in a notebook; return the sizes of its frames, the bytes of the widget's own
    picture (sent once, with the widget) and the cell's wall time in seconds."""
    import nbclient
    import nbformat

    frames, other = [], []  # bytes: each frame's; the widget's own picture, sent once

    class CountingClient(nbclient.NotebookClient):
        """Counts the dashboard's frames the kernel sends for the last cell."""

        def process_message(self, msg, cell, cell_index):
            content = msg["content"]
            if cell_index == len(self.nb.cells) - 1:
                data = content.get("data", {})
                if msg["msg_type"] == "comm_msg" and msg.get("buffers"):
                    frames.append(sum(len(buffer) for buffer in msg["buffers"]))
                elif "application/vnd.jupyter.widget-view+json" in data:
                    # the canvas's static picture, for viewers without widgets (PNG, HTML)
                    other.append(len(data.get("image/png", "")) + len(data.get("text/html", "")))
                elif msg["msg_type"] in ("display_data", "update_display_data"):
                    frames.append(len(data.get("image/png", "")))  # base64 text
            return super().process_message(msg, cell, cell_index)

    sources = ["%matplotlib widget"] if widget else []
    sources.append(f"%run {RUNGS[rung]} --iterations {iterations}")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    os.environ["MNIST_DATA_DIR"] = DATA_DIR  # the kernel inherits it
    for name in ("MPLBACKEND", "DISPLAY", "TFVISU_FORCE_DASHBOARD"):
        os.environ.pop(name, None)
    client = CountingClient(notebook, timeout=3600, kernel_name="python3",
                            resources={"metadata": {"path": REPO}})
    started = time.perf_counter()
    client.execute()
    timing = notebook.cells[-1].metadata.get("execution", {})
    errors = [o for o in notebook.cells[-1].outputs if o.output_type == "error"]
    if errors:
        raise RuntimeError(f"the cell failed: {errors[0].ename}: {errors[0].evalue}")
    seconds = time.perf_counter() - started
    if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
        start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                      for k in ("iopub.execute_input", "shell.execute_reply"))
        seconds = (end - start).total_seconds()
    return frames, sum(other), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--rung", default="1.0", choices=sorted(RUNGS))
    parser.add_argument("--widget", action="store_true", help="after %%matplotlib widget (ipympl)")
    args = parser.parse_args()
    try:
        import ipykernel  # noqa: F401
        import nbclient  # noqa: F401
        if args.widget:
            import ipympl  # noqa: F401
    except ImportError as exc:
        print(f"notebook: skipped ({exc.name} is not installed: pip install -r "
              "requirements-notebook.txt)")
        return
    frames, other, seconds = measure(args.iterations, args.rung, args.widget)
    kind = "widget" if args.widget else "inline image"
    print(f"notebook ({kind}): rung {args.rung}, {args.iterations} iterations: {len(frames)} "
          f"frames, {(sum(frames) + other) / 1e6:.1f} MB in all, median "
          f"{statistics.median(frames) / 1e3:.0f} KB per frame (largest {max(frames) / 1e3:.0f} "
          f"KB), cell {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
