// BatchTests.swift — the parts of `gen batch` that need no model: prompt-line parsing and each of
// its error kinds, output names, derived seeds, the shard split and the HTML report. The rendering
// itself is tested through the real executable in Tests/CLITests/BatchCLITests.swift.
@testable import Batch
import DSP
import Foundation
import Requests
import XCTest

final class PromptParsingTests: XCTestCase {
    func parse(_ text: String, file: String = "/p/set.jsonl", seed: UInt64 = 1) -> PromptSet {
        PromptParser.parse(text, file: file, format: try! PromptParser.Format(path: file), batchSeed: seed)
    }

    /// The reason given for a single line.
    func reason(_ line: String, file: String = "/p/set.jsonl") -> String {
        let set = parse(line, file: file)
        XCTAssertEqual(set.items.count, 0, "expected \(line) to be refused")
        return set.problems.first?.reason ?? ""
    }

    func testValidLinesGetDefaultsAndNames() throws {
        let text = """
        {"kind":"speech","text":"Hello there.","out":"hi.wav"}

        {"kind":"music","genre":"jazz","lyrics_file":"../lyrics/a.txt","duration":8,"seed":7,"top_k":0,"top_p":0.9,"temperature":0,"cfg":4.5,"bpm":150,"time_signature":"3/4","chords":"Dm7 G7 | C"}
        {"kind":"speech","text":"Slow.","voice":"rms","speed":0.8,"pitch":-2,"artist":null}
        """
        let set = parse(text)
        XCTAssertEqual(set.problems.map(\.description), ["/p/set.jsonl:4: unknown key \"artist\" for a speech line; valid keys: kind, text, voice, speed, pitch, vocoder, sentence_silence, vocoder_iterations, refine_iterations, postfilter, seed, out."])
        XCTAssertEqual(set.items.count, 2)
        XCTAssertEqual(set.lineCount, 3, "blank lines are not prompt lines")
        let speech = set.items[0]
        XCTAssertEqual(speech.line, 1); XCTAssertEqual(speech.ordinal, 0); XCTAssertEqual(speech.out, "hi.wav")
        XCTAssertEqual(speech.job, .speech(SpeechPrompt(text: "Hello there.")))
        XCTAssertTrue(speech.seedIsDerived)
        let music = set.items[1]
        XCTAssertEqual(music.line, 3, "line numbers count blank lines, as editors do")
        XCTAssertEqual(music.ordinal, 1)
        XCTAssertEqual(music.out, "set-003.wav")
        XCTAssertEqual(music.seed, 7); XCTAssertFalse(music.seedIsDerived)
        guard case .music(let m) = music.job else { return XCTFail("not music") }
        XCTAssertEqual(m.genre, "jazz"); XCTAssertNil(m.artist)
        XCTAssertEqual(m.lyricsFile, "/lyrics/a.txt", "relative to the prompt file's folder")
        XCTAssertEqual(m.duration, 8); XCTAssertEqual(m.topK, 0); XCTAssertEqual(m.topP, 0.9); XCTAssertEqual(m.temperature, 0)
        XCTAssertEqual(m.cfg, 4.5); XCTAssertEqual(m.bpm, 150); XCTAssertEqual(m.timeSignature, "3/4"); XCTAssertEqual(m.chords, "Dm7 G7 | C")

        // A prompt file named by a relative path: its lyrics still resolve beside it.
        let cwd = FileManager.default.currentDirectoryPath
        let relative = parse("{\"kind\":\"music\",\"lyrics_file\":\"../examples/l.txt\"}", file: "prompts/demo.jsonl")
        guard case .music(let r) = relative.items.first?.job else { return XCTFail("not music: \(relative.problems)") }
        XCTAssertEqual(r.lyricsFile, URL(fileURLWithPath: cwd).appendingPathComponent("examples/l.txt").standardized.path)
    }

