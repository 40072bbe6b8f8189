"""Outgoing mail (`MailSender` port): SMTP with aiosmtplib, or `.eml` files for development."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib

from app.application.interfaces.credentials import MailMessage
from app.core.files import make_private_dir


def build_email(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="strata")
    email.set_content(message.text)
    return email


# Waits before the 2nd and 3rd attempt: a server restarting or greylisting gets a moment.
SMTP_RETRY_DELAYS_SECONDS = (1.0, 4.0)


def is_transient(error: Exception) -> bool:
    """Worth another try: the connection failed or timed out, or the server said "later" (4xx)."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return 400 <= error.code < 500
    return isinstance(error, OSError)  # refused, reset, disconnected, timed out


class SmtpMailSender:
    """Sends through an SMTP server; each attempt is bounded by `timeout_seconds`, and transient
    failures are retried after each of `retry_delays_seconds` before the last error is raised."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        start_tls: bool = True,
        timeout_seconds: float = 10.0,
        retry_delays_seconds: Sequence[float] | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._start_tls = start_tls
        self._timeout = timeout_seconds
        self._retry_delays = tuple(
            SMTP_RETRY_DELAYS_SECONDS if retry_delays_seconds is None else retry_delays_seconds
        )

    async def send(self, message: MailMessage) -> None:
        email = build_email(message, self._sender)
        for delay in (*self._retry_delays, None):
            try:
                await self._send_once(email)
                return
            except (aiosmtplib.SMTPException, OSError) as error:
                if delay is None or not is_transient(error):
                    raise
            await asyncio.sleep(delay)

    async def _send_once(self, email: EmailMessage) -> None:
        await aiosmtplib.send(
            email,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            start_tls=self._start_tls,
            timeout=self._timeout,
        )


class FileMailSender:
    """Development: each message becomes a private `.eml` file under `directory`."""

    def __init__(self, directory: Path, sender: str) -> None:
        self._directory = directory
        self._sender = sender

    async def send(self, message: MailMessage) -> None:
        email = build_email(message, self._sender)
        await asyncio.to_thread(self._write, email)

    def _write(self, email: EmailMessage) -> None:
        make_private_dir(self._directory)  # its links (password reset) are for the recipient only
        name = str(email["Message-ID"]).strip("<>").replace("@", "_").replace("/", "_")
        path = self._directory / f"{name}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(email.as_bytes())
