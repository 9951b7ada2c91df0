// SSML.swift — the subset of SSML 1.1 (W3C) that people use with espeak-ng `-m` and flite `-ssml`,
// parsed with Foundation's XMLParser (a real XML parser: entities, CDATA, comments and malformed
// markup are its business), into a flat list of pieces the synthesizer speaks in order:
//
//   <speak>                         the root (required)
//   <break time="500ms|1.5s" strength="none|x-weak|weak|medium|strong|x-strong"/>   a pause
//   <prosody rate pitch volume>     rate: x-slow…x-fast, "80%", "1.2"; pitch: x-low…x-high,
//                                   "+2st", "-10%"; volume: silent, x-soft…x-loud, "+6dB"
//   <say-as interpret-as="characters|spell-out|cardinal|number|digits|date" format="ymd|mdy|dmy">
//   <phoneme alphabet="arpabet|cmu" ph="HH AH0 L OW1">hello</phoneme>   (gen's inline [[ ]] phones)
//   <voice name="rms">              another voice for the text inside
//   <s>, <p>                        sentence and paragraph (a paragraph ends with a pause)
//   <sub alias="…">                 speak the alias instead of the text
//
// Anything else is an error naming the tag, never spoken. Nesting composes: rates multiply,
// pitch shifts and volume changes add.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

public struct SSMLError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One piece of an SSML document: text with its prosody, or a pause.
public enum SSMLPiece: Equatable {
    case text(String, voice: String?, rate: Float, pitch: Float, volumeDB: Float)
    case pause(seconds: Double)
}

public enum SSML {
    /// Tags gen understands.
    public static let tags = ["speak", "break", "prosody", "say-as", "phoneme", "voice", "s", "p", "sub", "emphasis"]

    /// True when `text` looks like an SSML document (starts with `<speak` or an XML declaration).
    public static func looksLikeSSML(_ text: String) -> Bool {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.hasPrefix("<speak") || (t.hasPrefix("<?xml") && t.contains("<speak"))
    }

    /// The pieces of `document`, in order; adjacent text with the same prosody is joined.
    public static func parse(_ document: String) throws -> [SSMLPiece] {
        let delegate = Delegate()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = delegate
        parser.shouldResolveExternalEntities = false
        let ok = parser.parse()
        if let e = delegate.error { throw e }
        guard ok else {
            let reason = parser.parserError.map { ($0 as NSError).localizedDescription } ?? "malformed XML"
            throw SSMLError("the SSML is not well-formed XML (line \(parser.lineNumber), column \(parser.columnNumber): \(reason)). "
                            + "Check that every tag is closed and that & < > in text are written &amp; &lt; &gt;.")
        }
        guard delegate.sawRoot else { throw SSMLError("SSML must be wrapped in <speak>…</speak>.") }
        return delegate.pieces
    }

    // MARK: attribute values

    static let breakStrengths: [String: Double] = ["none": 0, "x-weak": 0.1, "weak": 0.25, "medium": 0.5, "strong": 0.75, "x-strong": 1.25]
    static let rateNames: [String: Float] = ["x-slow": 0.5, "slow": 0.75, "medium": 1, "default": 1, "fast": 1.25, "x-fast": 1.6]
    static let pitchNames: [String: Float] = ["x-low": -6, "low": -3, "medium": 0, "default": 0, "high": 3, "x-high": 6]
    static let volumeNames: [String: Float] = ["silent": -96, "x-soft": -12, "soft": -6, "medium": 0, "default": 0, "loud": 6, "x-loud": 12]

    /// "500ms", "1.5s" → seconds (at most 10).
    static func duration(_ text: String) throws -> Double {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let value: Double?
        if t.hasSuffix("ms") { value = Double(t.dropLast(2)).map { $0 / 1000 } }
        else if t.hasSuffix("s") { value = Double(t.dropLast()) }
        else { value = nil }
        guard let v = value, v.isFinite, v >= 0, v <= 10 else {
            throw SSMLError("<break time=\"\(text)\">: give a time from 0 to 10 s as \"500ms\" or \"1.5s\".")
        }
        return v
    }

    /// A rate factor: a name, "80%" (of the current rate) or a bare number.
    static func rate(_ text: String) throws -> Float {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        var v: Float?
        if let named = rateNames[t] { v = named }
        else if t.hasSuffix("%") { v = Float(t.dropLast()).map { $0 / 100 } }
        else { v = Float(t) }
        guard let r = v, r.isFinite, r >= 0.25, r <= 4 else {
            throw SSMLError("<prosody rate=\"\(text)\">: use x-slow, slow, medium, fast, x-fast, a percentage (80%) or a factor from 0.25 to 4.")
        }
        return r
    }

