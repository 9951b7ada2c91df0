// BatchReport.swift — what `gen batch` shows a person: the listening report (`--report`,
// DIR/index.html), the end-of-run summary table and the progress bar.
//
// The report is one static HTML file with inline CSS and no script or external URL, so it opens
// from disk (file://) in any browser and can be copied or archived with its folder. Each item has
// an <audio controls> player and its spectrogram <img>, both by relative URLs (every path
// component percent-encoded, then HTML-escaped), its prompt line as written, its seed and render
// time. Every piece of prompt text is HTML-escaped.
import Foundation

public struct ReportEntry: Sendable {
    public enum Status: Equatable, Sendable { case rendered, skipped, failed(String) }
    public var item: BatchItem
    public var status: Status
    public var audioSeconds: Double?
    public var renderSeconds: Double?
    /// The spectrogram PNG, relative to the report's folder (nil when there is none).
    public var spectrogram: String?
    /// Integrated loudness of what was written, LUFS (EBU R128), when it has one.
    public var loudness: Double?

    public init(item: BatchItem, status: Status, audioSeconds: Double? = nil, renderSeconds: Double? = nil, spectrogram: String? = nil,
                loudness: Double? = nil) {
        self.item = item; self.status = status; self.audioSeconds = audioSeconds
        self.renderSeconds = renderSeconds; self.spectrogram = spectrogram; self.loudness = loudness
    }
}

/// Counts for the summary table and the report's header.
public struct BatchTally: Equatable, Sendable {
    public var rendered = 0, skipped = 0, failed = 0
    public var renderedAudio = 0.0, skippedAudio = 0.0
    public var wallSeconds = 0.0
    public init() {}
    public var items: Int { rendered + skipped + failed }
}

public enum BatchReport {
    /// Where an output's spectrogram goes, relative to the output folder.
    public static func spectrogramPath(for out: String) -> String { "spectrograms/\(out).png" }

