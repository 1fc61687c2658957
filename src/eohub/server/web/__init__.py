"""The hub's web pages, served by ``eohub serve`` at ``/`` next to the API.

Server-side Jinja2 templates over the same repository the API uses, so access rules are the repository's:
search (:mod:`eohub.repository.search`), model and dataset pages (:mod:`.views`, :mod:`.card`,
:mod:`.footprints`, :mod:`.markdown`), version diffs (:mod:`.compare`), sign-in with an API token kept in
an HttpOnly cookie, the model page's "Run" form and job pages (:mod:`.jobs`). Pages read without JavaScript;
``static/enhance.js`` only adds copy buttons, ``static/job.js`` follows a job.
"""

from __future__ import annotations

from eohub.server.web.jobs import router as _jobs_pages
from eohub.server.web.jobs import state_router as _job_states
from eohub.server.web.routes import router

router.include_router(_jobs_pages)  # the "Run" form's target and the job pages (/jobs/{id})
router.include_router(_job_states)

__all__ = ["router"]
