package feedback

import (
	"strings"
	"unicode"

	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
)

// Classify returns the sentiment of one piece of feedback, computed once at
// ingest from everything the user gave: the text, the rating, the NPS score
// and the kind. It is deterministic and needs no model or network.
//
// The method, in order:
//
//  1. Text. The text is cut into sentences (. ! ? and line breaks) and clauses
//     (, ; : and "but"), and into lower-case words. Each word found in a
//     lexicon of about 310 common English product-feedback words, in the
//     style of AFINN (integer scores from -4 to +4: "love" +3, "slow" -2,
//     "unusable" -3, a few emoji), adds its score. A negator ("not", "no",
//     "never", "without", any "n't" contraction, also typed without the
//     apostrophe) flips and dampens (×-0.75, as VADER does) the sentiment
//     words among the next three words of its clause, articles not counted:
//     "not bad at all" scores +2.25, "I don't love the new export" -2.25. An
//     intensifier ("very", "really", "so", ...) multiplies the next
//     sentiment word by 1.5, a downtoner ("slightly", "somewhat", ...) by 0.5.
//     In a sentence with "but", the words before it count half and the words
//     after it one and a half times ("nice idea but it keeps crashing" is
//     negative). The sum is clamped to [-4, +4]: repetition stops counting
//     there, so only strongly worded text outweighs an explicit score.
//  2. Numbers, the user's own verdict: a rating of 5 adds +3, 4 adds +2,
//     2 adds -2 and 1 adds -3; an NPS score of 9-10 adds +3, 5-6 adds -2 and
//     0-4 adds -3. A rating of 3 and an NPS score of 7-8 add nothing.
//  3. Kind, a lean that only tips weak evidence: PRAISE adds +0.5, BUG and
//     COMPLAINT add -0.5.
//
// A total of at least +1 is POSITIVE, at most -1 NEGATIVE, anything between
// NEUTRAL. The kind's lean alone never decides.
func Classify(kind entfeedback.Kind, rating, npsScore *int, text string) entfeedback.Sentiment {
	score := max(-maxTextScore, min(maxTextScore, TextScore(text)))
	if rating != nil {
		score += ratingSignal[*rating]
	}
	if npsScore != nil {
		score += npsSignal(*npsScore)
	}
	score += kindLean[kind]
	switch {
	case score >= 1:
		return entfeedback.SentimentPOSITIVE
	case score <= -1:
		return entfeedback.SentimentNEGATIVE
	default:
		return entfeedback.SentimentNEUTRAL
	}
}

// Weights of the classifier; see Classify.
const (
	maxTextScore   = 4
	negationFactor = -0.75
	negationWindow = 3
	modifierWindow = 2
	intensifier    = 1.5
	downtoner      = 0.5
	beforeBut      = 0.5
	afterBut       = 1.5
)

var ratingSignal = map[int]float64{1: -3, 2: -2, 3: 0, 4: 2, 5: 3}

func npsSignal(score int) float64 {
	switch {
	case score >= 9:
		return 3
	case score >= 7:
		return 0
	case score >= 5:
		return -2
	default:
		return -3
	}
}

var kindLean = map[entfeedback.Kind]float64{
	entfeedback.KindPRAISE:    0.5,
	entfeedback.KindBUG:       -0.5,
	entfeedback.KindCOMPLAINT: -0.5,
}

// TextScore returns the lexicon score of text alone (step 1 of Classify,
// before clamping): positive for positive wording, 0 for none.
func TextScore(text string) float64 {
	var total float64
	for _, sentence := range sentences(text) {
		total += sentenceScore(sentence)
	}
	return total
}

// sentenceScore scores the words of one sentence; an empty word marks a
// clause boundary, which ends negation and intensifier scopes.
func sentenceScore(words []string) float64 {
	but := -1
	for i, w := range words {
		if w == "but" {
			but = i
		}
	}
	var total, boost float64
	negatedFor := 0 // how many more counted words a negator still reaches
	boostFor := 0   // how many more counted words a modifier still reaches
	previous := ""
	for i, w := range words {
		if w == "" || w == "but" {
			negatedFor, boostFor, previous = 0, 0, ""
			continue
		}
		if articles[w] {
			continue
		}
		switch {
		case isNegator(w):
			negatedFor = negationWindow + 1
		case modifiers[w] != 0:
			boost, boostFor = modifiers[w], modifierWindow+1
		}
		if s, ok := lexicon[w]; ok && !(w == "like" && likeNotLiking[previous]) {
			v := float64(s)
			if boostFor > 0 {
				v *= boost
				boostFor = 0
			}
			if negatedFor > 0 {
				v *= negationFactor
			}
			switch {
			case but < 0:
			case i < but:
				v *= beforeBut
			default:
				v *= afterBut
			}
			total += v
		}
		negatedFor = max(0, negatedFor-1)
		boostFor = max(0, boostFor-1)
		previous = w
	}
	return total
}

