"""What a file is, from its first bytes (puremagic), never from its name or the client's word."""

from __future__ import annotations

import puremagic

from app.domain.entities.resource import TEXT_PLAIN

# The allow-list: what each recognised extension is served as.
ALLOWED_BY_EXTENSION = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".mpga": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".flac": "audio/flac",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".jfif": "image/jpeg",
    # puremagic's name for an ID3v2.3 tag with no flags: the start of most MP3 files.
    ".koz": "audio/mpeg",
}
# Every type a stored file can have, so every type a download can be sent as.
STORABLE_MEDIA_TYPES = frozenset({*ALLOWED_BY_EXTENSION.values(), TEXT_PLAIN})


class PuremagicContentTypeSniffer:
    """`ContentTypeSniffer` port."""

    def sniff(self, head: bytes) -> str | None:
        if not head:
            return None
        try:
            matches = puremagic.magic_string(head)
        except (puremagic.PureError, ValueError):
            matches = []
        # A signature without a type name says nothing we could allow (a UTF-8 BOM is one).
        matches = [match for match in matches if match.extension]
        if matches:
            best = max(match.confidence for match in matches)
            for match in matches:
                if match.confidence == best and match.extension.lower() in ALLOWED_BY_EXTENSION:
                    return ALLOWED_BY_EXTENSION[match.extension.lower()]
            return None
        return TEXT_PLAIN if _is_plain_text(head) else None


def _is_plain_text(head: bytes) -> bool:
    """The head looks like UTF-8 text; the upload checks the rest as it streams in."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The head may end inside a multi-byte character: only that is forgiven.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True
