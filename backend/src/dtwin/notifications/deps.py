"""Dependencies of the notifications routes: one NotificationService per request, on the request's
session, with the process's clock and the local dispatcher's wake-up (from the outbox the lifespan built,
`app.state.notice_outbox`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dtwin.core.deps import SessionDep
from dtwin.notifications.service import NotificationOutbox, NotificationService


def get_notification_service(request: Request, session: SessionDep) -> NotificationService:
    outbox: NotificationOutbox | None = getattr(request.app.state, "notice_outbox", None)
    if outbox is None:
        return NotificationService(session)
    return NotificationService(session, clock=outbox.clock, on_change=outbox.on_enqueued)


NotificationServiceDep = Annotated[NotificationService, Depends(get_notification_service)]
