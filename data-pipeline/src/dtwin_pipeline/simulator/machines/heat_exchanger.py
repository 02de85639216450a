"""Counter-flow shell-and-tube heat exchanger (effectiveness-NTU): fouling lowers the heat-transfer
coefficient (hot outlet rises, duty falls) and raises the pressure drop; the hot outlet lags with the
fluid's thermal mass. No rotating parts, so no vibration, wear, misalignment or seizure."""

from __future__ import annotations

import numpy as np

from dtwin_pipeline.simulator.machines.base import F, MachineType, State

KW_PER_K_PER_M3_H = 1.161  # water: 1000/3600 kg/s x 4.18 kJ/(kg K)


def _flows(s: State) -> tuple[F, F]:
    hot = s.run * (30.0 + 60.0 * s.load) * (1.0 - 0.3 * s.leak)
    cold = s.run * s.sp["cold_flow_setpoint_m3_h"]
    return hot, cold


def _inlets(s: State) -> tuple[F, F]:
    return 85.0 + 8.0 * np.minimum(s.load, 1.0), 20.0 + 0.3 * (s.ambient - 22.0)


def _heat(s: State) -> F:
    """Steady-state hot outlet temperature."""
    hot, cold = _flows(s)
    th, tc = _inlets(s)
    ch = np.maximum(hot * KW_PER_K_PER_M3_H, 1e-6)
    cc = np.maximum(cold * KW_PER_K_PER_M3_H, 1e-6)
    cmin, cmax = np.minimum(ch, cc), np.maximum(ch, cc)
    cr = np.minimum(cmin / cmax, 0.999)
    ua = 90.0 * (1.0 - 0.6 * s.fouling) * (np.maximum(hot, 1e-6) / 60.0) ** 0.3
    ntu = ua / cmin
    e = np.exp(-ntu * (1.0 - cr))
    eff = (1.0 - e) / (1.0 - cr * e)
    duty = eff * cmin * (th - tc)
    return th - duty / ch


def _physics(s: State) -> dict[str, F]:
    hot, cold = _flows(s)
    th, tc = _inlets(s)
    ch = hot * KW_PER_K_PER_M3_H
    cc = np.maximum(cold * KW_PER_K_PER_M3_H, 1e-6)
    hot_out = np.minimum(s.temp, th)
    duty = ch * (th - hot_out)
    return {
        "hot_inlet_temperature_c": th,
        "hot_outlet_temperature_c": hot_out,
        "cold_inlet_temperature_c": tc,
        "cold_outlet_temperature_c": tc + np.minimum(duty / cc, th - tc),
        "hot_flow_m3_h": hot,
        "cold_flow_m3_h": cold,
        "pressure_drop_bar": 0.5 * (hot / 60.0) ** 2 * (1.0 + 2.5 * s.fouling),
        "duty_kw": duty,
    }


HEAT_EXCHANGER = MachineType.from_catalogue(
    "heat_exchanger",
    prefix="hx",
    noise={
        "hot_inlet_temperature_c": (0.1, None),
        "hot_outlet_temperature_c": (0.1, None),
        "cold_inlet_temperature_c": (0.1, None),
        "cold_outlet_temperature_c": (0.1, None),
        "hot_flow_m3_h": 0.5,
        "cold_flow_m3_h": 0.5,
        "pressure_drop_bar": 0.005,
        "duty_kw": 15.0,
    },
    physics=_physics,
    heat=_heat,
    thermal_tau_s=300.0,
    faults=frozenset({"fouling", "leak"}),
)
