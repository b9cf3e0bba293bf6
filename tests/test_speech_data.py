"""The speech front end: reading recordings, features, label rules, splits, and `ernn data wav|fsdd`."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ernn import cli, data
from ernn.data import audio, features, wav
from ernn.files import manifest

#: the project's copy of FSDD (../shared/data/fsdd beside the checkout; ERNN_FSDD points elsewhere)
FSDD = (
    Path(os.environ.get("ERNN_FSDD", Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd"))
    / "recordings"
)


def _tone(freq: float, seconds: float = 0.3, rate: int = 8000, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(scale=0.01, size=t.size)
    return (0.5 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


@pytest.fixture
def corpus(tmp_path):
    """3 labels x 2 speakers x 4 takes of tones whose pitch is the label: a learnable toy corpus."""
    root = tmp_path / "rec"
    root.mkdir()
    for label, freq in (("yes", 300.0), ("no", 700.0), ("up", 1500.0)):
        for speaker in ("ann", "bob"):
            for take in range(4):
                sig = _tone(freq * (1.05 if speaker == "bob" else 1.0), 0.2 + 0.05 * take, seed=take)
                soundfile.write(root / f"{label}_{speaker}_{take}.wav", sig, 8000, subtype="PCM_16")
    return root


# ------------------------------------------------------------------------------------ reading audio
@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "FLOAT"])
def test_wav_widths_read_as_the_same_signal(tmp_path, subtype):
    sig = _tone(440.0)
    soundfile.write(tmp_path / "a.wav", sig, 8000, subtype=subtype)
    got = audio.read_audio(tmp_path / "a.wav", 8000)
    tol = {"PCM_U8": 1 / 64, "PCM_16": 1e-4, "PCM_24": 1e-6, "FLOAT": 0}[subtype]
    assert got.dtype == np.float32 and got.shape == sig.shape
    assert np.abs(got - sig).max() <= tol


def test_stereo_is_averaged_and_other_rates_resampled(tmp_path):
    left, right = _tone(440.0, rate=16000), _tone(440.0, rate=16000, seed=1)
    soundfile.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 16000)
    got = audio.read_audio(tmp_path / "s.wav", 8000)
    assert abs(len(got) - len(left) // 2) <= 1
    # the 440 Hz tone survives resampling: its spectrum peaks there
    spectrum = np.abs(np.fft.rfft(got))
    assert abs(np.argmax(spectrum) * 8000 / len(got) - 440.0) < 10


def test_nist_sphere_is_read(tmp_path):
    sig = _tone(300.0, rate=16000)
    soundfile.write(tmp_path / "SX1.WAV", sig, 16000, format="NIST", subtype="PCM_16")
    assert (tmp_path / "SX1.WAV").read_bytes().startswith(b"NIST_1A")
    assert np.abs(audio.read_audio(tmp_path / "SX1.WAV", 16000) - sig).max() < 1e-4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "an empty file"),
        (b"this is not audio at all" * 10, "not a readable WAV"),
        (b"RIFF\x00\x00", "not a readable WAV"),
    ],
)
def test_bad_recordings_are_named(tmp_path, content, message):
    (tmp_path / "bad.wav").write_bytes(content)
    with pytest.raises(audio.AudioError, match=rf"bad\.wav: {message}"):
        audio.read_audio(tmp_path / "bad.wav", 8000)


# ------------------------------------------------------------------------------------ features
@pytest.mark.parametrize(
    ("cfg", "count"),
    [
        (features.FeatureConfig(), 80),
        (features.FeatureConfig(kind="mfcc", deltas=2), 39),
        (features.FeatureConfig(n_mels=50, deltas=2, energy=True, sample_rate=16000), 153),
        (features.FeatureConfig(deltas=0), 40),
    ],
)
def test_feature_shapes(cfg, count):
    sig = _tone(500.0, 0.5, rate=cfg.sample_rate)
    x = features.extract(sig, cfg)
    assert cfg.num_features == count and x.shape == (cfg.frames(len(sig)), count)
    assert x.dtype == np.float32 and np.all(np.isfinite(x))
    # 25 ms windows every 10 ms in FFT blocks of n_fft samples, no padding at the ends
    assert cfg.frames(len(sig)) == 1 + (len(sig) - cfg.n_fft) // cfg.hop


def test_features_follow_the_signal():
    """A tone's log-mel energy peaks in the mel channel of its frequency; a louder copy adds log(gain^2)."""
    import librosa

    cfg = features.FeatureConfig(deltas=0)
    sig = _tone(1000.0, 0.5)
    x = features.extract(sig, cfg)
    centres = librosa.mel_frequencies(n_mels=cfg.n_mels + 2, fmin=cfg.fmin, fmax=cfg.sample_rate / 2)[1:-1]
    assert abs(centres[np.argmax(x.mean(axis=0))] - 1000.0) < 150
    louder = features.extract(sig * 2, cfg)
    peak = np.argmax(x.mean(axis=0))
    assert np.allclose(louder[:, peak] - x[:, peak], np.log(4.0), atol=1e-3)


