"""Settings read from the environment, in one place.

| variable | meaning | default |
| --- | --- | --- |
| ``EOHUB_HOME`` | where the embedded repository and client state live | ``~/.eohub`` |
| ``EOHUB_URL`` | a hub server to talk to instead of the embedded repository | unset |
| ``EOHUB_TOKEN`` | API token for writes to a hub (overrides ``eohub auth login``) | unset |
| ``EOHUB_DATABASE_URL`` | SQLAlchemy URL of the metadata database | SQLite under ``EOHUB_HOME`` |
| ``EOHUB_STORAGE`` | blob store: a local folder or ``s3://bucket/prefix`` | ``EOHUB_HOME/blobs`` |
| ``EOHUB_S3_ENDPOINT`` | S3 endpoint URL for an S3-compatible server | AWS default |
| ``EOHUB_RETRIES`` | how often a transient network failure is retried (with backoff) | ``5`` |
| ``EOHUB_DASK_SCHEDULER`` | the Dask cluster (``tcp://host:port``) the hub runs jobs on | a local one |

The hub's bounds on what one request may cost (:class:`Limits`) are read from ``EOHUB_MAX_*`` and
``EOHUB_RATING_*`` variables; ``docs/security.md`` lists each with its default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from eohub.errors import UsageError

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Bounds checked before any parser, loop or allocation sees a caller's input.

    Each field is set by the environment variable ``EOHUB_`` + its upper-cased name
    (``max_request_bytes`` by ``EOHUB_MAX_REQUEST_BYTES``), always a whole number.
    """

    max_request_bytes: int = 1 * MiB
    """A request body other than a commit's manifest and an upload's bytes (searches, settings)."""
    max_manifest_bytes: int = 128 * MiB
    """The body of a commit (``POST /api/{kind}s/{name}/versions``), sent with a token."""
    max_json_values: int = 4_000_000
    """Arrays, objects and values of one JSON body: what parsing it allocates, whatever its size."""
    max_json_depth: int = 64
    """Nesting of arrays and objects in any JSON a request carries, and in STAC documents read."""
    max_file_bytes: int = 64 * GiB
    """One file (``Upload-Length``); S3's 10,000 parts of 8 MiB allow up to 80 GB."""
    max_filter_chars: int = 16_384
    """A CQL2 filter, text or JSON, in characters."""
    max_filter_depth: int = 16
    """Nesting of a CQL2 filter: parentheses, ``NOT``s and JSON ``args`` in a chain."""
    max_filter_terms: int = 256
    """Operators and literals of a CQL2 filter."""
    max_search_ids: int = 1_000
    """``ids`` and ``collections`` of one STAC search."""
    max_geometry_points: int = 10_000
    """Positions of one geometry: a search's ``intersects`` or ``S_INTERSECTS``, an item's footprint."""
    max_search_examined: int = 2_000
    """Items one search page tests exactly against a geometry; past it, the page ends early (with a next
    link)."""
    max_document_bytes: int = 2 * MiB
    """One STAC document of a version (its canonical JSON text)."""
    max_manifest_files: int = 1_000_000
    """Files plus STAC documents of one version."""
    max_training_links: int = 100
    """Training datasets one model version may name (``--trained-on`` and its items' links); the rest are
    a note."""
    upload_ttl_seconds: int = 24 * 3600
    """How long a partial upload may rest untouched before ``eohub admin gc`` removes it."""
    presign_seconds: int = 900
    """How long a presigned S3 URL (a download's redirect, an upload's PUT) stays valid."""
    s3_single_put_bytes: int = 5 * GiB
    """With S3 storage, a file up to this size goes to S3 in one presigned PUT whose SHA-256 S3 checks;
    a larger one in parts, which the hub reads back to hash (S3's largest single PUT is 5 GiB)."""
    s3_part_bytes: int = 16 * MiB
    """Bytes per part of an upload to S3 in parts (at least 5 MiB; raised so a file has ≤ 10,000 parts)."""
    rating_memory_bytes: int = 4 * GiB
    """Address space of the child process that runs a model for Q3."""
    rating_seconds: int = 120
    """Wall time of the child process that runs a model for Q3."""
    rating_input_bytes: int = 256 * MiB
    """The synthetic input a Q3 check may build; a larger declared input is "not verified" at Q2."""
    max_user_jobs: int = 2
    """Prediction jobs one user may have queued or running at once (``POST /api/models/{name}/jobs``)."""
    max_job_pixels: int = 400_000_000
    """Input pixels (width x height, summed over scenes) of one prediction job, checked at submit."""
    max_job_output_bytes: int = 64 * GiB
    """Raster values (uncompressed bytes, every band) of one prediction job's result, checked when the job
    has planned its scenes, before any part runs."""
    max_job_batch_pixels: int = 1 << 26
    """Pixels of one model call of a prediction job (batch x tile height x tile width, as planned): what a
    worker holds in memory at once, whatever ``tile`` and ``batch`` the caller asked for."""
    max_job_inputs: int = 1_000
    """Scenes (dataset items, STAC items, uploads) of one prediction job."""
    max_job_seconds: int = 6 * 3600
    """Run time of one prediction job; past it the job fails, naming this limit."""
    job_lease_seconds: int = 60
    """A running job's heartbeat lease: a job whose hub process has not renewed it for this long (the
    process died) is failed ("hub restarted") by any hub process."""
    job_workers: int = 2
    """Worker processes of the local Dask cluster a hub starts for its jobs (without a scheduler)."""
    job_threads: int = 1
    """Threads per worker of that local cluster."""
    job_worker_memory_bytes: int = 0
    """Memory of each worker of that local cluster: past it, its nanny restarts the worker (a model that
    allocates without bound fails its job, after Dask's retries); 0 shares the machine's memory among them."""
    max_metric_items: int = 1_000_000
    """Items of one dataset version its metrics examine (:mod:`eohub.quality.metrics`); the rest are not."""
    max_metric_pairs: int = 10_000_000
    """Footprint pairs the near-duplicate and leakage metrics examine; past it their counts stop."""
    max_metric_classes: int = 1_000
    """Distinct class values the class balance keeps, and values one item may declare."""
    max_label_pixels: int = 64 * MiB
    """Pixels of one label raster the metrics read; a larger raster is not read."""
    max_label_block_bytes: int = 64 * MiB
    """Bytes GDAL decompresses at once to read one label raster (a block, all its bands when they are
    interleaved by pixel); a raster of larger blocks is not read: a DEFLATE strip of a few KiB can
    declare gigabytes."""
    max_label_pixels_total: int = 1_000_000_000
    """Pixels of all label rasters of one version the metrics read; the rasters past it are not read."""
    max_label_vector_bytes: int = 16 * MiB
    """One GeoJSON label file the class balance reads."""
    metrics_seconds: int = 600
    """Wall time of one version's dataset metrics; the items left when it runs out are not examined."""

    def __post_init__(self) -> None:
        """S3's own bounds: a presigned URL lives at most 7 days, a part is 5 MiB to 5 GiB, a PUT ≤ 5 GiB."""
        bounds = {
            "presign_seconds": (1, 7 * 24 * 3600),
            "s3_part_bytes": (5 * MiB, 5 * GiB),
            "s3_single_put_bytes": (0, 5 * GiB),
            "job_lease_seconds": (2, 24 * 3600),
            "job_workers": (1, 256),
            "job_threads": (1, 256),
        }
        for name, (low, high) in bounds.items():
            if not low <= getattr(self, name) <= high:
                raise UsageError(f"EOHUB_{name.upper()} must be between {low} and {high}")

    @classmethod
    def from_environment(cls) -> Limits:
        values = {}
        for f in fields(cls):
            variable = f"EOHUB_{f.name.upper()}"
            values[f.name] = _count(variable, f.default)  # type: ignore[arg-type]
        return cls(**values)


