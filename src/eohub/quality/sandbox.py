"""Run a model's Q3 check in a child process with memory and time limits.

A model file is hostile input: ONNX Runtime may crash on it (a segfault, an abort), allocate whatever
its graph asks for, or run for ever. So :func:`run_isolated` runs :func:`eohub.quality.run.run_check` in
a child process whose address space is bounded (``RLIMIT_AS``: ``Limits.rating_memory_bytes``) and which
is killed after ``Limits.rating_seconds`` of wall time. The child answers in JSON (never a pickle, which
would run code in the caller); whatever happens to it, the caller gets a :class:`RunCheck`, "not
verified" with the cause when the child died, ran out of memory or time.

The address space includes what the child starts with: about 0.3 GiB of Python, numpy and ONNX Runtime.

The child is forked by a multiprocessing *forkserver* that imported ONNX Runtime, onnx and the run
module once: the caller (the hub, with its server and worker threads) is never forked, and a check
starts in milliseconds instead of the second a fresh interpreter needs to import onnx (measured with
the 10-class demo classifier: 0.03 s per check, against 1.05 s for a spawned ``python -c`` child and
0.001 s in the caller's own process). The forkserver starts on the first check (1.1 s) and lives as
long as the caller.
"""

from __future__ import annotations

import io
import json
import logging
import multiprocessing
import os
import resource
import signal
import threading
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext, ForkServerProcess, set_spawning_popen
from pathlib import Path
from typing import Any

from eohub.config import Limits
from eohub.quality.report import RunCheck

log = logging.getLogger(__name__)

MiB = 1024 * 1024
PRELOAD = ["eohub.quality.run", "eohub.quality.sandbox", "numpy.random", "onnx"]
MAX_REPLY_BYTES = 16 * MiB
MAX_WAIT_SECONDS = 7 * 24 * 3600  # poll() takes at most 2^31 ms; EOHUB_RATING_SECONDS may say more
_context_lock = threading.Lock()
_context: BaseContext | None = None


class _Popen(popen_forkserver.Popen):
    """The forkserver's ``Popen`` without the caller's ``__main__`` in the preparation data.

    multiprocessing re-runs the caller's main script in the child when it was started by path; a user's
    script without a ``__main__`` guard would then ingest again in every check. The rest is
    :meth:`popen_forkserver.Popen._launch` as Python 3.11 and 3.12 write it."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data = {k: v for k, v in prep_data.items() if not k.startswith("init_main")}
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _CheckProcess(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


def _forkserver() -> BaseContext:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def memory_verdict(memory_bytes: int) -> tuple[str, str]:
    bound = f"{memory_bytes // MiB} MiB" if memory_bytes >= MiB else f"{memory_bytes} bytes"
    return f"exceeded the {bound} memory limit", "EOHUB_RATING_MEMORY_BYTES sets the limit"


def time_verdict(seconds: int) -> tuple[str, str]:
    return f"exceeded the {seconds} s limit", "the run was stopped; EOHUB_RATING_SECONDS sets the limit"


def _set_limit(kind: int, value: int) -> None:
    """Lower soft and hard limit to ``value`` (never above a hard limit already set)."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def _child(
    reply: Connection, model_path: str, inputs: Any, outputs: Any, memory: int, seconds: int, input_bytes: int
) -> None:
    """The child: bound itself, run the check, answer in JSON."""
    _set_limit(resource.RLIMIT_AS, memory)
    # A backstop in case the caller dies and nobody kills this process at the deadline.
    _set_limit(resource.RLIMIT_CPU, 2 * min(seconds, MAX_WAIT_SECONDS) + 5)
    from eohub.quality.run import run_check

    try:
        check = run_check(Path(model_path), inputs, outputs, input_bytes)
    except MemoryError:
        check = RunCheck(unverified=memory_verdict(memory))
    except Exception as exc:  # noqa: BLE001 - the caller gets one line whatever went wrong
        check = RunCheck(problems=[f"the model cannot be checked: {' '.join(str(exc).split())[:400]}"])
    reply.send_bytes(json.dumps(check.to_dict()).encode("utf-8"))
    reply.close()


def _died(exitcode: int | None, limits: Limits) -> RunCheck:
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        if number == signal.SIGXCPU:
            return RunCheck(unverified=time_verdict(limits.rating_seconds))
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = ""
        return RunCheck(unverified=(f"the model crashed ONNX Runtime (signal {number})", name))
    return RunCheck(unverified=(f"the check ended without an answer (exit status {exitcode})", ""))


def _read(data: bytes) -> RunCheck:
    try:
        return RunCheck.from_dict(json.loads(data))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return RunCheck(problems=["the check's answer cannot be read"])


def run_isolated(
    model_path: Path, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], limits: Limits
) -> RunCheck:
    """:func:`~eohub.quality.run.run_check` in a bounded child process (see the module docstring)."""
    reader, writer = _forkserver().Pipe(duplex=False)
    args = (writer, str(model_path), inputs, outputs, limits.rating_memory_bytes, limits.rating_seconds,
            limits.rating_input_bytes)  # fmt: skip
    process = _CheckProcess(target=_child, args=args, name="eohub-quality-check", daemon=True)
    try:
        process.start()
    except Exception as exc:  # noqa: BLE001 - no fork, no forkserver, arguments that cannot be sent
        reader.close()
        log.warning("the check of %s could not start: %r", model_path, exc)
        return RunCheck(unverified=("the check could not start", " ".join(str(exc).split())[:200]))
    finally:
        writer.close()
    data, timed_out = None, False
    try:
        if reader.poll(min(limits.rating_seconds, MAX_WAIT_SECONDS)):
            try:
                data = reader.recv_bytes(MAX_REPLY_BYTES)
            except (EOFError, OSError):
                data = None  # the child died before it answered
        else:
            timed_out = True
    finally:
        reader.close()
    process.join(0 if timed_out else 5)  # after its answer, or its death, the child has nothing left to do
    if process.exitcode is None:
        process.kill()
        process.join()
    if timed_out:
        log.warning("stopped the check of %s after %s s", model_path, limits.rating_seconds)
        return RunCheck(unverified=time_verdict(limits.rating_seconds))
    if data is None:
        log.warning("the check of %s died (exit code %s)", model_path, process.exitcode)
        return _died(process.exitcode, limits)
    return _read(data)
