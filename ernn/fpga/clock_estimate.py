"""The clock a netlist's logic depth supports on a Kintex UltraScale -2, from published routed delays.

No Vivado runs here, so this turns the longest paths that :mod:`ernn.fpga.logic_depth` finds in a
``synth_xilinx`` netlist into nanoseconds with per-level figures taken from routed Vivado timing reports,
then scales them from the family those reports are of to the XCKU060's. It is an estimate with a
stated spread, not a timing sign-off; docs/performance.md ("Clock evidence", "What the depth supports")
gives the sources and their limits.

Per level, UltraScale+ speed grade -1 (Vivado 2021.2 routed setup paths of a Zynq UltraScale+ XCZU3EG at
a 5 ns clock, GitHub ``gussmith23/lakeroad-evaluation``, ``runs/2022-07-06-1704-full/vivado-eval/
xilinx-ultrascale-plus-vivado-eval/vivado-synth-opt-place-route/``):

* a LUT with its output net: 0.331 ns, the mean of the 13 LUT levels of ``lpm.futil-ultrascale-timing-
  route.v`` (10 LUTs, 1.121 ns of cells and 2.075 ns of nets) and ``std-sdiv.futil-vanilla-timing-route.v``
  (3 LUTs, 1.109 ns with their nets);
* a MUXF7/8/9: 0.091 ns (0.082 ns of F7MUX and the 0.009 ns in-slice net before it,
  ``invoke-memory.futil-vanilla-timing-route.v``);
* a carry chain, rounded from the four chains of the two reports: about 0.23 ns into it (their first
  CARRY8: 0.196 to 0.250 ns), 0.053 ns per further stage (0.023 to 0.030 ns of cell, 0.028 ns of net),
  about 0.2 ns out (0.157 to 0.354 ns);
* the path's ends: clock to Q 0.093 ns and the first net 0.185 ns; setup 0.027 ns and clock uncertainty
  0.035 ns;
* a DSP stage (a register inside the slice on one side): the slice's period with every register used,
  1 / 645 MHz (DS925, DSP48 switching characteristics, -1). A slice used with no internal register is
  slower (338 MHz in the same table); the PE's multipliers keep ``MREG``, so paths end or start at one.

These reproduce the two reports' paths within +2.2 % and -12.1 % (:data:`SPREAD` takes the larger).

Scaling to Kintex UltraScale -2 (:data:`KU_MINUS2`): the same MicroBlaze closes at 463 MHz on Kintex
UltraScale's fastest grade and 661 MHz on Zynq UltraScale+'s (UG984, 0.70; MicroBlaze V in UG1629: 0.72),
and UltraScale+ -1 runs at 0.72 of its -3 (DS925, DSP F_MAX 645 / 891 MHz), so UltraScale+ -1 is about a
Kintex UltraScale -3; the step from -3 to -2 is taken as UltraScale+'s (DS925: 891 / 775 = 1.15), DS892
not being at hand.
"""

from __future__ import annotations

from typing import Any

#: ns per level kind on UltraScale+ -1, routed (module docstring)
LUT_NS = 0.331
MUXF_NS = 0.091
CARRY_IN_NS = 0.23
CARRY_STEP_NS = 0.053
CARRY_OUT_NS = 0.2
DSP_STAGE_NS = 1000.0 / 645.0
START_NS = 0.093 + 0.185
END_NS = 0.027 + 0.035
#: Kintex UltraScale -2 delay over UltraScale+ -1 delay
KU_MINUS2 = 891.0 / 775.0
#: the estimate's largest error on the reports it is built from, as a fraction (the sdiv path: -12.1 %)
SPREAD = 0.122

_CARRY = ("CARRY4", "CARRY8")


def carry_chains(path: dict[str, Any]) -> list[int]:
    """Lengths of the runs of consecutive carry stages along a ``logic_depth`` path (its cells in order,
    plus any carry stages inside its start or end cell, each a run of its own)."""
    runs: list[int] = []
    run = 0
    for cell in path["path"]:
        if cell["type"] in _CARRY:
            run += 1
        elif run:
            runs.append(run)
            run = 0
    if run:
        runs.append(run)
    for end in ("start", "end"):
        inside = path[end]["stages"]["carry"]
        if inside:
            runs.append(inside)
    return runs


def path_ns(path: dict[str, Any]) -> float:
    """The path's delay on UltraScale+ -1 by the per-level figures (ns)."""
    lv = path["levels"]
    chains = carry_chains(path)
    if sum(chains) != lv["carry"]:
        raise ValueError(f"path has {lv['carry']} carry stages but its cells hold {sum(chains)}")
    carry = sum(CARRY_IN_NS + CARRY_STEP_NS * (n - 1) + CARRY_OUT_NS for n in chains)
    return START_NS + LUT_NS * lv["lut"] + MUXF_NS * lv["muxf"] + carry + DSP_STAGE_NS * lv["dsp"] + END_NS


def estimate(depth: dict[str, Any]) -> dict[str, Any] | None:
    """The clock a ``logic_depth`` report's longest paths support on a Kintex UltraScale -2.

    Every longest path of the report (by LUT levels, by logic levels, through a DSP) is priced; the
    slowest sets the clock. ``mhz`` is the estimate, ``mhz_low`` the clock if the estimate is :data:`SPREAD`
    short of the real delay, as on the sdiv report.
    None when the netlist has no register-to-register path.
    """
    if depth.get("lut_levels") is None:
        return None
    paths = {}
    for key in ("longest_by_lut", "longest_by_logic", "longest_through_dsp"):
        if key in depth:
            us_plus = path_ns(depth[key])
            paths[key] = {
                "ultrascale_plus_m1_ns": round(us_plus, 3),
                "kintex_us_m2_ns": round(us_plus * KU_MINUS2, 3),
            }
    worst = max(p["kintex_us_m2_ns"] for p in paths.values())
    return {
        "device": "Kintex UltraScale -2 (from UltraScale+ -1 routed paths, docs/performance.md)",
        "paths": paths,
        "ns": worst,
        "mhz": round(1000.0 / worst, 1),
        "mhz_low": round(1000.0 * (1 - SPREAD) / worst, 1),
    }


def summary_line(est: dict[str, Any] | None) -> str:
    """One line for the terminal."""
    if est is None:
        return "clock estimate: no register-to-register path"
    return (
        f"clock the depth supports on a Kintex UltraScale -2 (estimate from published routed delays): "
        f"{est['mhz_low']:.0f} to {est['mhz']:.0f} MHz ({est['ns']:.2f} ns on the slowest longest path)"
    )