    /// A pitch change in semitones: a name, "+2st", or "-10%" (of the frequency).
    static func pitch(_ text: String) throws -> Float {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        var v: Float?
        if let named = pitchNames[t] { v = named }
        else if t.hasSuffix("st") { v = Float(t.dropLast(2)) }
        else if t.hasSuffix("%"), let p = Float(t.dropLast()), p > -100 { v = 12 * log2(1 + p / 100) }
        guard let s = v, s.isFinite, abs(s) <= 12 else {
            throw SSMLError("<prosody pitch=\"\(text)\">: use x-low, low, medium, high, x-high, semitones (+2st) or a percentage (-10%), within an octave.")
        }
        return s
    }

    /// A volume change in dB: a name or "+6dB".
    static func volume(_ text: String) throws -> Float {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        var v: Float?
        if let named = volumeNames[t] { v = named }
        else if t.hasSuffix("db") { v = Float(t.dropLast(2)) }
        guard let d = v, d.isFinite, d >= -96, d <= 24 else {
            throw SSMLError("<prosody volume=\"\(text)\">: use silent, x-soft, soft, medium, loud, x-loud or a change in dB (+6dB).")
        }
        return d
    }

    /// Text to speak for <say-as>.
    static func sayAs(_ text: String, interpretAs: String, format: String?) throws -> String {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        switch interpretAs.lowercased() {
        case "characters", "spell-out", "letters":
            // One letter or digit at a time: flite spells single characters by name.
            return t.filter { !$0.isWhitespace }.map { String($0) }.joined(separator: " ")
        case "digits":
            return t.filter(\.isNumber).map { String($0) }.joined(separator: " ")
        case "cardinal", "number":
            let digits = t.replacingOccurrences(of: ",", with: "")
            guard !digits.isEmpty, Double(digits) != nil else {
                throw SSMLError("<say-as interpret-as=\"cardinal\">\(t)</say-as>: the text is not a number.")
            }
            return digits
        case "date":
            return try date(t, format: format ?? "ymd")
        default:
            throw SSMLError("<say-as interpret-as=\"\(interpretAs)\">: gen reads characters, spell-out, digits, cardinal (number) and date.")
        }
    }

    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"]

    /// "2026-12-01" (format ymd; also mdy, dmy with - / . separators) → "December 1, 2026".
    static func date(_ text: String, format: String) throws -> String {
        let parts = text.split(whereSeparator: { "-/.".contains($0) }).map(String.init)
        let order = format.lowercased()
        guard parts.count == 3, ["ymd", "mdy", "dmy"].contains(order) else {
            throw SSMLError("<say-as interpret-as=\"date\">\(text)</say-as>: write the date as 2026-12-01 (format ymd, mdy or dmy).")
        }
        var y = 0, m = 0, d = 0
        for (key, part) in zip(order, parts) {
            guard let v = Int(part) else { throw SSMLError("<say-as interpret-as=\"date\">: '\(part)' in '\(text)' is not a number.") }
            switch key { case "y": y = v; case "m": m = v; default: d = v }
        }
        guard (1...12).contains(m), (1...31).contains(d) else {
            throw SSMLError("<say-as interpret-as=\"date\">\(text)</say-as>: no month \(m) day \(d) (format \(order)).")
        }
        return "\(months[m - 1]) \(d), \(y)"
    }

    // MARK: the parser's delegate

    final class Delegate: NSObject, XMLParserDelegate {
        struct Frame { var tag: String; var voice: String?; var rate: Float; var pitch: Float; var volumeDB: Float
                       var sayAs: (String, String?)?; var replacement: String?; var collected = "" }
        var stack: [Frame] = []
        var pieces: [SSMLPiece] = []
        var error: SSMLError?
        var sawRoot = false

        func fail(_ parser: XMLParser, _ e: SSMLError) {
            if error == nil { error = e }
            parser.abortParsing()
        }