@dataclass(frozen=True)
class Settings:
    """A snapshot of eohub's configuration."""

    home: Path
    url: str | None
    token: str | None
    database_url: str
    storage: str
    s3_endpoint: str | None
    retries: int = 5
    limits: Limits = field(default_factory=Limits)
    dask_scheduler: str | None = None

    @property
    def remote(self) -> bool:
        """True when commands should talk to a hub server rather than the embedded repository."""
        return bool(self.url)


def load_settings() -> Settings:
    """Read the settings from the environment now (tests change it between calls)."""
    home = Path(os.environ.get("EOHUB_HOME") or Path.home() / ".eohub").expanduser()
    return Settings(
        home=home,
        url=os.environ.get("EOHUB_URL") or None,
        token=os.environ.get("EOHUB_TOKEN") or None,
        database_url=os.environ.get("EOHUB_DATABASE_URL") or f"sqlite:///{home / 'eohub.sqlite'}",
        storage=os.environ.get("EOHUB_STORAGE") or str(home / "blobs"),
        s3_endpoint=os.environ.get("EOHUB_S3_ENDPOINT") or None,
        retries=_count("EOHUB_RETRIES", 5),
        limits=Limits.from_environment(),
        dask_scheduler=os.environ.get("EOHUB_DASK_SCHEDULER") or None,
    )


def _count(variable: str, default: int) -> int:
    value = os.environ.get(variable)
    if not value:
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise UsageError(f"{variable} must be a whole number, not {value!r}")
    return int(value)
