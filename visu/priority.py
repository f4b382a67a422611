"""Priority: the threads that train give way to the thread that draws, when it sets the pace.

With a live dashboard drawing every update, the runner draws a frame while the next steps
train, on the same cores. Where a frame takes longer than the steps (the dense rungs: 10-20
iterations of 0.2-1.5 ms against frames of 10-15 ms), training waits for the drawing, and the
frame, left equal, got a third of two cores against TensorFlow's threads: a frame of 17-20 ms
of CPU took 30-40 ms (median, under Xvfb). There `TrainingGivesWay` lowers the priority of the
threads that train (nice +10, as the `nice` command): TensorFlow's native threads and the
runner's training thread. The frame then takes about its own CPU time, and training keeps the
rest of the CPU: a lowered thread runs as fast as before when nothing else wants the CPU
(though what else runs on the machine, a browser, now goes first too). Python's other threads
(a notebook kernel's messages) and the native threads other libraries named keep their
priority.

Where the steps take longer than a frame (the convolutional rungs: 20 iterations, 150-2,000
ms, against frames of 10-40 ms), nothing waits for the drawing, and lowering training slows it
down: each time the frame's thread runs, it takes a core from one of TensorFlow's two threads,
whose share of an operation then waits (rung 3.0, 15 ms of drawing every 20 iterations: 17%
slower with training lowered, 6% with equal priorities). So training is lowered only once it
has waited for the drawing at 3 of the last 5 frames, and then for the rest of the run.

Linux only (the threads are listed in /proc/self/task); elsewhere nothing changes. A thread's
priority cannot be raised again without privileges: in a notebook, TensorFlow's threads stay
lowered for the kernel's life, which changes nothing while no other thread needs the CPU.
"""

import collections
import os
import sys
import threading

NICENESS = 10  # added to the drawing thread's nice value, at most 19 (the lowest priority)
HELD_UP, FRAMES = 3, 5  # training lowered once it waited for the drawing at 3 of the last 5 frames
TASKS = "/proc/self/task"


class TrainingGivesWay:
    """`note_this_thread()` in the training thread as it starts; `after_frame(held_up)` from the
    drawing thread after each frame drawn while training went on: held_up, whether that
    training was done before the frame (it then waited for the drawing). Once training is
    lowered, `lower_new_threads()` before each frame lowers the native threads TensorFlow
    started since (those named tf_..., and those with no name of their own), once each (~0.01
    ms a call when none is new)."""

    def __init__(self):
        # elsewhere, a thread's id is not what setpriority takes: it would name a process
        self.enabled = sys.platform.startswith("linux")
        self.niceness = (min(19, _nice(threading.get_native_id()) + NICENESS) if self.enabled
                         else None)
        self.lowered = False
        self.training_threads = set()
        self.seen = set()  # the threads lowered, or left as they are
        self._recent = collections.deque(maxlen=FRAMES)  # held up, at the last frames

    def note_this_thread(self):
        if self.enabled:
            self.training_threads.add(threading.get_native_id())

    def after_frame(self, held_up):
        if not self.enabled or self.lowered:
            return
        self._recent.append(bool(held_up))
        if sum(self._recent) >= HELD_UP:  # the drawing sets the pace
            self.lowered = True
            for tid in self.training_threads:
                _lower(tid, self.niceness)
            self.lower_new_threads()

    def lower_new_threads(self):
        if not self.lowered:
            return
        try:
            tids = {int(name) for name in os.listdir(TASKS)} - self.seen
        except OSError:  # no /proc
            return
        if not tids:
            return
        python_threads = {thread.native_id for thread in threading.enumerate()}
        unnamed = _name(threading.main_thread().native_id)  # a new thread has its process's
        for tid in tids - python_threads:
            name = _name(tid)
            if name == unnamed or name.startswith("tf_"):  # not ZMQbg/IO (a kernel's messages)
                _lower(tid, self.niceness)
        self.seen |= tids


def _name(tid):
    try:
        with open(f"{TASKS}/{tid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def _nice(tid):
    try:
        return os.getpriority(os.PRIO_PROCESS, tid)
    except (AttributeError, OSError):
        return 0


def _lower(tid, niceness):
    try:
        if _nice(tid) < niceness:
            os.setpriority(os.PRIO_PROCESS, tid, niceness)
    except (AttributeError, OSError):  # no such call here, or the thread has ended
        pass
