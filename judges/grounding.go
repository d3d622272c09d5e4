package judges

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
)

// ErrNoCatalog is returned when the grounding judge is built without a catalog.
var ErrNoCatalog = errors.New("judges: the grounding judge needs a catalog")

// GroundingName is the registered name of the deterministic grounding judge.
const GroundingName = "grounding"

var groundingSpec = config.Spec{
	Name: GroundingName,
	Summary: "Checks every explanation against the data, for free: titles must come from the persona's history, " +
		"the slate or the item itself; categories and tags must be the item's; years and ratings must match its attributes.",
	Params: []config.Param{
		{Name: "min_title_tokens", Kind: config.Int, Default: 2, Min: config.AtLeast(1),
			Doc: "Catalog titles shorter than this many words count as mentioned only when quoted, so common words are not read as titles."},
	},
}

func init() {
	Register(groundingSpec, func(env Env, p config.Params) (Judge, error) {
		if env.Catalog == nil {
			return nil, ErrNoCatalog
		}
		r := p.Reader(GroundingName)
		minTitleTokens := r.Int("min_title_tokens")
		if err := r.Err(); err != nil {
			return nil, err
		}
		return NewGrounding(env.Catalog, minTitleTokens), nil
	})
}

// Grounding is the deterministic grounding judge. It indexes the catalog
// once; Judge is then safe for concurrent use.
type Grounding struct {
	cat            *catalog.Catalog
	minTitleTokens int

	words map[string]int32
	// trie maps (node<<32 | word) to the child node; node 0 is the root.
	trie  map[uint64]int32
	nodes []phraseNode
	// itemNode is the node that ends each catalog item's title, or 0.
	itemNode []int32
	// attrForms are the word sequences that introduce each numeric attribute
	// ("runtime_min" is introduced by "runtime min" or "runtime"), sorted by
	// attribute name.
	attrForms []attrForm

	scratch sync.Pool
}

// phraseNode is a trie node; a phrase ends at it when any field is set.
type phraseNode struct {
	// items are the catalog items titled by the phrase ending here.
	items    []int32
	category int32 // catalog category index + 1, or 0
	tag      int32 // catalog tag index + 1, or 0
}

type attrForm struct {
	attr  string
	words []int32
}

type token struct {
	start, end int // byte offsets into the explanation
	word       int32
	digits     bool
}

type groundingScratch struct {
	text   string
	lower  []byte
	tokens []token
	// claimed marks tokens inside a matched title (1) or a category/tag name (2).
	claimed []uint8
}

const (
	unclaimed uint8 = iota
	inTitle
	inFeature
)

// NewGrounding indexes cat's titles, categories, tags and attribute names.
// Titles shorter than minTitleTokens words count only when quoted.
func NewGrounding(cat *catalog.Catalog, minTitleTokens int) *Grounding {
	g := &Grounding{
		cat:            cat,
		minTitleTokens: max(1, minTitleTokens),
		words:          make(map[string]int32),
		trie:           make(map[uint64]int32, cat.Len()*3),
		nodes:          []phraseNode{{}},
		itemNode:       make([]int32, cat.Len()),
	}
	g.scratch.New = func() any { return &groundingScratch{} }
	attrs := make(map[string]bool)
	for i := range cat.Len() {
		it := cat.Item(i)
		if n := g.insert(it.Title); n > 0 {
			g.nodes[n].items = append(g.nodes[n].items, int32(i))
			g.itemNode[i] = n
		}
		for name, v := range it.Attributes {
			if _, numeric := catalog.AttributeNumber(v); numeric {
				attrs[name] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		g.addAttribute(name)
	}
	for k, name := range cat.Categories() {
		if n := g.insert(name); n > 0 {
			g.nodes[n].category = int32(k) + 1
		}
	}
	for k, name := range cat.Tags() {
		if n := g.insert(name); n > 0 {
			g.nodes[n].tag = int32(k) + 1
		}
	}
	return g
}

// splitWords splits s into lower-case runs of letters and digits.
func splitWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !isWordRune(r) })
}

