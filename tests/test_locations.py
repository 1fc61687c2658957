"""Presigned URLs of a version's files: a short first batch, then a thousand at a time, each asked on a
thread of its own before the downloads need it; failures send files through the hub or fail the
download, and never leave a download thread waiting."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from eohub.client.locations import BATCH, FIRST, Locations
from eohub.errors import EohubError, IntegrityError, NotFoundError

PATHS = [f"data/f{i:04d}.bin" for i in range(2500)]


class Hub:
    """Answers ``POST .../locations`` as told, recording each question and the thread that asked it."""

    def __init__(self, broken: dict[int, BaseException | str] | None = None) -> None:
        self.asked: list[tuple[int, int, str]] = []
        self.broken = broken or {}
        self.lock = threading.Lock()

    def __call__(self, paths: list[str]) -> Any:
        start = PATHS.index(paths[0])
        with self.lock:
            self.asked.append((start, len(paths), threading.current_thread().name))
        trouble = self.broken.get(start)
        if isinstance(trouble, BaseException):
            raise trouble
        if trouble == "malformed":
            return {"expires_in": 900, "locations": {"not/asked.bin": "https://s3.example/x"}}
        return {"expires_in": 900, "locations": {p: f"https://s3.example/{p}" for p in paths}}


def test_the_first_batch_is_short_and_the_next_are_asked_before_they_are_needed() -> None:
    hub = Hub()
    locations = Locations(hub, PATHS, lambda url: url)
    assert [locations.url(p) for p in PATHS] == [f"https://s3.example/{p}" for p in PATHS]
    assert [(start, size) for start, size, _ in hub.asked] == [
        (0, FIRST),
        (FIRST, BATCH),
        (FIRST + BATCH, BATCH),
        (FIRST + 2 * BATCH, len(PATHS) - FIRST - 2 * BATCH),
    ]
    assert [name for _, _, name in hub.asked[1:]] == ["eohub-locations"] * 3  # never by a download


def test_many_download_threads_share_each_answer() -> None:
    hub = Hub()
    locations = Locations(hub, PATHS, lambda url: url)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(locations.url, PATHS))
    assert got == [f"https://s3.example/{p}" for p in PATHS]
    assert sorted(start for start, _, _ in hub.asked) == [0, FIRST, FIRST + BATCH, FIRST + 2 * BATCH]


def test_a_batch_the_hub_fails_to_give_goes_through_the_hub_and_the_next_are_still_asked() -> None:
    hub = Hub({FIRST: EohubError("the hub broke off")})
    locations = Locations(hub, PATHS, lambda url: url)
    got = [locations.url(p) for p in PATHS]
    assert got[:FIRST] == [f"https://s3.example/{p}" for p in PATHS[:FIRST]]
    assert (
        got[FIRST : FIRST + BATCH] == [None] * BATCH
    )  # asked twice (ahead, then by a download): through the hub
    assert got[-1] == f"https://s3.example/{PATHS[-1]}"
    assert [start for start, _, _ in hub.asked].count(FIRST) == 2  # not once per file


def test_a_malformed_answer_asked_ahead_fails_the_download() -> None:
    """Asked on a thread of its own, the answer is refused as soon as a download asks for any URL."""
    locations = Locations(Hub({FIRST: "malformed"}), PATHS, lambda url: url)
    got: list[str | None] = []
    with pytest.raises(IntegrityError, match="malformed storage locations"):
        for path in PATHS:
            got.append(locations.url(path))
    assert FIRST // 2 < len(got) <= FIRST  # the batch is asked for halfway through the first one


def test_a_hub_without_urls_is_asked_once() -> None:
    hub = Hub({0: NotFoundError("no such route")})
    locations = Locations(hub, PATHS, lambda url: url)
    assert [locations.url(p) for p in PATHS[:200]] == [None] * 200
    assert len(hub.asked) == 1


def test_an_unexpected_error_asking_ahead_is_raised_not_waited_for() -> None:
    locations = Locations(Hub({FIRST: RuntimeError("a bug")}), PATHS, lambda url: url)
    with pytest.raises(RuntimeError, match="a bug"):
        for path in PATHS:
            locations.url(path)  # past the first batch: its waiter is told, and raises
