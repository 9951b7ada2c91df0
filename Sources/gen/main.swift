// main.swift — entry point: parse, run, and map every failure to the documented exit codes.
import Engine
import Foundation
Runtime.configure()
// A closed pipe (gen speech -o - | head) becomes a write error with exit 3, not a silent SIGPIPE death.
signal(SIGPIPE, SIG_IGN)
GenMain.run()
