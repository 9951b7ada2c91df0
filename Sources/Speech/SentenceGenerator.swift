// SentenceGenerator.swift — seeded, varied English sentences for the flite teacher corpus.
//
// FastSpeech 2 learns only the phones, stress patterns and prosodic contexts its corpus shows it,
// so the text covers the lexicon broadly (several hundred nouns, verbs and adjectives, names,
// places, times) and exercises flite's normalisation: digits, ordinals, decimals, years, dates,
// currency, percentages, clock times, phone numbers and abbreviations such as "Dr." and "St.".
// Sentence shapes mix statements, questions, exclamations, imperatives, lists, quoted speech and
// two-clause sentences, from 3 to about 25 words, so the model sees every sentence-end marker and
// phrase breaks in many positions.
//
// Templates are combinatorial (no fixed sentences), which keeps repeats rare and keeps the corpus
// away from the held-out evaluation sentences; SentenceGeneratorTests checks the latter.
import Engine
import Foundation

public struct SentenceGenerator {
    private var rng: RNG

    public init(seed: UInt64) {
        rng = RNG(seed: seed)
    }

    /// The next sentence, first letter capitalised, ending in . ? or !.
    public mutating func next() -> String {
        let t = rng.int(below: Self.templateCount)
        var s = sentence(template: t)
        if s.hasSuffix("..") { s.removeLast() }  // a closing abbreviation ("a.m.") already ends it
        return s.prefix(1).uppercased() + s.dropFirst()
    }

    // MARK: - templates

    private static let templateCount = 50

