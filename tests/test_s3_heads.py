"""HEADs signed by botocore and sent with http.client: the same answers as boto3, and boto3 for the rest."""

from __future__ import annotations

import base64
import email.parser
import hashlib
import http.client
import http.server
import socket
import threading
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from eohub.storage.s3_heads import QuickHeads, _answer
from tests.servers import request_head


@pytest.fixture
def s3(s3_server) -> Iterator[tuple[object, str]]:
    client = boto3.session.Session(
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name="us-east-1",
    ).client("s3", endpoint_url=s3_server.endpoint, config=Config(signature_version="s3v4"))
    yield client, s3_server.bucket


def test_answers_are_boto3s_for_the_fields_the_store_reads(s3) -> None:
    client, bucket = s3
    body = b"sixteen bytes!!!" * 1000
    checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
    client.put_object(
        Bucket=bucket, Key="heads/a", Body=body, ChecksumSHA256=checksum, Metadata={"Eohub-Upload": "tok-1"}
    )
    client.put_object(Bucket=bucket, Key="heads/b", Body=b"plain")
    heads = QuickHeads(client, bucket)
    try:
        for key, checked in (("heads/a", True), ("heads/a", False), ("heads/b", True)):
            quick = heads.head(key, checksum=checked)
            mode = {"ChecksumMode": "ENABLED"} if checked else {}
            slow = client.head_object(Bucket=bucket, Key=key, **mode)
            assert quick is not None
            for field in ("ContentLength", "ETag", "Metadata", "ChecksumSHA256"):
                assert quick.get(field) == slow.get(field), (key, checked, field)
        assert heads.head("heads/a", checksum=True)["ChecksumSHA256"] == checksum
        assert heads.head("heads/a")["Metadata"] == {"eohub-upload": "tok-1"}
        assert heads.head("heads/missing") is None
        assert len(heads.connections._idle) == 1  # one connection carried them all
    finally:
        heads.close()


class _Answers(http.server.BaseHTTPRequestHandler):
    """A server answering every HEAD as ``answer`` says; each request line is recorded."""

    answer = (500, {})
    seen: list[str] = []

    def do_HEAD(self) -> None:  # noqa: N802
        type(self).seen.append(self.requestline)
        status, headers = self.answer
        if status is None:  # hang up without a word
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def odd_server() -> Iterator[tuple[type[_Answers], str]]:
    handler = type("Answers", (_Answers,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _client(endpoint: str) -> object:
    config = Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 1})
    return boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    ).client("s3", endpoint_url=endpoint, config=config)


@pytest.mark.parametrize(
    "answer",
    [(500, {}), (403, {}), (200, {"Content-Length": "many"}), (None, {})],
    ids=["server-error", "refused", "odd-length", "hung-up"],
)
def test_any_other_answer_is_asked_again_through_boto3(odd_server, answer) -> None:
    handler, endpoint = odd_server
    handler.answer = answer
    heads = QuickHeads(_client(endpoint), "bucket")
    with pytest.raises((ClientError, BotoCoreError, ValueError)):  # whatever boto3 makes of it
        heads.head("some/key")
    presigned = [line for line in handler.seen if "X-Amz-Signature=" in line]
    assert len(presigned) == 1 and len(handler.seen) >= 2  # the quick request, then boto3's own


def test_a_proxy_in_the_environment_leaves_the_request_to_boto3(odd_server, monkeypatch) -> None:
    handler, endpoint = odd_server
    handler.answer = (200, {"Content-Length": "7", "ETag": '"e"'})
    monkeypatch.setenv("HTTP_PROXY", endpoint)  # the same server, acting as the proxy
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    heads = QuickHeads(_client("http://s3.example.invalid"), "bucket")
    assert heads.head("k")["ContentLength"] == 7
    assert handler.seen and all(" http://s3.example.invalid/" in line for line in handler.seen)


def _serve_in_order(connection: socket.socket) -> None:
    """HTTP/1.1 answers in order; the presigned HEAD of key ``a`` gets a ``102`` first, and its final
    answer only once the next request has come in (as a slow server would)."""
    final_a = (
        b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nETag: "a"\r\nx-amz-meta-eohub-upload: token-of-a\r\n\r\n'
    )
    missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    pending, owed = b"", b""
    with connection:
        while (request := request_head(connection, pending)) is not None:
            head, pending = request
            line = head.split(b"\r\n")[0].decode()
            key = line.split(" ")[1].split("?")[0].rsplit("/", 1)[-1]
            connection.sendall(owed)
            owed = b""
            if "X-Amz-Signature=" in line and key == "a":
                connection.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")
                owed = final_a
            else:
                connection.sendall(final_a if key == "a" else missing)


def test_a_connection_that_carried_an_interim_answer_is_not_kept(tmp_path) -> None:
    """Otherwise the final answer about one key would be read as the answer about the next (its size,
    ETag and upload token: the proof an upload completes on)."""
    server = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_serve_in_order, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    heads = QuickHeads(_client(f"http://127.0.0.1:{server.getsockname()[1]}"), "bucket")
    try:
        assert heads.head("a")["Metadata"] == {"eohub-upload": "token-of-a"}  # boto3's, after the 102
        assert heads.head("b", checksum=True) is None
    finally:
        heads.close()
        server.close()


@pytest.mark.parametrize(
    "twice",
    ["x-amz-meta-eohub-upload", "X-Amz-Checksum-SHA256", "ETag", "Content-Length"],
)
def test_a_field_sent_twice_is_left_to_boto3(twice: str) -> None:
    fields = {
        "Content-Length": "11",
        "ETag": '"e"',
        "x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
        "x-amz-meta-eohub-upload": "my-token",
    }
    text = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    parse = email.parser.Parser(_class=http.client.HTTPMessage).parsestr
    assert _answer(parse(text + "\r\n"))["Metadata"] == {"eohub-upload": "my-token"}
    with pytest.raises(ValueError, match="twice"):
        _answer(parse(text + f"{twice}: {fields.get(twice, fields.get(twice.lower(), 'x'))}\r\n\r\n"))


def test_a_bundle_boto3_cannot_load_leaves_every_head_to_boto3(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "no-such-bundle.pem"))
    assert not QuickHeads(_client("https://s3.example.invalid"), "bucket").direct


def test_a_bundle_that_does_not_load_leaves_the_head_to_boto3(odd_server, monkeypatch, tmp_path) -> None:
    handler, endpoint = odd_server
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("not a certificate\n")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    heads = QuickHeads(_client(endpoint.replace("http://", "https://")), "bucket")
    assert heads.direct  # the file is there; it is read on the first https HEAD
    with pytest.raises((ClientError, BotoCoreError, OSError)):  # boto3's own complaint about it
        heads.head("k")
    assert not any("X-Amz-Signature=" in line for line in handler.seen)
