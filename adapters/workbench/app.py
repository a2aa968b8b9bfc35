"""The workbench's web application: sign-in, the worklist, an encounter, its actions, the dashboard.

Pages are rendered on the server from ``templates/``; htmx (``static/htmx.min.js``, 2.0.11,
vendored) swaps the work panel after each action, and ``static/workbench.js`` gives every
action its key. Every state change is a POST carrying the session's CSRF token, checked
here; the session cookie is HttpOnly, SameSite=Strict, and Secure unless the workbench is
served over plain HTTP on loopback. Nothing here logs: requests carry encounter ids.

Mount it anywhere (``serve`` mounts it at ``/workbench``); links follow the mount point.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlparse

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from adapters.coding_setup import CodingSetup
from adapters.fhir.client import FhirClient
from adapters.jobs.ledger import JobLedger
from adapters.jobs.work_items import (
    ItemLockedError,
    ItemState,
    RevisionConflictError,
    WorkItem,
    WorklistQuery,
    WorkReason,
)
from adapters.workbench.accounts import Account, Accounts
from adapters.workbench.code_search import SYSTEMS, search_codes, searched_for
from adapters.workbench.editing import (
    EditError,
    apply,
    context_for,
    rescrub,
    start_work,
)
from adapters.workbench.evidence import Evidence, highlight, read_evidence
from adapters.workbench.records import audit_event, cdi_query, verification
from adapters.workbench.sessions import COOKIE, Session, Sessions
from adapters.writeback.claim_writer import ClaimWriter, WriteAction, WriteReceipt
from adapters.writeback.destinations import FhirDestination
from codesets import CodeSetRegistry
from fhir_coder.coding.checks import shown
from fhir_coder.errors import FhirError
from fhir_coder.model import CodedLine
from fhir_coder.outcome import Issue
from fhir_coder.snapshot import from_plain

__all__ = ["Workbench", "create_workbench"]

_HERE = files("adapters.workbench")
_MAX_FORM: Final = 64_000
_FAILURES_ALLOWED: Final = 5
_FAILURE_WINDOW: Final = 900.0
_REASON_TEXT: Final = {
    WorkReason.NO_COVERAGE.value: "No coverage in force",
    WorkReason.NO_PROVIDER.value: "No billing provider",
    WorkReason.NO_CODABLE_DIAGNOSIS.value: "No codable diagnosis",
    WorkReason.NO_DATE.value: "No date of service",
    WorkReason.HEADER_CODE.value: "Header code sent",
    WorkReason.INVALID_CODE.value: "Invalid code",
    WorkReason.NEEDS_CODER.value: "Needs a coder",
    WorkReason.LINE_REVIEW.value: "Lines to confirm",
    WorkReason.SCRUBBER_EDIT.value: "Scrubber edit",
    WorkReason.DENIAL.value: "Denied by payer",
}


@dataclass(slots=True)
class Workbench:
    """What the workbench works with.

    ``fhir`` (the source EHR) is read for Observations and notes and receives the
    AuditEvents and provider queries; ``writer`` releases Claims (the same write-back the
    workers use); without them the workbench still codes and scrubs, and says what it
    cannot do. ``registry`` answers code searches. ``secure_cookies`` None decides per
    request: Secure unless plain HTTP on a loopback address.
    """

    ledger: JobLedger
    accounts: Accounts
    coding: CodingSetup
    registry: CodeSetRegistry | None = None
    fhir: FhirClient | None = None
    writer: ClaimWriter | None = None
    sessions: Sessions = field(default_factory=Sessions)
    secure_cookies: bool | None = None
    lock_seconds: float = 900.0
    audit_every: float = 2.0
    failures: dict[str, list[float]] = field(default_factory=dict)
    evidence_cache: dict[tuple[int, str], Evidence] = field(default_factory=dict)


class _Redirect(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, url: str) -> None:
        self.url = url


def create_workbench(bench: Workbench) -> FastAPI:  # noqa: C901, PLR0915 - the routes, in one place
    """The workbench as an ASGI app (mount it, or serve it alone)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sender = asyncio.create_task(_send_audit_events(bench))
        try:
            yield
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await _flush_audit(bench)

    app = FastAPI(
        title="fhir-coder workbench", docs_url=None, redoc_url=None, openapi_url=None,
        lifespan=lifespan,
    )  # fmt: skip
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.globals["reason_text"] = _REASON_TEXT
    templates.env.globals["shown"] = shown
    templates.env.filters["when"] = _when
    templates.env.filters["days"] = _days
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    @app.exception_handler(_Redirect)
    async def redirect(request: Request, exc: _Redirect) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": exc.url})
        return RedirectResponse(exc.url, status_code=303)

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:  # noqa: ANN401
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith(f"{_base(request)}/static"):
            response.headers["Cache-Control"] = "no-store"  # pages carry clinical facts
        return response

    def page(
        request: Request,
        name: str,
        *,
        http_status: int = 200,
        **context: Any,  # noqa: ANN401
    ) -> HTMLResponse:
        context.setdefault("session", None)
        return templates.TemplateResponse(
            request, name, {"base": _base(request), **context}, status_code=http_status
        )

    def signed_in(request: Request) -> Session:
        session = bench.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise _Redirect(f"{_base(request)}/login?{urlencode({'next': target})}")
        return session

    async def posted(request: Request, session: Session | None) -> dict[str, str]:
        _same_origin(request)
        form = await _read_form(request)
        if session is not None and not session.csrf_ok(
            form.get("csrf") or request.headers.get("X-CSRF-Token")
        ):
            raise _Refused(403, "the form's security token is missing or old: reload the page")
        return form

    @app.exception_handler(_Refused)
    async def refused(request: Request, exc: _Refused) -> Response:
        body = f'<p class="problem" role="alert">{_escape(exc.message)}</p>'
        if request.headers.get("HX-Request"):  # shown in the message area, not over the panel
            headers = {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
            return HTMLResponse(body, status_code=exc.status, headers=headers)
        return HTMLResponse(body, status_code=exc.status)

    # sign-in ---------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "") -> HTMLResponse:  # noqa: A002
        return page(request, "login.html", next=_safe_next(request, next), problem="")

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await posted(request, None)
        user = form.get("user", "").strip()[:100]
        target = _safe_next(request, form.get("next", ""))
        now = time.time()
        recent = [t for t in bench.failures.get(user, []) if now - t < _FAILURE_WINDOW]
        account = None if len(recent) >= _FAILURES_ALLOWED else bench.accounts.verify(
            user, form.get("password", "")[:1000]
        )  # fmt: skip
        if account is None:
            bench.failures[user] = [*recent, now]
            problem = (
                "Too many failed sign-ins: wait 15 minutes."
                if len(recent) >= _FAILURES_ALLOWED
                else "The user name or password is wrong."
            )
            return page(request, "login.html", http_status=401, next=target, problem=problem)
        bench.failures.pop(user, None)
        session = bench.sessions.start(account)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, session.token, httponly=True, samesite="strict", secure=_secure(bench, request),
            path=_base(request) or "/",
        )  # fmt: skip
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        session = signed_in(request)
        await posted(request, session)
        bench.sessions.end(session.token)
        response = RedirectResponse(f"{_base(request)}/login", status_code=303)
        response.delete_cookie(COOKIE, path=_base(request) or "/")
        return response

    # the worklist ----------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def worklist(request: Request) -> HTMLResponse:
        session = signed_in(request)
        query = _query(request)
        started = time.perf_counter()
        listed = bench.ledger.work.worklist(query)
        elapsed = (time.perf_counter() - started) * 1000
        context: dict[str, Any] = {
            "session": session,
            "listed": listed,
            "query": query,
            "params": _params(request),
            "link": lambda **changes: _link(request, **changes),
            "classes": ("AMB", "EMER", "IMP", "OBSENC", "VR", "HH"),
            "reasons": [r.value for r in WorkReason],
            "now": time.time(),
        }
        name = "worklist_results.html" if request.headers.get("HX-Request") else "worklist.html"
        response = page(request, name, **context)
        response.headers["Server-Timing"] = f"worklist;dur={elapsed:.1f}"
        return response

    # an encounter ----------------------------------------------------------------------

    @app.get("/items/{item_id}", response_class=HTMLResponse)
    async def item_page(request: Request, item_id: int) -> HTMLResponse:
        session = signed_in(request)
        item = _item(bench, item_id)
        holder = ""
        if session.account.role.may_edit and item.state is ItemState.OPEN:
            try:
                item = bench.ledger.work.lock(
                    item_id, session.account.user, seconds=bench.lock_seconds
                )
            except ItemLockedError as exc:
                holder = _name(bench, exc.holder)
        if "encounter" not in item.payload:  # a denial that came without the encounter as coded
            return page(request, "item_bare.html", session=session, item=item, holder=holder)
        if not holder and item.locked_for(session.account.user):  # an auditor sees it too
            holder = _name(bench, item.locked_by)
        evidence = await _evidence(bench, item)
        flash, session.flash = session.flash, []  # what the last form said, shown once
        context = _item_context(bench, session, item, holder, evidence)
        return page(request, "item.html", flash=flash, **context)

    @app.post("/items/{item_id}/act", response_class=HTMLResponse)
    async def act(request: Request, item_id: int) -> Response:
        session = signed_in(request)
        form = await posted(request, session)
        account = _editor(session)
        item = _item(bench, item_id)
        action = form.get("action", "")
        started = time.perf_counter()
        try:
            revision = int(form.get("revision", "0"))
            work, detail = apply(
                item, start_work(item), action, form, bench.coding, user=account.user
            )
            saved = bench.ledger.work.save_work(
                item_id, account.user, work, revision=revision, action=action, detail=detail
            )
            bench.ledger.work.lock(item_id, account.user, seconds=bench.lock_seconds)
        except (ItemLockedError, RevisionConflictError) as exc:
            return _conflict(bench, exc, action, form)
        except (EditError, ValueError) as exc:
            return _work_panel(page, request, bench, session, item, status=str(exc), error=True)
        status = _said(action, detail)
        response = _work_panel(page, request, bench, session, saved, status=status)
        response.headers["Server-Timing"] = (
            f"action;dur={(time.perf_counter() - started) * 1000:.1f}"
        )
        return response

    @app.post("/items/{item_id}/release", response_class=HTMLResponse)
    async def release(request: Request, item_id: int) -> Response:  # noqa: PLR0911 - each refusal answers at once
        session = signed_in(request)
        form = await posted(request, session)
        account = _editor(session)
        item = _item(bench, item_id)
        if bench.writer is None:
            raise _Refused(409, "this workbench has no destination for Claims (--server)")
        work = start_work(item)
        now = datetime.now(UTC)
        scrubbed = rescrub(item, work, bench.coding, created=now)
        if not scrubbed.ready or scrubbed.claim is None:
            left = len(scrubbed.blocking) + len(scrubbed.to_confirm)
            return _work_panel(
                page, request, bench, session, item, error=True,
                status=f"Not released: {left} thing(s) left to resolve (listed under Findings).",
            )  # fmt: skip
        try:
            current = bench.ledger.work.lock(item_id, account.user, seconds=bench.lock_seconds)
        except ItemLockedError as exc:
            return _conflict(bench, exc, "release", form)
        seen = int(form.get("revision", "0") or 0)
        if current.revision != seen:  # released from a page older than the lines it shows
            changed = RevisionConflictError(item_id, seen, current.revision, "")
            return _conflict(bench, changed, "release", form)
        try:
            receipt = await bench.writer.write(
                scrubbed.claim, scrubbed.coded, scrubbed.issues, created=now, author=account.who()
            )
        except FhirError as exc:
            return _work_panel(
                page, request, bench, session, item, error=True,
                status=f"Not released: the server refused the Claim ({exc}). Nothing was lost.",
            )  # fmt: skip
        if receipt.action is WriteAction.BUSY:
            return _work_panel(
                page, request, bench, session, item, error=True,
                status="Not released: another process is writing this Claim now; try again.",
            )  # fmt: skip
        if receipt.action is WriteAction.UNCHANGED:  # the Claim's own Provenance names no coder
            problem = await _verified(bench, receipt, current, account, now)
            if problem:
                return _work_panel(page, request, bench, session, item, error=True, status=problem)
        detail = {
            "claim": receipt.server_id or str(scrubbed.claim["id"]),
            "write": receipt.action.value,
            "codes": [line.code for line in scrubbed.coded.lines],
            "how": {
                e["line"]["code"]: e["how"] for k in ("diagnoses", "procedures") for e in work[k]
            },
        }
        bench.ledger.work.close(
            item_id, account.user, ItemState.RELEASED, revision=current.revision, detail=detail
        )
        await _flush_audit(bench)
        target = f"{_base(request)}/?released={item_id}"
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.post("/items/{item_id}/query", response_class=HTMLResponse)
    async def query_provider(request: Request, item_id: int) -> Response:
        session = signed_in(request)
        form = await posted(request, session)
        account = _editor(session)
        item = _item(bench, item_id)
        if bench.fhir is None:
            raise _Refused(409, "this workbench has no FHIR server to send the query to")
        question = form.get("question", "").strip()[:2000]
        indicators = [i for i in form.get("indicators", "").splitlines() if i.strip()][:20]
        options = [o for o in form.get("options", "").splitlines() if o.strip()][:10]
        if not question or not indicators:
            return _work_panel(
                page, request, bench, session, item, error=True,
                status="A query needs a question and at least one clinical indicator.",
            )  # fmt: skip
        number = len(bench.ledger.work.events(item_id, action="query")) + 1
        encounter = context_for(item, bench.coding).encounter
        task = cdi_query(
            item, encounter, question=question, indicators=indicators, options=options,
            who=account.who(), number=number,
        )  # fmt: skip
        try:
            await bench.fhir.update(task)
        except FhirError as exc:
            return _work_panel(
                page, request, bench, session, item, error=True,
                status=f"The query was not sent: the server refused it ({exc}).",
            )  # fmt: skip
        bench.ledger.work.add_event(item_id, account.user, "query", {"task": task["id"]})
        return _work_panel(
            page, request, bench, session, _item(bench, item_id),
            status=f"Query sent to the provider (Task/{task['id']}).",
        )  # fmt: skip

    @app.post("/items/{item_id}/leave")
    async def leave(request: Request, item_id: int) -> Response:
        session = signed_in(request)
        await posted(request, session)
        bench.ledger.work.unlock(item_id, session.account.user)
        return RedirectResponse(f"{_base(request)}/", status_code=303)

    @app.get("/codes", response_class=HTMLResponse)
    async def codes(
        request: Request, q: str = "", system: str = "icd10cm", item: int = 0
    ) -> HTMLResponse:
        session = signed_in(request)
        on = None
        patient = None
        if item:
            context = context_for(_item(bench, item), bench.coding)
            on = context.on
            patient = searched_for(context.encounter.patient, on)
        hits = (
            search_codes(bench.registry, system, q, on=on, patient=patient)
            if bench.registry
            else []
        )
        return page(
            request, "codes.html", session=session, hits=hits, q=q, system=system,
            systems=SYSTEMS,
        )  # fmt: skip

    @app.get("/dashboard", response_class=HTMLResponse)
    async def dashboard(request: Request) -> HTMLResponse:
        session = signed_in(request)
        return page(request, "dashboard.html", session=session, figures=_figures(bench))

    return app


