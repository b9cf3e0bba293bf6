"""Whether the PE's MAC lanes can pack two weight multiplies into one DSP48E2 (``DSP_PACK``).

rtl/ernn_cmac.v's packed form (ernn_cmul ``PACK``) multiplies each input-spectrum component x (Q(fft_out))
by a pair of weight-spectrum values c_hi 2**S + c_lo (Q(weight_spectrum), S = fft_out + weight_spectrum
bits) and splits the two products from the result, exactly (docs/pe.md). One such multiply is one DSP48E2
only when the pair fits the 27-bit multiplier port and x the 18-bit one:

    FFT_W + 2 WS_W + 1 <= 27   and   FFT_W <= 18

e.g. 8-bit data at k = 4 (10 + 2 * 8 + 1 = 27) with the default 8-bit weight spectra, at k = 16 (FFT_W =
12) weight spectra of at most 7 bits. Otherwise packing would split each multiply over several DSPs and
save nothing, so ernn_cmac refuses it at elaboration, and :func:`dsp_pack` says no with the reason.
"""

from __future__ import annotations

from ernn.golden.formats import NumericsConfig, QFormat

#: DSP48E2 multiplier ports (signed): the packed weight pair goes on the wide one, x on the narrow one
DSP_A_W = 27
DSP_B_W = 18


def packed_pair_bits(fft_word: int, ws_word: int) -> int:
    """Bits of a packed weight pair c_hi 2**(fft_word + ws_word) + c_lo at its extremes."""
    return fft_word + 2 * ws_word + 1


def widest_packable_weight_spectrum(fft_word: int) -> int:
    """The widest weight-spectrum word that packs with ``fft_word``-bit input spectra (0: none)."""
    if fft_word > DSP_B_W:
        return 0
    return max(0, (DSP_A_W - 1 - fft_word) // 2)


def dsp_pack_problem(cfg: NumericsConfig) -> str | None:
    """Why ``cfg``'s formats cannot use the packed MAC, or None when they can."""
    fft_w, ws_w = cfg.fft_out.word, cfg.weight_spectrum.word
    if fft_w > DSP_B_W:
        return f"input spectra of {fft_w} bits (fft_out) exceed the DSP48E2's {DSP_B_W}-bit port"
    need = packed_pair_bits(fft_w, ws_w)
    if need > DSP_A_W:
        return (
            f"a packed pair of {ws_w}-bit weight spectra against {fft_w}-bit input spectra needs {need} bits "
            f"> {DSP_A_W} (weight spectra of at most {widest_packable_weight_spectrum(fft_w)} bits pack)"
        )
    return None


def real_bins(block_size: int, lanes: int) -> bool:
    """Whether the exporter gives the PE real lanes for bins 0 and k/2 (``ERNN_REAL_BINS``, rtl/ernn_pe.v
    ``REAL_BINS``): whenever P is a multiple of the k/2 + 1 bins, so that a lane always sees one bin. Those
    bins of a real block's FFT are real, so their lanes need one multiply instead of three, bit-exact on
    every target (unlike packing, which only pays on a DSP48E2): docs/pe.md, "Real lanes"."""
    return lanes % (block_size // 2 + 1) == 0


def dsp_pack(cfg: NumericsConfig) -> bool:
    """True when ``cfg``'s formats let every MAC multiply take two weight products (DSP_PACK = 1)."""
    return dsp_pack_problem(cfg) is None


#: the most weight-spectrum bits :func:`packed_numerics` takes off: one (8-bit data at k = 8 or 16, the
#: accuracy cost measured in docs/performance.md); a wider data path would lose several (16-bit data at
#: k = 4: 16 -> 4 bits), which the exporter refuses rather than do silently
MAX_NARROWING = 1


def packed_numerics(cfg: NumericsConfig) -> NumericsConfig:
    """``cfg`` with its weight spectra narrowed to the widest word that packs (``ernn export --dsp-pack``).

    The range is kept and the bits come off the fraction (the exporter fitted the fraction to the
    largest weight spectrum, so the integer bits are what the weights need); the accumulator loses the
    same bits at both ends, so its integer bits and its guard bits for the sum stay. Formats that already
    pack come back unchanged; ValueError names why when no weight width packs (input spectra wider than
    the DSP48E2's 18-bit port), when it would take more than ``MAX_NARROWING`` bits off, or when the
    weights would have no fraction bit left."""
    fft_w, ws = cfg.fft_out.word, cfg.weight_spectrum
    widest = widest_packable_weight_spectrum(fft_w)
    if widest == 0:
        raise ValueError(
            f"DSP packing is not possible at these formats: {dsp_pack_problem(cfg)} (packing needs data of at "
            f"most {DSP_B_W - (fft_w - cfg.data.word)} bits at k = {cfg.block_size})"
        )
    cut = ws.word - widest
    if cut <= 0:
        return cfg
    if cut > MAX_NARROWING:
        raise ValueError(
            f"DSP packing would narrow the {ws.word}-bit weight spectra to {widest} bits ({fft_w}-bit input "
            f"spectra leave {widest} for each of the pair): more than the {MAX_NARROWING} bit it may take; "
            f"packing is a point of the 8-bit data path (7-bit weight spectra at k = 8 or 16)"
        )
    if ws.frac - cut < 1:
        raise ValueError(
            f"DSP packing would narrow the {ws.word}-bit weight spectra {ws} to {widest} bits, leaving no "
            f"fraction bit (their range needs {ws.word - ws.frac} integer bits): use a narrower data path"
        )
    acc = cfg.accumulator
    return cfg.replace(
        weight_spectrum=QFormat(widest, ws.frac - cut),
        accumulator=QFormat(acc.word - cut, acc.frac - cut),
    )
