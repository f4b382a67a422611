"""Priority: the threads that train give way to the thread that draws.

With a live dashboard drawing every update, the runner draws a frame while the next steps
train, on the same cores. Left equal, the frame's thread gets a third of two cores against
TensorFlow's threads, and a frame of 17-20 ms of CPU took 30-40 ms (dense rungs, median, under
Xvfb). `TrainingGivesWay` lowers the priority of the threads that train (nice +10, as the
`nice` command): TensorFlow's native threads and the runner's training thread. The frame then
takes about its own CPU time, and training keeps the rest of the CPU: a lowered thread runs
as fast as before when nothing else wants the CPU (though what else runs on the machine, a
browser, now goes first too). Python's other threads (a notebook kernel's messages) and the
native threads other libraries named keep their priority.

Linux only (the threads are listed in /proc/self/task); elsewhere nothing changes. A thread's
priority cannot be raised again without privileges: in a notebook, TensorFlow's threads stay
lowered for the kernel's life, which changes nothing while no other thread needs the CPU.
"""

import os
import sys
import threading

NICENESS = 10  # added to the drawing thread's nice value, at most 19 (the lowest priority)
TASKS = "/proc/self/task"


class TrainingGivesWay:
    """`lower_this_thread()` in the training thread as it starts; `lower_new_threads()` from
    the drawing thread, before each frame: the native threads TensorFlow started (at import,
    and any since: those named tf_..., and those with no name of their own), lowered once
    each (~0.01 ms a call when none is new)."""

    def __init__(self):
        # elsewhere, a thread's id is not what setpriority takes: it would name a process
        self.enabled = sys.platform.startswith("linux")
        self.niceness = (min(19, _nice(threading.get_native_id()) + NICENESS) if self.enabled
                         else None)
        self.seen = set()  # the threads lowered, or left as they are

    def lower_this_thread(self):
        if not self.enabled:
            return
        tid = threading.get_native_id()
        self.seen.add(tid)
        _lower(tid, self.niceness)

    def lower_new_threads(self):
        if not self.enabled:
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
