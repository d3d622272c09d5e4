package recommenders

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
)

var clarifySpec = config.Spec{
	Name: "clarify",
	Summary: "A rule-based conversational recommender. It reads the user's words for catalog genres, tags and years " +
		"(\"a comedy from 1990 to 2009, nothing horror\"), asks about the most informative topic it does not know yet " +
		"(the one whose answer would split the remaining candidates most: the highest entropy over genre, mood or decade) " +
		"up to max_questions times, then proposes the most popular matching items, boosted by the user's stated likes " +
		"and by what users accepted before. In slate scenarios it recommends the most popular unconsumed items.",
	Params: []config.Param{
		{Name: "max_questions", Kind: config.Int, Default: 2, Min: ptr(0.0), Max: ptr(10.0),
			Doc: "Questions it may ask in one conversation before it must propose; 0 proposes at once."},
		{Name: "learn_weight", Kind: config.Float, Default: 1.0, Min: ptr(0.0),
			Doc: "How much an item users accepted before is boosted: score × (1 + learn_weight · acceptances / (1 + acceptances))."},
	},
}

var chatPopularSpec = config.Spec{
	Name: "chatpopular",
	Summary: "The popularity-only conversational baseline: whatever the user says, it proposes the most popular items " +
		"it has not proposed in the conversation yet (boosted by what users accepted before). A conversational " +
		"recommender that does not beat it is not listening.",
	Params: []config.Param{
		{Name: "learn_weight", Kind: config.Float, Default: 1.0, Min: ptr(0.0),
			Doc: "How much an item users accepted before is boosted, as for clarify."},
	},
}

func init() {
	registerBuiltin(clarifySpec, func(env Env, p config.Params) (Recommender, error) {
		r := newClarify(env.Catalog, true)
		pr := p.Reader(clarifySpec.Name)
		r.maxQuestions, r.learned.weight = pr.Int("max_questions"), pr.Float("learn_weight")
		return r, pr.Err()
	})
	registerBuiltin(chatPopularSpec, func(env Env, p config.Params) (Recommender, error) {
		r := newClarify(env.Catalog, false)
		pr := p.Reader(chatPopularSpec.Name)
		r.learned.weight = pr.Float("learn_weight")
		return r, pr.Err()
	})
}

// clarify is both rule-based conversational built-ins: listen is false
// for chatpopular, which ignores what the user says.
type clarify struct {
	cat          *catalog.Catalog
	listen       bool
	maxQuestions int
	learned      acceptances
	vocab        chatVocabulary
	// years holds each item's year (NaN when it has none), decade its
	// decade's index among the catalog's decades (-1: none), primary the
	// index of its first category (-1: none).
	years   []float64
	decade  []int32
	decades int
	primary []int32
}

func newClarify(cat *catalog.Catalog, listen bool) *clarify {
	n := cat.Len()
	r := &clarify{cat: cat, listen: listen, learned: newAcceptances(cat), vocab: newChatVocabulary(cat),
		years: make([]float64, n), decade: make([]int32, n), primary: make([]int32, n)}
	first := math.MaxInt
	for i := range n {
		r.years[i] = math.NaN()
		if y, ok := catalog.AttributeNumber(cat.Item(i).Attributes["year"]); ok && !math.IsNaN(y) && math.Abs(y) < 1e6 {
			r.years[i] = y
			first = min(first, int(math.Floor(y/10)))
		}
	}
	for i := range n {
		r.decade[i], r.primary[i] = -1, -1
		if y := r.years[i]; !math.IsNaN(y) {
			r.decade[i] = int32(int(math.Floor(y/10)) - first)
			r.decades = max(r.decades, int(r.decade[i])+1)
		}
		if cats := cat.Item(i).Categories; len(cats) > 0 {
			if c, ok := cat.CategoryIndex(cats[0]); ok {
				r.primary[i] = int32(c)
			}
		}
	}
	return r
}

func (r *clarify) Observe(_ context.Context, feedback []Feedback) error {
	r.learned.observe(feedback)
	return nil
}

func (r *clarify) Reset(context.Context) error {
	r.learned.reset()
	return nil
}

// score is the item's popularity, boosted by past acceptances.
func (r *clarify) score(i int) float64 { return r.learned.prior(i) }

// acceptances is what the conversational built-ins learn: how often users
// accepted (clicked) each item. Observe writes it, and nothing reads it
// concurrently with Observe.
type acceptances struct {
	cat    *catalog.Catalog
	counts []int
	// weight is learn_weight: how much acceptances boost popularity.
	weight float64
}

