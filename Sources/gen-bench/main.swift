// gen-bench — `make bench`: throughput of the engine's kernels against raw cblas_sgemm, measured
// in one run so ratios are meaningful on a noisy machine. Release build only.
import COpenBLAS
import DSP
import Engine
import Foundation

func now() -> Double { Date().timeIntervalSinceReferenceDate }

/// Best-of-`repeats` seconds for `body` (after one warm-up call).
func time(_ repeats: Int = 5, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<repeats {
        let t = now(); body(); best = min(best, now() - t)
    }
    return best
}

func gflops(_ flops: Double, _ seconds: Double) -> Double { flops / seconds / 1e9 }
func fmt(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }

Runtime.configure()  // the same OpenBLAS/malloc settings as `gen`

/// The environment a user's shell gives a command: without the variables gen-bench's own start-up
/// set (Runtime.configure), so a timed `gen` pays for its own start-up as it does for a user.
let userEnvironment = ProcessInfo.processInfo.environment.filter {
    !["OPENBLAS_CORETYPE", "OPENBLAS_THREAD_TIMEOUT", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"].contains($0.key)
}

/// Seconds to run `tool args` to its end (stdout and stderr to /dev/null, `userEnvironment`),
/// started with posix_spawn: Foundation's Process added about 50 ms to every start on this machine
/// (flite timed 0.101 s through it, 0.048 s this way), counted against gen and flite alike. nil
/// when it cannot start or exits non-zero.
func runTimed(_ tool: String, _ args: [String]) -> Double? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var argv = ([tool] + args).map { strdup($0) } + [nil]
    var envp = userEnvironment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
    var pid: pid_t = 0, status: Int32 = 0
    let t0 = now()
    guard posix_spawn(&pid, tool, &actions, nil, &argv, &envp) == 0, waitpid(pid, &status, 0) == pid else { return nil }
    let seconds = now() - t0
    return status == 0 ? seconds : nil   // exited normally with 0
}
var rng = RNG(seed: 1)
let benchUsage = """
    USAGE: gen-bench [vocoder | dsp | speech [DIR] | codec [DIR] | prior | music]

    With no argument, the whole suite (what `make bench` runs): the engine's kernels against raw
    cblas_sgemm, the DSP, speech, codec, prior and batch lines, each a ratio measured in this run.
      vocoder       only the vocoder sizes (for choosing one)
      dsp           only the DSP lines (STFT, iSTFT, log-mel, Griffin-Lim, the FFT)
      speech [DIR]  only text → WAV RTF (DIR: another FastSpeech folder) and the whole `gen speech`
                    process against flite
      codec [DIR]   only the codec's encode + decode at every bitrate (DIR: another codec folder)
      prior         only the prior's KV-cached sampling step
      music         the codec, the prior's step and the whole `gen music` process
    """
let benchModes: Set<String> = ["vocoder", "dsp", "speech", "codec", "prior", "music"]
if let first = CommandLine.arguments.dropFirst().first {
    if first == "-h" || first == "--help" { print(benchUsage); exit(0) }
    if !benchModes.contains(first) {
        FileHandle.standardError.write(Data("gen-bench: unknown argument '\(first)'. Run `gen-bench --help` for the modes.\n".utf8))
        exit(2)
    }
}
// `gen-bench vocoder`: only the vocoder sizes (for choosing one), not the whole suite.
if CommandLine.arguments.dropFirst().first == "vocoder" { benchVocoderSizes(); exit(0) }
// `gen-bench dsp`: only the DSP lines.
if CommandLine.arguments.dropFirst().first == "dsp" { benchDSP(); exit(0) }
// `gen-bench speech [DIR]`: only the speech lines (text → WAV RTF, whole process against flite; DIR: a
// FastSpeech folder other than models/speech for the RTF lines, such as a training run's).
if CommandLine.arguments.dropFirst().first == "speech" { benchSpeech(modelDir: CommandLine.arguments.dropFirst(2).first ?? "models/speech"); exit(0) }
// `gen-bench codec [DIR]`: only the music codec's encode + decode at every bitrate (DIR: a codec
// folder other than models/codec, such as a training run's).
if CommandLine.arguments.dropFirst().first == "codec" { benchCodec(directory: CommandLine.arguments.dropFirst(2).first ?? "models/codec"); exit(0) }
// `gen-bench prior`: only the prior's KV-cached sampling step (bench/compare_prior.sh times PyTorch beside it).
if CommandLine.arguments.dropFirst().first == "prior" { benchPriorCache(); exit(0) }
// `gen-bench music`: the codec, the prior's sampling step and the whole `gen music` process.
if CommandLine.arguments.dropFirst().first == "music" { benchMusic(); exit(0) }
print("gen-bench — \(Threads.count) threads, OpenBLAS \(openblas_get_num_threads()) threads, \(Runtime.blasKernels) kernels")
print("")