// likeNotLiking are the words after which "like" asks or compares instead
// of liking: "I would like an export", "looks like a bug".
var likeNotLiking = map[string]bool{
	"would": true, "i'd": true, "we'd": true, "you'd": true, "they'd": true, "id": true,
	"look": true, "looks": true, "looked": true, "feel": true, "feels": true, "felt": true,
	"seem": true, "seems": true, "seemed": true, "sound": true, "sounds": true,
	"something": true, "anything": true, "more": true, "things": true, "stuff": true,
}

// sentences splits text into sentences of lower-case words. Clause
// punctuation becomes an empty word; emoji of the lexicon become words.
func sentences(text string) [][]string {
	var (
		out     [][]string
		current []string
		word    strings.Builder
	)
	endWord := func() {
		if word.Len() > 0 {
			current = append(current, strings.Trim(word.String(), "'"))
			word.Reset()
		}
	}
	endSentence := func() {
		endWord()
		if len(current) > 0 {
			out = append(out, current)
			current = nil
		}
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || r == '\'' || r == '’':
			if r == '’' {
				r = '\''
			}
			word.WriteRune(r)
		case r == '.' || r == '!' || r == '?' || r == '\n':
			endSentence()
		case r == ',' || r == ';' || r == ':' || r == '(' || r == ')':
			endWord()
			current = append(current, "")
		case lexicon[string(r)] != 0:
			endWord()
			current = append(current, string(r))
		default:
			endWord()
		}
	}
	endSentence()
	return out
}

func isNegator(w string) bool {
	return negators[w] || strings.HasSuffix(w, "n't")
}

var negators = map[string]bool{
	"not": true, "no": true, "never": true, "none": true, "nothing": true, "nobody": true,
	"neither": true, "nor": true, "nowhere": true, "without": true, "cannot": true,
	// "n't" contractions typed without the apostrophe.
	"dont": true, "doesnt": true, "didnt": true, "isnt": true, "wasnt": true, "arent": true,
	"werent": true, "cant": true, "couldnt": true, "wouldnt": true, "shouldnt": true,
	"wont": true, "havent": true, "hasnt": true, "hadnt": true, "aint": true,
}

// articles do not use up a negator's reach: "not a problem".
var articles = map[string]bool{"a": true, "an": true, "the": true}

// modifiers scale the next sentiment word.
var modifiers = map[string]float64{
	"very": intensifier, "really": intensifier, "so": intensifier, "extremely": intensifier,
	"super": intensifier, "incredibly": intensifier, "absolutely": intensifier,
	"totally": intensifier, "completely": intensifier, "utterly": intensifier,
	"highly": intensifier, "truly": intensifier, "insanely": intensifier,
	"seriously": intensifier, "especially": intensifier, "exceptionally": intensifier,
	"slightly": downtoner, "somewhat": downtoner, "kinda": downtoner, "fairly": downtoner,
	"rather": downtoner, "mostly": downtoner, "partly": downtoner, "occasionally": downtoner,
}

