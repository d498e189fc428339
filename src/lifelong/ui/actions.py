"""The dashboard's actions: log in with the admin token, promote, roll back, log out.

A promotion goes through :func:`lifelong.registry.promote`, the rules the CLI and the HTTP
admin endpoint share: the page shows the verdict first, a refused promotion can be forced
only with a reason, and is then recorded as ``forced``. Every action checks, in this order:
the actions are on (an admin token is configured, else 404), the request comes from this
origin, the session is valid (else 403) and the form's CSRF token is the session's (else 403).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from lifelong.core.errors import LifelongError, NotFound
from lifelong.registry import promote as promote_version
from lifelong.ui import auth
from lifelong.ui.context import ContextDep, UiContext
from lifelong.ui.render import PREFIX, SECURITY_HEADERS, error_page, page

router = APIRouter()
MAX_FORM_BYTES = 16_384


async def _form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form post (the only kind the dashboard's forms send; read
    here rather than by FastAPI's ``Form``, which needs python-multipart)."""
    body = await request.body()
    fields = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", errors="replace"))
    return {key: values[-1] for key, values in fields.items()}


def _refusal(request: Request, context: UiContext, csrf: str | None) -> HTMLResponse | None:
    """The error page refusing an action, or ``None`` when it may go ahead."""
    if context.admin_token is None:
        return error_page(
            request,
            context,
            404,
            "Actions are off",
            f"no admin token is configured: set {context.admin_token_env} in the environment "
            "of the dashboard's server to enable promote and rollback",
        )
    foreign = auth.cross_origin(request)
    if foreign is not None:
        return error_page(
            request, context, 403, "Refused", f"a request from another site ({foreign}) is refused"
        )
    if csrf is None:
        return None
    nonce = auth.session_nonce(request, context.admin_token)
    if nonce is None:
        return error_page(
            request, context, 403, "Refused", "log in with the admin token first (top right)"
        )
    if not auth.csrf_valid(csrf, context.admin_token, nonce):
        return error_page(
            request,
            context,
            403,
            "Refused",
            "the form's CSRF token is missing or wrong: reload the page and try again",
        )
    return None


def _back(path: str) -> str:
    """A local path under the dashboard to return to (anything else goes to its start)."""
    return path if path.startswith(PREFIX + "/") and not path.startswith("//") else PREFIX + "/"


@router.post("/login")
async def login(request: Request, context: ContextDep) -> Response:
    form = await _form(request)
    token, next_ = form.get("token", ""), form.get("next", "")
    refused = _refusal(request, context, None)
    if refused is not None:
        return refused
    assert context.admin_token is not None  # _refusal checked
    if not auth.token_matches(token, context.admin_token):
        return error_page(request, context, 403, "Refused", "wrong admin token")
    response = RedirectResponse(_back(next_), status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        auth.SESSION_COOKIE,
        auth.new_session(context.admin_token),
        httponly=True,
        samesite="strict",
        path=PREFIX,
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request, context: ContextDep) -> Response:
    refused = _refusal(request, context, (await _form(request)).get("csrf", ""))
    if refused is not None:
        return refused
    response = RedirectResponse(PREFIX + "/", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(auth.SESSION_COOKIE, path=PREFIX)
    return response


async def _done(request: Request, context: UiContext, title: str, message: str) -> HTMLResponse:
    if context.on_alias_moved is not None:
        await run_in_threadpool(context.on_alias_moved)
    return page(request, context, "done.html", title=title, message=message)


@router.post("/versions/{label}/promote")
async def promote(request: Request, context: ContextDep, label: str) -> Response:
    form = await _form(request)
    refused = _refusal(request, context, form.get("csrf", ""))
    if refused is not None:
        return refused
    given, force = form.get("reason", "").strip(), form.get("force") == "true"
    try:  # a forced promotion keeps its reason as given: promote() refuses an empty one
        done = await run_in_threadpool(
            promote_version,
            context.registry,
            label,
            reason=given if force else given or "promoted from the dashboard",
            command="POST /ui promote" + (" force" if force else ""),
            alias=context.alias,
            force=force,
        )
    except NotFound as error:
        return error_page(request, context, 404, "Not found", error)
    except LifelongError as error:
        return error_page(request, context, 409, "Promotion refused", error)
    if done.move is None:
        message = f"{context.alias} already is {done.version}: nothing changed"
    else:
        kind = " (forced: recorded as overriding the gate)" if done.move.kind == "forced" else ""
        message = f"{context.alias} moved from {done.previous or '-'} to {done.version}{kind}"
    return await _done(request, context, "Promoted", message)


@router.post("/rollback")
async def rollback(request: Request, context: ContextDep) -> Response:
    form = await _form(request)
    refused = _refusal(request, context, form.get("csrf", ""))
    if refused is not None:
        return refused
    try:
        move = await run_in_threadpool(
            context.registry.rollback,
            context.alias,
            reason=form.get("reason", "").strip() or "rolled back from the dashboard",
            command="POST /ui rollback",
        )
    except LifelongError as error:
        return error_page(request, context, 409, "Rollback refused", error)
    message = f"{context.alias} rolled back from {move.from_version} to {move.to_version}"
    return await _done(request, context, "Rolled back", message)
