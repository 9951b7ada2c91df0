// PhoneSet.swift — the phoneme inventory whose ids are the FastSpeech encoder's input embedding rows.
//
// Phones are flite's `us` phoneset (the CMU/ARPAbet set of cmulex), lower case. Vowels carry lexical
// stress as part of the token ("ah0", "ah1", "ah2") because stress changes duration and pitch, which
// the variance adaptor must predict from the tokens alone. flite's lexicon only ever gives stress 0
// or 1; "2" exists so that CMUdict-style inline pronunciations validate, and the frontend speaks it
// as 1 (see TextFrontend).
//
// The ids are FROZEN: a trained model's embedding rows are indexed by them. Only append new tokens
// at the end; never reorder or remove. PhoneSetTests pins them.
//
//   id      token    meaning
//   0       <pad>    padding in batches; never produced by the frontend
//   1       <wb>     word boundary, after the last phone of every word (duration 0)
//   2       <,>      phrase break from , ; : or a dash: a short pause follows (duration 0)
//   3       <.>      end of a statement: a long pause follows (duration 0)
//   4       <?>      end of a question: question intonation (duration 0)
//   5       <!>      end of an exclamation (duration 0)
//   6       pau      silence: a real flite segment with its own duration
//   7–30    consonants b ch d dh f g hh jh k l m n ng p r s sh t th v w y z zh
//   31–78   vowels aa ae ah ao aw ax ay eh er ey ih iy ow oy uh uw, each as stress 0, 1, 2
//           (aa0=31, aa1=32, aa2=33, ae0=34, …, uw2=78)
//   count = 79

public struct PhoneSet {
    public static let pad = "<pad>"
    public static let wordBoundary = "<wb>"
    public static let phraseBreak = "<,>"
    public static let statementEnd = "<.>"
    public static let questionEnd = "<?>"
    public static let exclamationEnd = "<!>"
    public static let silence = "pau"

    public static let specials = [pad, wordBoundary, phraseBreak, statementEnd, questionEnd, exclamationEnd]
    public static let consonants = ["b", "ch", "d", "dh", "f", "g", "hh", "jh", "k", "l", "m", "n", "ng",
                                    "p", "r", "s", "sh", "t", "th", "v", "w", "y", "z", "zh"]
    public static let vowels = ["aa", "ae", "ah", "ao", "aw", "ax", "ay", "eh", "er", "ey",
                                "ih", "iy", "ow", "oy", "uh", "uw"]
    public static let stresses = [0, 1, 2]

    public static let standard = PhoneSet(tokens: specials + [silence] + consonants
        + vowels.flatMap { v in stresses.map { "\(v)\($0)" } })

    /// All tokens, indexed by id.
    public let tokens: [String]
    private let ids: [String: Int]

    public init(tokens: [String]) {
        self.tokens = tokens
        var ids: [String: Int] = [:]
        for (i, t) in tokens.enumerated() {
            precondition(ids[t] == nil, "duplicate phone token \(t)")
            ids[t] = i
        }
        self.ids = ids
    }

    public var count: Int { tokens.count }

    public func id(_ token: String) -> Int? { ids[token] }

    public func token(_ id: Int) -> String {
        precondition(tokens.indices.contains(id), "phone id \(id) is outside 0..<\(count)")
        return tokens[id]
    }

    /// True for the zero-duration markers (<pad>, <wb>, punctuation), false for pau and phones.
    public func isMarker(_ id: Int) -> Bool { id < PhoneSet.specials.count }

    /// The flite phone a vowel token is built on ("ah" for "ah1"); consonants and pau are returned as is.
    public static func basePhone(_ token: String) -> String {
        if let last = token.last, last.isNumber { return String(token.dropLast()) }
        return token
    }

    /// Human-readable list of valid phones for error messages.
    public static var validPhonesDescription: String {
        "vowels take a stress digit 0, 1 or 2 (e.g. ah1): \(vowels.joined(separator: " ")); "
            + "consonants: \(consonants.joined(separator: " ")); silence: \(silence)"
    }
}
