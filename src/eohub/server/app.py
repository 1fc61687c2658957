"""``create_app(settings)``: the hub's FastAPI application.

One :class:`~eohub.server.context.HubContext` (database, blob store, upload area) lives for the app's
lifetime; routers per resource are mounted on it, behind two ASGI middlewares: body bounds
(:mod:`eohub.server.limits`) and HEAD on every GET route (:mod:`eohub.server.head`). The API docs at
``/docs`` are Swagger UI from files in the package (:mod:`eohub.server.web.apidocs`), never from a CDN.
``eohub serve`` runs it with uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from eohub import __version__
from eohub.config import Settings, load_settings
from eohub.jobs.runner import JobRunner
from eohub.server import errors, web
from eohub.server.context import HubContext
from eohub.server.head import HeadAsGet
from eohub.server.limits import BodyLimits
from eohub.server.routes import account, blobs, jobs, repositories, upload_batch
from eohub.server.stac.routes import router as stac_router
from eohub.server.web.apidocs import docs_router
from eohub.server.web.pages import error_page


def create_app(settings: Settings | None = None, context: HubContext | None = None) -> FastAPI:
    """The hub app on ``settings`` (the environment by default), or on an already open ``context``."""
    hub = context or HubContext.open(settings or load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = JobRunner(hub).start()  # prediction jobs (eohub.jobs); stopping it closes the Dask cluster
        yield
        runner.stop()
        hub.close()

    app = FastAPI(
        title="eohub",
        version=__version__,
        description="An open hub for Earth-observation datasets and ML models (STAC + MLM).",
        lifespan=lifespan,
        docs_url=None,  # served from the package below, not from a CDN
        redoc_url=None,
    )
    app.state.hub = hub
    errors.install(app, page=error_page)
    app.add_middleware(BodyLimits, limits=hub.settings.limits, token_valid=hub.token_valid)
    app.add_middleware(HeadAsGet)
    for module in (account, blobs, upload_batch, jobs, repositories):  # fixed paths before {plural}/{name}
        app.include_router(module.router)
    app.include_router(stac_router)
    app.include_router(docs_router(app.openapi_url or "/openapi.json", app.title))
    app.include_router(web.router)  # the web pages: /, /models/…, /datasets/…, /signin, /static/…

    @app.get("/api", tags=["hub"], summary="What this hub is")
    def about() -> dict[str, str]:
        return {"name": "eohub", "version": __version__}

    return app