func newAcceptances(cat *catalog.Catalog) acceptances {
	return acceptances{cat: cat, counts: make([]int, cat.Len())}
}

func (a *acceptances) observe(feedback []Feedback) {
	for _, f := range feedback {
		if !f.Clicked {
			continue
		}
		if i, ok := a.cat.Index(f.Item); ok {
			a.counts[i]++
		}
	}
}

func (a *acceptances) reset() { clear(a.counts) }

// prior is item i's popularity boosted by its acceptances:
// p(i)·(1 + w·n/(1 + n)).
func (a *acceptances) prior(i int) float64 {
	n := float64(a.counts[i])
	return a.cat.PopularityShare(i) * (1 + a.weight*n/(1+n))
}

// Recommend serves slate scenarios: the most popular unconsumed items.
func (r *clarify) Recommend(ctx context.Context, req Request) (Slate, error) {
	if err := ctx.Err(); err != nil {
		return Slate{}, err
	}
	excluded := make([]bool, r.cat.Len())
	for _, h := range req.History {
		if i, ok := r.cat.Index(h.Item); ok {
			excluded[i] = true
		}
	}
	top := r.top(req.Round, req.K, excluded, func(int) bool { return true }, func(int) float64 { return 0 })
	slate := Slate{Items: make([]Scored, len(top))}
	for k, i := range top {
		slate.Items[k] = Scored{Item: r.cat.Item(i).ID, Score: r.score(i), Explanation: "Popular with viewers right now."}
	}
	return slate, nil
}

// top returns the k best released items that are not excluded and pass
// keep, by score × (1 + bonus), ties by catalog order.
func (r *clarify) top(round, k int, excluded []bool, keep func(int) bool, bonus func(int) float64) []int {
	type cand struct {
		i int
		s float64
	}
	var best []cand
	for i := range r.cat.Len() {
		if excluded[i] || r.cat.Item(i).ReleaseRound > round || !keep(i) {
			continue
		}
		c := cand{i, r.score(i) * (1 + bonus(i))}
		pos, _ := slices.BinarySearchFunc(best, c, func(a, b cand) int {
			switch {
			case a.s > b.s:
				return -1
			case a.s < b.s:
				return 1
			}
			return a.i - b.i
		})
		if pos < k {
			best = slices.Insert(best, pos, c)
			best = best[:min(len(best), k)]
		}
	}
	out := make([]int, len(best))
	for j, c := range best {
		out[j] = c.i
	}
	return out
}

func (r *clarify) Respond(ctx context.Context, req ChatRequest) (ChatReply, error) {
	if err := ctx.Err(); err != nil {
		return ChatReply{}, err
	}
	excluded := make([]bool, r.cat.Len())
	for _, h := range req.History {
		if i, ok := r.cat.Index(h.Item); ok {
			excluded[i] = true
		}
	}
	questions := 0
	for _, m := range req.Messages {
		if m.Role != SpeakerRecommender {
			continue
		}
		if len(m.Items) == 0 {
			questions++
		}
		for _, it := range m.Items {
			if i, ok := r.cat.Index(it.Item); ok {
				excluded[i] = true
			}
		}
	}
	if !r.listen {
		return r.propose(req, excluded, chatSlots{}, "Here are the most popular titles right now.")
	}
	slots := r.vocab.read(req.Messages)
	if questions < r.maxQuestions {
		if topic, ok := r.mostInformative(req.Round, excluded, slots); ok {
			return ChatReply{Message: clarifyQuestions[topic]}, nil
		}
	}
	return r.propose(req, excluded, slots, "")
}

// propose picks up to k items that meet every hard slot; when none does,
// it drops tags, then years, then genres, and says so.
func (r *clarify) propose(req ChatRequest, excluded []bool, slots chatSlots, message string) (ChatReply, error) {
	bonus := func(i int) float64 { return float64(slots.softMatches(r.cat.Item(i))) }
	relaxed := slots
	var top []int
	for step := 0; ; step++ {
		top = r.top(req.Round, req.K, excluded, func(i int) bool { return relaxed.admits(r.cat.Item(i), r.years[i]) }, bonus)
		if len(top) > 0 || step == 3 {
			break
		}
		switch step {
		case 0:
			relaxed.tags = nil
		case 1:
			relaxed.yearMin, relaxed.yearMax = math.Inf(-1), math.Inf(1)
		case 2:
			relaxed.categories = nil
		}
	}
	if message == "" {
		message = "Here are some picks for you."
		if wanted := slots.describe(); wanted != "" {
			message = "Here are some picks: " + wanted + "."
		}
		if !relaxed.same(slots) {
			message = "I found nothing that fits everything you said, so here is what comes closest."
		}
	}
	reply := ChatReply{Message: message, Items: make([]Scored, len(top))}
	for k, i := range top {
		it := r.cat.Item(i)
		reply.Items[k] = Scored{Item: it.ID, Score: r.score(i), Explanation: explainFacts(it)}
	}
	return reply, nil
}

