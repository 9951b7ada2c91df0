// swift-tools-version:5.9
// gen: music and speech generation on an ordinary CPU.
// Dependencies point one way: gen → Batch, Speech/Music → Teacher, NN → Engine → DSP → Base; Engine → CKernels; Audio → Base.
import PackageDescription

let package = Package(
    name: "gen",
    products: [
        .executable(name: "gen", targets: ["gen"]),
        .library(name: "GenKit", targets: ["Base", "Audio", "DSP", "Engine", "NN", "Teacher", "Speech", "Music"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian, as system-library targets.
        .systemLibrary(name: "CSndFile", path: "Sources/CSndFile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSampleRate", path: "Sources/CSampleRate", providers: [.apt(["libsamplerate0-dev"])]),
        .systemLibrary(name: "CFlite", path: "Sources/CFlite", providers: [.apt(["flite1-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CEbur128", path: "Sources/CEbur128", providers: [.apt(["libebur128-dev"])]),

        // What every layer shares, once (path names today).
        .target(name: "Base"),
        .target(name: "Audio", dependencies: ["Base", "CSndFile", "CSampleRate"]),
        .target(name: "DSP", dependencies: ["Base", "CPNG", "CKernels"]),
        // The kernels Swift cannot write for one CPU feature at a time (half-precision weights,
        // bfloat16 products on AVX512-BF16 or AMX tiles, the FFT's eight-lane butterfly passes).
        .target(name: "CKernels"),
        // OpenBLAS (libopenblas-dev: its cblas.h here, libopenblas0 at run time), opened with dlopen
        // when first needed rather than linked: see Sources/COpenBLAS/blas.c.
        .target(name: "COpenBLAS"),
        .target(name: "Engine", dependencies: ["Base", "COpenBLAS", "CKernels", "DSP"]),
        .target(name: "NN", dependencies: ["Engine"]),
        // The flite teacher voices and text frontend calls, shared by Speech and by Music's vocals.
        .target(name: "Teacher", dependencies: ["CFlite"]),
        .target(name: "Speech", dependencies: ["Base", "NN", "Engine", "DSP", "Audio", "Teacher", "Requests"]),
        .target(name: "Music", dependencies: ["Base", "NN", "Engine", "DSP", "Audio", "Teacher", "Requests"]),
        // Prompt files, seeds, shards and the listening report of `gen batch` (no model code).
        // What a music or speech request means and every limit on it (CLI flags and prompt lines alike).
        .target(name: "Requests"),
        .target(name: "Batch", dependencies: ["Base", "Audio", "DSP", "Requests"]),
        .target(name: "Render", dependencies: ["Batch", "DSP", "Music", "Requests", "Speech"]),
        .executableTarget(name: "gen", dependencies: [
            "Base", "Audio", "DSP", "Engine", "NN", "Speech", "Music", "Batch", "Render", "Requests",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        // The Swift runtime and Foundation linked in: the dynamic loader's symbol lookups and
        // relocations for them were a third of a short command's start-up (`gen --version` 67 → 46 ms;
        // `make bench` times the whole `gen speech` process against flite).
        // The modules were compiled for the shared runtime, so the libraries a static build would
        // pull in on its own are named here (what `swift build --static-swift-stdlib` autolinks).
        linkerSettings: [.unsafeFlags(["-static-stdlib"])] + ["CoreFoundation", "_FoundationICU", "swiftSynchronization",
            "_FoundationCShims", "_FoundationCollections", "_CFXMLInterface", "xml2"].map { .linkedLibrary($0) }),
        .executableTarget(name: "gen-bench", dependencies: ["Engine", "NN", "DSP", "Audio", "Speech", "Music", "COpenBLAS"]),
        // The parsers under libFuzzer (make fuzz) and as plain functions for the regression tests.
        .target(name: "FuzzTargets", dependencies: ["Engine", "Music", "Speech", "Batch"]),
        .executableTarget(name: "gen-fuzz", dependencies: ["FuzzTargets"]),
        .executableTarget(name: "gen-eval", dependencies: ["Music", "Engine", "DSP", "Audio", "Requests",
                                                      .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // libebur128 is the reference that Audio's own loudness meter is held to (tests only).
        .testTarget(name: "AudioTests", dependencies: ["Audio", "Base", "CEbur128"]),
        .testTarget(name: "DSPTests", dependencies: ["Base", "DSP", "Audio", "Teacher", "CKernels"]),
        .testTarget(name: "EngineTests", dependencies: ["Base", "Engine", "NN", "CKernels"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Engine"]),
        .testTarget(name: "CLITests", dependencies: ["Audio", "DSP", "Engine"]),
        .testTarget(name: "BatchTests", dependencies: ["Batch", "Requests", "Audio", "DSP"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "SpeechTests", dependencies: ["Base", "Speech", "NN"]),
        .testTarget(name: "MusicTests", dependencies: ["Music", "Audio", "Engine", "DSP", "NN"]),
    ]
)
