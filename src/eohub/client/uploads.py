"""How a :class:`~eohub.client.RemoteRepository` sends blobs to a hub.

The client asks which blobs the hub lacks, then how to send them, a thousand at a time
(``POST /api/uploads``), several files at once:

- ``"patch"`` (a hub on local storage): ``PATCH`` requests to the hub that stream the file from the
  offset it confirms; a broken connection, a killed client or a restarted hub (or another process of
  it) loses at most the bytes in flight.
- ``"direct"`` (a hub on S3): presigned ``PUT`` requests straight to S3, one for the whole file or one
  per part, then ``POST /api/uploads/complete`` (batched), where the hub checks every SHA-256. The parts
  S3 holds are kept across attempts and hub processes; an expired URL is replaced by asking again.

Presigned URLs are fetched by a separate HTTP client that never sends the hub's token. Memory stays at a
few read buffers whatever the file size.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from eohub.client import upload_batches
from eohub.client.file_sends import MAX_STATE_ANSWER, FileSends, run_all
from eohub.client.http import _Retryable, hub_error, parse_answer, read_bounded
from eohub.client.hub_checks import checked_plan
from eohub.client.storage_writes import StorageWriteError
from eohub.errors import EohubError, IntegrityError, NotFoundError, TransferError, UsageError
from eohub.repository.confine import open_source
from eohub.repository.manifest import FileEntry
from eohub.repository.progress import Progress
from eohub.repository.scan import IngestPlan, PlannedFile

log = logging.getLogger(__name__)

REQUEST_BYTES = 64 * 1024 * 1024
"""The most bytes one ``PATCH`` carries; a file larger than this takes several requests."""
UPLOAD_BATCH = 1_000
"""Blobs of one ``POST /api/uploads`` or ``/api/uploads/complete`` (the hub's bound)."""
UPLOAD_THREADS = 8
"""Files sent at once (small files are round trips more than bytes)."""
COMPLETE_GROUP = 100
"""Blobs sent straight to storage whose checks are asked for together while the next ones are sent."""
MAX_BATCH_BYTES = 8 * 1024 * 1024
"""The largest upload batch the client builds, whatever a hub allows (each is read into memory, on
:data:`UPLOAD_THREADS` threads at once)."""
MIN_BATCH_BYTES = 64 * 1024
"""A hub allowing less per request gets no batches (a batch's first line takes 80 bytes per file)."""
MAX_BATCH_FILE_BYTES = 1024 * 1024
"""The largest file the client sends in a batch, whatever a hub plans (larger ones go alone)."""


class HubUploads(FileSends):
    """The upload half of :class:`~eohub.client.RemoteRepository` (see the module docstring)."""

    _batches: dict[str, _Batch]

    def upload_offset(self, digest: str) -> tuple[int, bool]:
        """How many bytes of ``digest`` the hub has, and whether the blob is complete."""
        return _upload_state(self.session.json("GET", f"/api/uploads/{digest}"), self.url)

    def _upload(self, plan: IngestPlan, progress: Progress) -> None:
        """Send the blobs the hub lacks: a thousand plans per question, several files at once, the
        checks of blobs sent straight to S3 asked for together at the end."""
        files = self._missing_files(plan)  # type: ignore[attr-defined] - Repository's
        progress.begin("uploading", sum(f.entry.size for f in files.values()), len(files))
        try:
            ordered = list(files.values())
            for i in range(0, len(ordered), UPLOAD_BATCH):
                self._upload_batch(ordered[i : i + UPLOAD_BATCH], progress)
        finally:
            progress.end()

    def _upload_batch(self, files: list[PlannedFile], progress: Progress) -> None:
        batch = _Batch(self._plans([f.entry for f in files], batch=True))
        files = self._send_batched(files, batch.plans, progress)
        with self._lock:
            for f in files:
                self._batches[f.entry.sha256] = batch
        try:
            completing = ThreadPoolExecutor(1, thread_name_prefix="eohub-complete")
            checks: list[Future[dict[str, str]]] = []

            def complete_sent(least: int) -> None:
                with self._lock:
                    ready = batch.sent[:] if len(batch.sent) >= least else []
                    del batch.sent[: len(ready)]
                if ready:
                    checks.append(completing.submit(self._complete, ready))

            def send(f: PlannedFile) -> None:
                assert f.source is not None
                self.upload_blob(f.entry, f.source, progress)
                progress.file_done()
                complete_sent(COMPLETE_GROUP)  # the hub checks these while the next ones are sent

            try:
                run_all(send, files, UPLOAD_THREADS)
                complete_sent(1)
                failed = {k: v for check in checks for k, v in check.result().items()}
            finally:
                completing.shutdown(cancel_futures=True)
        finally:
            with self._lock:
                for f in files:
                    self._batches.pop(f.entry.sha256, None)
        for f in files:  # once more, alone: another ingest of the caller's may have completed it meanwhile
            if f.entry.sha256 in failed:
                assert f.source is not None
                self.upload_blob(f.entry, f.source, progress)

    def _send_batched(
        self, files: list[PlannedFile], plans: dict[str, dict[str, Any]], progress: Progress
    ) -> list[PlannedFile]:
        """Send the files planned ``"batch"`` many per request, on several threads; return the others,
        and those a batch did not complete (they go alone, through the hub)."""
        small = [f for f in files if plans.get(f.entry.sha256, {}).get("method") == "batch"]
        if not small:
            return files
        budget = plans[small[0].entry.sha256]["batch_bytes"]

        def send(group: list[PlannedFile]) -> dict[str, str]:
            failed = upload_batches.send(self.session, group)
            with self._lock:
                self.bytes_sent += sum(f.entry.size for f in group)
            for f in group:
                if f.entry.sha256 not in failed:
                    progress.advance(f.entry.size)
                    progress.file_done()
            return failed

        refused: dict[str, str] = {}
        for failed in run_all(
            send, upload_batches.groups(small, budget, UPLOAD_THREADS), UPLOAD_THREADS, True
        ):
            refused.update(failed)
        for digest, why in refused.items():
            log.info("%s... was not taken in a batch (%s); sending it alone", digest[:12], why)
            plans[digest]["method"] = "patch"
        sent = {f.entry.sha256 for f in small} - set(refused)
        return [f for f in files if f.entry.sha256 not in sent]

    def _plans(
        self, entries: list[FileEntry], parts: int | None = None, batch: bool = False
    ) -> dict[str, dict[str, Any]]:
        """``POST /api/uploads``: how to send each blob (``{}`` from a hub that does not plan: then each
        is sent through it from the offset it reports). With ``batch``, small blobs may be planned
        ``"batch"``, with the hub's ``batch_bytes`` per request."""
        body: dict[str, Any] = {"uploads": [{"sha256": e.sha256, "length": e.size} for e in entries]}
        if parts is not None:
            body["parts"] = parts
        if batch:
            body["batch"] = True
        try:
            answer = self.session.json("POST", "/api/uploads", json=body)
        except (NotFoundError, UsageError) as exc:
            if isinstance(exc, NotFoundError) or "Method Not Allowed" in str(exc):  # an older hub
                return {}
            raise
        listed = answer.get("uploads") if isinstance(answer, dict) else None
        if not isinstance(listed, list) or len(listed) != len(entries):
            raise IntegrityError(f"the hub at {self.url} sent a malformed upload plan")
        budget = answer.get("batch_bytes")
        usable = isinstance(budget, int) and not isinstance(budget, bool) and budget >= MIN_BATCH_BYTES
        budget = min(budget, MAX_BATCH_BYTES) if usable else None
        plans = {e.sha256: checked_plan(data, e, self.url) for e, data in zip(entries, listed, strict=True)}
        for e in entries:
            plan = plans[e.sha256]
            if plan["method"] == "batch":  # sent alone through the hub if it cannot go in a batch
                small = e.size <= MAX_BATCH_FILE_BYTES and budget is not None and e.size <= budget // 2
                fits = batch and small and plan["offset"] == 0
                plan.update(method="batch" if fits else "patch", batch_bytes=budget)
        return plans

    def _complete(self, digests: list[str]) -> dict[str, str]:
        """``POST /api/uploads/complete``: the hub checks what was sent straight to S3. Bytes that are not
        their digest's raise :class:`IntegrityError`; the other refusals are returned (digest: why)."""
        failed: dict[str, str] = {}
        for i in range(0, len(digests), UPLOAD_BATCH):
            batch = digests[i : i + UPLOAD_BATCH]
            answer = self.session.json("POST", "/api/uploads/complete", json={"digests": batch})
            failed.update(upload_batches.outcomes(answer, batch, self.url, "completing uploads"))
        return failed

    def upload_blob(self, entry: FileEntry, source: Path, progress: Progress) -> None:
        with self._lock:
            batch = self._batches.get(entry.sha256)
        plan = batch.plans.get(entry.sha256) if batch is not None else None
        if plan is None and batch is None:
            plan = self._plans([entry]).get(entry.sha256)
        if plan is not None and plan["complete"]:
            progress.advance(entry.size)
            return
        if plan is not None and plan["method"] == "direct":
            self._send_direct(entry, source, plan, progress)
            if batch is not None:
                with self._lock:
                    batch.sent.append(entry.sha256)
            elif failed := self._complete([entry.sha256]):
                raise TransferError(f"{source}: {failed[entry.sha256]}; run the command again")
            return
        with open_source(source) as f:
            if plan is not None:
                offset, complete = plan["offset"], False
            else:
                offset, complete = self.upload_offset(entry.sha256)
            progress.advance(offset)
            stalled = 0
            while not complete:
                if offset > entry.size:
                    raise IntegrityError(f"{source}: the hub holds more bytes than the file has")
                before = offset
                offset, complete = self._send(entry, f, offset, progress)
                stalled = stalled + 1 if offset <= before and not complete else 0
                if stalled > self.session.attempts:
                    raise TransferError(
                        f"{source}: the hub keeps taking no bytes at offset {offset}; run the command again"
                    )

    def _send(self, entry: FileEntry, f: BinaryIO, offset: int, progress: Progress) -> tuple[int, bool]:
        """One ``PATCH`` from ``offset``; after a transient failure, the hub's offset to go on from."""
        stop = min(entry.size, offset + REQUEST_BYTES)
        headers = {
            **self._token_header(),  # type: ignore[attr-defined] - RemoteRepository's
            "Upload-Offset": str(offset),
            "Upload-Length": str(entry.size),
            "Content-Type": "application/octet-stream",
        }
        try:
            response = self._send_span(
                "PATCH",
                f"{self.url}/api/uploads/{entry.sha256}",
                f,
                offset,
                stop,
                headers,
                MAX_STATE_ANSWER,
                progress,
                str(entry.path),
            )
        except StorageWriteError as exc:
            log.info("upload of %s broke off (%s); asking the hub where to go on", entry.path, exc)
            return self.session.retrying(entry.path, lambda: self._offset_after_failure(entry.sha256))
        if response.status_code in (502, 503, 504):
            return self.session.retrying(entry.path, lambda: self._offset_after_failure(entry.sha256))
        if response.status_code == 409 and "offset" in _json(response):
            return _upload_state({**_json(response), "complete": False}, self.url)
        if response.status_code >= 400:
            raise hub_error(response)
        return _upload_state(_json(response), self.url)

    def _offset_after_failure(self, digest: str) -> tuple[int, bool]:
        with self.session.http.stream("GET", f"/api/uploads/{digest}") as streamed:
            response = read_bounded(streamed, self.url)
        if response.status_code in (502, 503, 504):
            raise _Retryable(str(response.status_code))
        if response.status_code >= 400:
            raise hub_error(response)
        return _upload_state(_json(response), self.url)


@dataclass
class _Batch:
    """Plans of the blobs of one upload batch, and those sent straight to storage (to be completed)."""

    plans: dict[str, dict[str, Any]]
    sent: list[str] = field(default_factory=list)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = parse_answer(response.content, "", "")
    except EohubError:
        return {}
    return data if isinstance(data, dict) else {}


def _upload_state(data: Any, hub: str) -> tuple[int, bool]:
    """``(offset, complete)`` of an upload as a hub reports it, checked."""
    offset = data.get("offset") if isinstance(data, dict) else None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise IntegrityError(f"the hub at {hub} sent a malformed upload state: {str(data)[:200]}")
    return offset, data.get("complete") is True
