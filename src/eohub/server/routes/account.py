"""``/api/whoami``: who the token belongs to (what ``eohub auth login`` checks)."""

from __future__ import annotations

from fastapi import APIRouter

from eohub.server.context import SignedIn

router = APIRouter(prefix="/api", tags=["account"])


@router.get("/whoami", summary="The account of the API token sent")
def whoami(caller: SignedIn) -> dict[str, object]:
    return {"name": caller.name, "admin": caller.admin}
