"""The mail adapters: SMTP against a real SMTP server (aiosmtpd), and `.eml` files."""

from __future__ import annotations

import email
import socket
import stat
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from app.application.interfaces.credentials import MailMessage
from app.infrastructure.adapters.mail import FileMailSender, SmtpMailSender, is_transient

MESSAGE = MailMessage(
    to="alice@example.com", subject="Réinitialiser", text="Le lien : https://x/\n"
)
SENDER = "Strata <no-reply@example.com>"


class Mailbox:
    """An SMTP handler that refuses the first `refusals` messages with `refusal`, then keeps them."""

    def __init__(self, refusals: int = 0, refusal: str = "451 4.3.0 try again later") -> None:
        self.received: list[Message] = []
        self.attempts = 0
        self._refusals = refusals
        self._refusal = refusal

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.attempts += 1
        if self.attempts <= self._refusals:
            return self._refusal
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve() -> Iterator[Any]:
    controllers: list[Controller] = []

    def start(mailbox: Mailbox) -> SmtpMailSender:
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        return smtp_sender(controller.port)

    yield start
    for controller in controllers:
        controller.stop()


def smtp_sender(port: int) -> SmtpMailSender:
    return SmtpMailSender(
        host="127.0.0.1",
        port=port,
        sender=SENDER,
        start_tls=False,
        timeout_seconds=2,
        retry_delays_seconds=(0.01, 0.01),
    )


async def test_smtp_delivers_the_message(serve: Any) -> None:
    mailbox = Mailbox()

    await serve(mailbox).send(MESSAGE)

    [received] = mailbox.received
    assert received["From"] == SENDER
    assert received["To"] == "alice@example.com"
    assert str(make_header(decode_header(received["Subject"]))) == ("Réinitialiser")
    body = received.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert "Le lien : https://x/" in body.decode("utf-8")


async def test_smtp_retries_a_server_that_says_later(serve: Any) -> None:
    mailbox = Mailbox(refusals=2)

    await serve(mailbox).send(MESSAGE)

    assert mailbox.attempts == 3
    assert len(mailbox.received) == 1


async def test_smtp_gives_up_after_the_last_retry(serve: Any) -> None:
    mailbox = Mailbox(refusals=5)

    with pytest.raises(aiosmtplib.SMTPDataError):
        await serve(mailbox).send(MESSAGE)

    assert mailbox.attempts == 3
    assert mailbox.received == []


async def test_smtp_does_not_retry_a_permanent_refusal(serve: Any) -> None:
    mailbox = Mailbox(refusals=1, refusal="554 5.7.1 rejected")

    with pytest.raises(aiosmtplib.SMTPDataError):
        await serve(mailbox).send(MESSAGE)

    assert mailbox.attempts == 1


async def test_smtp_to_a_closed_port_raises_a_connection_error() -> None:
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await smtp_sender(free_port()).send(MESSAGE)


def test_transient_errors_are_network_failures_and_4xx_answers() -> None:
    assert is_transient(ConnectionRefusedError())
    assert is_transient(aiosmtplib.SMTPServerDisconnected("gone"))
    assert is_transient(aiosmtplib.SMTPResponseException(421, "closing"))
    assert not is_transient(aiosmtplib.SMTPResponseException(550, "no such user"))
    assert not is_transient(aiosmtplib.SMTPRecipientsRefused([]))


async def test_file_mail_writes_private_eml_files(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "mail"
    sender = FileMailSender(directory, SENDER)

    await sender.send(MESSAGE)
    await sender.send(MESSAGE)

    files = sorted(directory.glob("*.eml"))
    assert len(files) == 2
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        parsed = email.message_from_bytes(path.read_bytes())
        assert (parsed["From"], parsed["To"]) == (SENDER, "alice@example.com")
