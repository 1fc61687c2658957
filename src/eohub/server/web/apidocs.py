"""``/docs``: the API's interactive documentation (Swagger UI) from files shipped in the package.

FastAPI's own ``/docs`` loads Swagger UI from a CDN, which is a blank page offline. This is the same page
(:func:`fastapi.openapi.docs.get_swagger_ui_html`) with ``swagger-ui-bundle.js`` and ``swagger-ui.css``
served from ``static/swagger-ui/`` (swagger-ui-dist, Apache-2.0; its licence files and ``SOURCE.md`` are
beside them) at ``/docs/assets/…``. The page's one inline script, which starts Swagger UI, is allowed by
its SHA-256 in the page's own Content-Security-Policy; the other pages keep theirs (no inline script).
Swagger UI's online validator is off, so the page never sends the API's address elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from eohub.server.web.pages import HEADERS, error_page

VERSION = "5.35.0"  # swagger-ui-dist, see static/swagger-ui/SOURCE.md
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
FOLDER = resources.files("eohub.server.web").joinpath("static", "swagger-ui")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(html: str) -> str:
    """The docs page's policy: scripts from the hub plus the page's inline scripts by hash, and requests
    (``Try it out``) to the hub only."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def docs_router(openapi_url: str, title: str) -> APIRouter:
    """``/docs`` (the page) and ``/docs/assets/{name}`` (Swagger UI's script and stylesheet)."""
    router = APIRouter(prefix="/docs", include_in_schema=False)
    html = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} — API docs",
        swagger_js_url=f"/docs/assets/swagger-ui-bundle.js?v={VERSION}",
        swagger_css_url=f"/docs/assets/swagger-ui.css?v={VERSION}",
        swagger_favicon_url="/favicon.ico",
        swagger_ui_parameters={"validatorUrl": None},
    ).body.decode()
    headers = {**HEADERS, "Content-Security-Policy": content_security_policy(html)}

    @router.get("")
    def docs() -> Response:
        return HTMLResponse(html, headers=headers)

    @router.get("/assets/{name}")
    def asset(request: Request, name: str) -> Response:
        if name not in ASSETS:
            return error_page(request, 404, f"there is no file /docs/assets/{name}")
        cache = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
        return Response(FOLDER.joinpath(name).read_bytes(), media_type=ASSETS[name], headers=cache)

    return router
