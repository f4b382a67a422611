"""Everything in the rung scripts that is not the lesson: flags, the training loop, text output
and the live six-panel dashboard. The code lives in the package `visu/`; this module is the
one name the rungs import.

A rung uses it the same way at every step of the ladder::

    import tensorflowvisu                                # first: before TensorFlow, see below
    args = tensorflowvisu.parse_args(__doc__, iterations=10000)
    import tensorflow as tf
    import mnistdata
    mnist = mnistdata.read_data_sets(args.data_dir, one_hot=True, reshape=False)
    ...                                                  # variables, model, loss, optimizer
    datavis = tensorflowvisu.MnistDataVis(args)
    datavis.animate(training_step, evaluate, mnist, allweights, allbiases, optimizer.learning_rate,
                    train_data_update_freq=20, test_data_update_freq=100)

- `parse_args` answers `--help` and bad flags at once (exit status 2), before TensorFlow loads;
  then it says what the run will do, loads TensorFlow without its start-up log, says which
  device it trains on, and seeds the random generators (--seed). From then on the user's
  mistakes (data files, say) end the script with a one-line `error: ...` and exit status 2.
- `training_step(X, Y_, i)` is the rung's `tf.function` that trains on one mini-batch at
  iteration `i` (a float32 scalar). `evaluate(X, Y_)` returns `(Y, accuracy, loss)`: the
  predicted probabilities, the accuracy and the loss on images `X` with one-hot labels `Y_`;
  it may add two lists of tensors, shown in panels 4 and 5 instead of the weights and biases
  (`MnistDataVis(args, title4=..., title5=...)` names them).
- `animate` trains and reports (text lines, a window, a notebook output: see `--help`), and
  always ends the same way, whatever ends the run (done, Q, the window closed, Ctrl-C,
  SIGTERM, a NaN loss): the image and movie files are written, and the last line of standard
  output is `max test accuracy: ...`. The exit status is 0, 1 after a NaN loss, 128 + the
  signal's number after SIGTERM (143) or SIGHUP (129).

Importing this module switches on TensorFlow's oneDNN CPU kernels, which TensorFlow reads once,
when it loads: hence the import before TensorFlow's (see visu/startup.py).
"""

import os
import sys

from visu import flags, startup

startup.enable_onednn()

__all__ = ["parse_args", "MnistDataVis"]  # what the rungs use


def parse_args(description=None, argv=None, iterations=None):
    """Parse the flags every rung shares, then start: TensorFlow, seeds. Returns the flags,
    with `mode` ("window", "notebook" or "text") and `script` (the script's name) added.
    iterations: the rung's number of training iterations (--iterations overrides it)."""
    import mnistdata
    args = flags.parse(description, argv, iterations)
    args.script = os.path.basename(sys.argv[0]) or "mnist"
    startup.report_user_errors(mnistdata.MnistDataError)
    startup.catch_termination()
    dataset = mnistdata.DATASETS[args.dataset].name
    where = mnistdata.resolve_data_dir(args.data_dir, args.dataset)
    if args.evaluate:  # no training: the network of the weights file, on the test images
        print(f"{args.script}: testing the network of {args.load_weights} on {dataset} from "
              f"{where}, no training; loading TensorFlow", flush=True)
    else:
        print(f"{args.script}: {args.iterations:,} iterations on {dataset} from {where}, "
              f"seed {args.seed}; loading TensorFlow", flush=True)
    mnistdata.prefetch(args.data_dir, args.dataset)  # read while TensorFlow loads
    # Ctrl-C or SIGTERM meanwhile: acted on once TensorFlow is loaded (raised inside its import,
    # they can be swallowed), as "stopped before training started"
    with startup.held_signals():
        args.mode, why_text = flags.choose_mode(args)
        if why_text:
            print(why_text, file=sys.stderr, flush=True)
        if args.mode == "window":  # the window now, its dashboard once TensorFlow is up
            from visu import window
            window.open_early(args.script)
        seconds = startup.import_tensorflow()
        startup.held_signals.stop_if_asked()
        doing = "testing" if args.evaluate else "training"
        print(f"TensorFlow loaded in {seconds:.1f} s: {doing} on {startup.device_line()}",
              flush=True)
        startup.seed_everything(args.seed)
    return args


def __getattr__(name):
    """MnistDataVis, imported when first used: the runner brings matplotlib, which `--help`
    and the flag errors do without."""
    if name == "MnistDataVis":
        from visu.runner import MnistDataVis
        return MnistDataVis
    raise AttributeError(f"module 'tensorflowvisu' has no attribute {name!r}")