    func testVocoderKey() throws {
        let set = parse("""
        {"kind":"speech","text":"A.","vocoder":"griffin-lim"}
        {"kind":"speech","text":"B."}
        """)
        XCTAssertEqual(set.problems, [])
        guard case .speech(let a) = set.items[0].job, case .speech(let b) = set.items[1].job else { return XCTFail("not speech") }
        XCTAssertEqual(a.vocoder, "griffin-lim")
        XCTAssertEqual(b.vocoder, "neural", "the neural vocoder is the default")
        XCTAssertTrue(reason("{\"kind\":\"speech\",\"text\":\"C.\",\"vocoder\":\"wavenet\"}")
            .contains("unknown \"vocoder\" 'wavenet'. Valid vocoders: neural, griffin-lim."))
    }

    // The keys that mirror `gen speech --sentence-silence / --vocoder-iterations / --refine-iterations /
    // --no-postfilter`, with the command line's ranges (Requests.swift) and its refusal of refining
    // Griffin-Lim; a line without them gets the command line's defaults.
    func testSpeechRenderingKeysMirrorTheCommandLine() throws {
        let set = parse("""
        {"kind":"speech","text":"A.","sentence_silence":0.5,"refine_iterations":0,"postfilter":false}
        {"kind":"speech","text":"B.","vocoder":"griffin-lim","vocoder_iterations":4}
        {"kind":"speech","text":"C.","refine_iterations":null,"postfilter":true}
        """)
        XCTAssertEqual(set.problems, [])
        guard set.items.count == 3, case .speech(let a) = set.items[0].job, case .speech(let b) = set.items[1].job,
              case .speech(let c) = set.items[2].job else { return XCTFail("not three speech lines: \(set.problems)") }
        XCTAssertEqual(a.sentenceSilence, 0.5); XCTAssertEqual(a.refineIterations, 0); XCTAssertFalse(a.postfilter)
        XCTAssertEqual(b.vocoderIterations, 4); XCTAssertNil(b.refineIterations); XCTAssertTrue(b.postfilter)
        XCTAssertEqual(c, SpeechPrompt(text: "C."), "null and the defaults are the command line's defaults")
        let cases: [(String, String)] = [
            (#""refine_iterations":65"#, #""refine_iterations" must be between 0 and 64, got 65."#),
            (#""refine_iterations":-1"#, #""refine_iterations" must be between 0 and 64, got -1."#),
            (#""refine_iterations":4,"vocoder":"griffin-lim""#,
             #""refine_iterations" refines the neural vocoder's output; with the griffin-lim vocoder use "vocoder_iterations"."#),
            (#""refine_iterations":18446744073709551615"#, #""refine_iterations" is too large."#),
            (#""refine_iterations":2.5"#, #""refine_iterations" must be a whole number, got a number 2.5."#),
            (#""vocoder_iterations":0"#, #""vocoder_iterations" must be between 1 and 500, got 0."#),
            (#""vocoder_iterations":-9223372036854775808"#, #""vocoder_iterations" must be between 1 and 500, got -1."#),
            (#""sentence_silence":11"#, #""sentence_silence" must be between 0 and 10 seconds, got 11."#),
            (#""postfilter":"no""#, #""postfilter" must be true or false, got a string "no"."#),
            (#""postfilter":0"#, #""postfilter" must be true or false, got a number 0."#),
        ]
        XCTAssertEqual(SpeechRequest.refineIterationsRange, MelProjectionSettings.iterationRange, "the request's range is the projection's")
        for (extra, expected) in cases {
            XCTAssertEqual(reason("{\"kind\":\"speech\",\"text\":\"D.\",\(extra)}"), expected, extra)
        }
    }

    func testTextFilesAreSpeechLines() throws {
        let set = parse("First line.\r\n\r\n  Second line.  \r\n", file: "/x/vo.txt")
        XCTAssertEqual(set.problems, [])
        XCTAssertEqual(set.items.map(\.out), ["vo-001.wav", "vo-003.wav"])
        XCTAssertEqual(set.items.map(\.job), [.speech(SpeechPrompt(text: "First line.")), .speech(SpeechPrompt(text: "Second line."))])
    }

    func testEveryKindOfBadLineIsNamed() {
        let cases: [(String, String)] = [
            ("Hello there.", "not valid JSON: each line of a .jsonl file is a JSON object"),
            ("{\"kind\":\"speech\",\"text\":\"a\"", "not valid JSON: check the quotes"),
            ("[1, 2]", "must be a JSON object"),
            ("{\"text\":\"hi\"}", "missing \"kind\""),
            ("{\"kind\":\"poem\",\"text\":\"hi\"}", "unknown \"kind\" 'poem'"),
            ("{\"kind\":\"speech\",\"text\":\"hi\",\"volume\":3}", "unknown key \"volume\""),
            ("{\"kind\":\"music\",\"text\":\"hi\"}", "unknown key \"text\" for a music line"),
            ("{\"kind\":\"speech\"}", "needs \"text\""),
            ("{\"kind\":\"speech\",\"text\":\"   \"}", "\"text\" is empty"),
            ("{\"kind\":\"speech\",\"text\":42}", "\"text\" must be a string, got a number 42"),
            ("{\"kind\":\"speech\",\"text\":\"hi\",\"voice\":\"\"}", "\"voice\" is empty"),
            ("{\"kind\":\"speech\",\"text\":\"hi\",\"speed\":\"fast\"}", "\"speed\" must be a number, got a string \"fast\""),
            ("{\"kind\":\"speech\",\"text\":\"hi\",\"speed\":true}", "\"speed\" must be a number, got a boolean"),
            ("{\"kind\":\"speech\",\"text\":\"hi\",\"speed\":9}", "\"speed\" must be between 0.25 and 4, got 9"),
            ("{\"kind\":\"speech\",\"text\":\"hi\",\"pitch\":-13}", "\"pitch\" must be between -12 and 12"),
            ("{\"kind\":\"speech\",\"text\":\"hi\",\"seed\":-1}", "\"seed\" must be a whole number ≥ 0, got -1"),
            ("{\"kind\":\"speech\",\"text\":\"hi\",\"seed\":1.5}", "\"seed\" must be a whole number ≥ 0, got a number 1.5"),
            ("{\"kind\":\"music\",\"duration\":0}", "\"duration\" must be more than 0 and at most 600 seconds, got 0"),
            ("{\"kind\":\"music\",\"duration\":601}", "at most 600 seconds, got 601"),
            ("{\"kind\":\"music\",\"temperature\":-0.5}", "\"temperature\" must be ≥ 0"),
            ("{\"kind\":\"music\",\"top_k\":-1}", "\"top_k\" must be ≥ 0"),
            ("{\"kind\":\"music\",\"top_k\":2.5}", "\"top_k\" must be a whole number"),
            ("{\"kind\":\"music\",\"top_p\":1.5}", "\"top_p\" must be between 0 and 1"),
            ("{\"kind\":\"music\",\"cfg\":0.5}", "\"cfg\" must be between 1 (off) and 10, got 0.5"),
            ("{\"kind\":\"music\",\"instrumental_cfg\":11}", "\"instrumental_cfg\" must be between 1 (off) and 10, got 11"),
            ("{\"kind\":\"music\",\"cfg_plausibility\":1}", "\"cfg_plausibility\" must be at least 0 (off) and below 1, got 1"),
            ("{\"kind\":\"music\",\"bpm\":1000}", "\"bpm\" must be between 20 and 400 beats per minute, got 1000"),
            ("{\"kind\":\"music\",\"time_signature\":\"4/3\"}", "\"time_signature\" must be beats/note value such as 4/4, 3/4, 2/4 or 6/8, got '4/3'"),
            // Bars of 32 × 60 / 20 = 96 s, past the grid's 60: once refused only when the line rendered.
            ("{\"kind\":\"music\",\"time_signature\":\"32/4\",\"bpm\":20}", "\"time_signature\" 32/4 at \"bpm\" 20 makes bars of 96 s"),
            // Names the file system would refuse (ENAMETOOLONG at render time before), not echoed whole.
            ("{\"kind\":\"speech\",\"text\":\"x\",\"out\":\"\(String(repeating: "a", count: 300)).wav\"}", "is too long: at most 32 folders deep, 200 bytes a name"),
            ("{\"kind\":\"speech\",\"text\":\"x\",\"out\":\"\(String(repeating: "a/", count: 40))a.wav\"}", "… (85 bytes)' is too long"),
            ("{\"kind\":\"music\",\"chords\":\" \"}", "\"chords\" is empty; give chords bar by bar"),
            ("{\"kind\":\"music\",\"chords\":7}", "\"chords\" must be a string"),
            ("{\"kind\":\"music\",\"onset_density\":9}", "\"onset_density\" must be between 0 and 8 onsets per second, got 9"),
            ("{\"kind\":\"music\",\"onset_density\":\"busy\"}", "\"onset_density\" must be a number"),
            ("{\"kind\":\"music\",\"lyrics\":\"la\",\"lyrics_file\":\"a.txt\"}", "not both"),
            ("{\"kind\":\"music\",\"lyrics\":\" \\n \"}", "\"lyrics\" is empty"),
            ("{\"kind\":\"music\",\"genre\":[\"jazz\"]}", "\"genre\" must be a string, got an array"),
            ("{\"kind\":\"music\",\"out\":\"/tmp/x.wav\"}", "must be relative to --out-dir"),
            ("{\"kind\":\"music\",\"out\":\"../x.wav\"}", "leaves the output folder"),
            ("{\"kind\":\"music\",\"out\":\"a/../../x.wav\"}", "leaves the output folder"),
            ("{\"kind\":\"music\",\"out\":\".x.wav\"}", "hidden file"),
            ("{\"kind\":\"music\",\"out\":\"x.mp3\"}", "must end in .wav, .flac or .ogg"),
            ("{\"kind\":\"music\",\"out\":\"dir/\"}", "names a folder"),
            ("{\"kind\":\"music\",\"out\":\"\"}", "\"out\" is empty"),
        ]
        for (line, expected) in cases {
            let r = reason(line)
            XCTAssertTrue(r.contains(expected), "\(line)\n  gave: \(r)\n  want: \(expected)")
        }
        XCTAssertTrue(parse("{\"kind\":\"speech\",\"text\":\"x\"}\nnot json", file: "/p/f.jsonl").problems.first!.description
                        .hasPrefix("/p/f.jsonl:2: not valid JSON"), "problems read file:line: reason")
    }

    func testOutputNamesAreNormalised() throws {
        XCTAssertEqual(try PromptParser.outputName("./jazz//a.flac"), "jazz/a.flac")
        XCTAssertEqual(try PromptParser.outputName("a b/#1.ogg"), "a b/#1.ogg")
    }

    func testRepeatedOutputsAreRefusedWithinAndAcrossFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.jsonl").path, b = dir.appendingPathComponent("sub/a.txt").path
        try FileManager.default.createDirectory(atPath: dir.appendingPathComponent("sub").path, withIntermediateDirectories: true)
        try """
        {"kind":"speech","text":"one","out":"x.wav"}
        {"kind":"speech","text":"two","out":"./x.wav"}
        {"kind":"speech","text":"three"}
        """.write(toFile: a, atomically: true, encoding: .utf8)
        try "line one\nline two\nline three\n".write(toFile: b, atomically: true, encoding: .utf8)
        let set = try PromptSet.load([a, b], batchSeed: 1)
        XCTAssertEqual(set.items.map(\.out), ["x.wav", "a-003.wav", "a-001.wav", "a-002.wav"])
        XCTAssertEqual(set.problems.map(\.location), ["\(a):2", "\(b):3"])
        XCTAssertTrue(set.problems[0].reason.contains("also written by \(a):1"), set.problems[0].reason)
        XCTAssertTrue(set.problems[1].reason.contains("also written by \(a):3"), set.problems[1].reason)
        XCTAssertEqual(set.lineCount, 6)
        XCTAssertEqual(set.problems.map(\.ordinal), [1, 5])

        XCTAssertThrowsError(try PromptSet.load([dir.appendingPathComponent("none.jsonl").path], batchSeed: 1)) {
            XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
        }
        XCTAssertThrowsError(try PromptSet.load([dir.appendingPathComponent("x.csv").path], batchSeed: 1)) {
            XCTAssertTrue("\($0)".contains("use .jsonl"), "\($0)")
        }
    }

    func testVocabularyNamesUnknownLabelsAndTheValidOnes() {
        let set = parse("""
        {"kind":"speech","text":"hi","voice":"bob"}
        {"kind":"music","genre":"polka"}
        {"kind":"music","genre":"jazz","artist":"Nobody"}
        {"kind":"music","genre":"jazz"}
        {"kind":"music","genre":"jazz","artist":"ANY"}
        """)
        let v = PromptVocabulary(voices: ["slt", "rms"], genres: ["jazz", "rock"], artists: ["Band A"])
        let reasons = set.items.map { v.problem($0) }
        XCTAssertEqual(reasons[0], "unknown voice 'bob'. Valid voices: slt, rms (see `gen voices`).")
        XCTAssertEqual(reasons[1], "unknown genre 'polka'. Valid genres: jazz, rock (see `gen genres`).")
        XCTAssertEqual(reasons[2], "unknown artist 'Nobody'. Valid artists: Band A (see `gen artists`), or \"any\" for no artist.")
        XCTAssertNil(reasons[3])
        XCTAssertNil(reasons[4], "\"any\" asks for no artist")
        XCTAssertNil(PromptVocabulary().problem(set.items[0]), "a model that is not loaded checks nothing")
    }
}

final class SpeechLengthTests: XCTestCase {
    func testSpeechTextOverTenThousandCharactersIsRefusedAtParseTime() {
        let ok = String(repeating: "word ", count: 2_000)   // 10,000 characters
        let long = ok + "x"
        let jsonl = [ok, long].map { "{\"kind\":\"speech\",\"text\":\"\($0)\"}" }.joined(separator: "\n")
        let set = PromptParser.parse(jsonl, file: "/p/long.jsonl", format: .jsonLines, batchSeed: 1)
        XCTAssertEqual(set.items.map(\.line), [1])
        XCTAssertEqual(set.problems.count, 1)
        XCTAssertTrue(set.problems[0].description.hasPrefix("/p/long.jsonl:2: text is 10001 characters; split it"), set.problems[0].description)
        let txt = PromptParser.parse("Short.\n" + String(repeating: "a", count: 50_000), file: "/p/long.txt", format: .text, batchSeed: 1)
        XCTAssertEqual(txt.items.map(\.line), [1])
        XCTAssertTrue(txt.problems.first?.description.hasPrefix("/p/long.txt:2: text is 50000 characters; split it") ?? false, "\(txt.problems)")
    }
}

final class SeedAndShardTests: XCTestCase {
    func testDerivedSeedsAreStableAndDistinct() {
        let s = BatchSeed.derive(batchSeed: 1, file: "prompts/demo.jsonl", line: 3)
        XCTAssertEqual(s, BatchSeed.derive(batchSeed: 1, file: "/elsewhere/demo.jsonl", line: 3), "only the file name counts")
        XCTAssertEqual(s, 2_840_339_140, "the documented derivation changed: old batches would render differently")
        var seen = Set<UInt64>()
        for file in ["a.jsonl", "b.jsonl", "a.txt"] {
            for line in 1...300 {
                let x = BatchSeed.derive(batchSeed: 1, file: file, line: line)
                XCTAssertLessThanOrEqual(x, UInt64(UInt32.max))
                seen.insert(x)
            }
        }
        XCTAssertEqual(seen.count, 900, "seeds of different lines collide")
        XCTAssertNotEqual(BatchSeed.derive(batchSeed: 2, file: "a.jsonl", line: 1), BatchSeed.derive(batchSeed: 1, file: "a.jsonl", line: 1))
        let lines = (1...5).map { "{\"kind\":\"speech\",\"text\":\"line \($0)\"}" }.joined(separator: "\n")
        let items = PromptParser.parse(lines, file: "s.jsonl", format: .jsonLines, batchSeed: 9).items
        XCTAssertEqual(items.map(\.seed), (1...5).map { BatchSeed.derive(batchSeed: 9, file: "s.jsonl", line: $0) })
    }

    func testPromptFilesWithTheSameNameInTwoFoldersGetTheirOwnOutputsAndSeeds() throws {
        XCTAssertEqual(PromptSet.names(for: ["a/set.jsonl", "b/set.jsonl", "c/other.jsonl"]), ["a/set.jsonl", "b/set.jsonl", "other.jsonl"])
        XCTAssertEqual(PromptSet.names(for: ["/x/a/set.jsonl", "/y/a/set.jsonl"]), ["x/a/set.jsonl", "y/a/set.jsonl"], "the shortest end that differs")
        XCTAssertEqual(PromptSet.names(for: ["/p/set.jsonl", "/p/./set.jsonl"]), ["set.jsonl", "set.jsonl"], "one file named twice is one file")
        XCTAssertEqual(PromptSet.names(for: ["b/set.jsonl", "a/set.jsonl"]), ["b/set.jsonl", "a/set.jsonl"], "names do not depend on order")
        // A file whose name is unique keeps the documented seed.
        XCTAssertEqual(BatchSeed.derive(batchSeed: 1, name: "demo.jsonl", line: 3), 2_840_339_140)

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("batch-names-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var paths: [String] = []
        for folder in ["a", "b"] {
            let dir = root.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let p = dir.appendingPathComponent("set.jsonl").path
            try "{\"kind\":\"speech\",\"text\":\"Hello.\"}\n{\"kind\":\"speech\",\"text\":\"Bye.\"}\n".write(toFile: p, atomically: true, encoding: .utf8)
            paths.append(p)
        }
        let set = try PromptSet.load(paths, batchSeed: 1)
        XCTAssertEqual(set.problems, [], "the two files' default outputs collide")
        XCTAssertEqual(set.items.map(\.out), ["a-set-001.wav", "a-set-002.wav", "b-set-001.wav", "b-set-002.wav"])
        XCTAssertEqual(Set(set.items.map(\.seed)).count, 4, "derived seeds collide")
        XCTAssertEqual(set.items[0].seed, BatchSeed.derive(batchSeed: 1, name: "a/set.jsonl", line: 1))
        XCTAssertEqual(set.items[0].file, paths[0], "messages still name the file as given")
        // Alone, each file keeps its plain name.
        XCTAssertEqual(try PromptSet.load([paths[1]], batchSeed: 1).items.map(\.out), ["set-001.wav", "set-002.wav"])
    }

    func testShardsPartitionEveryLine() throws {
        let lines = (1...23).map { $0 % 5 == 0 ? "bad line \($0)" : "{\"kind\":\"speech\",\"text\":\"line \($0)\"}" }
        let set = PromptParser.parse(lines.joined(separator: "\n"), file: "s.jsonl", format: .jsonLines, batchSeed: 1)
        XCTAssertEqual(set.items.count + set.problems.count, 23)
        var owned: [Int] = []
        for n in [1, 2, 3, 7] {
            owned = []
            var sizes: [Int] = []
            for i in 1...n {
                let s = set.shard(try Shard(parsing: "\(i)/\(n)"))
                owned += s.items.map(\.ordinal) + s.problems.map(\.ordinal)
                sizes.append(s.items.count + s.problems.count)
            }
            XCTAssertEqual(owned.sorted(), Array(0..<23), "shards of \(n) overlap or miss lines")
            XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "unbalanced: \(sizes)")
        }
        XCTAssertEqual(set.shard(nil).items, set.items)
    }

    func testShardSyntaxErrorsSayWhatIsMeant() {
        for (text, expected) in [("0/3", "1-based"), ("4/3", "numbered 1 to 3"), ("2", "takes i/n"), ("a/b", "takes i/n"), ("1/0", "at least 1")] {
            XCTAssertThrowsError(try Shard(parsing: text), text) { XCTAssertTrue("\($0)".contains(expected), "\(text): \($0)") }
        }
        XCTAssertEqual(try Shard(parsing: " 2/3"), Shard(index: 2, count: 3))
    }
}

final class ReportTests: XCTestCase {
    func item(_ out: String, _ source: String, line: Int) -> BatchItem {
        BatchItem(file: "p/<a>.jsonl", line: line, ordinal: line - 1, source: source, job: .speech(SpeechPrompt(text: source)),
                  seed: 42, seedIsDerived: true, out: out)
    }

    func testReportEscapesTextAndLinksRelatively() {
        let evil = "<script>alert('x')</script> & \"quotes\""
        var tally = BatchTally(); tally.rendered = 1; tally.skipped = 1; tally.failed = 2
        let entries = [
            ReportEntry(item: item("a b/#1?.wav", evil, line: 1), status: .rendered, audioSeconds: 2.5, renderSeconds: 0.25,
                        spectrogram: BatchReport.spectrogramPath(for: "a b/#1?.wav")),
            ReportEntry(item: item("été.wav", "plain", line: 2), status: .skipped, audioSeconds: 1, spectrogram: "spectrograms/été.wav.png"),
            ReportEntry(item: item("c.wav", "boom", line: 3), status: .failed("model <broke>")),
        ]
        let problems = [PromptProblem(file: "p/<a>.jsonl", line: 4, ordinal: 3, reason: "not valid JSON: <oops>")]
        let html = BatchReport.html(entries, problems: problems, tally: tally, title: "T <1>", command: "gen batch '<a>.jsonl'")
        XCTAssertFalse(html.contains("<script>"), "prompt text must be escaped")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"))
        XCTAssertTrue(html.contains("src=\"a%20b/%231%3F.wav\""), "audio src: relative and percent-encoded")
        XCTAssertTrue(html.contains("src=\"spectrograms/a%20b/%231%3F.wav.png\""))
        XCTAssertTrue(html.contains("src=\"%C3%A9t%C3%A9.wav\""))
        XCTAssertTrue(html.contains("model &lt;broke&gt;") && html.contains("p/&lt;a&gt;.jsonl:4: not valid JSON: &lt;oops&gt;"))
        XCTAssertTrue(html.contains("<title>T &lt;1&gt;</title>"))
        XCTAssertEqual(html.components(separatedBy: "<audio ").count - 1, 2, "a player per rendered or skipped item, none for failures")
        XCTAssertEqual(html.components(separatedBy: "<img ").count - 1, 2)
        XCTAssertTrue(html.contains("42 (derived)") && html.contains("0.25 s") && html.contains("earlier run"))
        for forbidden in ["http:", "https:", "file:", "src=\"/", "<script"] {
            XCTAssertFalse(html.contains(forbidden), "the page must open from disk on its own: found \(forbidden)")
        }
    }

    func testEscapeAndHref() {
        XCTAssertEqual(BatchReport.escape("a<b>&\"c\"'"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;")
        XCTAssertEqual(BatchReport.href("jazz/take 1%.wav"), "jazz/take%201%25.wav")
    }

    func testSummaryAndBar() {
        var t = BatchTally(); t.rendered = 10; t.failed = 2; t.renderedAudio = 31.25; t.wallSeconds = 4.04
        let s = BatchReport.summary(t, jobs: 2, threadsPerJob: 1)
        XCTAssertTrue(s.contains("rendered      10      31.2 s") || s.contains("rendered      10      31.3 s"), s)
        XCTAssertTrue(s.contains("failed         2"), s)
        XCTAssertTrue(s.contains("total         12"), s)
        XCTAssertTrue(s.contains("wall time 4.0 s, 2 jobs × 1 BLAS thread"), s)
        XCTAssertEqual(BatchReport.bar(done: 3, total: 12, width: 8), "[##......] 3/12")
    }
}
