"""The text of a document (the `TextExtractor` port): PDFs through pypdf, plain text as UTF-8.

A document that has no text to give is MediaUnreadableError, which retrying will not change: a PDF
that is damaged, locked with a password, has more pages than we read, or has no text layer (a
scan); a text file that is not strict UTF-8, holds a NUL (no text does, and PostgreSQL's text
columns refuse it), or is blank. A PDF over `max_pages` is refused whole rather than cut short, so
what is indexed is never silently a part of a document.

Lines end in `\n` whatever the file used; a UTF-8 byte order mark is dropped.
"""

from __future__ import annotations

import io
import logging

from app.application.interfaces.pipeline import MediaUnreadableError, UnsupportedPipelineMediaError
from app.domain.entities.resource import TEXT_PLAIN

logger = logging.getLogger("strata.pipeline.text_extraction")
APPLICATION_PDF = "application/pdf"
DEFAULT_MAX_PAGES = 2_000
_UTF8_BOM = "\ufeff"


class DocumentTextExtractor:
    """`TextExtractor` port."""

    def __init__(self, *, max_pages: int = DEFAULT_MAX_PAGES) -> None:
        self._max_pages = max_pages

    def extract(self, content: bytes, media_type: str) -> str:
        essence = media_type.split(";", 1)[0].strip().lower()
        if essence == APPLICATION_PDF:
            text = self._pdf_text(content)
        elif essence == TEXT_PLAIN:
            text = _utf8_text(content)
        else:
            raise UnsupportedPipelineMediaError(media_type=media_type)
        return text

    def _pdf_text(self, content: bytes) -> str:
        try:
            pages = self._pdf_pages(content)
        except MediaUnreadableError:
            raise
        # pypdf parses a hostile format, and a damaged file can fail in any of its layers (its own
        # errors, but also KeyError, ValueError, zlib.error, RecursionError, ...): all of them
        # mean the same to us, and the type is logged.
        except Exception as exc:
            logger.info("a PDF did not read", extra={"error": type(exc).__name__})
            raise MediaUnreadableError(reason="the PDF is damaged or is not a PDF") from None
        text = "\n\n".join(_normalised(page).strip() for page in pages if page.strip())
        if not text:
            raise MediaUnreadableError(reason="the PDF has no text layer (a scan?)")
        return text

    def _pdf_pages(self, content: bytes) -> list[str]:
        # Imported on the first PDF (about 15 MiB): only pipeline jobs read PDFs.
        from pypdf import PasswordType, PdfReader  # noqa: PLC0415

        reader = PdfReader(io.BytesIO(content))
        # Readable as any viewer reads it when only an owner password is set.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise MediaUnreadableError(reason="the PDF is locked with a password")
        page_count = len(reader.pages)
        if page_count > self._max_pages:
            raise MediaUnreadableError(
                reason=f"the PDF has {page_count} pages; at most {self._max_pages} are read"
            )
        return [page.extract_text() for page in reader.pages]


def _utf8_text(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MediaUnreadableError(
            reason=f"the text is not UTF-8 (byte {exc.start} is invalid)"
        ) from None
    text = text.removeprefix(_UTF8_BOM)
    if "\x00" in text:
        raise MediaUnreadableError(reason="the text holds a NUL character")
    text = _normalised(text)
    if not text.strip():
        raise MediaUnreadableError(reason="the text is blank")
    return text


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
