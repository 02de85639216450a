"""Dependencies of the audit routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dtwin.audit.service import AuditService
from dtwin.core.deps import SessionDep


def get_audit_service(session: SessionDep) -> AuditService:
    return AuditService(session)


AuditServiceDep = Annotated[AuditService, Depends(get_audit_service)]