// MARK: sgemm peak and engine matmul

func rawSgemm(_ n: Int) -> Double {
    let a = [Float](repeating: 0.5, count: n * n), b = a
    var c = [Float](repeating: 0, count: n * n)
    let s = time {
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            // cblas directly, not the engine's wrapper: this is the yardstick
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                        ap.baseAddress!, Int32(n), bp.baseAddress!, Int32(n), 0, cp.baseAddress!, Int32(n))
        } } }
    }
    return gflops(2 * Double(n * n * n), s)
}

let peak = rawSgemm(1024)
print("raw cblas_sgemm 1024³: \(fmt(peak)) GFLOP/s  (the machine's measured peak)")
let raw512 = rawSgemm(512)
let a512 = Tensor(randn: [512, 512], rng: &rng), b512 = Tensor(randn: [512, 512], rng: &rng)
let engine512 = gflops(2 * 512 * 512 * 512, time { _ = GradMode.withoutGrad { matmul(a512, b512) } })
print("raw cblas_sgemm 512³:  \(fmt(raw512)) GFLOP/s")
print("engine matmul 512³:    \(fmt(engine512)) GFLOP/s   ratio to raw sgemm: \(fmt(engine512 / raw512, 3))  (target ≥ 0.9)")

// Forward + backward of a training-sized matmul, with the tape.
do {
    let x = Tensor(randn: [512, 512], rng: &rng, requiresGrad: true)
    let w = Tensor(randn: [512, 512], rng: &rng, requiresGrad: true)
    let s = time { let y = matmul(x, w, transposeB: true); y.backward(seed: y.data); x.grad = nil; w.grad = nil }
    let g = gflops(3 * 2 * 512 * 512 * 512, s)
    print("engine matmul 512³ fwd+bwd: \(fmt(g)) GFLOP/s   ratio to peak: \(fmt(g / peak, 3))")
}
// A frozen weight's product with gradients off (a loaded model's linear layer, at the vocoder's
// MLP size: 256 frames × 192 → 576), in bfloat16 where the CPU has AVX512-BF16, against the same
// product in float (`--float32`), both through the engine in this run.
do {
    let x = Tensor(randn: [256, 192], rng: &rng), w = Tensor(randn: [576, 192], rng: &rng)
    w.freezeForInference()
    let flops = 2 * 256 * 192 * 576.0
    func rate() -> Double { gflops(flops, time { _ = GradMode.withoutGrad { matmul(x, w, transposeB: true) } }) }
    if BF16Products.available {
        let bf = rate()
        BF16Products.setEnabled(false)
        let f32 = rate()
        BF16Products.setEnabled(true)
        print("frozen linear 256×192→576, bfloat16: \(fmt(bf)) GFLOP/s, float: \(fmt(f32)) GFLOP/s   ratio \(fmt(bf / f32, 2))")
        if BF16Products.tileUnit {
            BF16Products.setTileUnitEnabled(false)
            let vector = rate()
            BF16Products.setTileUnitEnabled(true)
            print("  of which on AMX tiles; bfloat16 by AVX512-BF16 alone: \(fmt(vector)) GFLOP/s   tiles / AVX512 \(fmt(bf / vector, 2))")
        }
    } else {
        print("frozen linear 256×192→576: \(fmt(rate())) GFLOP/s (float: this CPU has no AVX512-BF16)")
    }
}
print("")

benchConvAndAttention(peak: peak, rng: &rng)
benchDSP()
benchSpeech()
benchVocoderSizes()
benchMusic()
benchBatch()
