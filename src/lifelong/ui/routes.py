"""The dashboard's pages (GET) and actions (POST), under ``/ui``.

Pages read the registry and answer HTML; a registry refusal (unknown version, stale verdict)
becomes an error page with the registry's message and hint, an empty store a page saying what
to run first. Actions go through :mod:`lifelong.ui.actions`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from lifelong.core.errors import NotFound
from lifelong.ui import actions, static
from lifelong.ui.context import ContextDep, UiContext
from lifelong.ui.lineage_view import layout, rejected
from lifelong.ui.monitoring_view import monitoring, window
from lifelong.ui.render import PREFIX, error_page, page
from lifelong.ui.version_view import compare_rows, metric_line, version_page

router = APIRouter(prefix=PREFIX, include_in_schema=False)
router.include_router(actions.router)
router.include_router(static.router)


def _empty(request: Request, context: UiContext) -> HTMLResponse:
    """The page of a store without versions: what to run first."""
    return page(request, context, "empty.html", title="No models yet")


@router.get("/", response_class=HTMLResponse)
@router.get("/lineage", response_class=HTMLResponse)
def lineage(
    request: Request, context: ContextDep, page_: Annotated[int, Query(alias="page")] = 1
) -> HTMLResponse:
    """Every version as a graph (paged), aliases marked, rejected versions crossed."""
    versions = context.registry.versions(include_deleted=True)
    if not versions:
        return _empty(request, context)
    aliases = context.registry.store.aliases()
    view = layout(versions, aliases, page_)
    cycles = context.registry.store.list_cycles(limit=1)
    return page(
        request,
        context,
        "lineage.html",
        title="Lineage",
        view=view,
        aliases=aliases,
        last_cycle=cycles[-1] if cycles else None,
    )


@router.get("/versions/{label}", response_class=HTMLResponse)
def version(request: Request, context: ContextDep, label: str) -> HTMLResponse:
    """One version: config, data diff, metrics, per-intent deltas, confusion, verdict."""
    try:
        view = version_page(context.registry, label, context.alias)
    except NotFound as error:
        return error_page(request, context, 404, "Not found", error)
    return page(
        request,
        context,
        "version.html",
        title=f"Version {view.version.label}",
        v=view,
        rejected=rejected(view.version),
    )


@router.get("/metrics", response_class=HTMLResponse)
def metrics(request: Request, context: ContextDep, line: str | None = None) -> HTMLResponse:
    """Accuracy, macro-F1 and forgetting along a line of versions, promotions marked."""
    versions = context.registry.versions()
    if not versions:
        return _empty(request, context)
    champion = context.registry.store.aliases().get(context.alias)
    chosen = line or champion or versions[-1].label
    try:
        view = metric_line(versions, context.registry.store.alias_history(), chosen, context.alias)
    except (NotFound, ValueError) as error:
        return error_page(request, context, 404, "Not found", str(getattr(error, "message", error)))
    return page(
        request,
        context,
        "metrics.html",
        title="Metrics over versions",
        view=view,
        line=chosen,
        majors=sorted({v.major for v in versions}),
        champion=champion,
    )


@router.get("/compare", response_class=HTMLResponse)
def compare(
    request: Request,
    context: ContextDep,
    a: str | None = None,
    b: str | None = None,
    diff: bool = True,
) -> HTMLResponse:
    """Two versions side by side, every recorded field, differences only by default."""
    versions = context.registry.versions(include_deleted=True)
    if not versions:
        return _empty(request, context)
    labels = [v.label for v in versions]
    try:
        left = context.registry.store.get_version(a or versions[-1].parent or labels[0])
        right = context.registry.store.get_version(b or labels[-1])
    except NotFound as error:
        return error_page(request, context, 404, "Not found", error)
    return page(
        request,
        context,
        "compare.html",
        title=f"Compare {left.label} and {right.label}",
        left=left,
        right=right,
        rows=compare_rows(left, right, diff),
        diff=diff,
        labels=labels,
    )


@router.get("/cycles", response_class=HTMLResponse)
def cycles(
    request: Request, context: ContextDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> HTMLResponse:
    """The loop's history, newest first: trigger figures, what trained, the outcome."""
    found = context.registry.store.list_cycles(limit=limit)
    trained = {label for cycle in found for label in cycle.versions}
    verdicts = {
        v.label: v.verdict for v in context.registry.versions() if v.label in trained and v.verdict
    }
    return page(
        request,
        context,
        "cycles.html",
        title="Cycles",
        cycles=found[::-1],
        limit=limit,
        verdicts=verdicts,
    )


@router.get("/monitoring", response_class=HTMLResponse)
def monitoring_page(
    request: Request,
    context: ContextDep,
    days: Annotated[float, Query(gt=0, le=3650)] = 7.0,
    rows: Annotated[int, Query(ge=100, le=1_000_000)] = 100_000,
) -> HTMLResponse:
    """Served traffic, confidences, drift, feedback accuracy, shadow agreement."""
    span = window(context.registry, days, rows)
    view = None
    if span is not None:
        view = monitoring(context.registry, span, context.alias, context.feedback_log)
    return page(request, context, "monitoring.html", title="Monitoring", view=view)


@router.get("/{path:path}", response_class=HTMLResponse)
def unknown(request: Request, context: ContextDep, path: str) -> HTMLResponse:
    """Any other address under the dashboard: a 404 page with the way back."""
    return error_page(
        request, context, 404, "Not found", f"the dashboard has no page {PREFIX}/{path}"
    )