    private mutating func sentence(template: Int) -> String {
        switch template {
        // Statements in several tenses.
        case 0: return "\(subjectPast()) \(objectPhrase()) \(placePhrase())."
        case 1: return "\(subjectPast()) \(objectPhrase()) \(timePhrase())."
        case 2: let s = subject(); return "\(s.text) will \(pick(Words.transitive).base) \(objectPhrase()) \(timePhrase())."
        case 3: let s = subject(); return "\(s.text) \(be(s)) \(pick(Words.transitive).ing) \(objectPhrase()) \(placePhrase())."
        case 4: let s = subject(); return "\(s.text) \(s.singular && s.person == 3 ? "has" : "have") \(adverbMaybe())\(pick(Words.transitive).participle) \(objectPhrase())."
        case 5: let s = subject(); return "\(s.text) \(pick(Words.intransitive).past) \(pick(Words.adverbs)) \(placePhrase()) \(timePhrase())."
        case 6: let s = subject(); return "\(s.text) usually \(present(pick(Words.intransitive), s)) \(placePhrase()) \(pick(Words.habitualTimes))."
        // Questions.
        case 7: return "Did \(subject().text) \(pick(Words.transitive).base) \(objectPhrase()) \(timePhrase())?"
        case 8: return "Where did \(name()) put the \(adjective()) \(noun())?"
        case 9: let n = nounPhrase(); return "Why \(n.singular ? "is" : "are") \(n.text) so \(adjective())?"
        case 10: return "How many \(plural(noun())) did \(name()) \(pick(Words.transitive).base) \(timePhrase())?"
        case 11: return "Can you \(pick(Words.transitive).base) \(objectPhrase()) before \(pick(Words.events))?"
        case 12: return "What time does the \(pick(Words.placeNouns)) open on \(pick(Words.weekdays))?"
        case 13: let n = noun(); return "Is the \(n) \(adjective()) or \(adjective())?"
        case 14: return "Who \(pick(Words.transitive).past) the \(adjective()) \(noun()) \(placePhrase())?"
        case 15: return "Have you ever \(pick(Words.transitive).participle) \(objectPhrase()) in \(pick(Words.cities))?"
        case 16: return "When will \(name()) \(pick(Words.intransitive).base) \(placePhrase())?"
        // Exclamations and imperatives.
        case 17: return "What \(article(adjective())) \(noun()) \(name()) \(pick(Words.transitive).past)!"
        case 18: return "Look at that \(adjective()) \(noun()) \(placePhrase())!"
        case 19: return "\(name()), watch out for the \(adjective()) \(noun())!"
        case 20: return "Please \(pick(Words.transitive).base) the \(adjective()) \(noun()) \(adverbOrPlace())."
        case 21: return "Don't \(pick(Words.transitive).base) \(objectPhrase()) \(timePhrase())!"
        // Lists.
        case 22: return "\(name()) \(pick(Words.shoppingVerbs)) \(list(3 + rng.int(below: 2)))."
        case 23: return "We need \(count()) \(plural(noun())), \(count()) \(plural(noun())) and \(article(noun()))."
        // Money.
        case 24: return "The \(adjective()) \(noun()) costs \(price())."
        case 25: return "\(name()) paid \(price()) for \(objectPhrase()) \(timePhrase())."
        case 26: return "Tickets to \(pick(Words.cities)) are \(price()) each, or \(price()) for \(count()) people."
        // Numbers, measures and percentages.
        case 27: return "There are \(bigNumber()) \(plural(noun())) in the \(pick(Words.placeNouns))."
        case 28: return "Room \(rng.int(below: 900) + 100) is on the \(ordinal(rng.int(below: 12) + 1)) floor."
        case 29: return "The \(noun()) weighs \(decimal()) \(pick(Words.units))."
        case 30: return "About \(percent()) of the \(plural(noun())) were \(adjective())."
        case 31: return "It was \(rng.int(below: 100) + 1) degrees in \(pick(Words.cities)) \(timePhrase())."
        case 32: return "\(name()) \(pick(["ran", "walked", "swam", "cycled", "drove"])) \(decimal()) miles in \(rng.int(below: 90) + 5) minutes."
        // Dates and years.
        case 33: return "\(name()) was born on \(pick(Words.months)) \(rng.int(below: 28) + 1), \(year())."
        case 34: return "The \(pick(Words.eventNouns)) is on \(pick(Words.weekdays)), \(pick(Words.months)) \(ordinal(rng.int(below: 28) + 1))."
        case 35: return "In \(year()), \(subjectPast()) \(objectPhrase())."
        case 36: return "The \(pick(Words.buildings)) was built in the \(ordinal(rng.int(below: 6) + 15)) century."
        // Clock times.
        case 37: return "The \(pick(Words.vehicles)) to \(pick(Words.cities)) leaves at \(clockTime())."
        case 38: return "\(name()) woke up at \(clockTime()) and \(pick(Words.intransitive).past) \(pick(Words.adverbs))."
        // Titles, addresses, phone numbers.
        case 39: return "\(pick(Words.titles)) \(pick(Words.surnames)) \(pick(Words.transitive).past) \(objectPhrase()) \(timePhrase())."
        case 40: return "\(name()) lives at \(rng.int(below: 2000) + 1) \(pick(Words.streetNames)) \(pick(["St.", "Ave.", "Road", "Lane", "Drive"]))."
        case 41: return "Call \(pick(Words.titles)) \(pick(Words.surnames)) at 555-\(String(format: "%04d", rng.int(below: 10000))) \(timePhrase())."
        // Travel.
        case 42: let (a, b) = twoCities(); return "\(name()) flew from \(a) to \(b) \(timePhrase())."
        // Two clauses: phrase breaks in the middle of longer sentences.
        case 43: return "\(clause()), \(pick(["but", "and", "so", "yet"])) \(clause())."
        case 44: return "\(pick(["While", "Because", "Although", "After", "Before"])) \(clause()), \(clause())."
        case 45: return "\(clause()), \(clause()), and \(clause()) \(timePhrase())."
        case 46: return "\(name()) and \(name()) \(pick(Words.transitive).past) \(objectPhrase()) \(placePhrase()) \(timePhrase()), and then they \(pick(Words.intransitive).past) \(pick(Words.adverbs)) \(placePhrase())."
        // Short sentences.
        case 47: return "\(pick(Words.firstNames)) \(pick(Words.intransitive).past) \(pick(Words.adverbs))."
        case 48: return "Is the \(noun()) \(adjective())?"
        default: return "\"\(quoted()),\" \(pick(["said", "whispered", "shouted", "replied"])) \(name())."
        }
    }

    // MARK: - phrases

    /// A short independent clause in the past tense.
    private mutating func clause() -> String {
        switch rng.int(below: 3) {
        case 0: return "\(subjectPast()) \(objectPhrase())"
        case 1: let s = subject(); return "\(s.text) \(pick(Words.intransitive).past) \(placePhrase())"
        default: let n = nounPhrase(); return "\(n.text) \(n.singular ? "was" : "were") \(adjective())"
        }
    }