func (g *Grounding) wordID(w string) int32 {
	id, ok := g.words[w]
	if !ok {
		id = int32(len(g.words))
		g.words[w] = id
	}
	return id
}

// insert adds a phrase to the trie and returns the node that ends it (0 for
// a phrase with no words).
func (g *Grounding) insert(phrase string) int32 {
	var n int32
	for _, w := range splitWords(phrase) {
		key := uint64(n)<<32 | uint64(g.wordID(w))
		next, ok := g.trie[key]
		if !ok {
			next = int32(len(g.nodes))
			g.nodes = append(g.nodes, phraseNode{})
			g.trie[key] = next
		}
		n = next
	}
	return n
}

var unitSuffixes = map[string]bool{"min": true, "mins": true, "minutes": true, "sec": true, "secs": true, "seconds": true,
	"h": true, "hours": true, "pages": true, "usd": true, "eur": true, "kg": true, "km": true, "count": true}

func (g *Grounding) addAttribute(name string) {
	if isYear(name) || isRating(name) {
		return
	}
	ws := splitWords(name)
	if len(ws) == 0 {
		return
	}
	full := make([]int32, len(ws))
	for i, w := range ws {
		full[i] = g.wordID(w)
	}
	g.attrForms = append(g.attrForms, attrForm{attr: name, words: full})
	if len(ws) > 1 && unitSuffixes[ws[len(ws)-1]] {
		g.attrForms = append(g.attrForms, attrForm{attr: name, words: full[:len(full)-1]})
	}
}

func isYear(attr string) bool   { return attr == "year" }
func isRating(attr string) bool { return attr == "rating" || attr == "avg_rating" }

// Judge checks every title, category, tag, year, rating and attribute value
// the explanation mentions against the data.
func (g *Grounding) Judge(ctx context.Context, c Case) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	vs := g.Check(c)
	return Verdict{
		Judge:      GroundingName,
		Scores:     map[string]float64{Faithfulness: GroundingScore(len(vs))},
		Reason:     groundingReason(vs),
		Violations: vs,
	}, nil
}

// GroundingScore maps a count of violations to a faithfulness score on the
// default rubric's anchors: none is 5 (every claim supported), one is 3 (one
// claim unsupported), two is 2 (several), three or more is 1 (mostly
// fabricated). The grounding judge never gives 4: overstatement is not
// something it can see.
func GroundingScore(violations int) float64 {
	switch {
	case violations == 0:
		return 5
	case violations >= 3:
		return 1
	}
	return float64(4 - violations)
}

func groundingReason(vs []Violation) string {
	if len(vs) == 0 {
		return "every title, category, tag and number it names is supported by the data"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s %q: %s", v.Kind, v.Phrase, v.Detail)
	}
	noun := "claims"
	if len(vs) == 1 {
		noun = "claim"
	}
	return fmt.Sprintf("%d unsupported %s: %s", len(vs), noun, strings.Join(parts, "; "))
}

// Check returns the explanation's unsupported claims in the order they
// appear.
func (g *Grounding) Check(c Case) []Violation {
	s := g.scratch.Get().(*groundingScratch)
	defer g.scratch.Put(s)
	g.tokenise(s, c.Explanation)
	defer func() { s.text = "" }()
	var found []located
	found = g.checkTitles(s, c, found)
	found = g.checkFeatures(s, c, found)
	found = g.checkNumbers(s, c, found)
	if len(found) == 0 {
		return nil
	}
	// Each pass reports in text order; merge the passes by position.
	slices.SortStableFunc(found, func(a, b located) int { return a.at - b.at })
	vs := make([]Violation, len(found))
	for i, f := range found {
		vs[i] = f.Violation
	}
	return vs
}

// located is a violation with the byte offset of its phrase.
type located struct {
	Violation
	at int
}

