// LyricGenerator.swift — seeded, genre-flavoured lyric lines for the music corpus vocals.
//
// Lines come from shared templates filled with each genre's words (nouns, places, adjectives,
// verbs, times). Every template has a noun slot, and every genre's nouns are split in two: every
// fourth noun belongs to the validation pool only. Training lines use no validation noun and
// validation lines always have one, so no validation line can occur in training (issue 4's
// held-out split); MusicCorpusTests checks this on thousands of lines.
import Engine

/// The words that give a genre's lyrics their flavour.
public struct LyricWords: Sendable {
    var nouns: [String]
    var places: [String]
    var adjectives: [String]
    var verbs: [(base: String, past: String)]
    var times: [String]

    static let sharedVerbs: [(base: String, past: String)] = [
        ("chase", "chased"), ("follow", "followed"), ("find", "found"), ("hold", "held"), ("call", "called"),
        ("carry", "carried"), ("miss", "missed"), ("remember", "remembered"), ("watch", "watched"),
        ("leave", "left"), ("keep", "kept"), ("need", "needed"), ("love", "loved"), ("hear", "heard"),
    ]
    static let sharedTimes = ["tonight", "all night long", "till the morning comes", "every single day",
                              "when the sun goes down", "one more time"]

    init(nouns: [String], places: [String], adjectives: [String], verbs: [(String, String)], times: [String]) {
        self.nouns = nouns
        self.places = places
        self.adjectives = adjectives
        self.verbs = verbs.map { (base: $0.0, past: $0.1) } + Self.sharedVerbs
        self.times = times + Self.sharedTimes
    }

    static let jazz = LyricWords(
        nouns: ["saxophone", "moonlight", "melody", "stranger", "martini", "avenue", "heartbeat", "trumpet",
                "piano", "lover", "skyline", "cigarette", "harmony", "nightingale", "velvet dress", "taxi"],
        places: ["in the smoky room", "down on the avenue", "under the streetlight", "at the corner cafe",
                 "up on the rooftop", "across the crowded bar"],
        adjectives: ["blue", "smoky", "midnight", "silver", "lonely", "easy", "golden", "sweet"],
        verbs: [("whisper", "whispered"), ("swing", "swung")],
        times: ["after midnight", "in the small hours"])

    static let blues = LyricWords(
        nouns: ["freight train", "whiskey", "trouble", "guitar", "rain", "woman", "crossroads", "levee",
                "letter", "bottle", "heartache", "mule", "suitcase", "dollar", "preacher", "landlord"],
        places: ["down by the river", "on the Delta line", "at the crossroads", "in this old town",
                 "out on the highway", "behind the juke joint"],
        adjectives: ["lonesome", "muddy", "worried", "broken", "empty", "cold", "hungry", "tired"],
        verbs: [("lose", "lost"), ("cry", "cried")],
        times: ["since Monday morning", "all week long"])

    static let rock = LyricWords(
        nouns: ["highway", "fire", "thunder", "radio", "engine", "rebel", "city", "machine",
                "lightning", "stage", "amplifier", "heartland", "jukebox", "motorcycle", "neon", "anthem"],
        places: ["on the open road", "in the summer heat", "under the bright lights", "across the border",
                 "at the edge of town", "in the back seat"],
        adjectives: ["wild", "electric", "restless", "burning", "loud", "young", "reckless", "shining"],
        verbs: [("burn", "burned"), ("drive", "drove")],
        times: ["till the break of dawn", "like there's no tomorrow"])

    static let latin = LyricWords(
        nouns: ["ocean", "summer", "dancer", "guitar string", "island", "sunset", "flower", "carnival",
                "breeze", "mango", "candle", "fiesta", "palm tree", "lantern", "harbor", "serenade"],
        places: ["on the beach", "in the plaza", "by the sea", "under the palm leaves",
                 "in old Havana", "along the boardwalk"],
        adjectives: ["warm", "golden", "tropical", "gentle", "bright", "sultry", "sunny", "tender"],
        verbs: [("sway", "swayed"), ("kiss", "kissed")],
        times: ["in the summer night", "until the sunrise"])

    static let country = LyricWords(
        nouns: ["pickup truck", "front porch", "cowboy", "dirt road", "fiddle", "prairie", "wagon", "barn",
                "sweetheart", "saddle", "whippoorwill", "cornfield", "rodeo", "homestead", "creek", "mama"],
        places: ["out in Tennessee", "on the county line", "down the gravel road", "in the old church yard",
                 "by the river bend", "across the wide plains"],
        adjectives: ["dusty", "old", "faithful", "country", "rolling", "quiet", "simple", "humble"],
        verbs: [("ride", "rode"), ("wave", "waved")],
        times: ["on a Sunday morning", "at harvest time"])

