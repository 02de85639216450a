"""The analytics room's request dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dtwin.anomalies.service import AnomalyHistory, LiveAnalytics
from dtwin.core.deps import AdaptersDep, SessionDep


def get_anomaly_history(session: SessionDep) -> AnomalyHistory:
    return AnomalyHistory(session)


def get_live_analytics(adapters: AdaptersDep) -> LiveAnalytics:
    return LiveAnalytics(adapters.redis, adapters.keys)


AnomalyHistoryDep = Annotated[AnomalyHistory, Depends(get_anomaly_history)]
LiveAnalyticsDep = Annotated[LiveAnalytics, Depends(get_live_analytics)]
