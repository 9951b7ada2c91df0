// TextFrontend.swift — text → phoneme tokens for the FastSpeech 2 encoder (FastSpeech 2, §2.1 input).
//
// All linguistic work is flite's: normalisation ("$42" → "forty two dollars", dates, abbreviations),
// POS-dependent homographs, CMU-lexicon lookup with letter-to-sound fallback, syllable stress,
// phrasing and pause insertion. That keeps one source of truth: the corpus builder trains on the
// phones flite actually spoke, and inference feeds the model the same phones for new text.
// `analyse` is that single entry point; with audio it also returns each phone's teacher duration
// from the very same flite utterance.
//
// Token sequence for "Hello, world." (ids in PhoneSet):
//   pau hh ax0 l ow1 <wb> <,> pau w er1 l d <wb> <.> pau
// Markers (<wb>, <,>, <.>, <?>, <!>) have duration 0; phones and pau carry flite's durations.
//
// Custom pronunciations: "say [[ hh ax0 l ow1 ]] now" speaks the bracketed phones verbatim. The
// span becomes one word whose phones flite uses instead of its lexicon (flite's Token "phones"
// feature), so flite still phrases, times and voices it like any other word.
// Speech re-exports the flite teacher: its users call Flite.voiceNames and friends through it.
@_exported import Teacher
import Foundation

public enum TextFrontendError: Error, CustomStringConvertible, Equatable {
    case emptyText
    case nothingToSay(String)
    case unknownPhone(String, span: String)
    case unclosedPhonemes(String)
    case emptyPhonemes
    case longPhonemes(Int, span: String)
    case unexpectedFlitePhone(String, word: String?)

    public var description: String {
        switch self {
        case .emptyText:
            return "the text is empty: give at least one word to speak."
        case .nothingToSay(let text):
            return "no speakable words in \"\(text.prefix(60))\": punctuation and symbols alone produce silence; add words or numbers."
        case .unknownPhone(let phone, let span):
            return "unknown phone '\(phone)' in \(span). Valid phones: \(PhoneSet.validPhonesDescription)."
        case .unclosedPhonemes(let text):
            return "'[[' without a closing ']]' in \"\(text.prefix(60))\": write inline phones as [[ hh ax0 l ow1 ]]."
        case .emptyPhonemes:
            return "empty inline phones '[[ ]]': put phones between the brackets, e.g. [[ hh ax0 l ow1 ]]."
        case .longPhonemes(let count, let span):
            return "inline phones \(span.prefix(40))… hold \(count) phones; a span may hold at most \(TextFrontend.maxSpanPhones): "
                + "split it into several [[ ]] spans (one span per word reads best)."
        case .unexpectedFlitePhone(let phone, let word):
            return "flite produced phone '\(phone)'\(word.map { " for the word '\($0)'" } ?? "") that is not in PhoneSet.standard; the phone set needs a new token appended."
        }
    }
}

public struct PhoneToken: Equatable, Hashable, CustomStringConvertible {
    /// A PhoneSet token: "ah1", "l", "pau" or a marker such as "<wb>".
    public var phone: String
    /// Its PhoneSet.standard id: the model's input.
    public var id: Int
    /// True on the last phone of a word (the <wb> marker follows it).
    public var isWordEnd: Bool
    /// The word this phone belongs to as flite normalised it ("forty" for "$42"; the span text for
    /// inline phones); nil for pau and markers.
    public var word: String?

    /// Markers take no time; phones and pau do.
    public var isMarker: Bool { PhoneSet.standard.isMarker(id) }
    public var description: String { phone }
}

/// One sentence through flite: tokens and, when synthesized, the teacher's timing and audio.
public struct SpeechAnalysis {
    public var tokens: [PhoneToken]
    /// Seconds per token, aligned with `tokens`: 0 for markers, the flite segment length for phones
    /// and pau. The last segment is trimmed or stretched (by under one 5 ms flite frame) so the sum
    /// equals the audio length exactly. Empty without audio.
    public var durations: [Double]
    /// flite's raw segment end times in seconds, one per phone/pau token. Empty without audio.
    public var segmentEnds: [Double]
    /// flite's mono audio in [-1, 1]; nil without audio.
    public var audio: [Float]?
    /// flite's sample rate (16000 for the CMU voices).
    public var sampleRate: Int

    public var ids: [Int] { tokens.map(\.id) }
}

public enum TextFrontend {

    // MARK: - analysis

    /// Phoneme tokens for one sentence (text analysis only; no audio is synthesized).
    public static func phonemes(_ sentence: String, voice: String = "slt") throws -> [PhoneToken] {
        try analyse(sentence, voice: voice, withAudio: false).tokens
    }