// lexicon scores common words of product feedback from -4 to +4, in the
// manner of AFINN-165 (Finn Årup Nielsen), with software terms added
// ("crash", "laggy", "intuitive"). Inflections are listed rather than
// stemmed, which keeps the classifier exact and predictable.
var lexicon = map[string]int{
	// Strongly positive.
	"awesome": 4, "amazing": 4, "fantastic": 4, "wonderful": 4, "brilliant": 4, "superb": 4,
	"outstanding": 4, "excellent": 4, "incredible": 4, "phenomenal": 4, "flawless": 4,
	"lifesaver": 4, "stellar": 4, "exceptional": 4, "magnificent": 4,
	"love": 3, "loved": 3, "loves": 3, "loving": 3, "great": 3, "perfect": 3, "perfectly": 3,
	"best": 3, "beautiful": 3, "beautifully": 3, "happy": 3, "glad": 3, "delighted": 3,
	"delightful": 3, "impressed": 3, "impressive": 3, "fabulous": 3, "terrific": 3,
	"thrilled": 3, "gorgeous": 3, "superior": 3, "favorite": 3, "favourite": 3, "wow": 3,
	"enjoy": 2, "enjoyed": 2, "enjoying": 2, "enjoyable": 2, "good": 3, "nice": 3, "nicely": 2,
	"pleased": 3, "satisfied": 2, "fun": 3, "joy": 3, "grateful": 3, "thankful": 3,
	"like": 2, "liked": 2, "likes": 2, "better": 2, "helpful": 2, "useful": 2, "handy": 2,
	"intuitive": 2, "fast": 2, "faster": 2, "speedy": 2, "snappy": 2, "smooth": 2,
	"smoothly": 2, "seamless": 2, "seamlessly": 2, "reliable": 2, "clean": 2, "elegant": 2,
	"polished": 2, "solid": 2, "recommend": 2, "recommended": 2, "thanks": 2, "thank": 2,
	"thx": 2, "kudos": 2, "cool": 2, "neat": 2, "convenient": 2, "valuable": 2, "powerful": 2,
	"effective": 2, "efficient": 2, "responsive": 2, "improved": 2, "improvement": 2,
	"appreciate": 2, "appreciated": 2, "easy": 2, "easier": 2, "effortless": 2,
	"friendly": 2, "pleasant": 2, "stable": 1,
	"excited": 3, "exciting": 3, "genius": 3, "nailed": 3, "perfection": 3, "rocks": 2,
	"slick": 2, "sleek": 2, "satisfying": 2, "trustworthy": 2, "accurate": 1, "secure": 1,
	"lightweight": 1, "resolved": 1,
	"simple": 1, "works": 1, "worked": 1, "helped": 1, "helps": 1, "decent": 1, "promising": 1,
	"❤": 3, "😍": 3, "🥰": 3, "😀": 2, "😃": 2, "😄": 2, "😊": 2, "🙂": 1, "👍": 2, "🎉": 2,
	"🙏": 2, "💯": 3, "🔥": 2,
	// Negative.
	"meh": -1, "difficult": -1, "hard": -1,
	"outdated": -1, "inconsistent": -1, "cluttered": -1, "expensive": -1, "pricey": -1,
	"unclear": -1, "weird": -1, "odd": -1, "strange": -1, "limited": -1, "lacking": -1,
	"lacks": -1, "delay": -1, "delayed": -1, "error": -1, "errors": -1, "mistake": -1,
	"timeout": -1, "timeouts": -1, "hiccup": -1, "clunkier": -1, "confused": -1, "doubt": -1,
	"worried": -1, "unfortunate": -1, "lost": -1,
	"bad": -3, "worse": -2, "poor": -2, "poorly": -2, "slow": -2, "slower": -2, "slowly": -2,
	"sluggish": -2, "laggy": -2, "lag": -2, "lags": -2, "lagging": -2, "crash": -2,
	"crashes": -2, "crashed": -2, "crashing": -2, "freeze": -2, "freezes": -2, "froze": -2,
	"frozen": -2, "freezing": -2, "hangs": -2, "glitch": -2, "glitches": -2, "glitchy": -2,
	"buggy": -2, "fail": -2, "fails": -2, "failed": -2, "failing": -2, "failure": -2,
	"problem": -2, "problems": -2, "problematic": -2, "confusing": -2, "clunky": -2,
	"complicated": -2, "cumbersome": -2, "tedious": -2, "painful": -2, "annoying": -2,
	"annoyed": -2, "annoys": -2, "irritating": -2, "ugly": -2, "unreliable": -2,
	"unstable": -2, "bloated": -2, "overpriced": -2, "messy": -2, "mess": -2,
	"disappointing": -2, "disappointed": -2, "disappoints": -2, "disappointment": -2,
	"unhappy": -2, "upset": -2, "sad": -2, "sadly": -2, "unfortunately": -2, "wrong": -2,
	"stuck": -2, "stopped": -2, "broke": -2, "breaks": -2, "lose": -2, "losing": -2,
	"waste": -2, "wasted": -2, "wasting": -2, "refund": -2, "spam": -2, "spammy": -2, "slowness": -2, "flaky": -2,
	"inaccurate": -2, "incorrect": -2, "corrupted": -3, "unresponsive": -2, "worry": -2,
	"complain": -2, "complaint": -2, "frustrated": -2, "difficulty": -1, "dislike": -2,
	"disliked": -2, "regret": -2, "sucks": -3, "suck": -3, "sucked": -3,
	"broken": -3, "unusable": -3, "useless": -3, "terrible": -3, "terribly": -3, "awful": -3,
	"horrible": -3, "horribly": -3, "worst": -3, "hate": -3, "hated": -3, "hates": -3,
	"frustrating": -3, "frustration": -3, "nightmare": -3, "disaster": -3, "garbage": -3,
	"trash": -3, "rubbish": -3, "pathetic": -3, "ridiculous": -3, "unacceptable": -3,
	"angry": -3, "furious": -4, "infuriating": -4, "disgusting": -3, "atrocious": -4,
	"crap": -3, "crappy": -3, "junk": -3, "ripoff": -3, "hideous": -3, "fraud": -4,
	"unintuitive": -2, "counterintuitive": -2, "overwhelming": -2, "clumsy": -2, "awkward": -2,
	"annoyance": -2, "inconvenient": -2, "mediocre": -2, "lackluster": -2, "underwhelming": -2,
	"janky": -2, "stutters": -2, "stuttering": -2, "insecure": -2, "slowest": -2,
	"abysmal": -4, "scam": -4, "worthless": -3, "dreadful": -3, "lousy": -3,
	"😡": -3, "😠": -3, "🤬": -4, "😞": -2, "🙁": -2, "☹": -2, "😢": -2, "😭": -2, "👎": -2,
	"😤": -2, "💩": -3,
}