    private mutating func quoted() -> String {
        switch rng.int(below: 3) {
        case 0: return "The \(noun()) is \(adjective())"
        case 1: return "Bring the \(adjective()) \(noun()) \(placePhrase())"
        default: return "I \(pick(Words.transitive).past) \(objectPhrase())"
        }
    }

    private mutating func subjectPast() -> String {
        "\(subject().text) \(adverbMaybe())\(pick(Words.transitive).past)"
    }

    private typealias Subject = (text: String, singular: Bool, person: Int)

    private mutating func subject() -> Subject {
        switch rng.int(below: 10) {
        case 0...3: return (name(), true, 3)
        case 4, 5: let n = nounPhrase(); return (n.text, n.singular, 3)
        case 6: return (pick(["he", "she"]), true, 3)
        case 7: return ("I", true, 1)
        default: return (pick(["we", "they", "you"]), false, 2)
        }
    }

    private func be(_ s: Subject) -> String {
        s.person == 1 ? "am" : (s.singular && s.person == 3 ? "is" : "are")
    }

    private func present(_ v: GeneratorVerb, _ s: Subject) -> String {
        s.singular && s.person == 3 ? v.third : v.base
    }

    private mutating func nounPhrase() -> (text: String, singular: Bool) {
        let adj = rng.int(below: 3) > 0 ? adjective() + " " : ""
        let n = noun()
        switch rng.int(below: 8) {
        case 0, 1: return ("the \(adj)\(n)", true)
        case 2: return (article(adj + n), true)
        case 3: return ("\(pick(["my", "your", "his", "her", "our", "their", "this", "that"])) \(adj)\(n)", true)
        case 4: return ("the \(adj)\(plural(n))", false)
        case 5: return ("\(pick(["some", "these", "those", "several", "many", "a few"])) \(adj)\(plural(n))", false)
        default: return ("\(count()) \(adj)\(plural(n))", false)
        }
    }

    private mutating func objectPhrase() -> String { nounPhrase().text }

    private mutating func placePhrase() -> String {
        switch rng.int(below: 4) {
        case 0: return "in \(pick(Words.cities))"
        default: return "\(pick(Words.prepositions)) the \(pick(Words.placeNouns))"
        }
    }

    private mutating func timePhrase() -> String {
        switch rng.int(below: 6) {
        case 0: return "on \(pick(Words.weekdays))"
        case 1: return "in \(pick(Words.months))"
        case 2: return "\(count()) \(pick(["days", "weeks", "months", "years", "hours"])) ago"
        default: return pick(Words.times)
        }
    }

    private mutating func adverbMaybe() -> String {
        rng.int(below: 4) == 0 ? pick(Words.adverbs) + " " : ""
    }

    private mutating func adverbOrPlace() -> String {
        rng.int(below: 2) == 0 ? pick(Words.adverbs) : placePhrase()
    }

    private mutating func list(_ n: Int) -> String {
        var items: [String] = []
        for _ in 0..<n {
            let w = noun()
            items.append(rng.int(below: 2) == 0 ? article(w) : "\(count()) \(plural(w))")
        }
        return items.dropLast().joined(separator: ", ") + ", and " + items.last!
    }

    private mutating func twoCities() -> (String, String) {
        let a = pick(Words.cities)
        var b = pick(Words.cities)
        while b == a { b = pick(Words.cities) }
        return (a, b)
    }

    private mutating func name() -> String {
        switch rng.int(below: 5) {
        case 0: return "\(pick(Words.firstNames)) \(pick(Words.surnames))"
        case 1: return "\(pick(Words.titles)) \(pick(Words.surnames))"
        default: return pick(Words.firstNames)
        }
    }

    private mutating func noun() -> String { pick(Words.nouns) }
    private mutating func adjective() -> String { pick(Words.adjectives) }

    // MARK: - numbers (written as digits, so flite's normalisation is exercised)

    /// A small count, as digits or as a word.
    private mutating func count() -> String {
        let n = rng.int(below: 11) + 2
        return rng.int(below: 2) == 0 ? String(n) : Words.numberWords[n]
    }

    private mutating func bigNumber() -> String {
        switch rng.int(below: 3) {
        case 0: return String(rng.int(below: 990) + 10)
        case 1: return grouped(rng.int(below: 99_000) + 1000)
        default: return grouped((rng.int(below: 9_000) + 1) * 1000 + rng.int(below: 1000))
        }
    }

