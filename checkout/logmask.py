"""Tokens and card-like numbers kept out of our logs.

A checkout link's token is the key to the checkout (anyone holding it may pay, or see
what the page shows), so no log line keeps one: the request lines of the dev server
(``werkzeug``) and of gunicorn (``gunicorn.access``, ``%(r)s`` / ``%(U)s``), our own
messages and the tracebacks under them. :class:`LogMask` rewrites each record's message
(after %-formatting) with

- every token-bearing path (``/c/<token>``, ``/d/<token>``, ``/p/<token>``, whatever
  follows them, in a URL or not, the API's link answers included) as
  ``/c/[token:1a2b3c4d]``, and any other run of characters that has the shape of one of
  our tokens (or of the signed tokens made before they were encrypted) as
  ``[token:1a2b3c4d]``: the first 8 hex digits of the token's SHA-256, so that an
  operator can tell which lines are about one link without being able to open it;
- every run of 13 to 19 digits, also with single spaces or dashes between them (a card
  number as it is typed), as ``[number]``.

:func:`init_app` installs it on the loggers where such lines start: the app's (and every
``checkout.*`` module logger), ``werkzeug``, ``gunicorn.access`` and ``gunicorn.error``
(gunicorn's workers log requests in the process that built the app, so the app factory
reaches them; ``gunicorn.conf.py`` imports nothing of the app), and on the handlers the
app's logger and the root logger have by then."""
from __future__ import annotations

import hashlib
import logging
import re

from flask import Flask

from .tokens import MIN_TOKEN_LENGTH, is_token_shaped

#: The loggers of the servers that run the app, whose lines carry request paths.
SERVER_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")

_PATH_TOKEN = re.compile(r"(/[cdp]/)([A-Za-z0-9_.-]{16,})")
_RUN = re.compile(rf"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{{{MIN_TOKEN_LENGTH},}}(?![A-Za-z0-9_-])")
# itsdangerous's signed form: [.]payload.timestamp.signature (SHA-1 HMAC, 27 characters).
_SIGNED = re.compile(r"(?<![A-Za-z0-9_.-])\.?[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,8}\.[A-Za-z0-9_-]{27,}"
                     r"(?![A-Za-z0-9_.-])")
_NUMBER = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def mark(token: str) -> str:
    """A token's stand-in in a log: short, stable, not reversible."""
    return f"[token:{hashlib.sha256(token.encode('utf-8', 'replace')).hexdigest()[:8]}]"


def mask(text: str) -> str:
    """``text`` without tokens or 13-19 digit numbers."""
    text = _PATH_TOKEN.sub(lambda m: m[1] + mark(m[2]), text)
    text = _SIGNED.sub(lambda m: mark(m[0]), text)
    text = _RUN.sub(lambda m: mark(m[0]) if is_token_shaped(m[0]) else m[0], text)
    return _NUMBER.sub("[number]", text)


class LogMask(logging.Filter):
    """Masks a record's message, traceback and stack (see the module's docstring). The
    message is formatted here: ``record.msg`` becomes the masked text, ``record.args``
    None, so every handler after it sees only that."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging's own handler reports it
            return True
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


#: One filter for the process (a logger or handler keeps a filter once, however many apps).
MASK = LogMask()


def init_app(app: Flask) -> None:
    """Install :data:`MASK` on the loggers and handlers that may write a token."""
    prefix = app.logger.name + "."
    modules = [logger for name, logger in logging.root.manager.loggerDict.items()
               if name.startswith(prefix) and isinstance(logger, logging.Logger)]
    for logger in (app.logger, *modules, *(logging.getLogger(name) for name in SERVER_LOGGERS)):
        logger.addFilter(MASK)
    for handler in (*app.logger.handlers, *logging.root.handlers):
        handler.addFilter(MASK)
