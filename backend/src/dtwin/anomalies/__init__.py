"""Anomaly scoring: streaming per-sensor detectors, per-type multivariate models, machine health and RUL,
correlation breaks and operating-strategy decisions. `ScoringEngine` is the entry point."""

from dtwin.anomalies.decisions import Decision, DecisionConfig
from dtwin.anomalies.detectors import DetectorConfig
from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.model_store import FileModelStore, ModelStore
from dtwin.anomalies.results import (
    AnomalyEvent,
    BatchScores,
    Contribution,
    CorrelationBreak,
    CorrelationReport,
    MachineHealth,
    MachineResult,
    MachineScores,
    RulEstimate,
)
from dtwin.anomalies.type_model import TrainingJob, TrainingPolicy, TypeModel, fit_model

__all__ = [
    "AnomalyEvent",
    "BatchScores",
    "Contribution",
    "CorrelationBreak",
    "CorrelationReport",
    "Decision",
    "DecisionConfig",
    "DetectorConfig",
    "EngineConfig",
    "FileModelStore",
    "MachineHealth",
    "MachineResult",
    "MachineScores",
    "ModelStore",
    "RulEstimate",
    "ScoringEngine",
    "TrainingJob",
    "TrainingPolicy",
    "TypeModel",
    "fit_model",
]
