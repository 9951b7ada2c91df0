// swift-tools-version:5.9
// gen: music and speech generation on an ordinary CPU.
// Dependencies point one way: gen → Speech/Music → NN → Engine → C shims. Audio and DSP stand alone.
import PackageDescription

let package = Package(
    name: "gen",
    products: [
        .executable(name: "gen", targets: ["gen"]),
        .library(name: "GenKit", targets: ["Audio", "DSP", "Engine", "NN", "Speech", "Music"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian, as system-library targets.
        .systemLibrary(name: "CSndFile", path: "Sources/CSndFile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSampleRate", path: "Sources/CSampleRate", providers: [.apt(["libsamplerate0-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFlite", path: "Sources/CFlite", providers: [.apt(["flite1-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),

        .target(name: "Audio", dependencies: ["CSndFile", "CSampleRate"]),
        .target(name: "DSP", dependencies: ["CPNG"]),
        .target(name: "Engine", dependencies: ["COpenBLAS"]),
        .target(name: "NN", dependencies: ["Engine"]),
        .target(name: "Speech", dependencies: ["NN", "Engine", "DSP", "Audio", "CFlite"]),
        .target(name: "Music", dependencies: ["NN", "Engine", "DSP", "Audio", "Speech"]),
        // Prompt files, seeds, shards and the listening report of `gen batch` (no model code).
        .target(name: "Batch", dependencies: ["Audio"]),
        .executableTarget(name: "gen", dependencies: [
            "Audio", "DSP", "Engine", "NN", "Speech", "Music", "Batch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "gen-bench", dependencies: ["Engine", "NN", "DSP", "Audio", "Speech", "Music", "COpenBLAS"]),
        .executableTarget(name: "gen-eval", dependencies: ["Music", "Engine", "DSP", "Audio"]),

        .testTarget(name: "AudioTests", dependencies: ["Audio"]),
        .testTarget(name: "DSPTests", dependencies: ["DSP", "Audio", "Speech"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "NN"]),
        .testTarget(name: "CLITests", dependencies: ["Audio"]),
        .testTarget(name: "BatchTests", dependencies: ["Batch"]),
        .testTarget(name: "SpeechTests", dependencies: ["Speech"]),
        .testTarget(name: "MusicTests", dependencies: ["Music", "Audio", "Engine", "DSP"]),
    ]
)