func (g *Grounding) tokenise(s *groundingScratch, text string) {
	s.text = text
	s.tokens = s.tokens[:0]
	start := -1
	digits := true
	for i, r := range text {
		if isWordRune(r) {
			if start < 0 {
				start, digits = i, true
			}
			digits = digits && r >= '0' && r <= '9'
			continue
		}
		if start >= 0 {
			s.tokens = append(s.tokens, g.makeToken(s, text, start, i, digits))
			start = -1
		}
	}
	if start >= 0 {
		s.tokens = append(s.tokens, g.makeToken(s, text, start, len(text), digits))
	}
	s.claimed = slices.Grow(s.claimed[:0], len(s.tokens))[:len(s.tokens)]
	clear(s.claimed)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (g *Grounding) makeToken(s *groundingScratch, text string, start, end int, digits bool) token {
	var id int32
	var ok bool
	if word := text[start:end]; isLowerASCII(word) {
		id, ok = g.words[word]
	} else {
		s.lower = appendLower(s.lower[:0], word)
		id, ok = g.words[string(s.lower)]
	}
	if !ok {
		id = -1
	}
	return token{start: start, end: end, word: id, digits: digits}
}

func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= utf8.RuneSelf || (b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return true
}

func appendLower(dst []byte, s string) []byte {
	for _, r := range s {
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}

// longest returns the node of the longest phrase starting at token i that
// accept takes, and its length in tokens.
func (g *Grounding) longest(toks []token, i int, accept func(n int32) bool) (int32, int) {
	var best int32
	bestLen := 0
	var n int32
	for j := i; j < len(toks) && toks[j].word >= 0; j++ {
		next, ok := g.trie[uint64(n)<<32|uint64(toks[j].word)]
		if !ok {
			break
		}
		n = next
		if accept(n) {
			best, bestLen = n, j-i+1
		}
	}
	return best, bestLen
}

func (g *Grounding) checkTitles(s *groundingScratch, c Case, vs []located) []located {
	text := c.Explanation
	for i := 0; i < len(s.tokens); {
		node, n := g.longest(s.tokens, i, func(n int32) bool { return len(g.nodes[n].items) > 0 })
		if n == 0 {
			i++
			continue
		}
		first, last := s.tokens[i], s.tokens[i+n-1]
		quoted := isQuoted(text, first.start, last.end)
		isFeature := g.nodes[node].category > 0 || g.nodes[node].tag > 0
		if !quoted && (n < g.minTitleTokens || isFeature) {
			i++
			continue
		}
		for k := i; k < i+n; k++ {
			s.claimed[k] = inTitle
		}
		if !g.titleAllowed(node, c) {
			vs = append(vs, located{at: first.start, Violation: Violation{Kind: "title", Phrase: text[first.start:last.end],
				Detail: "names a catalog title that is not in the persona's history, the slate or the item itself"}})
		}
		i += n
	}
	return vs
}

// isQuoted reports whether text[start:end] sits between quotation marks.
func isQuoted(text string, start, end int) bool {
	before, _ := utf8.DecodeLastRuneInString(text[:start])
	after, _ := utf8.DecodeRuneInString(text[end:])
	return isQuote(before) && isQuote(after)
}

func isQuote(r rune) bool {
	switch r {
	case '"', '\'', '`', '‘', '’', '“', '”', '«', '»', '*', '_':
		return true
	}
	return false
}

func (g *Grounding) titleAllowed(node int32, c Case) bool {
	items := g.nodes[node].items
	named := func(id string) bool {
		for _, k := range items {
			if g.cat.Item(int(k)).ID == id {
				return true
			}
		}
		return false
	}
	if c.Item != nil && named(c.Item.ID) {
		return true
	}
	if c.ItemIndex >= 0 && c.ItemIndex < len(g.itemNode) && g.itemNode[c.ItemIndex] == node {
		return true
	}
	if slices.ContainsFunc(c.Slate, named) {
		return true
	}
	for _, h := range c.History {
		if named(h.Item) {
			return true
		}
	}
	// History records from outside the catalog are matched by title.
	for _, h := range c.History {
		if _, known := g.cat.Index(h.Item); !known && h.Title != "" && g.nodeOf(h.Title) == node {
			return true
		}
	}
	return false
}

// nodeOf walks phrase down the trie; 0 means it is not a known phrase.
func (g *Grounding) nodeOf(phrase string) int32 {
	var n int32
	for _, w := range splitWords(phrase) {
		id, ok := g.words[w]
		if !ok {
			return 0
		}
		if n, ok = g.trie[uint64(n)<<32|uint64(id)]; !ok {
			return 0
		}
	}
	return n
}

func (g *Grounding) checkFeatures(s *groundingScratch, c Case, vs []located) []located {
	text := c.Explanation
	isFeature := func(n int32) bool { return g.nodes[n].category > 0 || g.nodes[n].tag > 0 }
	for i := 0; i < len(s.tokens); {
		if s.claimed[i] != unclaimed {
			i++
			continue
		}
		node, n := g.longest(s.tokens[:g.unclaimedRun(s, i)], i, isFeature)
		if n == 0 {
			i++
			continue
		}
		for k := i; k < i+n; k++ {
			s.claimed[k] = inFeature
		}
		if v, bad := g.featureViolation(g.nodes[node], c); bad {
			v.Phrase = text[s.tokens[i].start:s.tokens[i+n-1].end]
			vs = append(vs, located{at: s.tokens[i].start, Violation: v})
		}
		i += n
	}
	return vs
}

// unclaimedRun is the end of the run of unclaimed tokens starting at i, so
// a category name never reaches into a title.
func (g *Grounding) unclaimedRun(s *groundingScratch, i int) int {
	j := i
	for j < len(s.tokens) && s.claimed[j] == unclaimed {
		j++
	}
	return j
}

func (g *Grounding) featureViolation(n phraseNode, c Case) (Violation, bool) {
	if c.ItemIndex < 0 || c.ItemIndex >= g.cat.Len() {
		return Violation{}, false
	}
	if n.category > 0 && slices.Contains(g.cat.ItemCategories(c.ItemIndex), n.category-1) {
		return Violation{}, false
	}
	if n.tag > 0 && slices.Contains(g.cat.ItemTags(c.ItemIndex), n.tag-1) {
		return Violation{}, false
	}
	it := g.cat.Item(c.ItemIndex)
	if n.category > 0 {
		return Violation{Kind: "category", Detail: "the item's categories are " + listOrNone(it.Categories)}, true
	}
	return Violation{Kind: "tag", Detail: "the item's tags are " + listOrNone(it.Tags)}, true
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// number is a numeric literal in the explanation: one digit token, or two
// joined by a decimal point.
type number struct {
	first, last int // token indexes
	value       float64
	decimals    int
}

func (g *Grounding) checkNumbers(s *groundingScratch, c Case, vs []located) []located {
	if c.Item == nil || len(c.Item.Attributes) == 0 {
		return vs
	}
	text := c.Explanation
	for i := 0; i < len(s.tokens); i++ {
		if !s.tokens[i].digits || s.claimed[i] == inTitle {
			continue
		}
		num, ok := readNumber(text, s.tokens, i)
		if !ok {
			continue
		}
		i = num.last
		if v, bad := g.numberViolation(s, c, num); bad {
			at := s.tokens[num.first].start
			v.Phrase = text[at:s.tokens[num.last].end]
			vs = append(vs, located{at: at, Violation: v})
		}
	}
	return vs
}

func readNumber(text string, toks []token, i int) (number, bool) {
	t := toks[i]
	num := number{first: i, last: i}
	lit := text[t.start:t.end]
	if j := i + 1; j < len(toks) && toks[j].digits && toks[j].start == t.end+1 && text[t.end] == '.' {
		num.last = j
		num.decimals = toks[j].end - toks[j].start
		lit = text[t.start:toks[j].end]
	}
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return number{}, false
	}
	num.value = v
	return num, true
}

func (g *Grounding) numberViolation(s *groundingScratch, c Case, num number) (Violation, bool) {
	attrs := c.Item.Attributes
	if name, ok := g.introducedAttribute(s, c.Item, num.first); ok {
		want, _ := catalog.AttributeNumber(attrs[name])
		if !sameNumber(want, num) {
			return Violation{Kind: "attribute", Detail: fmt.Sprintf("the item's %s is %s", name, formatNumber(want))}, true
		}
		return Violation{}, false
	}
	if g.isRatingClaim(s, c.Explanation, num) {
		for _, name := range []string{"rating", "avg_rating"} {
			if want, ok := catalog.AttributeNumber(attrs[name]); ok {
				if !sameNumber(want, num) {
					return Violation{Kind: "number", Detail: fmt.Sprintf("the item's %s is %s", name, formatNumber(want))}, true
				}
				return Violation{}, false
			}
		}
		return Violation{}, false
	}
	if num.decimals == 0 && num.value >= 1900 && num.value <= 2099 && s.tokens[num.first].end-s.tokens[num.first].start == 4 {
		if want, ok := catalog.AttributeNumber(attrs["year"]); ok && want != num.value {
			return Violation{Kind: "number", Detail: fmt.Sprintf("the item's year is %s", formatNumber(want))}, true
		}
	}
	return Violation{}, false
}

// introducedAttribute finds the item attribute whose name comes right before
// the number, optionally followed by "of", "is" or "at": "runtime 120",
// "runtime of 120 min".
func (g *Grounding) introducedAttribute(s *groundingScratch, it *catalog.Item, first int) (string, bool) {
	end := first
	if end > 0 && isFiller(s.text[s.tokens[end-1].start:s.tokens[end-1].end]) {
		end--
	}
	for _, f := range g.attrForms {
		if end >= len(f.words) && wordsEqual(s.tokens[end-len(f.words):end], f.words) {
			if _, numeric := catalog.AttributeNumber(it.Attributes[f.attr]); numeric {
				return f.attr, true
			}
		}
	}
	return "", false
}

func isFiller(word string) bool {
	for _, f := range []string{"of", "is", "at", "about"} {
		if strings.EqualFold(word, f) {
			return true
		}
	}
	return false
}

func wordsEqual(toks []token, form []int32) bool {
	for k, w := range form {
		if toks[k].word != w {
			return false
		}
	}
	return true
}

// isRatingClaim recognises "rated 4.5", "rating of 4.5", "4.5 stars",
// "4.5/5" and "4.5 out of 5".
func (g *Grounding) isRatingClaim(s *groundingScratch, text string, num number) bool {
	toks := s.tokens
	if k := num.first - 1; k >= 0 {
		word := func(k int) string { return text[toks[k].start:toks[k].end] }
		if (strings.EqualFold(word(k), "of") || strings.EqualFold(word(k), "at")) && k > 0 {
			k--
		}
		for _, w := range []string{"rated", "rating", "rates"} {
			if strings.EqualFold(word(k), w) {
				return true
			}
		}
	}
	end := toks[num.last].end
	rest := strings.TrimLeft(text[end:], " ")
	if strings.HasPrefix(rest, "/") {
		return true
	}
	if k := num.last + 1; k < len(toks) {
		next := text[toks[k].start:toks[k].end]
		if strings.EqualFold(next, "stars") || strings.EqualFold(next, "star") {
			return true
		}
		if next == "out" && k+1 < len(toks) && strings.EqualFold(text[toks[k+1].start:toks[k+1].end], "of") {
			return true
		}
	}
	return false
}

// sameNumber reports whether want, rounded to as many decimals as the
// explanation quotes, is the quoted number: "rated 4.5" fits 4.47.
func sameNumber(want float64, num number) bool {
	scale := math.Pow(10, float64(num.decimals))
	return math.Round(want*scale) == math.Round(num.value*scale)
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
