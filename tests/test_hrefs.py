"""The one rule for what an href names (eohub.core.hrefs): a local file, a URL or a container image."""

from __future__ import annotations

import pytest

from eohub.core.hrefs import HrefKind, href_kind, is_link, is_web_url, local_path, missing_hint
from eohub.errors import UsageError

LOCAL, URL, IMAGE = HrefKind.LOCAL, HrefKind.URL, HrefKind.IMAGE


@pytest.mark.parametrize(
    ("href", "kind"),
    [
        # local paths, including the ones that look a little like image references
        ("model.onnx", LOCAL),
        ("models/weights.onnx", LOCAL),
        ("v1/model.onnx", LOCAL),
        ("../v1/model.onnx", LOCAL),
        ("/data/EuroSAT-RGB/v1/model.onnx", LOCAL),
        ("./data.d/model:v2", LOCAL),  # ./ makes any path local
        ("ghcr.io/org/name", LOCAL),  # no tag or digest: a folder named ghcr.io
        ("model.v2/weights.onnx", LOCAL),  # a dotted folder, but no tag
        ("pytorch/pytorch:2.1", LOCAL),  # no registry host
        ("team/detector@sha256:abc", LOCAL),  # no registry host, digest too short anyway
        ("file:///data/model.onnx", LOCAL),
        ("file:/data/model.onnx", LOCAL),
        ("", LOCAL),
        # URLs
        ("https://models.example.org/w.pth", URL),
        ("http://example.org/x", URL),
        ("s3://bucket/models/model.onnx", URL),
        ("gs://bucket/model.onnx", URL),
        ("az://container/model.onnx", URL),
        ("//cdn.example.org/model.onnx", URL),
        ("urn:example:model", URL),
        ("weights:v2.pt", URL),  # a first segment with a colon is a scheme (RFC 3986)
        # OCI image references
        ("ghcr.io/org/name:latest", IMAGE),
        ("ghcr.io/hot-osm/fair-models/unet_segmentation:pr-20", IMAGE),
        ("docker.io/library/python:3.11-slim", IMAGE),
        ("ghcr.io/org/name@sha256:" + "a" * 64, IMAGE),
        ("ghcr.io/org/name:1.0@sha256:" + "0f" * 32, IMAGE),
        ("registry.example.org:5000/team/net:1.0", IMAGE),
        ("registry:5000/team/net:dev", IMAGE),
        ("localhost:5000/team/net:dev", IMAGE),
        ("localhost/team/net:dev", IMAGE),
        ("data.d/model:v2", IMAGE),  # written without ./ this reads as an image
        ("docker://pytorch/pytorch:2.1", IMAGE),
        ("oci://ghcr.io/org/name", IMAGE),
    ],
)
def test_href_kind_follows_the_documented_rule(href: str, kind: HrefKind) -> None:
    assert href_kind(href) is kind
    assert is_link(href) is (kind is not LOCAL)


def test_only_http_urls_are_web_links() -> None:
    assert is_web_url("https://example.org/w.pth") and is_web_url("HTTP://example.org")
    assert not is_web_url("s3://bucket/w.pth")
    assert not is_web_url("javascript:alert(1)")
    assert not is_web_url("ghcr.io/org/name:latest")


def test_a_missing_untagged_image_gets_a_hint_and_a_missing_file_does_not() -> None:
    assert "ghcr.io/org/name:latest" in missing_hint("ghcr.io/org/name")
    assert missing_hint("models.v2/weights.onnx") == ""
    assert missing_hint("weights.onnx") == ""


@pytest.mark.parametrize(
    ("href", "path"),
    [
        ("v1/model.onnx", "v1/model.onnx"),
        ("file:///data/a%20b.onnx", "/data/a b.onnx"),
        ("file:/data/m.onnx", "/data/m.onnx"),
        ("file://localhost/data/m.onnx", "/data/m.onnx"),
    ],
)
def test_local_path_decodes_file_urls(href: str, path: str) -> None:
    assert local_path(href) == path


@pytest.mark.parametrize(
    ("href", "message"),
    [
        ("file://server/share/m.onnx", "another host"),
        ("file:///m.onnx?x=1", "query or fragment"),
        ("file:relative/m.onnx", "absolute path"),
        ("model\x00.onnx", "NUL"),
    ],
)
def test_local_path_refuses_file_urls_that_name_no_local_file(href: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        local_path(href)
