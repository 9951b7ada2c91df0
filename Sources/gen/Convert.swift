// Convert.swift — `gen convert`: read any audio libsndfile reads, optionally resample and
// normalise, write WAV/FLAC/OGG by extension. The pipeline on real audio, before any model.
import ArgumentParser
import Audio

struct Convert: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert audio between formats and sample rates.",
        discussion: """
        Reads any format libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, ...). The
        output format follows the extension: .wav (16-bit PCM, or 32-bit float with
        --float), .flac, .ogg; name it after the input or with -o, as the other
        commands take it. Use - as OUT to stream a WAV to stdout. Output is written to
        a temporary file and renamed, so a failed run never leaves a partial file.

        Examples:
          gen convert voice.flac voice.wav --rate 22050
          gen convert take.wav take.ogg --normalize -1
          gen convert podcast.flac podcast.wav --loudness -16
          gen convert take.wav - | aplay
          gen convert voice.flac -o voice.ogg

        --loudness measures integrated loudness (EBU R128, BS.1770-4) and brings the
        file to that many LUFS with its true peak under -1 dBTP; --normalize sets the
        sample peak instead. Give one or the other.
        """)

    @Argument(help: "Input audio file.") var input: String
    @Argument(help: ArgumentHelp("Output file (.wav, .flac, .ogg) or - for a WAV on stdout.", valueName: "output"))
    var outputArgument: String?
    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("The output file, as the other commands take it (or give it after the input).", valueName: "output"))
    var outputOption: String?
    /// The output, given either way.
    var output: String { outputOption ?? outputArgument ?? "" }
    @Option(name: .long, help: "Resample to this rate in Hz (libsamplerate, best quality).") var rate: Int?
    @Flag(name: .long, help: "Downmix to mono.") var mono = false
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Scale so the peak sits at this level in dBFS, e.g. -1.", valueName: "dBFS"))
    var normalize: Float?
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Bring the integrated loudness to this many LUFS (true peak under -1 dBTP), e.g. -16.", valueName: "LUFS"))
    var loudness: String?
    @Flag(name: .long, help: "Write 32-bit float WAV instead of 16-bit PCM.") var float = false
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        switch (outputArgument, outputOption) {
        case (nil, nil): throw ValidationError("name the output file: gen convert IN OUT, or gen convert IN -o OUT (- for a WAV on stdout).")
        case (let a?, let o?): throw ValidationError("the output is named twice ('\(a)' and -o '\(o)'): give one.")
        default: break
        }
        if let rate, !(1000...384_000).contains(rate) {
            throw ValidationError("--rate must be between 1000 and 384000 Hz, got \(rate).")
        }
        if let normalize, !(normalize <= 0 && normalize >= -120) {
            throw ValidationError("--normalize takes a peak level in dBFS between -120 and 0, got \(normalize).")
        }
        if let loudness { try LevelOptions.check(loudness) }
        if normalize != nil && loudness != nil { throw ValidationError("give --normalize (sample peak) or --loudness (LUFS), not both.") }
    }

    func run() throws {
        do {
            _ = try AudioFileFormat(path: output == "-" ? "stdout.wav" : output)  // unknown extension fails before any work
            // The whole file is held (several copies as it is resampled and levelled: about 11 bytes
            // a sample at the peak), so at most 2^28 samples: 3.4 hours of 22,050 Hz mono, 46
            // minutes of 48 kHz stereo.
            var audio = try AudioFile.read(input, mostSamples: 1 << 28)
            if mono { audio = audio.mono() }
            if let rate, rate != audio.sampleRate { audio = try Resampler.resample(audio, to: rate) }
            if let normalize { audio.samples = Normalize.toPeak(audio.samples, dBFS: normalize) }
            if let loudness, let target = LevelOptions.parse(loudness) ?? nil {
                audio.samples = try Loudness.normalize(audio.samples, sampleRate: audio.sampleRate, channels: audio.channels, target: target)
            }
            try AudioFile.write(audio, to: output, encoding: float ? .float32 : .pcm16)
            if !globals.quiet && output != "-" {
                print("\(output)  (\(audio.channels) ch, \(audio.sampleRate) Hz, \(String(format: "%.2f", audio.duration)) s)")
            }
        } catch AudioError.brokenPipe {
            throw AudioError.brokenPipe     // ends quietly, as a filter does (and as every other command)
        } catch let e as AudioError {
            throw GenError.io("\(e)")
        }
    }
}
