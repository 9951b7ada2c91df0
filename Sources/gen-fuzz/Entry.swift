// gen-fuzz — the fuzz harnesses (FuzzTargets) as one executable. Built with
// `-sanitize=fuzzer -D FUZZING` (make fuzz), libFuzzer drives it and GEN_FUZZ_TARGET names the
// target; built plainly, it replays files: `gen-fuzz TARGET FILE...` (a crash found by the fuzzer,
// reproduced without it).
import FuzzTargets
import Foundation

#if FUZZING
private let target: FuzzTarget = {
    guard let name = ProcessInfo.processInfo.environment["GEN_FUZZ_TARGET"], let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write("set GEN_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".data(using: .utf8)!)
        exit(2)
    }
    return t
}()

/// libFuzzer's entry for programs that keep their own main (SwiftPM names the executable's entry
/// point itself, so libFuzzer's main is not linked; its driver is).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@main
struct Fuzz {
    static func main() {
        _ = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        })
    }
}
#else
@main
struct Replay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: gen-fuzz TARGET FILE...   (TARGET: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            exit(2)
        }
        for file in args.dropFirst() {
            guard let data = FileManager.default.contents(atPath: file) else { print("cannot read \(file)"); exit(3) }
            target.run([UInt8](data))
            print("ok \(file)")
        }
    }
}
#endif