def test_cmn_removes_a_fixed_channel_gain_and_keeps_the_deltas():
    """Cepstral mean normalisation: a recording through a louder (or coloured) channel gives the same
    static features; each utterance's static mean is zero; the deltas are those without CMN."""
    cfg = features.FeatureConfig(cmn=True)
    sig = _tone(700.0, 0.4) + 0.3 * _tone(1900.0, 0.4)
    x = features.extract(sig, cfg)
    assert np.allclose(x[:, :40].mean(axis=0), 0.0, atol=1e-4)
    assert np.allclose(features.extract(sig * 3, cfg), x, atol=1e-3)
    plain = features.extract(sig, features.FeatureConfig())
    assert np.allclose(x[:, 40:], plain[:, 40:], atol=1e-4)
    assert not np.allclose(x[:, :40], plain[:, :40])
    # the option travels with the data set and old data sets (without it) read as off
    assert features.FeatureConfig.from_dict({**cfg.to_dict()}).cmn is True
    old = {k: v for k, v in features.FeatureConfig().to_dict().items() if k != "cmn"}
    assert features.FeatureConfig.from_dict(old).cmn is False


def test_short_and_bad_configs_are_refused():
    with pytest.raises(ValueError, match=r"shorter than one 32 ms analysis frame \(25 ms window\)"):
        features.extract(np.zeros(100, np.float32), features.FeatureConfig())
    with pytest.raises(ValueError, match="kind must be one of"):
        features.FeatureConfig(kind="plp").validate()
    with pytest.raises(ValueError, match="deltas must be 0, 1 or 2"):
        features.FeatureConfig(deltas=3).validate()


def test_very_short_utterances_get_zero_deltas():
    cfg = features.FeatureConfig(deltas=1)
    x = features.extract(_tone(300.0, 0.043), cfg)  # 2 frames: no regression window fits
    assert x.shape == (2, 80) and np.all(x[:, 40:] == 0)


# ------------------------------------------------------------------------------------ rules and splits
def test_pattern_rule():
    rx = wav.pattern_regex("{label}_{speaker}_{take}.wav")
    m = rx.fullmatch("7_george_12.wav")
    assert m and m.groupdict() == {"label": "7", "speaker": "george", "take": "12"}
    assert rx.fullmatch("7_george_x.wav") is None and rx.fullmatch("notes.txt") is None
    assert wav.pattern_regex("{speaker}/{label}/{*}.wav").fullmatch("ann/yes/001.wav")
    with pytest.raises(ValueError, match="unknown field"):
        wav.pattern_regex("{label}_{who}.wav")
    with pytest.raises(ValueError, match=r"needs a \{label\}"):
        wav.pattern_regex("{speaker}.wav")


def _recs(speakers=("a", "b", "c"), takes=range(3)):
    return [wav.Recording(Path(f"/{s}{t}"), f"{s}{t}", "x", s, t) for s in speakers for t in takes]


def test_splits():
    recs = _recs()
    assert wav.split_test(recs, "takes:0-0") == [r.take == 0 for r in recs]
    folds = [wav.split_test(recs, f"speakers:{f}/3") for f in range(3)]
    # every recording is tested exactly once over the folds, and a fold holds whole speakers
    assert np.array_equal(np.sum(folds, axis=0), np.ones(len(recs)))
    assert {r.speaker for r, t in zip(recs, folds[0], strict=True) if t} == {"a"}
    assert wav.split_test(recs, "speakers:b,c") == [r.speaker in ("b", "c") for r in recs]
    with pytest.raises(ValueError, match="4 folds but only 3 speakers"):
        wav.split_test(recs, "speakers:0/4")
    with pytest.raises(ValueError, match="unknown speaker"):
        wav.split_test(recs, "speakers:zed")
    with pytest.raises(ValueError, match="expected takes:A-B"):
        wav.split_test(recs, "takes:3-1")
    with pytest.raises(ValueError, match="expected takes"):
        wav.split_test(recs, "random:0.1")


def test_label_order_is_numeric_for_digits():
    assert wav.label_names(["10", "2", "1"]) == ["1", "2", "10"]
    assert wav.label_names(["yes", "no"]) == ["no", "yes"]


