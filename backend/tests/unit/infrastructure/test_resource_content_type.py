"""The content sniffer: the allow-list by signature, and UTF-8 text when no signature matches."""

from __future__ import annotations

import io
import wave

import pytest

from app.infrastructure.adapters.content_type import PuremagicContentTypeSniffer


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x01\x02" * 100)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(wav_bytes(), "audio/wav", id="wav"),
        pytest.param(
            b"ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00" + bytes(400),
            "audio/mpeg",
            id="mp3-id3v2.3",
        ),
        pytest.param(
            b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10), "audio/mpeg", id="mp3-id3v2.4"
        ),
        pytest.param(b"\xff\xfb\x90\x64" + bytes(400), "audio/mpeg", id="mp3-frame"),
        pytest.param(b"OggS\x00\x02" + bytes(100), "audio/ogg", id="ogg"),
        pytest.param(b"fLaC\x00\x00\x00\x22" + bytes(100), "audio/flac", id="flac"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf", id="pdf"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "image/png", id="png"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100), "image/jpeg", id="jpeg"),
        pytest.param("naïve café\n".encode(), "text/plain", id="utf8-text"),
        pytest.param(b"\xef\xbb\xbfwith a byte order mark", "text/plain", id="utf8-bom"),
        pytest.param(b"a,b\n1,2\n", "text/plain", id="csv"),
        pytest.param("ends inside é".encode()[:-1], "text/plain", id="head-cut-mid-character"),
        pytest.param(b"", None, id="empty"),
        pytest.param(b"MZ\x90\x00" + bytes(200), None, id="exe"),
        pytest.param(b"\x7fELF" + bytes(60), None, id="elf"),
        pytest.param(b"PK\x03\x04" + bytes(100), None, id="zip"),
        pytest.param(b"GIF89a" + bytes(50), None, id="gif"),
        pytest.param(b"<html><script>alert(1)</script></html>", None, id="html"),
        pytest.param(b'<?xml version="1.0"?><svg></svg>', None, id="svg"),
        pytest.param(b"text with a \x00 NUL", None, id="nul"),
        pytest.param(b"caf\xe9 au lait", None, id="latin-1"),
    ],
)
def test_types_come_from_content(head: bytes, expected: str | None) -> None:
    assert PuremagicContentTypeSniffer().sniff(head) == expected