// explainFacts says what the item is, from the catalog alone, so that an
// explanation never claims what the item does not have.
func explainFacts(it *catalog.Item) string {
	var b strings.Builder
	switch kind := strings.Join(it.Categories, "/"); {
	case kind == "":
		b.WriteString("A")
	case strings.ContainsRune("aeiou", rune(kind[0])):
		b.WriteString("An " + kind)
	default:
		b.WriteString("A " + kind)
	}
	if y, ok := it.Attributes["year"]; ok {
		fmt.Fprintf(&b, " film from %v", y)
	} else {
		b.WriteString(" title")
	}
	if len(it.Tags) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(it.Tags, ", "))
		b.WriteString(")")
	}
	b.WriteString(".")
	return b.String()
}

var clarifyQuestions = map[string]string{
	"genre": "What genre would you enjoy?",
	"mood":  "Any particular mood or theme you're after?",
	"year":  "Any particular era, say a decade?",
}

// mostInformative is the topic the user has not settled whose answer
// would split the remaining candidates most: the one with the highest
// entropy over the candidates (genre: primary category; mood: tags;
// year: decade). A topic with less than one bit is not worth a turn.
func (r *clarify) mostInformative(round int, excluded []bool, slots chatSlots) (string, bool) {
	genre := make([]float64, len(r.cat.Categories()))
	mood := make([]float64, len(r.cat.Tags()))
	decade := make([]float64, r.decades)
	for i := range r.cat.Len() {
		it := r.cat.Item(i)
		if excluded[i] || it.ReleaseRound > round || !slots.admits(it, r.years[i]) {
			continue
		}
		if c := r.primary[i]; c >= 0 {
			genre[c]++
		}
		tags := r.cat.ItemTags(i)
		for _, t := range tags {
			mood[t] += 1 / float64(len(tags))
		}
		if d := r.decade[i]; d >= 0 {
			decade[d]++
		}
	}
	counts := map[string][]float64{"genre": genre, "mood": mood, "year": decade}
	settled := map[string]bool{"genre": len(slots.categories) > 0, "mood": len(slots.tags) > 0,
		"year": !math.IsInf(slots.yearMin, -1) || !math.IsInf(slots.yearMax, 1)}
	best, bestH := "", 0.0
	for _, topic := range []string{"genre", "year", "mood"} {
		if settled[topic] || slots.asked[topic] {
			continue
		}
		if h := entropy(counts[topic]); h >= 1 && (best == "" || h > bestH+1e-9) {
			best, bestH = topic, h
		}
	}
	return best, best != ""
}

// entropy is in bits.
func entropy(counts []float64) float64 {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := c / total
			h -= p * math.Log2(p)
		}
	}
	return h
}

// chatSlots is what a rule-based recommender understood of the user's
// words: hard slots (wanted and excluded genres and tags, a year range)
// and soft likes, plus the topics it has asked about.
type chatSlots struct {
	categories, tags       []string
	notCategories, notTags []string
	likes                  []string
	yearMin, yearMax       float64
	asked                  map[string]bool
}

// admits reports whether item it, of the given year (NaN: none), meets
// every hard slot.
func (s chatSlots) admits(it *catalog.Item, year float64) bool {
	for _, c := range s.categories {
		if !slices.Contains(it.Categories, c) {
			return false
		}
	}
	for _, t := range s.tags {
		if !slices.Contains(it.Tags, t) {
			return false
		}
	}
	for _, c := range s.notCategories {
		if slices.Contains(it.Categories, c) {
			return false
		}
	}
	for _, t := range s.notTags {
		if slices.Contains(it.Tags, t) {
			return false
		}
	}
	if !math.IsInf(s.yearMin, -1) || !math.IsInf(s.yearMax, 1) {
		if math.IsNaN(year) || year < s.yearMin || year > s.yearMax {
			return false
		}
	}
	return true
}

func (s chatSlots) softMatches(it *catalog.Item) int {
	n := 0
	for _, l := range s.likes {
		if slices.Contains(it.Categories, l) || slices.Contains(it.Tags, l) {
			n++
		}
	}
	return n
}

