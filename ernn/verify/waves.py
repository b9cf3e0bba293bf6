"""The signal names a waveform file declares: enough to check that a recorded FST or VCD holds a design.

``ernn sim --waves`` and ``ERNN_WAVES=1`` write Icarus's FST (cocotb's dump module) and Verilator's VCD
(``--trace``; see :mod:`ernn.sim.runner`). Looking at the waves is a viewer's job (GTKWave, Surfer); this
module only lists the names in the file's hierarchy, so that a test can tell a waveform of the design
from an empty or truncated file.

FST layout (GTKWave's ``fstapi``, the subset read here): a sequence of blocks, each one type byte and a
big-endian 64-bit section length (counting itself, not the type byte). The hierarchy block (type 4) holds
the uncompressed length (8 bytes) and a gzip stream of scope and variable records; a variable record is a
type byte, a direction byte and its name, NUL-terminated (``"data_reg [2:0]"``: the range follows the
name). The LZ4-packed hierarchy blocks (types 6 and 7) are refused with a clear error: neither simulator
writes them here.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

FST_HIER = 4
FST_HIER_LZ4 = (6, 7)
_VAR = re.compile(rb"\$var\s+\S+\s+\S+\s+\S+\s+(\S+)")
# a variable record: type byte (0..29 in fstapi), direction byte (0..6), the name up to its NUL
_FST_VAR = re.compile(rb"[\x00-\x1d][\x00-\x06]([A-Za-z_][\x21-\x7e ]*?)\x00")


def signal_names(path: str | Path) -> set[str]:
    """Names of the signals a ``.fst`` or ``.vcd`` file declares (bit ranges dropped); raises ValueError
    on a file that is neither or holds no hierarchy."""
    path = Path(path)
    if path.suffix not in (".vcd", ".fst"):
        raise ValueError(f"{path}: not a waveform file this reader knows (.fst or .vcd)")
    data = path.read_bytes()
    if path.suffix == ".vcd":
        names = {m.group(1).decode() for m in _VAR.finditer(data)}
    else:
        names = _fst_names(data, path)
    if not names:
        raise ValueError(f"{path}: declares no signal (empty or truncated waveform)")
    return names


def _fst_names(data: bytes, path: Path) -> set[str]:
    pos = 0
    names: set[str] = set()
    while pos + 9 <= len(data):
        kind = data[pos]
        (length,) = struct.unpack(">Q", data[pos + 1 : pos + 9])
        if length < 8:
            raise ValueError(f"{path}: FST block at byte {pos} has a length of {length} (corrupt file)")
        if kind in FST_HIER_LZ4:
            raise ValueError(f"{path}: FST hierarchy packed with LZ4 (block type {kind}) is not supported")
        if kind == FST_HIER:
            hier = zlib.decompress(data[pos + 17 : pos + 1 + length], 16 + zlib.MAX_WBITS)
            names |= {m.group(1).decode().split(" [")[0] for m in _FST_VAR.finditer(hier)}
        pos += 1 + length
    if not names and pos == 0:
        raise ValueError(f"{path}: not an FST file")
    return names
