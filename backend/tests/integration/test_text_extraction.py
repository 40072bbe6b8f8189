"""The text of PDFs (made here with pypdf: pages with text, without text, encrypted, damaged) and
of UTF-8 files (a BOM, Windows and old Mac line ends, invalid bytes, a NUL)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ContentStream,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
)

from app.application.interfaces.pipeline import MediaUnreadableError, UnsupportedPipelineMediaError
from app.infrastructure.adapters.text_extraction import DocumentTextExtractor


def pdf(*pages: list[str], user_password: str | None = None) -> bytes:
    """A PDF with one page per list of lines, in Helvetica; a page with no lines has no text.
    With a user password it is AES-256 encrypted (an empty one: only an owner password)."""
    writer = PdfWriter()
    helvetica = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for lines in pages:
        page = writer.add_blank_page(width=612, height=792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): helvetica})}
        )
        shown = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td {shown} ET".encode() if lines else b"")
        page.replace_contents(ContentStream(stream, writer))
    if user_password is not None:
        writer.encrypt(user_password, "owner-secret", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def extractor() -> DocumentTextExtractor:
    return DocumentTextExtractor(max_pages=5)


def test_reads_the_pages_of_a_pdf_separated_by_a_blank_line(
    extractor: DocumentTextExtractor,
) -> None:
    content = pdf(["The quarterly report.", "Sales rose."], ["Second page here."])

    text = extractor.extract(content, "application/pdf")

    assert text == "The quarterly report.\nSales rose.\n\nSecond page here."


def test_skips_pages_without_text(extractor: DocumentTextExtractor) -> None:
    content = pdf(["First."], [], ["Third."])

    assert extractor.extract(content, "application/pdf") == "First.\n\nThird."


def test_a_pdf_without_any_text_is_unreadable(extractor: DocumentTextExtractor) -> None:
    with pytest.raises(MediaUnreadableError) as raised:
        extractor.extract(pdf([], []), "application/pdf")

    assert "no text" in raised.value.params["reason"]


def test_a_pdf_with_only_an_owner_password_reads_like_in_any_viewer(
    extractor: DocumentTextExtractor,
) -> None:
    content = pdf(["Printing restricted."], user_password="")

    assert extractor.extract(content, "application/pdf") == "Printing restricted."


def test_a_pdf_locked_with_a_password_is_unreadable(extractor: DocumentTextExtractor) -> None:
    content = pdf(["Top secret."], user_password="open-sesame")

    with pytest.raises(MediaUnreadableError) as raised:
        extractor.extract(content, "application/pdf")

    assert raised.value.params["reason"] == "the PDF is locked with a password"


def test_a_pdf_over_the_page_bound_is_refused_whole(extractor: DocumentTextExtractor) -> None:
    content = pdf(*[[f"Page {number}."] for number in range(6)])

    with pytest.raises(MediaUnreadableError) as raised:
        extractor.extract(content, "application/pdf")

    assert raised.value.params["reason"] == "the PDF has 6 pages; at most 5 are read"
    assert DocumentTextExtractor(max_pages=6).extract(content, "application/pdf").count("Page") == 6


def good_pdf_damaged() -> bytes:
    content = pdf(["Fine text."])
    middle = len(content) // 2
    return content[:middle] + b"\x00garbage\xff" * 40 + content[middle + 400 :]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"%PDF-1.7\n",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"this is not a PDF at all",
        pdf(["Fine text."])[:200],
        good_pdf_damaged(),
    ],
    ids=["empty", "header-only", "dangling-pages", "not-a-pdf", "truncated", "overwritten-middle"],
)
def test_a_damaged_pdf_is_unreadable(extractor: DocumentTextExtractor, content: bytes) -> None:
    with pytest.raises(MediaUnreadableError) as raised:
        extractor.extract(content, "application/pdf")

    assert raised.value.params["reason"] == "the PDF is damaged or is not a PDF"


def test_reads_utf8_text_as_it_is(extractor: DocumentTextExtractor) -> None:
    content = "Grüße aus Köln — 東京 🎉\n\tindented\n".encode()

    assert extractor.extract(content, "text/plain") == "Grüße aus Köln — 東京 🎉\n\tindented\n"


def test_drops_a_byte_order_mark(extractor: DocumentTextExtractor) -> None:
    assert extractor.extract(b"\xef\xbb\xbfhello\n", "text/plain; charset=utf-8") == "hello\n"


def test_line_ends_become_newlines(extractor: DocumentTextExtractor) -> None:
    assert extractor.extract(b"one\r\ntwo\rthree\nfour", "text/plain") == "one\ntwo\nthree\nfour"


@pytest.mark.parametrize(
    "content",
    [
        "café".encode("latin-1"),
        b"valid start \xc3",
        b"\xed\xa0\x80 surrogate",
        b"overlong \xc0\xaf",
        "hello".encode("utf-16"),
    ],
    ids=["latin-1", "cut-sequence", "surrogate", "overlong", "utf-16"],
)
def test_bytes_that_are_not_utf8_are_unreadable(
    extractor: DocumentTextExtractor, content: bytes
) -> None:
    with pytest.raises(MediaUnreadableError) as raised:
        extractor.extract(content, "text/plain")

    assert "not UTF-8" in raised.value.params["reason"]


@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t ", b"\xef\xbb\xbf"])
def test_blank_text_is_unreadable(extractor: DocumentTextExtractor, content: bytes) -> None:
    with pytest.raises(MediaUnreadableError):
        extractor.extract(content, "text/plain")


def test_text_with_a_nul_is_unreadable(extractor: DocumentTextExtractor) -> None:
    with pytest.raises(MediaUnreadableError):
        extractor.extract(b"looks like text\x00but is not", "text/plain")


@pytest.mark.parametrize("media_type", ["audio/wav", "image/png", "text/html", "application/zip"])
def test_refuses_a_type_it_does_not_read(extractor: DocumentTextExtractor, media_type: str) -> None:
    with pytest.raises(UnsupportedPipelineMediaError):
        extractor.extract(b"hello", media_type)
