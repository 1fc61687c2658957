"""The hub's web pages, served by ``eohub serve`` at ``/`` next to the API.

Server-side Jinja2 templates over the same repository the API uses, so access rules are the repository's:
search (:mod:`eohub.repository.search`), model and dataset pages (:mod:`.views`, :mod:`.card`,
:mod:`.footprints`, :mod:`.markdown`), version diffs (:mod:`.compare`), sign-in with an API token kept in
an HttpOnly cookie. Pages read without JavaScript; ``static/enhance.js`` only adds copy buttons.
"""

from __future__ import annotations

from eohub.server.web.routes import router

__all__ = ["router"]