    /// `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted attributes.
    public static func escape(_ s: String) -> String {
        var r = ""
        r.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"": r += "&quot;"
            case "'": r += "&#39;"
            default: r.unicodeScalars.append(c)
            }
        }
        return r
    }

    /// A relative path as a URL reference: each component percent-encoded (so '#', '?', '%',
    /// spaces and non-ASCII survive), '/' kept; ready to HTML-escape into an attribute.
    public static func href(_ relativePath: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return relativePath.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0) }
            .joined(separator: "/")
    }

    static func seconds(_ s: Double?, digits: Int = 1) -> String { s.map { String(format: "%.\(digits)f s", $0) } ?? "—" }

    /// The whole page. `problems` are the lines that never became items (bad JSON, unknown labels).
    public static func html(_ entries: [ReportEntry], problems: [PromptProblem], tally: BatchTally,
                            title: String, command: String) -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 60rem; padding: 0 1rem; color: #1d1d1f; background: #fafafa; }
        h1 { font-size: 1.5rem; margin-bottom: .2rem; }
        .meta { color: #555; margin-top: 0; }
        section.item { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: .8rem 1rem; margin: 1rem 0; }
        section.item h2 { font-size: 1.05rem; margin: 0 0 .4rem; word-break: break-all; }
        .kind { display: inline-block; font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; padding: .05rem .45rem; border-radius: 4px; background: #e8e3f7; color: #3c2c7a; margin-right: .4rem; vertical-align: middle; }
        .kind.speech { background: #dff0e6; color: #1d5a35; }
        audio { width: 100%; margin: .3rem 0; }
        img.spec { display: block; width: 100%; height: 120px; object-fit: fill; image-rendering: pixelated; border-radius: 4px; background: #000; }
        pre { white-space: pre-wrap; word-break: break-word; background: #f3f3f3; padding: .5rem .7rem; border-radius: 4px; margin: .5rem 0 .3rem; font-size: .85rem; }
        dl { display: flex; flex-wrap: wrap; gap: .2rem 1.4rem; margin: .3rem 0 0; font-size: .9rem; }
        dt { color: #666; } dd { margin: 0 0 0 .3rem; font-variant-numeric: tabular-nums; }
        dl div { display: flex; }
        .failed { border-color: #e0a0a0; background: #fff6f6; }
        .error { color: #a01919; }
        table { border-collapse: collapse; margin: .5rem 0 1rem; }
        td, th { padding: .15rem .8rem .15rem 0; text-align: left; font-variant-numeric: tabular-nums; }
        </style>
        </head>
        <body>
        <h1>\(escape(title))</h1>
        <p class="meta"><code>\(escape(command))</code></p>
        <table>
        <tr><th></th><th>items</th><th>audio</th></tr>
        <tr><td>rendered</td><td>\(tally.rendered)</td><td>\(seconds(tally.renderedAudio))</td></tr>
        <tr><td>skipped (already there)</td><td>\(tally.skipped)</td><td>\(seconds(tally.skippedAudio))</td></tr>
        <tr><td>failed</td><td>\(tally.failed)</td><td></td></tr>
        <tr><td>wall time</td><td colspan="2">\(seconds(tally.wallSeconds))</td></tr>
        </table>

        """
        if !problems.isEmpty {
            h += "<section class=\"item failed\"><h2>Lines that were not rendered</h2><ul>\n"
            for p in problems { h += "<li class=\"error\">\(escape(p.description))</li>\n" }
            h += "</ul></section>\n"
        }
        for e in entries {
            let item = e.item
            var cls = "item"
            if case .failed = e.status { cls += " failed" }
            h += "<section class=\"\(cls)\" id=\"\(escape(href(item.out)))\">\n"
            h += "<h2><span class=\"kind \(item.job.kind)\">\(item.job.kind)</span>\(escape(item.out))</h2>\n"
            switch e.status {
            case .failed(let reason):
                h += "<p class=\"error\">failed: \(escape(reason))</p>\n"
            case .rendered, .skipped:
                h += "<audio controls preload=\"metadata\" src=\"\(escape(href(item.out)))\"></audio>\n"
                if let png = e.spectrogram {
                    h += "<img class=\"spec\" src=\"\(escape(href(png)))\" alt=\"log-mel spectrogram of \(escape(item.out))\">\n"
                }
            }
            h += "<pre>\(escape(item.source))</pre>\n<dl>"
            var facts: [(String, String)] = [("line", item.location),
                                             ("seed", "\(item.seed)" + (item.seedIsDerived ? " (derived)" : ""))]
            facts.append(("audio", seconds(e.audioSeconds)))
            if let lufs = e.loudness { facts.append(("loudness", String(format: "%.1f LUFS", lufs))) }
            switch e.status {
            case .rendered: facts.append(("render time", seconds(e.renderSeconds, digits: 2)))
            case .skipped: facts.append(("render time", "earlier run"))
            case .failed: break
            }
            for (k, v) in facts { h += "<div><dt>\(escape(k))</dt><dd>\(escape(v))</dd></div>" }
            h += "</dl>\n</section>\n"
        }
        h += "</body>\n</html>\n"
        return h
    }

    /// The end-of-run table, plain text.
    public static func summary(_ t: BatchTally, jobs: Int, threadsPerJob: Int) -> String {
        func row(_ name: String, _ n: Int, _ audio: String) -> String {
            name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "%6d", n) + "  " + audio
        }
        return [
            "             items  audio",
            row("rendered", t.rendered, String(format: "%8.1f s", t.renderedAudio)),
            row("skipped", t.skipped, String(format: "%8.1f s", t.skippedAudio)),
            row("failed", t.failed, ""),
            row("total", t.items, String(format: "%8.1f s", t.renderedAudio + t.skippedAudio)),
            String(format: "wall time %.1f s, %d job%@ × %d BLAS thread%@", t.wallSeconds, jobs, jobs == 1 ? "" : "s",
                   threadsPerJob, threadsPerJob == 1 ? "" : "s"),
        ].joined(separator: "\n")
    }

    /// "[#########...........]  9/20" for a terminal.
    public static func bar(done: Int, total: Int, width: Int = 24) -> String {
        let filled = total > 0 ? min(width, done * width / total) : width
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(done)/\(total)"
    }
}