    private mutating func price() -> String {
        switch rng.int(below: 4) {
        case 0: return "$\(rng.int(below: 100) + 1)"
        case 1: return "$\(rng.int(below: 100)).\(String(format: "%02d", rng.int(below: 100)))"
        case 2: return "$" + grouped(rng.int(below: 50_000) + 1000)
        default: return "\(rng.int(below: 98) + 2) cents"
        }
    }

    private mutating func decimal() -> String {
        "\(rng.int(below: 50)).\(rng.int(below: 9) + 1)"
    }

    private mutating func percent() -> String {
        rng.int(below: 3) == 0 ? "\(rng.int(below: 99) + 1).\(rng.int(below: 9) + 1)%" : "\(rng.int(below: 99) + 1)%"
    }

    private mutating func year() -> String { String(1800 + rng.int(below: 231)) }

    private mutating func clockTime() -> String {
        let h = rng.int(below: 12) + 1
        let m = rng.int(below: 12) * 5
        switch rng.int(below: 4) {
        case 0: return "\(h):\(String(format: "%02d", m))"
        case 1: return "\(h):\(String(format: "%02d", m)) \(pick(["a.m.", "p.m."]))"
        case 2: return "\(h) \(pick(["a.m.", "p.m."]))"
        default: return "\(h) o'clock"
        }
    }

    private func grouped(_ n: Int) -> String {
        var digits = Array(String(n)), out = ""
        while digits.count > 3 {
            out = "," + String(digits.suffix(3)) + out
            digits.removeLast(3)
        }
        return String(digits) + out
    }

    private func ordinal(_ n: Int) -> String {
        let suffix: String
        switch (n % 10, n % 100) {
        case (_, 11...13): suffix = "th"
        case (1, _): suffix = "st"
        case (2, _): suffix = "nd"
        case (3, _): suffix = "rd"
        default: suffix = "th"
        }
        return "\(n)\(suffix)"
    }

    // MARK: - morphology

    private mutating func pick<T>(_ list: [T]) -> T { list[rng.int(below: list.count)] }

    /// "a" or "an" by the first sound; spelling decides except for the listed exceptions.
    private func article(_ phrase: String) -> String {
        let w = phrase.lowercased()
        if ["hour", "honest", "heir"].contains(where: { w.hasPrefix($0) }) { return "an " + phrase }
        if ["uni", "use", "usu", "euro", "one", "once"].contains(where: { w.hasPrefix($0) }) { return "a " + phrase }
        return ("aeiou".contains(w.first ?? "x") ? "an " : "a ") + phrase
    }

    private func plural(_ noun: String) -> String {
        if let p = Words.irregularPlurals[noun] { return p }
        if ["s", "x", "z", "ch", "sh"].contains(where: { noun.hasSuffix($0) }) { return noun + "es" }
        if noun.hasSuffix("y"), let c = noun.dropLast().last, !"aeiou".contains(c) { return noun.dropLast() + "ies" }
        return noun + "s"
    }
}

/// A verb's forms. Written in the lists as "base", "base+" (double the last consonant before -ed
/// and -ing) or "base past participle" for irregular verbs.
fileprivate struct GeneratorVerb {
    var base, past, participle, third, ing: String

    init(_ spec: String) {
        let parts = spec.split(separator: " ").map(String.init)
        let doubles = parts[0].hasSuffix("+")
        let base = doubles ? String(parts[0].dropLast()) : parts[0]
        let stem = doubles ? base + String(base.last!) : base
        let consonantY = base.hasSuffix("y") && !"aeiou".contains(base.dropLast().last ?? "a")
        let sibilant = ["s", "x", "z", "ch", "sh", "o"].contains(where: { base.hasSuffix($0) })
        self.base = base
        if parts.count == 3 {
            past = parts[1]; participle = parts[2]
        } else {
            past = base.hasSuffix("e") ? base + "d" : consonantY ? base.dropLast() + "ied" : stem + "ed"
            participle = past
        }
        third = sibilant ? base + "es" : consonantY ? base.dropLast() + "ies" : base + "s"
        if base.hasSuffix("ie") {
            ing = base.dropLast(2) + "ying"
        } else if base.hasSuffix("e") && !["ee", "ye", "oe"].contains(where: { base.hasSuffix($0) }) && base.count > 2 {
            ing = base.dropLast() + "ing"
        } else {
            ing = stem + "ing"
        }
    }
}

