"""The export stage's side of the structure seam: memory images, schedule and cycle model of an engine.

A structure's export module (registered under ``"export"``; block-circulant: :mod:`ernn.export.layout`)
provides:

* ``check_lanes(lanes)`` — the engine's parallelism, validated (ValueError names the allowed values);
* ``default_lanes(shape)`` — the parallelism ``ernn export`` picks when none is given;
* ``write_memories(net, mem_dir, lanes)`` — every ``$readmemh`` image the engine reads, written into
  ``mem_dir``; returns the hardware configuration (file list, depths) recorded in config.json;
* ``cycle_model(shape, lanes)`` — ideal and expected cycles per time step;
* ``check_header(header, net, lanes)`` — ValueError when an ``ernn_params.vh`` text is not the one this
  model and parallelism give (the reader, ``ExportedModel``, refuses such a directory).

``write_memories`` returns an object with ``header_lines()`` (the header's hardware lines) and
``record()`` (config.json's ``hardware`` entries; the writer adds ``cycles_per_step``).
"""

from __future__ import annotations

FUNCTIONS = ("check_lanes", "default_lanes", "write_memories", "cycle_model", "check_header")
