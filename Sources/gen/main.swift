// main.swift — entry point: parse, run, and map every failure to the documented exit codes.
import Engine
Runtime.configure()
GenMain.run()
