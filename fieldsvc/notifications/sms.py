"""Text messages to customers' phones: the sender interface, the logging sender used by default,
the one place a gateway plugs in, and sending once a transaction has committed.

A gateway is a class with a `send(message)` method (the `SmsSender` protocol), named by the
config key SMS_SENDER (environment: FIELDSVC_SMS_SENDER) as "package.module:ClassName". It is
built once per app, with the app's config as its one argument, and may read its own settings
(account, key, signature) from there or from the environment. `send` raises on failure; it is
called after the caller's transaction committed, never inside it, so a slow gateway holds no
database lock and a rolled-back transaction sends nothing. The price is at most once: a message
whose send fails (or whose process dies right after the commit) is logged, not retried."""
from __future__ import annotations

import importlib
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

DEFAULT_SENDER = "fieldsvc.notifications.sms:LoggingSmsSender"
_EXTENSION = "fieldsvc.sms_sender"
_OUTBOX = "fieldsvc.sms_outbox"  # session.info: (sender, message) to send once the transaction commits


@dataclass(frozen=True)
class SmsMessage:
    """One text: the phone number, the words, and a reference unique to this message (a gateway
    that takes a client message id can use it to refuse a duplicate)."""

    phone: str
    text: str
    reference: str


class SmsSender(Protocol):
    """Sends one text message; raises when the gateway refuses it or cannot be reached."""

    def send(self, message: SmsMessage) -> None: ...


def masked(phone: str) -> str:
    """The number as logs show it: 139****0101."""
    return phone[:3] + "****" + phone[-4:] if len(phone) > 7 else "****"


class LoggingSmsSender:
    """The default: writes each message to the log (the number masked) and keeps the last ones in
    `sent`, sending nothing. For development and the demo; a deployment plugs in its gateway."""

    KEEP = 100

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.sent: deque[SmsMessage] = deque(maxlen=self.KEEP)

    def send(self, message: SmsMessage) -> None:
        self.sent.append(message)
        log.info("sms to %s [%s]: %s", masked(message.phone), message.reference, message.text)


def load_sender(path: str, config: Mapping[str, Any]) -> SmsSender:
    """Build the sender class named "package.module:ClassName" with `config`."""
    module_name, _, class_name = path.partition(":")
    if not class_name:
        module_name, _, class_name = path.rpartition(".")
    try:
        factory = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise RuntimeError(f"SMS_SENDER {path!r}: no such class ({error})") from error
    sender = factory(config)
    if not callable(getattr(sender, "send", None)):
        raise RuntimeError(f"SMS_SENDER {path!r} has no send(message) method")
    return sender


def sms_sender(app: Flask | None = None) -> SmsSender:
    """The app's sender (built on first use from SMS_SENDER, then kept for the app's life)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    sender = app.extensions.get(_EXTENSION)
    if sender is None:
        sender = app.extensions[_EXTENSION] = load_sender(app.config.get("SMS_SENDER") or DEFAULT_SENDER, app.config)
    return sender


def send_on_commit(session: Session, sender: SmsSender, message: SmsMessage) -> None:
    """Send `message` through `sender` once the session's current transaction commits; never when
    it is rolled back or closed instead."""
    if not event.contains(session, "after_commit", _send_outbox):
        event.listen(session, "after_commit", _send_outbox)
        event.listen(session, "after_transaction_end", _drop_outbox)
    session.info.setdefault(_OUTBOX, []).append((sender, message))


def _send_outbox(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's commit: the messages wait for the outermost transaction
    for sender, message in session.info.pop(_OUTBOX, ()):
        try:
            sender.send(message)
        except Exception:  # a gateway's failure of any kind: logged; the others are still sent
            log.exception("sms %s to %s not sent", message.reference, masked(message.phone))


def _drop_outbox(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_OUTBOX, None)  # rolled back or closed: nothing is sent
