"""Signed-in sessions: a random token in an HttpOnly, SameSite=Strict cookie, kept on the server.

The cookie holds only a random token (256 bits); the session (who, their CSRF token, when it
ends) stays in the server's memory, so signing out or expiry ends it at once and nothing a
browser holds can be forged into another user. A session ends after ``idle`` seconds
without a request (30 minutes) and at most ``absolute`` seconds after sign-in (12 hours),
as HIPAA's automatic log-off asks. A restart signs everyone out; their work is in the ledger.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Final

from adapters.workbench.accounts import Account

__all__ = ["COOKIE", "Session", "Sessions"]

COOKIE: Final = "fc_workbench"


@dataclass(slots=True)
class Session:
    """One signed-in person."""

    token: str
    account: Account
    csrf: str
    started: float
    seen: float
    flash: list[str] = field(default_factory=list)

    def csrf_ok(self, offered: str | None) -> bool:
        """Whether ``offered`` is this session's CSRF token (compared in constant time)."""
        return bool(offered) and hmac.compare_digest(self.csrf, offered or "")


class Sessions:
    """The sessions of one workbench process."""

    def __init__(self, *, idle: float = 1800.0, absolute: float = 43200.0) -> None:
        self.idle = idle
        self.absolute = absolute
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, account: Account) -> Session:
        """A new session for ``account`` (a fresh token: no session fixation)."""
        now = time.time()
        session = Session(secrets.token_urlsafe(32), account, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._sessions[session.token] = session
            self._sweep(now)
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of ``token`` (renewing its idle time), or None."""
        if not token:
            return None
        now = time.time()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.seen > self.idle or now - session.started > self.absolute:
                del self._sessions[token]
                return None
            session.seen = now
            return session

    def end(self, token: str | None) -> None:
        """Sign out."""
        with self._lock:
            self._sessions.pop(token or "", None)

    def _sweep(self, now: float) -> None:
        stale = [
            token
            for token, s in self._sessions.items()
            if now - s.seen > self.idle or now - s.started > self.absolute
        ]
        for token in stale:
            del self._sessions[token]