    /// Tokens for one sentence and, with `withAudio`, flite's audio and per-token durations from the
    /// same utterance. The corpus builder and inference both go through here, so they see the same
    /// phones. Without audio it stops after flite's text analysis (about 100x cheaper).
    public static func analyse(_ sentence: String, voice: String = "slt", withAudio: Bool) throws -> SpeechAnalysis {
        let prepared = try prepare(sentence)
        let utt = try Flite.utterance(text: prepared.text, voice: voice, synthesize: withAudio,
                                      placeholder: prepared.placeholder, phones: prepared.phones)
        guard let lastWordEnd = utt.segments.lastIndex(where: { $0.isWordEnd }) else {
            throw TextFrontendError.nothingToSay(sentence)
        }
        let set = PhoneSet.standard
        let audioLength = withAudio ? Double(utt.samples.count) / Double(utt.sampleRate) : 0
        var tokens: [PhoneToken] = []
        var durations: [Double] = []
        var previousEnd = 0.0

        func marker(_ name: String) {
            tokens.append(PhoneToken(phone: name, id: set.id(name)!, isWordEnd: false, word: nil))
            durations.append(0)
        }

        var spansSeen = 0
        for (i, seg) in utt.segments.enumerated() {
            let name = phoneToken(seg)
            guard let id = set.id(name) else {
                throw TextFrontendError.unexpectedFlitePhone(seg.phone, word: seg.word)
            }
            var word = seg.word
            if !prepared.spans.isEmpty, word == prepared.placeholder, spansSeen < prepared.spans.count {
                word = prepared.spans[spansSeen]
                if seg.isWordEnd { spansSeen += 1 }
            }
            tokens.append(PhoneToken(phone: name, id: id, isWordEnd: seg.isWordEnd, word: name == PhoneSet.silence ? nil : word))
            let end = i == utt.segments.count - 1 ? audioLength : seg.end
            durations.append(max(0, end - previousEnd))
            previousEnd = max(previousEnd, end)
            if seg.isWordEnd {
                marker(PhoneSet.wordBoundary)
                if i == lastWordEnd {
                    marker(endMarker(seg.punctuation))
                } else if let m = breakMarker(seg.punctuation) {
                    marker(m)
                }
            }
        }
        return SpeechAnalysis(tokens: tokens,
                              durations: withAudio ? durations : [],
                              segmentEnds: withAudio ? utt.segments.map(\.end) : [],
                              audio: withAudio ? utt.samples : nil,
                              sampleRate: utt.sampleRate)
    }

    /// flite segment → PhoneSet token: vowels get their syllable's stress appended.
    private static func phoneToken(_ seg: FliteSegment) -> String {
        guard PhoneSet.vowels.contains(seg.phone) else { return seg.phone }
        return "\(seg.phone)\(seg.stress ?? 0)"
    }

    /// The marker after the utterance's last word: the sentence type, from its final punctuation.
    private static func endMarker(_ punctuation: String) -> String {
        if punctuation.contains("?") { return PhoneSet.questionEnd }
        if punctuation.contains("!") { return PhoneSet.exclamationEnd }
        return PhoneSet.statementEnd
    }

    /// The marker after a word inside the utterance, if its punctuation marks a break.
    private static func breakMarker(_ punctuation: String) -> String? {
        if punctuation.contains("?") { return PhoneSet.questionEnd }
        if punctuation.contains("!") { return PhoneSet.exclamationEnd }
        if punctuation.contains(".") { return PhoneSet.statementEnd }
        if punctuation.contains(where: { ",;:-".contains($0) }) { return PhoneSet.phraseBreak }
        return nil
    }

    // MARK: - preparing text for flite

    private struct Prepared {
        var text: String
        /// The word standing in for inline phone spans, and each span's phones in order.
        var placeholder = ""
        var phones: [[String]] = []
        /// Each span as written, for PhoneToken.word.
        var spans: [String] = []
    }

    /// Lexicon words that flite keeps whole; a span's placeholder is the first not in the text.
    private static let placeholderWords = ["pelican", "walrus", "tulip", "mandolin", "zebra", "lantern"]

