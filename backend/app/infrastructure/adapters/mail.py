"""Outgoing mail (`MailSender` port): SMTP with aiosmtplib, or `.eml` files for development."""

from __future__ import annotations

import asyncio
import os
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib

from app.application.interfaces.credentials import MailMessage


def build_email(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="strata")
    email.set_content(message.text)
    return email


class SmtpMailSender:
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
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._start_tls = start_tls
        self._timeout = timeout_seconds

    async def send(self, message: MailMessage) -> None:
        await aiosmtplib.send(
            build_email(message, self._sender),
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
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = str(email["Message-ID"]).strip("<>").replace("@", "_").replace("/", "_")
        path = self._directory / f"{name}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(email.as_bytes())
