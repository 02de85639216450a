"""Imports every model so Alembic and metadata.create_all know all tables."""

from dtwin.alarms.models import AlarmEventRow, AlarmRow, AlarmRuleRow
from dtwin.anomalies.models import AnomalyEventRow, DecisionRow
from dtwin.audit.models import AuditRow
from dtwin.auth.models import ApiKeyRow, RefreshTokenRow, UserRow
from dtwin.core.db import Base
from dtwin.data_quality.models import ClockOffsetRow, DataGapRow, DataQualityCountRow
from dtwin.energy.models import TariffRow, TariffVersionRow
from dtwin.lifecycle.models import ArchivedDayRow
from dtwin.machine_types.models import MachineTypeRow
from dtwin.notifications.models import NotificationOutboxRow, NotificationRouteRow
from dtwin.readings.models import ReadingRow
from dtwin.reports.models import ReportDefinitionRow, ReportRunRow
from dtwin.twins.models import TwinEventRow, TwinRow

__all__ = [
    "AlarmEventRow",
    "AlarmRow",
    "AlarmRuleRow",
    "AnomalyEventRow",
    "ApiKeyRow",
    "ArchivedDayRow",
    "AuditRow",
    "Base",
    "ClockOffsetRow",
    "DataGapRow",
    "DataQualityCountRow",
    "DecisionRow",
    "MachineTypeRow",
    "NotificationOutboxRow",
    "NotificationRouteRow",
    "ReadingRow",
    "RefreshTokenRow",
    "ReportDefinitionRow",
    "ReportRunRow",
    "TariffRow",
    "TariffVersionRow",
    "TwinEventRow",
    "TwinRow",
    "UserRow",
]