func (s chatSlots) same(o chatSlots) bool {
	return slices.Equal(s.categories, o.categories) && slices.Equal(s.tags, o.tags) && s.yearMin == o.yearMin && s.yearMax == o.yearMax
}

func (s chatSlots) describe() string {
	var parts []string
	parts = append(parts, s.categories...)
	parts = append(parts, s.tags...)
	switch {
	case !math.IsInf(s.yearMin, -1) && !math.IsInf(s.yearMax, 1):
		parts = append(parts, fmt.Sprintf("from %g to %g", s.yearMin, s.yearMax))
	case !math.IsInf(s.yearMin, -1):
		parts = append(parts, fmt.Sprintf("from %g on", s.yearMin))
	case !math.IsInf(s.yearMax, 1):
		parts = append(parts, fmt.Sprintf("up to %g", s.yearMax))
	}
	for _, c := range append(slices.Clone(s.notCategories), s.notTags...) {
		parts = append(parts, "no "+c)
	}
	return strings.Join(parts, ", ")
}

// chatVocabulary finds the catalog's genre and tag names in text.
type chatVocabulary struct {
	categories, tags []string
}

func newChatVocabulary(cat *catalog.Catalog) chatVocabulary {
	return chatVocabulary{categories: cat.Categories(), tags: cat.Tags()}
}

var (
	yearRange  = regexp.MustCompile(`(?:from|between)\s+(\d{4})\s+(?:to|and|-)\s+(\d{4})`)
	yearDecade = regexp.MustCompile(`\b(\d{3})0s\b`)
	yearAfter  = regexp.MustCompile(`\b(?:after|since)\s+(\d{4})`)
	yearBefore = regexp.MustCompile(`\bbefore\s+(\d{4})`)
	negation   = regexp.MustCompile(`\b(?:not|no|nothing|without|except|never)\b[\w\s-]{0,20}$`)
	softMarker = regexp.MustCompile(`\b(?:love|loves|enjoy|usually|tend to like|fan of)\b`)
)

// read collects the slots from every user message, clause by clause: a
// name after a negation is excluded, a name in a clause that speaks of
// liking is a soft like, any other is wanted.
func (v chatVocabulary) read(msgs []ChatMessage) chatSlots {
	s := chatSlots{yearMin: math.Inf(-1), yearMax: math.Inf(1), asked: map[string]bool{}}
	for _, m := range msgs {
		text := strings.ToLower(m.Content)
		if m.Role == SpeakerRecommender {
			for topic, q := range clarifyQuestions {
				if m.Content == q {
					s.asked[topic] = true
				}
			}
			continue
		}
		for _, clause := range strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(".,;:!?", r) }) {
			soft := softMarker.MatchString(clause)
			v.names(clause, v.categories, soft, &s.categories, &s.notCategories, &s.likes)
			v.names(clause, v.tags, soft, &s.tags, &s.notTags, &s.likes)
			s.readYears(clause)
		}
	}
	return s
}

func (v chatVocabulary) names(clause string, names []string, soft bool, wanted, excluded, likes *[]string) {
	for _, name := range names {
		at := wordIndex(clause, name)
		if at < 0 {
			continue
		}
		switch {
		case negation.MatchString(clause[:at]):
			addOnce(excluded, name)
		case soft:
			addOnce(likes, name)
		default:
			addOnce(wanted, name)
		}
	}
}

func (s *chatSlots) readYears(clause string) {
	year := func(x string) float64 { f, _ := strconv.ParseFloat(x, 64); return f }
	if m := yearRange.FindStringSubmatch(clause); m != nil {
		s.yearMin, s.yearMax = year(m[1]), year(m[2])
		return
	}
	if m := yearDecade.FindStringSubmatch(clause); m != nil {
		s.yearMin = year(m[1] + "0")
		s.yearMax = s.yearMin + 9
	}
	if m := yearAfter.FindStringSubmatch(clause); m != nil {
		s.yearMin = year(m[1]) + 1
	}
	if m := yearBefore.FindStringSubmatch(clause); m != nil {
		s.yearMax = year(m[1]) - 1
	}
}

// wordIndex is where name occurs in text as a whole word (letters, digits
// and '-' are word characters), or -1.
func wordIndex(text, name string) int {
	word := func(b byte) bool { return b == '-' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
	for from := 0; ; {
		i := strings.Index(text[from:], name)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(name)
		if (i == 0 || !word(text[i-1])) && (end == len(text) || !word(text[end])) {
			return i
		}
		from = i + 1
	}
}

func addOnce(list *[]string, s string) {
	if !slices.Contains(*list, s) {
		*list = append(*list, s)
	}
}
