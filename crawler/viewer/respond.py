"""How a page answers: HTML from a template or the same data as JSON; times shown in KST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

# Newsis prints its times in KST, and its readers live there.
KST = timezone(timedelta(hours=9))

# The viewer's own pages run no script at all, and load nothing from elsewhere but photos;
# frames only from the viewer (the as-captured page, sandboxed on its own).
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: http: data:; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)


def kst_iso(value: datetime | None) -> str | None:
    return value.astimezone(KST).isoformat() if value is not None else None


def kst_text(value: str | datetime | None) -> str:
    """An ISO time (or datetime) as a reader in Korea reads it: 2024-11-15 09:30 KST."""
    if value is None:
        return "-"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(KST).strftime("%Y-%m-%d %H:%M KST")


def kst_day(value: str | datetime | None) -> str:
    if value is None:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(KST).strftime("%m-%d %H:%M")


def wants_json(request: Request) -> bool:
    """?format=json, or an Accept header that names JSON and not HTML before it."""
    if request.query_params.get("format") == "json":
        return True
    accept = request.headers.get("accept", "")
    if "application/json" not in accept:
        return False
    html = accept.find("text/html")
    return html < 0 or accept.find("application/json") < html


def answer(request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
    """`data` as JSON when asked for, else rendered by `template` (which gets it as `data`)."""
    if wants_json(request):
        return JSONResponse(data, status_code=status)
    page = request.app.state.templates.get_template(template)
    html = page.render(data=data, path=request.url.path, query=request.query_params)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PAGE_POLICY})


async def error_page(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    data = {"error": error.detail, "status": error.status_code}
    return answer(request, "error.html", data, status=error.status_code)


def not_found(message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=message)


def bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)
