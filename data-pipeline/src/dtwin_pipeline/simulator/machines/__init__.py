"""Machine types, one module per type: the catalogue's sensors (dtwin.contracts.catalogue: units and normal
ranges) with their measurement noise, accepted settings and coupled physics. `MACHINE_TYPES` keeps the
catalogue's order (the first five are the original types)."""

from __future__ import annotations

from dtwin.contracts.catalogue import MODES
from dtwin_pipeline.simulator.machines.air_compressor import AIR_COMPRESSOR
from dtwin_pipeline.simulator.machines.base import MachineType, Sensor, Setting, State
from dtwin_pipeline.simulator.machines.boiler import BOILER
from dtwin_pipeline.simulator.machines.centrifugal_pump import CENTRIFUGAL_PUMP
from dtwin_pipeline.simulator.machines.chiller import CHILLER
from dtwin_pipeline.simulator.machines.cnc_mill import CNC_MILL
from dtwin_pipeline.simulator.machines.conveyor import CONVEYOR
from dtwin_pipeline.simulator.machines.energy_meter import ENERGY_METER
from dtwin_pipeline.simulator.machines.gearbox import GEARBOX
from dtwin_pipeline.simulator.machines.heat_exchanger import HEAT_EXCHANGER
from dtwin_pipeline.simulator.machines.hydraulic_press import HYDRAULIC_PRESS
from dtwin_pipeline.simulator.machines.induction_motor import INDUCTION_MOTOR
from dtwin_pipeline.simulator.machines.industrial_fan import INDUSTRIAL_FAN
from dtwin_pipeline.simulator.machines.injection_moulding import INJECTION_MOULDING
from dtwin_pipeline.simulator.machines.packaging_machine import PACKAGING_MACHINE
from dtwin_pipeline.simulator.machines.reciprocating_compressor import RECIPROCATING_COMPRESSOR
from dtwin_pipeline.simulator.machines.robot_arm import ROBOT_ARM

MACHINE_TYPES: dict[str, MachineType] = {
    t.name: t
    for t in (
        CENTRIFUGAL_PUMP,
        RECIPROCATING_COMPRESSOR,
        INDUCTION_MOTOR,
        CNC_MILL,
        CONVEYOR,
        GEARBOX,
        HYDRAULIC_PRESS,
        INDUSTRIAL_FAN,
        BOILER,
        CHILLER,
        INJECTION_MOULDING,
        ROBOT_ARM,
        PACKAGING_MACHINE,
        AIR_COMPRESSOR,
        HEAT_EXCHANGER,
        ENERGY_METER,
    )
}

__all__ = ["MACHINE_TYPES", "MODES", "MachineType", "Sensor", "Setting", "State"]
