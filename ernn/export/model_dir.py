"""The one reader of a model directory written by ``ernn export`` (every command that takes ``--model``).

:class:`ModelDirectory` checks what a directory claims before anything is computed from it:

* ``ernn-manifest.json`` (:mod:`ernn.files.manifest`) lists every file of the model, ``config.json``
  included, with its SHA-256, and one digest over them all (the model's identity, :attr:`digest`): every
  file is re-hashed and a changed, missing or outside file is named;
* ``config.json`` is JSON and an ``ernn-model`` of the version this toolkit writes;
* the model shape (:class:`~ernn.shape.ModelShape`) and the number formats parse (errors name the file).

It also finds the test data the model was trained with (:meth:`ModelDirectory.test_split`): by the content
hash recorded at training time, at the recorded path or at ``--data`` (:mod:`ernn.data.provenance`); no
fallback to other data.

Heavier views build on it: ``ernn.export.writer.ExportedModel`` (golden network and host head) and the
RTL driver (``ernn.sim.rtl``), which needs the shape, the data word and the hardware section only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ernn import data
from ernn.data import provenance
from ernn.files import manifest
from ernn.golden.formats import NumericsConfig
from ernn.shape import ModelShape

FORMAT_NAME = "ernn-model"
#: v2: the ``hardware`` section (RTL memory images, lanes, cycle model); v3: the PE job table in
#: ``ernn_params.vh`` (ERNN_JOB_TABLE, ernn.export.schedule); v4: ``ernn-manifest.json`` covers every file
#: and config.json, and the data are recorded by content hash; v5: ``ERNN_N_IFFT`` in ``ernn_params.vh`` (the
#: PE's IFFTs side by side, ernn.export.schedule.n_ifft): an older directory must be exported again; v6:
#: ``ERNN_LAYER_SKEW`` (layers pipelined across steps, ernn.export.schedule.layer_skew); v7: ``ERNN_REAL_BINS``
#: (real MAC lanes for bins 0 and k/2, ernn.export.dsp_pack.real_bins); v8: ``ERNN_DSP_PACK`` (two weight
#: products per MAC multiply, ``ernn export --dsp-pack``); v9: a CSB model's group-array programs in one
#: set of images (``mem/csb_prog_*.mem``, one array for every job) and ``ERNN_CSB_RED_ROWS``; v10: those
#: images one word per MAC step with every group's fields in it (one read port, block RAM): a v9 model's
#: images would be read group by group and must be exported again; v11: a sum word per CSB job (the
#: ERNN_CSB_UNIT_TABLE field sum_w, ernn.golden.csb.sum_word): the unit of a v10 header has no such field;
#: v12: ``ERNN_INTERLEAVE`` (a slot's gate jobs before its projections, ernn.export.schedule.interleave),
#: which rtl/ernn_top.v reads: a v11 header has none; v13: ``ERNN_SPLIT`` (a job's last round split over two
#: lane groups, ernn.export.schedule.split, with its weight layout), which rtl/ernn_top.v reads; v14:
#: ``ERNN_GATE_FORWARD`` (the feeder reads a gate-buffer block as it is completed,
#: ernn.export.schedule.gate_forward), which rtl/ernn_top.v reads: a v13 header has none; v15:
#: ``ERNN_PROJ_ENGINE`` (the LSTM projection on the engine beside the PE, ernn.export.schedule.proj_engine,
#: with its weight image ``mem/proj_weights.mem``), which rtl/ernn_top.v reads: a v14 header has none
FORMAT_VERSION = 15
CONFIG = "config.json"
KIND = "model"
sha256 = manifest.sha256


class ModelDirectory:
    """A model directory, its config checked and (``verify``) every file checked against its manifest."""

    def __init__(self, path: str | Path, *, verify: bool = True) -> None:
        self.dir = Path(path)
        self.config_path = cfg_path = self.dir / CONFIG
        if not self.dir.is_dir():
            raise FileNotFoundError(
                f"{self.dir} does not exist or is not a folder: a model directory written by 'ernn export' was expected"
            )
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
        # the manifest is checked even without ``verify``: its file list is what the model is
        self.manifest = manifest.verify(self.dir, KIND) if verify else manifest.read(self.dir)
        if self.manifest is None or self.manifest.kind != KIND:
            raise ValueError(f"{self.dir} has no valid {manifest.MANIFEST} of a model directory")
        for key in ("model", "numerics", "data"):
            if key not in self.config:
                raise ValueError(f"{cfg_path}: missing section {key!r}")
        try:
            self.shape = ModelShape.from_dict(self.config["model"], where=f"{cfg_path} 'model'")
            self.numerics = NumericsConfig.from_dict(self.config["numerics"])
        except ValueError as exc:
            raise ValueError(f"{cfg_path}: {exc}") from exc

    @property
    def digest(self) -> str:
        """One SHA-256 over every file of the model (the manifest's digest): the model's identity."""
        return self.manifest.digest

    def verify(self) -> None:
        """Check every file against the manifest again (ManifestError names what differs)."""
        manifest.verify(self.dir, KIND)

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

    # -- the model's data ---------------------------------------------------------------------------
    def test_split(self, data_file: str | Path | None = None) -> tuple[data.Split, str]:
        """(the test split the model was trained with, where it was found); see
        :func:`ernn.data.provenance.test_split`."""
        split, where = provenance.test_split(self.config["data"], owner=self.dir, data_file=data_file)
        if split.x.shape[2] != self.shape.input_size:
            raise ValueError(
                f"{where}: {split.x.shape[2]} features per frame, the model {self.dir} takes {self.shape.input_size}"
            )
        return split, where
