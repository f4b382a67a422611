"""The shared code of the ladder, one module per concern (the rungs use it through
tensorflowvisu.py):

- startup: TensorFlow's CPU options, its quiet import, seeds, signals, one-line errors;
- flags: the command line, checked before TensorFlow loads; window, notebook or text;
- runner: the run: its schedule, text output, the one finish of every run;
- training: many training steps per Python call (Trainer);
- dashboard: the six panels, their layouts, keys and zooms (no TensorFlow, no window);
- pictures: numpy only: digit grids, colours, percentile bands, axis limits;
- blitting: redrawing only what changed, and showing only the pixels that did;
- textline: the status line in pieces, so that only its changing numbers are redrawn;
- renderers, window, notebook: where the dashboard's frames go;
- files: atomic image and movie files;
- ladder: the list of rungs.
"""
