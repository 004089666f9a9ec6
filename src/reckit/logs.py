"""How ``reckit serve`` logs: one line per event on standard error, with the time (UTC, to the
millisecond), the level, the logger and the message, then the request and recording IDs when
the event has them, and the node's ID (``set_node``). ``RECKIT_LOG_FORMAT=json`` writes the
same as JSON lines; ``RECKIT_LOG_LEVEL`` sets the level of reckit's loggers and uvicorn's
(``config.LogSettings``).

An event has a recording or request ID when the call passes it
(``log.info(..., extra={"recording_id": rid})``) or when it happens inside ``bound(...)``
(a context variable: the request's task, or a thread started inside it, sees it). Other
libraries' loggers stay at WARNING whatever the level: their INFO lines (an SDK's request
dumps) are not reckit's to show.

``dict_config`` is a ``logging.config.dictConfig`` dictionary, so that uvicorn applies the same
configuration in each worker process it spawns (``http/server.py``).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import logging.config
import time
from collections.abc import Iterator
from typing import Any

import orjson

from reckit.config import LogSettings

# The fields an event may carry besides its message, in the order a text line shows them: the
# request and recording IDs (per event), then the node (the process's, ``set_node``).
CONTEXT_FIELDS = ("request_id", "recording_id", "node")
_context: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"reckit_{name}", default=None)
    for name in ("request_id", "recording_id")
}
_node: str | None = None


def set_node(node_id: str | None) -> None:
    """Tag every event this process logs from now on with ``node=<node_id>`` (``reckit serve``
    and ``reckit worker``: their node ID, several nodes' logs read together)."""
    global _node
    _node = node_id


HANDLER_NAME = "reckit"  # the root handler ``configure`` installs; how a process tells it is set


@contextlib.contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Tag every event logged inside the block (in this context) with these IDs, e.g.
    ``with bound(request_id=rid): ...``. Unknown names are a TypeError."""
    tokens = []
    for name, value in ids.items():
        if name not in _context:
            raise TypeError(f"unknown log context field {name!r}")
        tokens.append((_context[name], _context[name].set(value)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Puts the bound IDs on each record that does not carry its own (``extra=``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _context.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        if getattr(record, "node", None) is None:
            record.node = _node
        return True


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    found = {}
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            found[name] = str(value)
    return found


class TextFormatter(logging.Formatter):
    """``2025-01-31T12:00:00.123Z INFO reckit.delivery message request_id=… recording_id=…``,
    always one line: line breaks in the message or a traceback are written as ``\\n``."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        parts += [f"{name}={value}" for name, value in _context_of(record).items()]
        line = " ".join(parts)
        details = self._details(record)
        if details:
            line = f"{line} | {details}"
        return line.replace("\r", "\\r").replace("\n", "\\n")

    def _details(self, record: logging.LogRecord) -> str:
        text = ""
        if record.exc_info:
            text = self.formatException(record.exc_info)
        if record.stack_info:
            text = f"{text}\n{self.formatStack(record.stack_info)}" if text else record.stack_info
        return text


class JsonFormatter(TextFormatter):
    """One JSON object a line: ``time``, ``level``, ``logger``, ``message``, then
    ``request_id``, ``recording_id`` and ``node`` when the event has them and ``exception``
    (the traceback) when it carries one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context_of(record),
        }
        details = self._details(record)
        if details:
            entry["exception"] = details
        return orjson.dumps(entry, default=str).decode()


def dict_config(log: LogSettings) -> dict[str, Any]:
    """The whole configuration: one handler on the root logger, writing to standard error
    through ``ContextFilter`` and the chosen formatter. reckit's and uvicorn's loggers (the
    access log too) pass their events up to it at ``log.level``; the root (every other
    library) at WARNING. The formatters are named as in uvicorn's own configuration, which
    may set options on them."""
    formatter = {"()": f"{__name__}.{'JsonFormatter' if log.format == 'json' else 'TextFormatter'}"}
    ours = {"level": log.level, "handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": f"{__name__}.ContextFilter"}},
        "formatters": {"default": dict(formatter), "access": dict(formatter)},
        "handlers": {
            HANDLER_NAME: {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["context"],
            }
        },
        "root": {"level": "WARNING", "handlers": [HANDLER_NAME]},
        "loggers": {
            name: dict(ours)
            for name in ("reckit", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
        },
    }


def configure(config: dict[str, Any]) -> None:
    """Apply a ``dict_config`` (or a configuration built on one); Python's warnings are logged
    through it too (logger ``py.warnings``)."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def is_configured() -> bool:
    """Whether this process logs through ``configure`` already (a worker process that uvicorn
    set up before it loaded the app)."""
    return any(h.name == HANDLER_NAME for h in logging.getLogger().handlers)
