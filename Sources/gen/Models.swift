// Models.swift — `gen models`, and where the models folder is found:
// --models-dir, then $GEN_MODELS, then models/ beside the executable or in a package root above it.
import ArgumentParser
import Foundation

enum ModelsDirectory {
    static func resolve(_ explicit: String?) -> String? {
        let fm = FileManager.default
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment["GEN_MODELS"], !env.isEmpty { return env }
        // /proc/self/exe is the real binary even when gen was found through $PATH (argv[0] = "gen").
        let exe = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent()
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

struct Models: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(abstract: "List the models found in the models folder.")
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        guard let dir = ModelsDirectory.resolve(globals.modelsDir) else {
            throw GenError.io("no models folder found. Pass --models-dir DIR or set GEN_MODELS.")
        }
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: dir) else {
            throw GenError.io("cannot read models folder '\(dir)'. Check the path given to --models-dir or GEN_MODELS.")
        }
        let models = entries.sorted().filter { fm.fileExists(atPath: "\(dir)/\($0)/config.json") }
        if models.isEmpty {
            print("\(dir): no trained models yet (each model is a folder with config.json, model.safetensors and MODEL_CARD.md).")
            return
        }
        for name in models {
            let size = (try? fm.attributesOfItem(atPath: "\(dir)/\(name)/model.safetensors")[.size] as? Int) ?? 0
            print("\(name)\t\(String(format: "%.1f MB", Double(size) / 1e6))\t\(dir)/\(name)")
        }
    }
}
