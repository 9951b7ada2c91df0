// main.swift — entry point: parse, run, and map every failure to the documented exit codes.
import Base
import Engine
import Foundation
// Short commands skip the start-up re-exec that tunes OpenBLAS and malloc for long work.
Runtime.configure(reexec: !["speech", "voices", "models", "genres", "artists", "--help", "-h", "help", "--version"]
    .contains(CommandLine.arguments.dropFirst().first ?? "--help"))
// Ctrl-C, SIGTERM or SIGHUP: remove the temporary files of unfinished outputs, then exit (gen batch
// installs its own handlers, which first let the file being written finish).
TemporaryFiles.cleanUpOnSignals()
// A closed pipe (gen speech -o - | head) surfaces as a write error (EPIPE), so pending temporary
// files are removed first; GenMain then ends quietly by SIGPIPE, as a Unix filter does.
signal(SIGPIPE, SIG_IGN)
GenMain.run()
