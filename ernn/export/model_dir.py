"""The one reader of a model directory written by ``ernn export`` (every command that takes ``--model``).

:class:`ModelDirectory` checks what a directory claims before anything is computed from it:

* ``config.json`` exists, is JSON, and is an ``ernn-model`` of the version this toolkit writes;
* every file it lists exists and matches its recorded SHA-256 (the error names the changed file);
* the model shape (:class:`~ernn.shape.ModelShape`) and the number formats parse (errors name the file).

It also resolves the data set the model was trained on (:meth:`ModelDirectory.dataset`): the training
run's own files, found through the run directory recorded at export time (absolute, or relative to the
directory export ran in or to the model directory's parent); the embedded JapaneseVowels data only when the
run used it. Data whose normalisation statistics differ from the model's are refused: a model is never
scored on other data than its own without saying so.

Heavier views build on it: ``ernn.export.writer.ExportedModel`` (golden network and host head) and the
RTL driver (``ernn.sim.rtl``), which needs the shape, the data word and the hardware section only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ernn import data
from ernn.golden.formats import NumericsConfig
from ernn.shape import ModelShape

FORMAT_NAME = "ernn-model"
#: v2: the ``hardware`` section (RTL memory images, lanes, cycle model); v3: the PE job table in
#: ``ernn_params.vh`` (ERNN_JOB_TABLE, ernn.export.schedule): a v2 directory must be exported again
FORMAT_VERSION = 3
CONFIG = "config.json"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ModelDirectory:
    """A model directory, its config checked and (``verify``) every listed file's checksum verified."""

    def __init__(self, path: str | Path, *, verify: bool = True) -> None:
        self.dir = Path(path)
        self.config_path = cfg_path = self.dir / CONFIG
        if not cfg_path.is_file():
            raise FileNotFoundError(
                f"{cfg_path} does not exist: is {self.dir} a directory written by 'ernn export'?"
            )
        try:
            self.config: dict[str, Any] = json.loads(cfg_path.read_text())
        except ValueError as exc:
            raise ValueError(f"{cfg_path}: not valid JSON ({exc})") from exc
        if not isinstance(self.config, dict) or (
            self.config.get("format"),
            self.config.get("version"),
        ) != (FORMAT_NAME, FORMAT_VERSION):
            raise ValueError(
                f"{cfg_path}: not an {FORMAT_NAME} v{FORMAT_VERSION} config (a directory from an older export "
                "must be exported again with 'ernn export --force')"
            )
        for key in ("model", "numerics", "data", "files"):
            if key not in self.config:
                raise ValueError(f"{cfg_path}: missing section {key!r}")
        files = self.config["files"]
        if not isinstance(files, dict) or not files:
            raise ValueError(f"{cfg_path}: 'files' must list the exported files with their SHA-256")
        for name in files:
            # a listed name is a path inside the directory, never outside it
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise ValueError(f"{cfg_path}: listed file {name!r} is not inside {self.dir}")
            if not (self.dir / name).is_file():
                raise FileNotFoundError(f"{self.dir / name} is listed in {cfg_path} but missing")
        if verify:
            self.verify()
        try:
            self.shape = ModelShape.from_dict(self.config["model"], where=f"{cfg_path} 'model'")
            self.numerics = NumericsConfig.from_dict(self.config["numerics"])
        except ValueError as exc:
            raise ValueError(f"{cfg_path}: {exc}") from exc

    def verify(self, names: list[str] | None = None) -> None:
        """Check the listed files (all, or ``names``) against their recorded SHA-256."""
        files = self.config["files"]
        for name in files if names is None else names:
            if name not in files:
                raise ValueError(f"{self.dir / name} is not listed in {self.config_path}")
            if sha256(self.dir / name) != files[name]:
                raise ValueError(
                    f"{self.dir / name} does not match the checksum recorded in {self.config_path}: "
                    "the file was changed"
                )

    # -- views ----------------------------------------------------------------------------------------
    @property
    def task(self) -> str:
        return self.config["data"]["task"]

    @property
    def hardware(self) -> dict[str, Any]:
        """The RTL section (lanes, memories, cycle model); ValueError for an export that predates it."""
        if "hardware" not in self.config:
            raise ValueError(
                f"{self.config_path} has no 'hardware' section: the model was exported before the RTL "
                "layout existed; export it again (ernn export --lanes P)"
            )
        return self.config["hardware"]

    @property
    def data_word(self) -> int:
        return self.numerics.data.word

    # -- the model's data set ---------------------------------------------------------------------
    def run_dir(self) -> Path | None:
        """The training run this model was exported from, if it can still be found."""
        source = Path(self.config.get("source_run", ""))
        if not str(source):
            return None
        candidates = [source] if source.is_absolute() else [source, self.dir.parent / source]
        for cand in candidates:
            if (cand / CONFIG).is_file():
                return cand
        return None

    def dataset(self) -> data.Dataset:
        """The data set the model was trained on, checked against the model's normalisation statistics."""
        run = self.run_dir()
        recorded = self.config["data"]
        if run is not None:
            tcfg = json.loads((run / CONFIG).read_text()).get("train", {})
            train, test = tcfg.get("train_file"), tcfg.get("test_file")
        elif recorded.get("name") == "JapaneseVowels":
            train = test = None
        else:
            raise FileNotFoundError(
                f"{self.config_path}: the model was trained on {recorded.get('name')!r} from the run "
                f"{self.config.get('source_run')!r}, which cannot be found from here; run the command from "
                "the folder export ran in, or keep the run directory beside the model directory"
            )
        ds = data.load_recorded(recorded, train, test, owner=self.dir)
        if ds.num_features != self.shape.input_size:
            raise ValueError(
                f"{self.config_path}: the model takes {self.shape.input_size} features, its data {ds.num_features}"
            )
        return ds