# ------------------------------------------------------------------------------------ data sets
def test_wav_data_set_from_a_pattern(corpus, tmp_path, capsys):
    (corpus / "README.txt").write_text("not a recording")
    soundfile.write(corpus / "yes-ann.wav", _tone(300.0), 8000)  # does not match the pattern
    out = tmp_path / "ds"
    rc = cli.main(["data", "wav", "--root", str(corpus), "--pattern", "{label}_{speaker}_{take}.wav",
                   "--split", "takes:0-0", "--out", str(out), "--quiet", "--workers", "1"])  # fmt: skip
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["labels"] == ["no", "up", "yes"] and meta["counts"] == {"train": 18, "test": 6}
    assert meta["left_out"] == ["README.txt", "yes-ann.wav"] and "left out 2 file(s)" in printed.out
    manifest.verify(out, "dataset")
    tr = data.load_npz(out / "train.npz", "classify")
    assert tr.x.shape[2] == 80 and set(tr.y.tolist()) == {0, 1, 2}
    # the normalisation statistics are the training split's: what ernn train computes from train.npz
    ds = data.load("classify", out / "train.npz", out / "test.npz")
    assert np.allclose(meta["normalisation"]["mean"], ds.mean, atol=1e-4)
    names = {r["name"] for r in meta["recordings"]["test"]}
    assert names == {f"{lab}_{spk}_0.wav" for lab in ("yes", "no", "up") for spk in ("ann", "bob")}


def test_wav_data_set_from_a_csv_with_a_speaker_split(corpus, tmp_path):
    table = tmp_path / "labels.csv"
    with table.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "speaker"])
        for p in sorted(corpus.glob("*.wav")):
            lab, spk, _ = p.stem.split("_")
            w.writerow([p.name, lab, spk])
    meta = wav.build(corpus, tmp_path / "ds", split="speakers:bob", labels_csv=table)
    assert meta["counts"] == {"train": 12, "test": 12}
    assert {r["speaker"] for r in meta["recordings"]["test"]} == {"bob"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--pattern", "{label}-{speaker}.wav", "--split", "takes:0-0"],
            "matches none of the 24 audio files",
        ),
        (
            ["--pattern", "{label}_{speaker}_{take}.wav", "--split", "speakers:0/3"],
            "3 folds but only 2 speakers",
        ),
        (
            ["--pattern", "{label}_{speaker}_{take}.wav", "--split", "takes:0-9"],
            "puts every recording in the test set",
        ),
    ],
)
def test_bad_rules_stop_before_writing(corpus, tmp_path, capsys, args, message):
    out = tmp_path / "ds"
    assert cli.main(["data", "wav", "--root", str(corpus), *args, "--out", str(out), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".ernn-" in p.name]


def test_a_corrupt_recording_is_named_and_nothing_written(corpus, tmp_path, capsys):
    (corpus / "up_bob_9.wav").write_bytes(b"not audio" * 50)
    out = tmp_path / "ds"
    rc = cli.main(["data", "wav", "--root", str(corpus), "--pattern", "{label}_{speaker}_{take}.wav",
                   "--split", "takes:0-0", "--out", str(out), "--quiet", "--workers", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "up_bob_9.wav: not a readable WAV" in err and "Traceback" not in err
    assert not out.exists()
    (corpus / "up_bob_9.wav").write_bytes(b"")
    assert cli.main(["data", "wav", "--root", str(corpus), "--pattern", "{label}_{speaker}_{take}.wav",
                     "--split", "takes:0-0", "--out", str(out), "--quiet", "--workers", "1"]) == 2  # fmt: skip
    assert "up_bob_9.wav: an empty file" in capsys.readouterr().err


def test_fsdd_preset_on_real_recordings(tmp_path):
    """A slice of the real FSDD (two digits, every speaker, takes 0-7): the preset's rule and split."""
    root = tmp_path / "fsdd"
    root.mkdir()
    assert FSDD.is_dir(), (
        f"FSDD recordings not found at {FSDD}: set ERNN_FSDD to the folder holding recordings/"
    )
    for path in sorted(FSDD.glob("[01]_*_[0-7].wav")):
        shutil.copy(path, root / path.name)
    out = tmp_path / "ds"
    assert (
        cli.main(["data", "fsdd", "--root", str(root), "--out", str(out), "--quiet", "--workers", "2"]) == 0
    )
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["labels"] == ["0", "1"] and meta["counts"] == {"train": 30, "test": 50}
    assert {r["take"] for r in meta["recordings"]["test"]} == {0, 1, 2, 3, 4}
    assert len({r["speaker"] for r in meta["recordings"]["train"]}) == 5
    test = data.load_npz(out / "test.npz", "classify")
    assert test.x.shape[2] == 80 and test.lengths.min() >= 10  # real utterances: a tenth of a second or more


def test_cmn_option_of_ernn_data_is_recorded_and_applied(corpus, tmp_path, capsys):
    out = tmp_path / "ds"
    rc = cli.main(["data", "wav", "--root", str(corpus), "--pattern", "{label}_{speaker}_{take}.wav",
                   "--split", "takes:0-0", "--out", str(out), "--quiet", "--workers", "1", "--cmn"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert json.loads((out / "dataset.json").read_text())["features"]["cmn"] is True
    tr = data.load_npz(out / "train.npz", "classify")
    for x, n in zip(tr.x, tr.lengths, strict=True):
        assert np.allclose(x[:n, :40].mean(axis=0), 0.0, atol=1e-4)