        func emit(_ text: String) {
            guard let top = stack.last else { return }
            let cleaned = text.replacingOccurrences(of: "\n", with: " ")
            guard !cleaned.trimmingCharacters(in: .whitespaces).isEmpty else { return }
            if case .text(let previous, let v, let r, let p, let vol)? = pieces.last,
               v == top.voice, r == top.rate, p == top.pitch, vol == top.volumeDB {
                pieces[pieces.count - 1] = .text(previous + cleaned, voice: v, rate: r, pitch: p, volumeDB: vol)
            } else {
                pieces.append(.text(cleaned, voice: top.voice, rate: top.rate, pitch: top.pitch, volumeDB: top.volumeDB))
            }
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes a: [String: String] = [:]) {
            let tag = name.lowercased()
            guard SSML.tags.contains(tag) else {
                return fail(parser, SSMLError("SSML tag <\(name)> is not supported by gen (it would not be spoken). Supported: "
                                              + SSML.tags.map { "<\($0)>" }.joined(separator: ", ") + "."))
            }
            if stack.isEmpty {
                guard tag == "speak" else { return fail(parser, SSMLError("SSML must start with <speak>, not <\(name)>.")) }
                sawRoot = true
                stack.append(Frame(tag: tag, voice: nil, rate: 1, pitch: 0, volumeDB: 0))
                return
            }
            if stack.last?.sayAs != nil || stack.last?.replacement != nil || stack.last?.tag == "phoneme" {
                return fail(parser, SSMLError("<\(name)> inside <\(stack.last!.tag)>: that element holds plain text only."))
            }
            var frame = stack.last!
            frame.tag = tag; frame.sayAs = nil; frame.replacement = nil; frame.collected = ""
            do {
                switch tag {
                case "speak":
                    throw SSMLError("<speak> inside <speak>: use one root element.")
                case "break":
                    let seconds = try a["time"].map(SSML.duration) ?? a["strength"].map { s -> Double in
                        guard let v = SSML.breakStrengths[s.lowercased()] else {
                            throw SSMLError("<break strength=\"\(s)\">: use none, x-weak, weak, medium, strong or x-strong.")
                        }
                        return v
                    } ?? SSML.breakStrengths["medium"]!
                    if seconds > 0 { pieces.append(.pause(seconds: seconds)) }
                case "prosody":
                    if let r = a["rate"] { frame.rate *= try SSML.rate(r) }
                    if let p = a["pitch"] { frame.pitch += try SSML.pitch(p) }
                    if let v = a["volume"] { frame.volumeDB += try SSML.volume(v) }
                    frame.rate = min(max(frame.rate, 0.25), 4); frame.pitch = min(max(frame.pitch, -12), 12)
                case "emphasis":
                    frame.volumeDB += 3; frame.rate *= 0.9
                case "say-as":
                    guard let kind = a["interpret-as"] else { throw SSMLError("<say-as> needs interpret-as=\"characters|cardinal|date|digits\".") }
                    frame.sayAs = (kind, a["format"])
                case "phoneme":
                    let alphabet = (a["alphabet"] ?? "arpabet").lowercased()
                    guard ["arpabet", "cmu", "x-arpabet", "x-cmu"].contains(alphabet) else {
                        throw SSMLError("<phoneme alphabet=\"\(alphabet)\">: gen speaks ARPAbet phones (alphabet=\"arpabet\", e.g. ph=\"HH AH0 L OW1\"); IPA is not supported.")
                    }
                    guard let ph = a["ph"], !ph.trimmingCharacters(in: .whitespaces).isEmpty else {
                        throw SSMLError("<phoneme> needs ph=\"…\" with ARPAbet phones, e.g. ph=\"HH AH0 L OW1\".")
                    }
                    frame.replacement = " [[ " + ph.lowercased() + " ]] "
                case "sub":
                    guard let alias = a["alias"] else { throw SSMLError("<sub> needs alias=\"text to speak\".") }
                    frame.replacement = " " + alias + " "
                case "voice":
                    guard let v = a["name"] else { throw SSMLError("<voice> needs name=\"slt|rms|awb\".") }
                    frame.voice = v
                default:   // s, p
                    break
                }
            } catch let e as SSMLError { return fail(parser, e) } catch { return fail(parser, SSMLError("\(error)")) }
            stack.append(frame)
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            if stack.last!.sayAs != nil || stack.last!.replacement != nil { stack[stack.count - 1].collected += string; return }
            emit(string)
        }

        func parser(_ parser: XMLParser, foundCDATA data: Data) {
            self.parser(parser, foundCharacters: String(decoding: data, as: UTF8.self))
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard let frame = stack.popLast() else { return }
            guard frame.tag == name.lowercased() else {
                return fail(parser, SSMLError("</\(name)> closes <\(frame.tag)>: close every tag in order (write an empty tag as <break time=\"1s\"/>)."))
            }
            do {
                if let (kind, format) = frame.sayAs { emit(" " + (try SSML.sayAs(frame.collected, interpretAs: kind, format: format)) + " ") }
                else if let r = frame.replacement { emit(r) }
            } catch let e as SSMLError { return fail(parser, e) } catch {}
            switch frame.tag {
            case "s": emit(". ")   // a sentence ends here, even without a full stop
            case "p": pieces.append(.pause(seconds: SSML.breakStrengths["strong"]!))
            default: break
            }
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            if error == nil {
                error = SSMLError("the SSML is not well-formed XML (line \(parser.lineNumber), column \(parser.columnNumber)). "
                                  + "Check that every tag is closed and that & < > in text are written &amp; &lt; &gt;.")
            }
        }
    }
}
