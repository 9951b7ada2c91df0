// BandRenderer.swift — renders one clip's band: writes an MMA script (groove, key, tempo, chords,
// the artist's voice overrides and an Aria track, MMA's generated melody), runs `mma` to make a
// MIDI file and `fluidsynth` to render it with the artist's soundfont, and returns mono audio at
// 22050 Hz. Both tools run as child processes in a scratch folder the caller owns.
import Audio
import Foundation

/// A failure of the music corpus builder, with what went wrong and how to fix it.
public enum MusicCorpusError: Error, CustomStringConvertible {
    /// A tool or data file the renderer needs is not installed.
    case missingDependency(what: String, fix: String)
    /// An external tool failed on one clip.
    case renderFailed(clip: String, tool: String, log: String)
    /// A problem with the user's input (metadata lines, options); exit code 2 in the CLI.
    case badInput(String)
    /// A file could not be read or written; exit code 3 in the CLI.
    case io(String)

    public var description: String {
        switch self {
        case .missingDependency(let what, let fix): return "\(what) is not installed. \(fix)"
        case .renderFailed(let clip, let tool, let log):
            let tail = log.split(separator: "\n").suffix(6).joined(separator: "\n  ")
            return "\(tool) failed on clip \(clip):\n  \(tail)\nCheck that the Debian packages mma, fluidsynth and the soundfonts are installed (make test installs them)."
        case .badInput(let m), .io(let m): return m
        }
    }

    public var isUsageError: Bool { if case .badInput = self { return true } else { return false } }
}

enum ExternalTool {
    /// The absolute path of `name` on $PATH (then /usr/bin), or nil.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `tool` with `arguments`, stdout and stderr going to `log`; returns the exit status.
    static func run(_ tool: String, _ arguments: [String], log: String) throws -> Int32 {
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            throw MusicCorpusError.io("cannot create '\(log)' in the scratch folder; check that \(NSTemporaryDirectory()) is writable.")
        }
        defer { try? handle.close() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}

struct BandRenderer {
    let mma: String
    let fluidsynth: String

    /// Finds the tools and checks the soundfonts the clips need, naming the package to install.
    init(soundfonts: Set<Soundfont>) throws {
        guard let mma = ExternalTool.find("mma") else {
            throw MusicCorpusError.missingDependency(what: "mma (Musical MIDI Accompaniment)", fix: "Install it with `apt-get install mma`.")
        }
        guard let fluidsynth = ExternalTool.find("fluidsynth") else {
            throw MusicCorpusError.missingDependency(what: "fluidsynth", fix: "Install it with `apt-get install fluidsynth`.")
        }
        for sf in soundfonts.sorted(by: { $0.rawValue < $1.rawValue }) where !FileManager.default.fileExists(atPath: sf.path) {
            throw MusicCorpusError.missingDependency(what: "the soundfont \(sf.path)", fix: "Install it with `apt-get install \(sf.debianPackage)`.")
        }
        self.mma = mma
        self.fluidsynth = fluidsynth
    }

    // Aria (generated melody) rhythms, one bar each, by beats per bar: "beat length velocity".
    static let leadRhythms: [Int: [String]] = [
        4: ["{1 4. 90; 2.5 8 70; 3 2 80}", "{1 8 90; 1.5 8 75; 2 4 85; 3 4 80; 4 4 75}",
            "{1 2 90; 3 4 80; 4 4 70}", "{1 4 85; 2 4 80; 3 4 85; 4 8 70; 4.5 8 70}"],
        3: ["{1 2 90; 3 4 75}", "{1 4 90; 2 4 75; 3 4 75}", "{1 2. 85}", "{1 4. 85; 2.5 8 70; 3 4 75}"],
        2: ["{1 4 90; 2 4 80}", "{1 2 85}", "{1 8 85; 1.5 8 70; 2 4 80}", "{1 4. 85; 2.5 8 70}"],
    ]

    /// The MMA script of a clip.
    static func script(_ c: MusicClipPlan) -> String {
        let a = c.artist, g = c.groove
        let rhythms = leadRhythms[g.beatsPerBar] ?? leadRhythms[4]!
        var s = """
        // gen music corpus, clip \(c.id): \(c.genre) by \(a.name), \(c.progression.name) in \(c.key.name)
        RndSeed \(c.mmaSeed)
        Tempo \(Int(c.tempo))
        Groove \(g.name)
        KeySig \(c.key.tonicName) \(c.key.mode == .major ? "Major" : "Minor")

        """
        if !g.keepsVoices {
            s += """
            AllTracks Bass Voice \(a.bassVoice)
            AllTracks Walk Voice \(a.bassVoice)
            AllTracks Chord Voice \(a.chordVoice)

            """
        }
        s += """
        Begin Aria
            Voice \(a.leadVoice)
            Octave \(a.leadOctave)
            Volume \(c.vocals ? "mp" : "mf")
            Articulate 90
            Range 1.5
            ScaleType \(c.leadScale ? "Scale" : "Chord")
            Direction r 1 1 -1 r -1
            Sequence \(c.leadRhythms.map { rhythms[$0 % rhythms.count] }.joined(separator: " "))
            Rskip 10
            Rvolume 10
        End

        """
        for bar in 0..<c.bars { s += c.progression.mmaLine(bar: bar, key: c.key, beats: g.beatsPerBar) + "\n" }
        return s
    }

    /// Renders the band of `clip` in `scratch`: mono samples at `sampleRate`, exactly `frames` long.
    func render(_ clip: MusicClipPlan, scratch: String, sampleRate: Int, frames: Int) throws -> [Float] {
        let base = "\(scratch)/\(clip.id)"
        let script = base + ".mma", midi = base + ".mid", wav = base + ".wav", log = base + ".log"
        defer { for f in [script, midi, wav, log] { try? FileManager.default.removeItem(atPath: f) } }
        do { try Self.script(clip).write(toFile: script, atomically: false, encoding: .utf8) } catch {
            throw MusicCorpusError.io("cannot write '\(script)': \(error.localizedDescription). Check that the temporary folder is writable.")
        }
        // -w: no warnings (the Debian package warns about its missing plugin folder on every run).
        let mmaStatus = try ExternalTool.run(mma, ["-w", "-f", midi, script], log: log)
        guard mmaStatus == 0, FileManager.default.fileExists(atPath: midi) else {
            throw MusicCorpusError.renderFailed(clip: clip.id, tool: "mma", log: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        }
        // fluidsynth exits 0 even when it cannot read its inputs, so the output is checked instead.
        // Float WAV output cannot clip; dynamic sample loading decodes only the samples the song uses.
        let args = ["-n", "-i", "-q", "-g", "0.5", "-r", String(sampleRate), "-T", "wav", "-O", "float",
                    "-o", "synth.dynamic-sample-loading=1", "-o", "synth.reverb.level=\(clip.artist.reverb)",
                    "-F", wav, clip.artist.soundfont.path, midi]
        _ = try ExternalTool.run(fluidsynth, args, log: log)
        guard FileManager.default.fileExists(atPath: wav), let audio = try? AudioFile.read(wav) else {
            throw MusicCorpusError.renderFailed(clip: clip.id, tool: "fluidsynth", log: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        }
        var mono = try Resampler.resample(audio.mono(), to: sampleRate).samples
        // The bars end the clip; fluidsynth's release tail after the last bar is cut off.
        if mono.count > frames { mono.removeLast(mono.count - frames) }
        if mono.count < frames { mono.append(contentsOf: repeatElement(0, count: frames - mono.count)) }
        return mono
    }
}
