"""How every command writes and trusts files (docs/reliability.md).

* :mod:`ernn.files.atomic` — single output files: checked before any work, written to a hidden sibling and
  renamed into place, so that an interrupted command leaves the previous file or the new one, never a part;
* :mod:`ernn.files.manifest` — ``ernn-manifest.json``: the SHA-256 of every file a tool-written directory
  holds, one digest over them all, and the check that names what differs;
* :mod:`ernn.files.output_dir` — directories (runs, models, reports, synthesis): built in a hidden sibling
  and swapped into place in one step, keeping every file in them that the tool did not write.
"""
