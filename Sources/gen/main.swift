// main.swift — entry point: parse, run, and map every failure to the documented exit codes.
import Base
import Engine
import Foundation
// A sentence of speech runs OpenBLAS's products in the caller's thread; OpenBLAS is opened ahead,
// on a thread of its own, for every command that computes (Runtime.configure).
let first = CommandLine.arguments.dropFirst().first ?? "--help"
Runtime.configure(short: first == "speech",
                  openAhead: !["voices", "models", "genres", "artists", "--help", "-h", "help", "--version"].contains(first))
// Ctrl-C, SIGTERM or SIGHUP: remove the temporary files of unfinished outputs, then exit (gen batch
// installs its own handlers, which first let the file being written finish).
TemporaryFiles.cleanUpOnSignals()
// A closed pipe (gen speech -o - | head) surfaces as a write error (EPIPE), so pending temporary
// files are removed first; GenMain then ends quietly by SIGPIPE, as a Unix filter does.
signal(SIGPIPE, SIG_IGN)
GenMain.run()
