#!/usr/bin/env python3
"""What a linear iSTFT head from W features can say about where each partial lies between bins.

A frame-rate decoder ending in a linear map from W features to the 513 log-magnitudes of a 1024-point
frame emits only spectra inside a W-dimensional affine subspace. This projects held-out clips'
own log-magnitudes onto the best such subspace (principal components of training frames), rebuilds
the phase from the projected magnitudes by PGHI's relation (Prusa et al. 2017, Hann taken as a
Gaussian of lambda = 0.25645 N^2) with identity phase locking at each frame's peaks, and scores the
result against the original, beside the same magnitudes with the original's phase.

usage: head_rank.py music CORPUS_DIR [--ranks 128 256 384]   (CQT chroma, flatness, onsets: music_fidelity.py)
       head_rank.py speech CORPUS_DIR [--ranks 192 256 384]  (PESQ-wb against the teacher audio)
       head_rank.py vocoder CORPUS_DIR --gen PATH            (gen vocode's output: its magnitudes with PGHI
                                                             or the teacher's phase)
Needs numpy, scipy, librosa, soundfile, pesq, and ../shared/eval on the path for music.
Used for the codec's and the vocoder's cards (2026-12-02).
"""
import argparse, glob, json, os, struct, subprocess, sys, tempfile
import numpy as np

N, H, SR, LAM = 1024, 256, 22050, 0.25645
WIN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N) / N)

def stft(x):
    xp = np.pad(x, (N // 2, N // 2), mode="reflect"); T = 1 + len(x) // H
    return np.fft.rfft(np.stack([xp[t * H:t * H + N] for t in range(T)]) * WIN, axis=1)

def istft(X, length):
    fr = np.fft.irfft(X, n=N, axis=1) * WIN; T = X.shape[0]
    y = np.zeros((T - 1) * H + N); w = np.zeros_like(y)
    for t in range(T):
        y[t * H:t * H + N] += fr[t]; w[t * H:t * H + N] += WIN ** 2
    return (y / np.maximum(w, 1e-8))[N // 2:N // 2 + length]

def pghi(logm, db=40):
    """Phase from log-magnitudes: each peak's frequency from the log-magnitude's slope across bins,
    integrated frame to frame; the bins of its region locked to it (pi apart per bin: frames start at
    the window's first sample)."""
    T, K = logm.shape; ph = np.zeros((T, K)); prev = np.zeros(K)
    d = np.zeros_like(logm); d[:, 1:-1] = (logm[:, 2:] - logm[:, :-2]) / 2
    inst = np.arange(K)[None, :] + d / (2 * np.pi * LAM)
    for t in range(T):
        m = logm[t]; thr = m.max() - db / 20 * np.log(10)
        pk = [k for k in range(1, K - 1) if m[k] >= m[k - 1] and m[k] > m[k + 1] and m[k] > thr]
        cur = prev + 2 * np.pi * np.arange(K) * H / N
        bounds = [0] + [(pk[i] + pk[i + 1]) // 2 + 1 for i in range(len(pk) - 1)] + [K]
        for i, p in enumerate(pk):
            ks = np.arange(bounds[i], bounds[i + 1])
            cur[ks] = prev[p] + 2 * np.pi * inst[t, p] * H / N + np.pi * (ks - p)
        ph[t] = cur; prev = cur
    return ph

def speech_audio(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); a = h["audio"]
        f.seek(8 + n + a["data_offsets"][0]); b = f.read(a["data_offsets"][1] - a["data_offsets"][0])
    return np.frombuffer(b, dtype=np.float16 if a["dtype"] == "F16" else np.float32).astype(np.float64)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["music", "speech", "vocoder"]); ap.add_argument("corpus")
    ap.add_argument("--ranks", type=int, nargs="*"); ap.add_argument("--gen", default="gen")
    ap.add_argument("--eval-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "eval"))
    a = ap.parse_args()
    meta = [json.loads(l) for l in open(os.path.join(a.corpus, "metadata.jsonl"))]
    if a.kind == "music":
        import librosa
        sys.path.insert(0, a.eval_dir); from music_fidelity import score
        load = lambda m: librosa.load(os.path.join(a.corpus, m["file"]), sr=SR)[0].astype(np.float64)
        val = [m for m in meta if m["split"] == "val"][::3]; train = [m for m in meta if m["split"] != "val"][::10]
        metric = lambda x, y: score(x.astype(np.float32), y.astype(np.float32))["chroma_cos"]
        ranks = a.ranks or [128, 256, 384]
    else:
        from pesq import pesq
        from scipy.signal import resample_poly
        load = lambda m: speech_audio(os.path.join(a.corpus, m["file"]))
        val = [m for m in meta if m["split"] == "val"][::12]; train = [m for m in meta if m["split"] == "train"][::30]
        metric = lambda x, y: pesq(16000, resample_poly(x, 160, 441), resample_poly(y, 160, 441), "wb")
        ranks = a.ranks or [192, 256, 384]
    res = {}
    if a.kind == "vocoder":
        import soundfile as sf
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(d + "/ref"); os.makedirs(d + "/voc")
            for m in val: sf.write(f"{d}/ref/{m['id']}.wav", load(m).astype(np.float32), SR, subtype="FLOAT")
            subprocess.run([a.gen, "vocode", *sorted(glob.glob(d + "/ref/*.wav")), "-o", d + "/voc", "--loudness", "off", "--quiet"],
                           check=True, stdout=subprocess.DEVNULL)
            for m in val:
                x = sf.read(f"{d}/ref/{m['id']}.wav")[0]; y = sf.read(f"{d}/voc/{m['id']}.wav")[0]
                n = min(len(x), len(y)); x, y = x[:n], y[:n]; lm = np.log(np.abs(stft(y)) + 1e-5)
                for name, z in {"vocoder": y, "vocoder mags + pghi": istft(np.exp(lm) * np.exp(1j * pghi(lm)), n),
                                "vocoder mags + original phase": istft(np.exp(lm) * np.exp(1j * np.angle(stft(x))), n)}.items():
                    res.setdefault(name, []).append(metric(x, z))
    else:
        F = np.concatenate([np.log(np.abs(stft(load(m))) + 1e-5) for m in train])
        mu = F.mean(0); Vt = np.linalg.svd(F - mu, full_matrices=False)[2]
        print(f"{len(F)} training frames of {len(train)} clips; {len(val)} held-out clips", flush=True)
        for m in val:
            x = load(m); X = stft(x); lm = np.log(np.abs(X) + 1e-5)
            cases = {"original + pghi": (lm, None)}
            for r in ranks:
                P = (lm - mu) @ Vt[:r].T @ Vt[:r] + mu
                cases[f"rank {r} + pghi"] = (P, None); cases[f"rank {r} + original phase"] = (P, np.angle(X))
            for name, (mag, ph) in cases.items():
                res.setdefault(name, []).append(metric(x, istft(np.exp(mag) * np.exp(1j * (pghi(mag) if ph is None else ph)), len(x))))
    print(f"{'':32} {'chroma' if a.kind == 'music' else 'PESQ-wb':>8}   ({len(val)} clips)")
    for k, v in res.items(): print(f"{k:32} {np.mean(v):8.3f}")

if __name__ == "__main__":
    main()