    /// ASCII text for flite (its tokenizer works on bytes) with each inline phone span replaced by a
    /// placeholder word that will carry the span's phones.
    private static func prepare(_ sentence: String) throws -> Prepared {
        guard !sentence.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw TextFrontendError.emptyText }
        let text = asciiText(sentence)
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw TextFrontendError.nothingToSay(sentence) }
        var prepared = Prepared(text: "")
        let lower = text.lowercased()
        prepared.placeholder = placeholderWords.first { !lower.contains($0) } ?? "pelicanwalrus"
        var rest = Substring(text)
        while let open = rest.range(of: "[[") {
            guard let close = rest[open.upperBound...].range(of: "]]") else {
                throw TextFrontendError.unclosedPhonemes(sentence)
            }
            let span = "[[" + rest[open.upperBound..<close.lowerBound] + "]]"
            prepared.phones.append(try inlinePhones(rest[open.upperBound..<close.lowerBound], span: String(span)))
            prepared.spans.append(String(span))
            // Spaces keep the placeholder from gluing onto neighbours; punctuation right after the
            // span stays attached so flite still phrases on it.
            prepared.text += rest[..<open.lowerBound] + " " + prepared.placeholder
            if let next = rest[close.upperBound...].first, next.isLetter || next.isNumber { prepared.text += " " }
            rest = rest[close.upperBound...]
        }
        prepared.text += rest
        return prepared
    }

    /// The most phones one inline span may hold: flite makes the span one word, and its time for an
    /// utterance grows with the square of its segments (so a sentence's words are bounded too).
    public static let maxSpanPhones = 200

    /// Validates a span's phones against the PhoneSet and converts them to flite's lexicon form.
    private static func inlinePhones(_ body: Substring, span: String) throws -> [String] {
        let set = PhoneSet.standard
        let phones = body.split(whereSeparator: { $0.isWhitespace }).map { $0.lowercased() }
        guard !phones.isEmpty else { throw TextFrontendError.emptyPhonemes }
        guard phones.count <= maxSpanPhones else { throw TextFrontendError.longPhonemes(phones.count, span: span) }
        return try phones.map { p in
            guard let id = set.id(p), !set.isMarker(id) else { throw TextFrontendError.unknownPhone(p, span: span) }
            // flite's lexical insertion understands stress 0 and 1 only; CMUdict's secondary
            // stress is a stressed syllable, as flite's own lexicon has it.
            return p.hasSuffix("2") ? String(p.dropLast()) + "1" : p
        }
    }

    /// Typographic punctuation to ASCII, accents removed; any other non-ASCII becomes a space.
    static func asciiText(_ text: String) -> String {
        let folded = text.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
        var out = ""
        out.reserveCapacity(folded.utf8.count)
        for scalar in folded.unicodeScalars {
            switch scalar {
            case "\u{2018}", "\u{2019}", "\u{201A}", "\u{2032}": out += "'"
            case "\u{201C}", "\u{201D}", "\u{201E}", "\u{2033}": out += "\""
            case "\u{2013}", "\u{2014}": out += ", "   // a dash between clauses is a spoken pause
            case "\u{2212}": out += "-"
            case "\u{2026}": out += "..."
            case "\u{00A0}", "\u{2009}", "\u{202F}": out += " "
            case "\u{00DF}": out += "ss"
            case "\u{00E6}": out += "ae"
            case "\u{00C6}": out += "Ae"
            case "\u{00F8}": out += "o"
            case "\u{00D8}": out += "O"
            case "\u{0153}": out += "oe"
            default: out.unicodeScalars.append(scalar.isASCII ? scalar : " ")
            }
        }
        return out
    }

    // MARK: - sentence splitting

    /// Titles and Latin abbreviations that are never the end of a sentence.
    private static let neverFinal: Set<String> = [
        "mr", "mrs", "ms", "dr", "prof", "st", "rev", "gen", "capt", "lt", "col", "sgt", "mt", "hon",
        "gov", "sen", "rep", "fr", "vs", "cf", "approx", "ca", "fig", "ave", "blvd", "rd", "dept",
    ]
    /// Abbreviations that end a sentence only when a capitalised word follows ("etc. Then").
    private static let finalBeforeCapital: Set<String> = [
        "etc", "no", "inc", "ltd", "co", "corp", "jr", "sr", "jan", "feb", "mar", "apr", "jun", "jul",
        "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thurs", "fri",
        "sat", "sun", "min", "hr", "hrs", "oz", "lb", "lbs", "ft", "in", "yr", "yrs",
    ]

    /// The longest sentence `sentences` hands on (outside inline phones), and the longest word.
    public static let maxSentenceCharacters = 300
    public static let maxWordCharacters = 64

    /// Splits text into sentences at . ! ? ; and newlines, keeping the punctuation (it sets flite's
    /// intonation). Abbreviations ("Dr.", "e.g.", "a.m.") and decimals ("3.5") stay inside their
    /// sentence. A sentence longer than `maxWords` words or `maxCharacters` characters is cut at its
    /// last comma, colon or dash before the limit (or at the limit), and a word longer than
    /// `maxWordCharacters` is cut into pieces (after punctuation inside it where there is some), so
    /// synthesis time and memory stay bounded for any text: flite's time for one utterance grows
    /// with the square of its segments (a 1,600-letter word: 2.4 s; 100,000 letters ran for hours),
    /// and a word of digits is read digit by digit, each digit a word.
    public static func sentences(_ text: String, maxWords: Int = 40, maxCharacters: Int = maxSentenceCharacters,
                                 maxWordCharacters: Int = maxWordCharacters) -> [String] {
        precondition(maxWords > 0 && maxWordCharacters > 0 && maxCharacters >= maxWordCharacters,
                     "limits must be positive, a sentence at least a word long")
        var result: [String] = []
        func emit(_ words: [Substring]) {
            let s = words.joined(separator: " ")
            if s.contains(where: { $0.isLetter || $0.isNumber }) { result.append(s) }
        }
        for line in text.split(whereSeparator: { $0.isNewline }) {
            let chunks = line.split(whereSeparator: { $0.isWhitespace }).flatMap { pieces($0, maxLength: maxWordCharacters) }
            var current: [Substring] = []
            var characters = 0   // current joined by spaces
            var inPhones = false
            for (i, chunk) in chunks.enumerated() {
                current.append(chunk)
                characters += chunk.count + (current.count > 1 ? 1 : 0)
                if chunk.contains("[[") { inPhones = true }
                if chunk.contains("]]") { inPhones = false }
                if inPhones { continue }
                let next = i + 1 < chunks.count ? chunks[i + 1] : nil
                if endsSentence(chunk, next: next) {
                    emit(current); current = []; characters = 0
                    continue
                }
                // (A cut at a comma may leave more than the next word has room beside: cut again.)
                while !current.isEmpty && (current.count >= maxWords || characters + 1 + (next?.count ?? 0) > maxCharacters) {
                    let breakAfter = current.indices.dropFirst(maxWords / 4).last { j in
                        current[j].last.map { ",;:-".contains($0) } ?? false
                    } ?? current.count - 1
                    emit(Array(current[...breakAfter]))
                    current = Array(current[(breakAfter + 1)...])
                    characters = current.reduce(max(0, current.count - 1)) { $0 + $1.count }
                }
            }
            emit(current)
        }
        return result
    }

    /// A whitespace-free chunk cut into pieces of at most `maxLength` characters, each ending after
    /// the last punctuation mark in the second half of its window where there is one ("a/b/c" reads
    /// as it did), else at the limit. In a long chunk the inline-phone brackets ("[[", "]]") become
    /// pieces of their own (the spans read the same: `prepare` spaces them off anyway) and only the
    /// text between them is cut; a chunk within the limit is left whole.
    static func pieces(_ chunk: Substring, maxLength: Int) -> [Substring] {
        guard !chunk.dropFirst(maxLength).isEmpty else { return [chunk] }
        var out: [Substring] = []
        // One pass over the chunk (a search per bracket would be quadratic in "[[[[…").
        var start = chunk.startIndex, i = chunk.startIndex
        while i < chunk.endIndex {
            let j = chunk.index(after: i)
            if j < chunk.endIndex, chunk[i] == chunk[j], chunk[i] == "[" || chunk[i] == "]" {
                out += cut(chunk[start..<i], maxLength: maxLength)
                out.append(chunk[i...j])
                i = chunk.index(after: j); start = i
            } else {
                i = j
            }
        }
        return out + cut(chunk[start...], maxLength: maxLength)
    }

    /// `pieces` of text without brackets.
    private static func cut(_ text: Substring, maxLength: Int) -> [Substring] {
        var out: [Substring] = []
        var rest = text
        while !rest.dropFirst(maxLength).isEmpty {   // (not rest.count: that walks the whole rest each time)
            let window = rest.prefix(maxLength)
            let cut = window.indices.dropFirst(maxLength / 2).last { !window[$0].isLetter && !window[$0].isNumber }
                .map { window.index(after: $0) } ?? window.endIndex
            out.append(rest[..<cut])
            rest = rest[cut...]
        }
        if !rest.isEmpty { out.append(rest) }
        return out
    }

    private static func endsSentence(_ chunk: Substring, next: Substring?) -> Bool {
        let closers: Set<Character> = ["\"", "'", ")", "]", "}", "\u{201D}", "\u{2019}"]
        var body = chunk
        while let last = body.last, closers.contains(last) { body = body.dropLast() }
        guard let last = body.last else { return false }
        if "!?;".contains(last) { return true }
        guard last == "." || last == "\u{2026}" else { return false }
        guard let next else { return true }
        var word = body
        while let l = word.last, l == "." || l == "\u{2026}" { word = word.dropLast() }
        while let f = word.first, !f.isLetter && !f.isNumber { word = word.dropFirst() }
        let key = word.lowercased()
        if key.isEmpty { return true }
        if neverFinal.contains(key) { return false }
        if key.contains("."), key.allSatisfy({ $0.isLetter || $0 == "." }) { return false }  // e.g. a.m. U.S.
        if word.count == 1, let c = word.first, c.isUppercase, c != "I" { return false }  // initials: J. R. Smith
        if finalBeforeCapital.contains(key) {
            let f = next.first { $0.isLetter || $0.isNumber }
            return f?.isUppercase ?? false
        }
        return true
    }
}