// MARK: - word lists

fileprivate enum Words {
    static let numberWords = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                              "ten", "eleven", "twelve"]

    static let nouns = [
        // food and kitchen
        "apple", "banana", "orange", "lemon", "tomato", "potato", "carrot", "onion", "cabbage", "pumpkin",
        "sandwich", "cookie", "cake", "pie", "muffin", "pancake", "biscuit", "peach", "pear", "plum",
        "cherry", "grape", "melon", "walnut", "peanut", "pepper", "cucumber", "noodle", "bowl", "cup",
        "plate", "spoon", "fork", "knife", "bottle", "jar", "kettle", "teapot", "pan", "oven",
        // household
        "basket", "box", "bag", "suitcase", "backpack", "wallet", "key", "lock", "door", "window",
        "chair", "table", "desk", "bed", "lamp", "sofa", "shelf", "drawer", "mirror", "clock",
        "watch", "phone", "camera", "computer", "keyboard", "screen", "printer", "radio", "piano", "guitar",
        "violin", "drum", "trumpet", "flute", "book", "magazine", "newspaper", "letter", "envelope", "stamp",
        "pencil", "pen", "notebook", "map", "ticket", "coin", "candle", "blanket", "pillow", "towel",
        "carpet", "curtain", "vase", "bucket", "broom", "brush", "sponge", "ladder", "hammer", "nail",
        "wrench", "shovel", "rope", "needle", "button", "ribbon", "ring", "necklace", "bracelet", "helmet",
        // clothes
        "jacket", "coat", "hat", "scarf", "glove", "boot", "shoe", "sock", "shirt", "dress",
        "sweater", "umbrella", "belt", "apron", "uniform",
        // vehicles and toys
        "bicycle", "car", "truck", "bus", "train", "boat", "ship", "plane", "tractor", "wagon",
        "rocket", "canoe", "scooter", "kite", "balloon", "ball", "doll", "puzzle", "robot", "sled",
        // animals
        "dog", "cat", "horse", "cow", "pig", "sheep", "goat", "duck", "chicken", "rabbit",
        "mouse", "fox", "wolf", "bear", "deer", "lion", "tiger", "elephant", "monkey", "giraffe",
        "zebra", "camel", "penguin", "owl", "eagle", "parrot", "sparrow", "turtle", "frog", "snake",
        "fish", "whale", "dolphin", "shark", "crab", "spider", "bee", "butterfly", "squirrel", "beaver",
        // nature
        "tree", "flower", "rose", "leaf", "branch", "seed", "stone", "rock", "shell", "feather",
        "cloud", "star", "river", "lake", "mountain", "hill", "valley", "island", "forest", "meadow",
        "pond", "wave", "beach", "desert", "cave", "volcano", "glacier", "rainbow", "storm", "puddle",
        // buildings and places
        "house", "cottage", "castle", "tower", "barn", "fence", "gate", "wall", "roof", "chimney",
        "bridge", "tunnel", "village", "city", "street", "road", "garden", "fountain", "statue", "lighthouse",
        // people
        "teacher", "doctor", "nurse", "farmer", "baker", "painter", "driver", "pilot", "sailor", "singer",
        "dancer", "writer", "lawyer", "engineer", "scientist", "student", "child", "woman", "man", "neighbor",
        "friend", "stranger", "visitor", "captain", "chef", "waiter", "clerk", "guard", "judge", "king",
        "queen", "prince", "princess", "wizard", "giant", "dragon", "pirate", "knight", "detective", "mechanic",
        "plumber", "carpenter", "gardener", "librarian", "musician", "photographer", "reporter", "tourist",
        "customer", "passenger", "cousin", "uncle", "aunt", "grandmother", "grandfather", "brother", "sister",
        "baby", "puppy", "kitten", "athlete", "banker", "cashier", "dentist", "firefighter", "poet",
        // things made of words and events
        "song", "story", "poem", "picture", "photo", "painting", "movie", "game", "idea", "plan",
        "question", "answer", "problem", "secret", "promise", "message", "package", "present", "gift", "prize",
        "trophy", "medal", "flag", "sign", "poster", "recipe", "list", "report", "receipt", "contract",
        "schedule", "lesson", "riddle", "joke", "diary", "calendar", "album", "invitation", "postcard",
    ]

    static let irregularPlurals: [String: String] = [
        "knife": "knives", "shelf": "shelves", "leaf": "leaves", "wolf": "wolves", "mouse": "mice",
        "sheep": "sheep", "deer": "deer", "fish": "fish", "child": "children", "woman": "women", "man": "men",
        "tomato": "tomatoes", "potato": "potatoes", "volcano": "volcanoes",
    ]

    static let adjectives = [
        "red", "blue", "green", "yellow", "purple", "orange", "brown", "gray", "black", "white",
        "pink", "scarlet", "golden", "silver", "old", "new", "young", "big", "small", "tiny",
        "huge", "heavy", "light", "bright", "dark", "warm", "cold", "hot", "cool", "quiet",
        "noisy", "busy", "empty", "full", "clean", "dirty", "fresh", "stale", "sweet", "sour",
        "bitter", "salty", "spicy", "soft", "hard", "smooth", "rough", "sharp", "dull", "shiny",
        "wooden", "plastic", "broken", "tired", "hungry", "happy", "sad", "angry", "calm", "brave",
        "clever", "curious", "friendly", "gentle", "lazy", "lucky", "polite", "proud", "shy", "strange",
        "famous", "ancient", "modern", "simple", "narrow", "wide", "tall", "short", "long", "deep",
        "shallow", "thick", "thin", "strong", "weak", "loud", "rich", "poor", "expensive", "cheap",
        "rare", "common", "early", "late", "careful", "cheerful", "colorful", "elegant", "enormous", "fancy",
        "fragile", "graceful", "handsome", "helpful", "important", "interesting", "lovely", "mysterious", "nervous", "odd",
        "ordinary", "peaceful", "perfect", "plain", "pleasant", "precious", "quick", "ripe", "round", "square",
        "rusty", "sleepy", "slippery", "sticky", "striped", "spotted", "sunny", "rainy", "windy", "foggy",
        "snowy", "frozen", "damp", "dusty", "fluffy", "crooked", "crisp", "delicate", "distant", "eager",
        "fierce", "gloomy", "grumpy", "hollow", "humble", "icy", "jolly", "juicy", "little", "massive",
        "muddy", "noble", "pale", "patient", "plump", "royal", "secret", "silent", "silly", "slim",
        "smart", "splendid", "steep", "stormy", "sturdy", "swift", "tender", "tidy", "tough", "useful",
        "vast", "velvet", "vivid", "wild", "wise", "wobbly", "worn", "awkward", "bold", "chilly",
    ]

    static let transitive = transitiveSpecs.map(GeneratorVerb.init)
    private static let transitiveSpecs: [String] = [
        "carry", "find found found", "open", "close", "paint", "clean", "fix", "build built built", "buy bought bought",
        "sell sold sold", "cook", "bake", "wash", "move", "push", "pull", "watch", "see saw seen", "need",
        "want", "like", "love", "hold held held", "bring brought brought", "take took taken", "drop+", "lift",
        "check", "fill", "order", "borrow", "lend lent lent", "deliver", "measure", "count", "draw drew drawn",
        "write wrote written", "read read read", "sign", "print", "pack", "unpack", "hide hid hidden",
        "catch caught caught", "throw threw thrown", "kick", "chase", "feed fed fed", "visit", "call", "invite",
        "thank", "help", "meet met met", "follow", "teach taught taught", "remember", "forget+ forgot forgotten",
        "notice", "describe", "explain", "answer", "study", "examine", "repair", "replace", "collect", "gather",
        "choose chose chosen", "pick", "plant", "grow grew grown", "cut+ cut cut", "slice", "peel", "boil",
        "fry", "roast", "mix", "stir+", "pour", "taste", "smell", "touch", "shake shook shaken", "wrap+",
        "tie", "lock", "unlock", "load", "steal stole stolen", "keep kept kept", "lose lost lost", "win+ won won",
        "sort", "label", "photograph", "record", "share", "enjoy", "admire", "weigh", "sketch", "polish",
        "fold", "hang hung hung", "sew sewed sewn", "rescue", "guard", "inspect", "decorate", "hug+",
        "greet", "ignore", "carve", "climb", "cross", "discover", "drag+", "empty", "hunt", "kiss",
        "mend", "place", "prepare", "protect", "rinse", "scrub+", "select", "ship+", "spill", "squeeze",
        "stack", "store", "trust", "warn", "bury", "design", "finish", "scan+",
    ]

    static let intransitive = intransitiveSpecs.map(GeneratorVerb.init)
    private static let intransitiveSpecs: [String] = [
        "arrive", "laugh", "smile", "sleep slept slept", "wait", "run+ ran run", "walk", "swim+ swam swum",
        "sing sang sung", "dance", "jump", "rest", "listen", "travel", "work", "cry", "shout", "whisper",
        "sit+ sat sat", "stand stood stood", "fall fell fallen", "wander", "hurry", "relax", "leave left left",
        "return", "stay", "talk", "agree", "complain", "disappear", "cough", "sneeze", "yawn", "nod+",
        "wave", "knock", "practice", "argue", "vote", "shiver", "giggle", "hum+", "skip+", "sigh",
        "blink", "shrug+", "stumble", "tremble", "whistle", "kneel knelt knelt", "swing swung swung",
        "float", "glow", "march", "pause", "paddle", "sail", "drift", "linger",
    ]

    static let adverbs = [
        "quickly", "slowly", "carefully", "quietly", "loudly", "happily", "sadly", "suddenly", "eagerly", "gently",
        "politely", "nervously", "calmly", "proudly", "patiently", "softly", "bravely", "cheerfully", "silently",
        "gladly", "rarely", "often", "always", "never", "finally", "early", "later", "together", "alone",
        "easily", "badly", "boldly", "kindly", "neatly", "openly", "warmly", "wisely", "briskly", "lazily",
    ]

    static let firstNames = [
        "Alice", "Ben", "Carlos", "Diana", "Ethan", "Fatima", "George", "Hannah", "Isaac", "Julia",
        "Kevin", "Laura", "Mohammed", "Nora", "Oscar", "Priya", "Quentin", "Rachel", "Samuel", "Tara",
        "Umar", "Vera", "William", "Xavier", "Yasmin", "Zoe", "Adam", "Bella", "Caleb", "Daisy",
        "Edward", "Fiona", "Gavin", "Helen", "Ivan", "Jasmine", "Kyle", "Lily", "Marcus", "Nina",
        "Owen", "Paula", "Ryan", "Sophie", "Thomas", "Ursula", "Victor", "Wendy", "Yusuf", "Zachary",
        "Amelia", "Brian", "Chloe", "Daniel", "Emma", "Frank", "Grace", "Henry", "Iris", "Jack",
        "Katherine", "Leo", "Maria", "Nathan", "Olivia", "Peter", "Rosa", "Simon", "Tessa", "Aaron",
        "Beatrice", "Colin", "Dorothy", "Elliot", "Felix", "Gloria", "Harold", "Ingrid", "James", "Kenji",
        "Lucia", "Martin", "Naomi", "Patrick", "Ruth", "Stefan", "Theo", "Valerie", "Walter", "Yuki",
        "Arthur", "Bridget", "Charles", "Eleanor", "Francis", "Gregory", "Hugo", "Irene", "Joseph", "Linda",
        "Miguel", "Nadia", "Philip", "Rebecca", "Steven", "Tina", "Vincent", "Wanda", "Ahmed", "Chen",
        "Dmitri", "Elena", "Hiroshi", "Ines", "Jamal", "Leila", "Mateo", "Olga", "Ravi", "Sven",
    ]

    static let surnames = [
        "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Moore",
        "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright", "Lopez", "Hill", "Scott",
        "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Perez", "Roberts", "Turner", "Phillips",
        "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Rogers", "Reed", "Cook",
        "Morgan", "Bell", "Murphy", "Bailey", "Cooper", "Richardson", "Howard", "Ward", "Peterson", "Gray",
        "Watson", "Brooks", "Kelly", "Sanders", "Price", "Bennett", "Wood", "Barnes", "Ross", "Henderson",
        "Coleman", "Jenkins", "Perry", "Powell", "Patterson", "Hughes", "Flores", "Butler", "Foster", "Bryant",
        "Russell", "Griffin", "Hayes", "Myers", "Ford", "Hamilton", "Graham", "Sullivan", "Wallace", "Fisher",
        "Ellis", "Harrison", "Gibson", "Marshall", "Nakamura", "Okafor", "Novak", "Kowalski", "Schmidt", "Rossi",
    ]

    static let titles = ["Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "Captain", "Judge", "Officer"]

    static let cities = [
        "Boston", "Chicago", "Denver", "Seattle", "Portland", "Austin", "Atlanta", "Miami", "Phoenix", "Dallas",
        "Houston", "Detroit", "Nashville", "Memphis", "Pittsburgh", "Baltimore", "Cleveland", "Omaha", "Tucson",
        "Sacramento", "San Diego", "San Francisco", "Los Angeles", "New York", "New Orleans", "Minneapolis",
        "Milwaukee", "Orlando", "Richmond", "London", "Paris", "Berlin", "Madrid", "Rome", "Vienna", "Prague",
        "Dublin", "Edinburgh", "Oslo", "Stockholm", "Helsinki", "Lisbon", "Athens", "Cairo", "Nairobi", "Lagos",
        "Mumbai", "Delhi", "Tokyo", "Osaka", "Seoul", "Beijing", "Shanghai", "Sydney", "Melbourne", "Toronto",
        "Vancouver", "Montreal", "Mexico City", "Lima", "Santiago", "Havana", "Istanbul", "Warsaw", "Budapest",
        "Amsterdam", "Brussels", "Zurich", "Geneva", "Copenhagen", "Singapore", "Bangkok", "Manila", "Hanoi",
        "Canada", "Mexico", "Brazil", "Peru", "France", "Spain", "Italy", "Germany", "Norway", "Poland",
        "Greece", "Egypt", "Kenya", "India", "Japan", "Australia", "Ireland", "Texas", "Ohio", "Oregon",
        "Maine", "Vermont", "Florida", "Alaska", "Nevada",
    ]

    static let placeNouns = [
        "library", "station", "market", "museum", "hospital", "school", "office", "factory", "bakery", "restaurant",
        "hotel", "theater", "airport", "church", "stadium", "kitchen", "bedroom", "hallway", "attic", "basement",
        "balcony", "garage", "garden", "park", "playground", "harbor", "farm", "river", "lake", "forest",
        "bridge", "castle", "barn", "fence", "village", "beach", "pharmacy", "post office", "gym", "pool",
        "zoo", "bank", "cafe", "bookstore", "courtyard", "greenhouse", "warehouse", "workshop", "studio", "cabin",
    ]

    static let prepositions = ["at", "in", "near", "behind", "beside", "outside", "inside", "across from",
                               "next to", "past", "around", "under", "above", "toward"]

    static let buildings = ["bridge", "castle", "tower", "library", "museum", "church", "theater", "station",
                            "lighthouse", "hospital", "school", "market", "palace", "cathedral", "mill"]

    static let vehicles = ["train", "bus", "ferry", "plane", "coach", "boat", "shuttle", "flight"]

    static let units = ["kilograms", "pounds", "grams", "ounces", "tons"]

    static let streetNames = ["Oak", "Maple", "Elm", "Pine", "Cedar", "Birch", "Main", "Park", "Lake", "Hill",
                              "River", "Church", "Mill", "Spring", "Sunset", "Willow", "Chestnut", "Walnut",
                              "Highland", "Meadow", "Forest", "Harbor", "Bridge", "Market", "Station"]

    static let weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                         "September", "October", "November", "December"]

    static let times = [
        "yesterday", "today", "tomorrow", "tonight", "this morning", "this afternoon", "this evening",
        "last night", "last week", "last month", "last year", "next week", "next month", "next year",
        "every morning", "every weekend", "in the morning", "in the afternoon", "in the evening", "at noon",
        "at midnight", "at dawn", "at sunset", "in the spring", "in the summer", "in the autumn", "in the winter",
        "after lunch", "before dinner", "after breakfast", "during the storm", "after the meeting",
        "before the concert", "at the weekend", "on the holiday", "right away", "later on", "soon",
    ]

    static let habitualTimes = ["on weekends", "every day", "in the evenings", "after work", "before school",
                                "on Sundays", "twice a week", "in the summer", "when it rains", "at night"]

    static let events = ["lunch", "dinner", "breakfast", "noon", "midnight", "the meeting", "the concert",
                         "the game", "the storm", "the show", "the guests arrive", "the sun sets"]

    static let eventNouns = ["concert", "meeting", "party", "wedding", "festival", "exam", "game", "parade",
                             "lecture", "race", "auction", "picnic", "interview", "ceremony", "match"]

    static let shoppingVerbs = ["bought", "ordered", "packed", "found", "sold", "brought", "needed", "borrowed",
                                "wanted", "collected", "lost", "painted"]
}
