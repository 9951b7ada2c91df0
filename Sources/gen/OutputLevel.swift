// OutputLevel.swift — --loudness and --volume, the output stage of speech, music, batch and vocode:
// EBU R128 loudness normalisation (Audio.Loudness, ITU-R BS.1770-4) to −16 LUFS integrated under a
// −1 dBTP true-peak ceiling by default, then a volume factor.
import ArgumentParser
import Audio
import Foundation

struct LevelOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Integrated loudness of each output in LUFS (EBU R128; true peak kept under -1 dBTP), or off to keep the model's own level.",
                               valueName: "LUFS|off"))
    var loudness = "-16"
    @Option(name: .long, parsing: .unconditional, help: "Volume factor applied after --loudness (0.5 is 6 dB quieter; above 1 is limited to -1 dBTP).")
    var volume: Float = 1

    /// The target in LUFS, nil for "off".
    var target: Double? { LevelOptions.parse(loudness) ?? nil }

    /// "off" → .some(nil), "-16" → -16, anything else → nil.
    static func parse(_ text: String) -> Double?? {
        if text.lowercased() == "off" { return .some(nil) }
        guard let v = Double(text), Loudness.targetRange.contains(v) else { return nil }
        return .some(v)
    }

    static func check(_ text: String) throws {
        if parse(text) == nil {
            throw ValidationError("--loudness must be off or a level in LUFS between \(Int(Loudness.targetRange.lowerBound)) and \(Int(Loudness.targetRange.upperBound)) (e.g. -16, -23 for EBU R128 broadcast), got '\(text)'.")
        }
    }

    func validate() throws {
        try Self.check(loudness)
        if !(volume >= 0 && volume <= 16) { throw ValidationError("--volume must be a factor between 0 and 16, got \(volume).") }
    }

    /// The samples at the asked level.
    func apply(_ samples: [Float], sampleRate: Int) throws -> [Float] {
        try ioErrors { try Loudness.apply(samples, sampleRate: sampleRate, target: target, volume: volume) }
    }
}
