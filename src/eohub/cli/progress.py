"""Progress bars for transfers: rich bars on a terminal, nothing otherwise or with ``--quiet``."""

from __future__ import annotations

import sys

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from eohub.repository.progress import Progress as ProgressProtocol
from eohub.repository.progress import Silent


class RichProgress:
    """A :class:`eohub.repository.progress.Progress` drawn with rich (bytes, speed, files done)."""

    def __init__(self) -> None:
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.files = 0
        self.total_files = 0

    def begin(self, description: str, total_bytes: int, total_files: int) -> None:
        if total_files == 0:
            return
        self.files, self.total_files = 0, total_files
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[files]}"),
            TimeRemainingColumn(),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task(description, total=total_bytes, files=f"0/{total_files} files")

    def advance(self, nbytes: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.advance(self.task, nbytes)

    def file_done(self) -> None:
        self.files += 1
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, files=f"{self.files}/{self.total_files} files")

    def end(self) -> None:
        if self.bar is not None:
            self.bar.stop()
        self.bar = self.task = None


def progress_for(quiet: bool) -> ProgressProtocol:
    """Bars when stdout is a terminal and the user did not ask for quiet, else silence."""
    return Silent() if quiet or not sys.stdout.isatty() else RichProgress()
