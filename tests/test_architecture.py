"""The layout's rules, checked on the source (docs/architecture.md): stage folders import each other in
one direction only, no module imports itself back through others, and every registered structure
implements every stage's side of the seam."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from ernn import paths
from ernn.shape import structures

ROOT = Path(__file__).resolve().parents[1]

#: stage folders bottom-up; a stage may import only stages listed before it (and itself)
STAGES = [
    "paths",
    "files",
    "shape",
    "data",
    "golden",
    "train",
    "export",
    "fpga",
    "sim",
    "verify",
    "dse",
    "cli",
]


def _module_name(path: Path) -> str:
    if path.is_relative_to(ROOT / "golden"):
        rel = ["ernn", "golden", *path.relative_to(ROOT / "golden").with_suffix("").parts]
    else:
        rel = list(path.relative_to(ROOT).with_suffix("").parts)
    if rel[-1] == "__init__":
        rel = rel[:-1]
    return ".".join(rel)


def _sources() -> dict[str, Path]:
    files = [*(ROOT / "ernn").rglob("*.py"), *(ROOT / "golden").rglob("*.py")]
    return {_module_name(p): p for p in files}


def _imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """Every ernn module ``name`` imports (top level or inside functions), resolved to a module."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name and t.startswith("ernn"):
                found.add(t)
    return found


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "root"


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    src = _sources()
    mods = set(src)
    return {m: _imports(m, p, mods) for m, p in src.items()}


def test_every_module_belongs_to_a_stage(graph):
    assert {_stage(m) for m in graph} <= {*STAGES, "root"}


def test_stages_import_downwards_only(graph):
    order = {s: i for i, s in enumerate(STAGES)}
    bad = []
    for mod, deps in graph.items():
        s = _stage(mod)
        if s == "root":  # ernn/__init__.py: lazy re-exports of ernn.train.models
            continue
        for dep in deps:
            d = _stage(dep)
            if d != "root" and order[d] > order[s]:
                bad.append(f"{mod} ({s}) imports {dep} ({d})")
    assert not bad, "upward imports:\n" + "\n".join(sorted(bad))


def test_no_import_cycles(graph):
    """No module reaches itself through its imports (inside a stage or across stages)."""
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for dep in graph.get(node, ()):
                if dep == start and _stage(start) != "root":
                    cycles.append(" -> ".join([*trail, dep]))
                elif dep not in seen:
                    seen.add(dep)
                    stack.append((dep, [*trail, dep]))
    assert not cycles, "\n".join(cycles[:10])


INTERFACES = {
    "train": "ernn.train.structure",
    "golden": "ernn.golden.structure",
    "export": "ernn.export.structure",
    "cost": "ernn.dse.structure",
}


@pytest.mark.parametrize("name", sorted(structures.registry))
def test_registered_structures_implement_their_stages(name):
    """Every stage a structure lists provides the interface's functions with its parameter names; a
    structure that lists every stage names an engine and a testbench that exist; one that does not (train
    only so far) has no engine, and asking for a missing stage is refused by name."""
    import importlib

    entry = structures.structure_entry(name)
    assert entry.name == name and entry.params.name == name
    assert set(structures.STAGES) == set(INTERFACES)
    assert "train" in entry.stages and set(entry.stages) <= set(structures.STAGES)
    for stage, interface in INTERFACES.items():
        if stage not in entry.stages:
            with pytest.raises(ValueError, match=f"structure '{name}' has no {stage} stage yet"):
                structures.implementation(name, stage)
            continue
        iface = importlib.import_module(interface)
        impl = structures.implementation(name, stage)
        for fn in iface.FUNCTIONS:
            assert callable(getattr(impl, fn, None)), f"{impl.__name__} lacks {fn} ({interface})"
        proto = next(
            (c for _, c in inspect.getmembers(iface, inspect.isclass) if c.__module__ == interface), None
        )
        if proto is not None:  # the Protocol's parameter names are the contract
            for fn in iface.FUNCTIONS:
                want = [p for p in inspect.signature(getattr(proto, fn)).parameters if p != "self"]
                got = list(inspect.signature(getattr(impl, fn)).parameters)
                assert got == want, f"{impl.__name__}.{fn}{got} != {interface}.{fn}{want}"
    if entry.complete:
        assert (paths.rtl_dir() / f"{entry.engine}.v").is_file()
        assert (ROOT / entry.testbench).is_dir()
    else:
        assert entry.engine is None and entry.testbench is None
        assert entry.missing() == [s for s in structures.STAGES if s not in entry.stages] + ["engine"]


def test_circulant_runs_through_every_stage():
    entry = structures.structure_entry("circulant")
    assert entry.complete and set(entry.stages) == set(structures.STAGES)
    assert (paths.rtl_dir() / f"{entry.engine}.v").is_file() and (ROOT / entry.testbench).is_dir()


def test_train_only_structures_are_named_where_a_stage_is_missing():
    entry = structures.structure_entry("sparse")
    assert set(entry.stages) == {"train"} and not entry.complete
    with pytest.raises(ValueError, match=r"'sparse' has no golden stage yet: only train is implemented"):
        structures.implementation("sparse", "golden")
    # CSB has every stage and runs on ernn_top (the CSB unit where the circulant PE is)
    entry = structures.structure_entry("csb")
    assert entry.complete and entry.missing() == [] and entry.engine == "ernn_top"
    assert (ROOT / entry.testbench / "test_ernn_top_csb.py").is_file()


def test_unknown_structure_and_stage_are_named():
    with pytest.raises(ValueError, match="structure must be one of circulant, csb, sparse, tt"):
        structures.implementation("kronecker", "train")
    with pytest.raises(ValueError, match="stage must be one of train, golden, export, cost"):
        structures.implementation("circulant", "rtl")


def test_every_package_folder_is_in_the_wheel():
    """pyproject.toml lists the packages explicitly (golden/ and the HDL folders are mapped): a new stage
    folder that is not listed would be missing from a non-editable install."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"ernn", *("ernn." + p.parent.name for p in (ROOT / "ernn").glob("*/__init__.py"))}
    assert folders | {"ernn.golden"} <= listed, sorted(folders - listed)