    static let funk = LyricWords(
        nouns: ["groove", "dance floor", "bassline", "party", "rhythm", "mirror ball", "backbeat", "horn section",
                "soul train", "cowbell", "boogie", "strut", "leather jacket", "velvet rope", "spotlight", "beat"],
        places: ["on the dance floor", "in the city", "downtown", "at the block party",
                 "under the disco lights", "on the one"],
        adjectives: ["funky", "tight", "smooth", "nasty", "hot", "slick", "fresh", "super"],
        verbs: [("shake", "shook"), ("move", "moved")],
        times: ["all night", "right now"])

    static let waltz = LyricWords(
        nouns: ["ballroom", "rose", "gown", "violin", "chandelier", "promise", "garden", "carousel",
                "swan", "letter of love", "castle", "lace", "music box", "moon above", "partner", "memory"],
        places: ["across the ballroom floor", "in the palace hall", "by the fountain", "under the chandeliers",
                 "in the moonlit garden", "along the Danube"],
        adjectives: ["graceful", "tender", "dreamy", "elegant", "gentle", "velvet", "lovely", "turning"],
        verbs: [("twirl", "twirled"), ("waltz with", "waltzed with")],
        times: ["in three quarter time", "as the evening falls"])

    static let march = LyricWords(
        nouns: ["parade", "drum", "banner", "bugle", "soldier", "flag", "band", "captain",
                "cannon", "uniform", "trumpet call", "general", "color guard", "fanfare", "medal", "regiment"],
        places: ["down Main Street", "through the town square", "on the parade ground", "past the city hall",
                 "along the boulevard", "over the hill"],
        adjectives: ["proud", "brave", "shining", "steady", "mighty", "loyal", "bold", "marching"],
        verbs: [("march", "marched"), ("salute", "saluted")],
        times: ["on the Fourth of July", "at the break of day"])
}

public struct LyricGenerator {
    public enum Pool: String, Sendable { case train, validation }

    private var rng: RNG
    private let words: LyricWords
    private let nouns: [String]        // this pool's nouns only

    /// Nouns reserved for validation: every fourth noun of every genre. Training lines exclude
    /// the whole set (not just their own genre's), so no genre can leak another's.
    static let validationNouns: Set<String> = {
        var s = Set<String>()
        for g in MusicCatalog.genres { for (i, n) in g.words.nouns.enumerated() where i % 4 == 3 { s.insert(n) } }
        return s
    }()

    public init(genre: String, pool: Pool, seed: UInt64) {
        let g = MusicCatalog.genre(genre) ?? MusicCatalog.genres[0]
        words = g.words
        switch pool {
        case .train: nouns = g.words.nouns.filter { !Self.validationNouns.contains($0) }
        case .validation: nouns = g.words.nouns.enumerated().filter { $0.offset % 4 == 3 }.map(\.element)
        }
        rng = RNG(seed: seed)
    }

    /// The next line: 4–12 words, first letter capitalised, no final punctuation.
    public mutating func nextLine() -> String {
        let line = template(rng.int(below: 12))
        return line.prefix(1).uppercased() + line.dropFirst()
    }

    private mutating func pick(_ list: [String]) -> String { list[rng.int(below: list.count)] }
    private mutating func noun() -> String { pick(nouns) }
    private mutating func twoNouns() -> (String, String) {
        let a = rng.int(below: nouns.count), b = (a + 1 + rng.int(below: nouns.count - 1)) % nouns.count
        return (nouns[a], nouns[b])
    }
    private mutating func adj() -> String { pick(words.adjectives) }
    private mutating func place() -> String { pick(words.places) }
    private mutating func time() -> String { pick(words.times) }
    private func article(_ word: String) -> String { ("aeiou".contains(word.first ?? "x") ? "an " : "a ") + word }
    private mutating func verb() -> (base: String, past: String) { words.verbs[rng.int(below: words.verbs.count)] }

    private mutating func template(_ t: Int) -> String {
        switch t {
        case 0: return "I \(verb().past) the \(adj()) \(noun()) \(place())"
        case 1: let (a, b) = twoNouns(); return "\(adj()) \(a), \(adj()) \(b)"
        case 2: return "oh \(noun()), won't you come \(place())"
        case 3: return "take me \(place()), where the \(noun()) is \(adj())"
        case 4: return "we \(verb().past) the \(noun()) \(time())"
        case 5: return "every \(noun()) \(place()) keeps calling my name"
        case 6: return "don't you \(verb().base) my \(noun()) \(time())"
        case 7: return "my \(noun()) is \(adj()) \(time())"
        case 8: return "hey \(noun()), I \(verb().past) you \(place())"
        case 9: return "I'm gonna \(verb().base) the \(noun()) \(time())"
        case 10: return "all I want is \(article(adj())) \(noun())"
        default: let (a, b) = twoNouns(); return "\(a) and \(b), \(place())"
        }
    }
}
