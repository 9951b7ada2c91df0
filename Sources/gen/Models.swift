// Models.swift — `gen models` (each model with its card's key numbers), and where the models folder
// is found: --models-dir, then $GEN_MODELS, then PREFIX/share/gen/models of an installed gen
// (PREFIX/bin/gen), then models/ beside the executable or in a package root above it.
import ArgumentParser
import Engine
import Foundation
import Music

enum ModelsDirectory {
    static func resolve(_ explicit: String?) -> String? {
        let fm = FileManager.default
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment["GEN_MODELS"], !env.isEmpty { return env }
        // /proc/self/exe is the real binary even when gen was found through $PATH (argv[0] = "gen").
        let exe = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent()
        // `make install PREFIX=P`: P/bin/gen with its models in P/share/gen/models.
        let installed = dir.deletingLastPathComponent().appendingPathComponent("share/gen/models").path
        if fm.fileExists(atPath: installed + "/speech/config.json") { return installed }
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("models").path
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: candidate, isDirectory: &isDir), isDir.boolValue { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = fm.currentDirectoryPath + "/models"
        return fm.fileExists(atPath: cwd) ? cwd : nil
    }
}

extension GlobalOptions {
    /// The models folder (ModelsDirectory.resolve), or the error that says how to name one (exit 3).
    func modelsFolder() throws -> String {
        guard let dir = ModelsDirectory.resolve(modelsDir) else {
            throw GenError.io("no models folder found. Pass --models-dir DIR, set GEN_MODELS, or install gen with `make install`.")
        }
        return dir
    }
}

struct Models: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the models in the models folder, with their cards' key numbers.",
        discussion: """
        For each model folder (config.json, model.safetensors, MODEL_CARD.md) it prints
        the card's title, the parameter count (the card's `| parameters | N |` row, or
        else counted from the weights), the file size, and the card's `Key numbers:`
        line (quality and speed); for the codec, its bitrate ladder (the rungs that
        --codebooks and --bandwidth pick). The models gen uses are always listed; a
        missing one says how to train it.
        """)
    @OptionGroup var globals: GlobalOptions

    /// The models the commands load, and how each is made.
    static let expected = [
        ("speech", "gen train speech --data DATA --out models/speech"),
        ("vocoder", "gen train vocoder --data DATA --out models/vocoder (or use --vocoder griffin-lim)"),
        ("codec", "gen train codec --data DATA --out models/codec"),
        ("prior", "gen train prior --data DATA --codec models/codec --out models/prior"),
        ("tagger", "gen train tagger --data DATA --out models/tagger"),
    ]

    func run() throws {
        let dir = try globals.modelsFolder()
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: dir) else {
            throw GenError.io("cannot read models folder '\(dir)'. Check the path given to --models-dir or GEN_MODELS.")
        }
        let found = entries.sorted().filter { fm.fileExists(atPath: "\(dir)/\($0)/config.json") }
        print("models in \(dir):")
        for name in Self.expected.map(\.0) + found.filter({ n in !Self.expected.contains { $0.0 == n } }) {
            guard found.contains(name) else {
                let how = Self.expected.first { $0.0 == name }?.1 ?? ""
                print("\(name)\n  not installed; train it with `\(how)`")
                continue
            }
            let card = ModelCard(folder: "\(dir)/\(name)")
            print(name + (card.title.map { "  \($0)" } ?? ""))
            print("  " + card.sizeLine)
            if let key = card.keyNumbers { print("  " + key) }
            if name == "codec", let c = try? ConfigFile.read(RVQCodecConfig.self, from: "\(dir)/codec/config.json") {
                // The checks `gen codec` makes before it decodes: a config it refuses has no ladder to list.
                let problems = c.validate()
                print(problems.isEmpty ? "  bitrate ladder (--codebooks k: kbps): " + c.describe(c.rungs())
                      : "  invalid config (gen codec refuses it): " + problems.joined(separator: "; "))
            }
        }
    }
}

/// What `gen models` reads from a model folder. MODEL_CARD.md conventions: the first `# ` heading
/// is "# name — description"; a table row `| parameters | 2,953,683 |`; one line starting with
/// `Key numbers:` that sums up measured quality and speed.
struct ModelCard {
    var title: String?
    var parameters: String?
    var keyNumbers: String?
    var bytes: Int?

    init(folder: String) {
        let fm = FileManager.default
        // The file a link points to (attributesOfItem describes the link itself).
        let weights = URL(fileURLWithPath: folder + "/model.safetensors").resolvingSymlinksInPath().path
        bytes = (try? fm.attributesOfItem(atPath: weights)[.size] as? Int) ?? nil
        if let text = try? String(contentsOfFile: folder + "/MODEL_CARD.md", encoding: .utf8) {
            for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if title == nil, line.hasPrefix("# ") {
                    let heading = line.dropFirst(2)
                    title = heading.range(of: " — ").map { String(heading[$0.upperBound...]) } ?? String(heading)
                } else if parameters == nil, line.hasPrefix("|") {
                    let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                    if cells.count >= 2, cells[0].lowercased() == "parameters" { parameters = cells[1] }
                } else if keyNumbers == nil, line.lowercased().hasPrefix("key numbers:") {
                    keyNumbers = line
                }
            }
        }
        if parameters == nil, let weights = try? SafeTensorsFile.read(folder + "/model.safetensors") {
            let n = weights.tensors.values.reduce(0) { $0 + $1.elementCount }
            let digits = Array(String(n))
            parameters = stride(from: digits.count, to: 0, by: -3).reversed()
                .map { String(digits[max(0, $0 - 3)..<$0]) }.joined(separator: ",")
        }
    }

    var sizeLine: String {
        [parameters.map { "\($0) parameters" },
         bytes.map { String(format: "%.1f MB", Double($0) / 1e6) } ?? "no model.safetensors"].compactMap { $0 }.joined(separator: " · ")
    }
}