class _Refused(Exception):  # noqa: N818 - an answer, not a failure of ours
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form (what the pages and htmx send), refused past 64 kB as it streams."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise _Refused(415, "send the form URL-encoded, as the pages do")
    if int(request.headers.get("content-length") or 0) > _MAX_FORM:
        raise _Refused(413, "the form is too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM:
            raise _Refused(413, "the form is too large")
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), max_num_fields=200)
    return dict(pairs)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _secure(bench: Workbench, request: Request) -> bool:
    if bench.secure_cookies is not None:
        return bench.secure_cookies
    host = request.url.hostname or ""
    return request.url.scheme == "https" or host not in ("127.0.0.1", "localhost", "::1")


def _same_origin(request: Request) -> None:
    """Refuse a POST whose Origin is another site (CSRF's first line, before the token)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlparse(origin).netloc != request.headers.get("host"):
        raise _Refused(403, "this form was sent from another site")


def _safe_next(request: Request, target: str) -> str:
    """Only a path of this workbench: never another site after signing in."""
    base = _base(request)
    if target.startswith(f"{base}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{base}/"


def _editor(session: Session) -> Account:
    if not session.account.role.may_edit:
        raise _Refused(403, "auditors read; they do not change items")
    return session.account


def _item(bench: Workbench, item_id: int) -> WorkItem:
    item = bench.ledger.work.get(item_id)
    if item is None:
        raise _Refused(404, f"there is no work item {item_id}")
    return item


def _name(bench: Workbench, user: str) -> str:
    account = bench.accounts.get(user)
    return account.name if account else user


def _query(request: Request) -> WorklistQuery:
    p = request.query_params

    def number(key: str, default: int) -> int:
        text = p.get(key, "")
        return int(text) if text.isdigit() else default

    state = p.get("state", "open")
    return WorklistQuery(
        state=ItemState(state) if state in {s.value for s in ItemState} else None,
        reason=p.get("reason", "")[:40],
        kind=p.get("kind", "")[:20],
        encounter_class=p.get("class", "")[:10],
        payer=p.get("payer", "")[:200],
        older_than_days=float(p["age"]) if p.get("age", "").isdigit() else None,
        service_from=p.get("from", "")[:10],
        service_to=p.get("to", "")[:10],
        search=p.get("q", "")[:100],
        sort=p.get("sort", "oldest")[:20],
        page=number("page", 1),
        per_page=min(number("per_page", 50), 200),
    )


def _params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if v and k != "released"}


def _link(request: Request, **changes: object) -> str:
    params = _params(request)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(value)
    if "page" not in changes:
        params.pop("page", None)
    return f"{_base(request)}/?{urlencode(params)}"


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M") if stamp else ""


def _days(stamp: float) -> str:
    days = (time.time() - stamp) / 86400
    return "today" if days < 1 else f"{int(days)} d"


async def _evidence(bench: Workbench, item: WorkItem) -> Evidence:
    key = (item.id, item.version)
    found = bench.evidence_cache.get(key)
    if found is None:
        encounter = item.payload.get("encounter") or {}
        found = await read_evidence(bench.fhir, str(encounter.get("reference", "")))
        if len(bench.evidence_cache) > 200:
            bench.evidence_cache.clear()
        bench.evidence_cache[key] = found
    return found


def _item_context(
    bench: Workbench, session: Session, item: WorkItem, holder: str, evidence: Evidence | None
) -> dict[str, Any]:
    work = start_work(item)
    scrubbed = rescrub(item, work, bench.coding, created=datetime.now(UTC))
    context = context_for(item, bench.coding)
    rejected = {(r["source"], r["code"]) for r in work.get("rejected") or []}
    decided = set(work.get("decided") or ())
    suggestions = []
    matched: set[str] = set()
    for entry in item.payload.get("suggestions") or []:
        options = [o for o in entry["options"] if (entry["source"], o["code"]) not in rejected]
        for option in options:
            matched.update(option.get("matched") or [])
        suggestions.append({**entry, "options": options, "decided": entry["source"] in decided})
    lines = {
        kind: [
            {"n": n, "line": from_plain(CodedLine, e["line"]), "how": e["how"]}
            for n, e in enumerate(work[kind])
        ]
        for kind in ("diagnoses", "procedures")
    }
    sent = {d.source.reference: d for d in context.encounter.diagnoses}
    sent.update({p.source.reference: p for p in context.encounter.procedures})  # type: ignore[misc]
    return {
        "session": session,
        "item": item,
        "holder": holder,
        # a holder elsewhere does not hide the actions: the server refuses them and says why
        "can_edit": session.account.role.may_edit and item.state is ItemState.OPEN,
        "encounter": context.encounter,
        "evidence": evidence,
        "highlight": lambda text: highlight(text, sorted(matched)),
        "suggestions": suggestions,
        "lines": lines,
        "sent": sent,
        "findings": sorted(scrubbed.issues, key=_finding_order),
        "scrubbed": scrubbed,
        "release_ready": scrubbed.ready and bench.writer is not None,
        "has_writer": bench.writer is not None,
        "has_fhir": bench.fhir is not None,
    }


def _finding_order(issue: Issue) -> tuple[int, str]:
    order = {"fatal": 0, "error": 1, "warning": 2, "information": 3}
    return order.get(issue.severity.value, 4), issue.rule


def _work_panel(
    page: Any, request: Request, bench: Workbench, session: Session, item: WorkItem,  # noqa: ANN401
    *, status: str, error: bool = False,
) -> Response:  # fmt: skip
    context = _item_context(bench, session, item, "", None)
    if not request.headers.get("HX-Request"):
        session.flash.append(status)
        return RedirectResponse(f"{_base(request)}/items/{item.id}", status_code=303)
    return page(  # type: ignore[no-any-return]
        request,
        "work_panel.html",
        http_status=422 if error else 200,
        status=status,
        error=error,
        **context,
    )


def _conflict(bench: Workbench, exc: Exception, action: str, form: dict[str, str]) -> Response:
    wanted = " ".join(x for x in (action, form.get("code", ""), form.get("source", "")) if x)
    if isinstance(exc, ItemLockedError):
        why = f"{_name(bench, exc.holder)} is working on this item now"
    else:
        by = (
            f" by {_name(bench, exc.by)}"
            if isinstance(exc, RevisionConflictError) and exc.by
            else ""
        )
        why = f"This item was changed{by} since you opened it"
    message = (
        f"{why}: your change ({wanted}) was not saved, and theirs is kept. "
        "Reload the item to see the current lines before changing them."
    )
    body = f'<div id="conflict" class="problem" role="alert" tabindex="-1">{_escape(message)}</div>'
    return HTMLResponse(
        body, status_code=409, headers={"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    )


def _said(action: str, detail: dict[str, Any]) -> str:
    code = detail.get("code", "")
    where = f" ({detail['source']})" if detail.get("source") else ""
    text = {
        "accept": f"Accepted {code}{where}.",
        "reject": f"Rejected the suggestion {code}{where}.",
        "add": f"Added {code}.",
        "remove": f"Removed {code}.",
        "move": f"Moved line {detail.get('from')} to {detail.get('to')}.",
        "edit": f"Saved line {code}.",
        "confirm": f"Confirmed {code}.",
    }.get(action, "Saved.")
    return text + " The scrubber ran again."


def _figures(bench: Workbench) -> dict[str, Any]:
    stats = bench.ledger.work.stats()
    counts = bench.ledger.counts()
    finished = sum(n for state, n in counts.items() if state.value in ("done", "held"))
    needing = sum(stats["by_state"].values())
    actions = stats["actions"]
    kept = actions.get("accept", 0) + actions.get("confirm", 0)
    changed = actions.get("edit", 0) + actions.get("add", 0)
    rejected = actions.get("reject", 0) + actions.get("remove", 0)
    judged = kept + changed + rejected
    seconds = sorted(stats["chart_seconds"])
    return {
        # items without a job (denials of Claims coded elsewhere) must not push it below zero
        "straight_through": max(0.0, (finished - needing) / finished) if finished else None,
        "finished": finished,
        "needing": needing,
        "by_reason": stats["by_reason"],
        "by_age": stats["by_age"],
        "by_state": stats["by_state"],
        "kept": kept,
        "changed": changed,
        "rejected": rejected,
        "acceptance": kept / judged if judged else None,
        "charts": len(seconds),
        "median_seconds": seconds[len(seconds) // 2] if seconds else None,
    }


async def _verified(
    bench: Workbench, receipt: WriteReceipt, item: WorkItem, account: Account, now: datetime
) -> str:
    """Record that ``account`` verified a Claim already as written; a problem, or ""."""
    destination = bench.writer.destination if bench.writer is not None else None
    if not isinstance(destination, FhirDestination):
        return ""  # an NDJSON folder keeps the Claim as written; the ledger keeps the release
    claim_id = receipt.server_id or str(receipt.claim["id"])
    provenance = verification(
        f"Claim/{claim_id}", str(receipt.claim["id"]), item, account.who(), at=now
    )
    try:
        await destination.client.update(provenance)
    except FhirError as exc:
        return f"Not released: the server refused the coder's Provenance ({exc}). Try again."
    return ""


async def _flush_audit(bench: Workbench) -> None:
    """Send the AuditEvents of every action not yet on the server (the ledger is the outbox)."""
    if bench.fhir is None:
        return
    events = bench.ledger.work.unsent_events(100)
    sent: list[int] = []
    items: dict[int, WorkItem | None] = {}
    for event in events:
        if event.item_id not in items:
            items[event.item_id] = bench.ledger.work.get(event.item_id)
        item = items[event.item_id]
        if item is None:
            sent.append(event.id)
            continue
        account = bench.accounts.get(event.actor)
        who = account.who() if account else {"display": event.actor}
        try:
            await bench.fhir.update(audit_event(item, event, who))
        except FhirError:
            break  # the server is away: the events wait in the ledger for the next turn
        sent.append(event.id)
    if sent:
        bench.ledger.work.mark_sent(sent)


async def _send_audit_events(bench: Workbench) -> None:
    while True:
        await asyncio.sleep(bench.audit_every)
        await _flush_audit(bench)


def static_path() -> Path:
    """Where the vendored htmx and the workbench's script and styles are."""
    return Path(str(_HERE / "static"))
