package personas

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
)

// Reveal tags: when a persona tells a conversational recommender about a
// constraint.
const (
	RevealVolunteer = "volunteer" // said up front
	RevealOnAsk     = "on_ask"    // said only when the recommender asks
	RevealHidden    = "hidden"    // never said, but used to judge acceptance
)

// RevealTags lists the reveal tags a constraint may carry.
var RevealTags = []string{RevealVolunteer, RevealOnAsk, RevealHidden}

// Communication styles of a persona in a conversation.
const (
	StyleDirect = "direct" // says what it wants plainly
	StyleTerse  = "terse"  // says as little as it can: one constraint at a time
	StyleChatty = "chatty" // volunteers its tastes along with its constraints
	StyleVague  = "vague"  // talks around what it wants
)

// Styles lists the communication styles.
var Styles = []string{StyleDirect, StyleTerse, StyleChatty, StyleVague}

// Defaults of a need the YAML leaves out.
const (
	DefaultPatience        = 6
	DefaultCooperativeness = 0.7
	// MaxPatience bounds patience: turns beyond it are not a conversation.
	MaxPatience = 50
	// relevantRating is the expected rating from which an item that meets
	// the constraints suits the persona's taste: an item the persona would
	// more likely than not rate 4 or more (METRICS.md's acceptance).
	relevantRating = 3.5
)

// Need is what a persona wants from a conversation: hard constraints a
// recommendation must meet, each with a reveal tag, and how the persona
// talks. Its soft preferences are its interests and latent interests.
// Needs are target-free: any catalog item that meets the constraints and
// suits the persona's taste is a success.
type Need struct {
	Constraints []Constraint `yaml:"constraints" json:"constraints"`
	// Patience is the most recommender turns the persona sits through.
	Patience int    `yaml:"patience" json:"patience"`
	Style    string `yaml:"style" json:"style"`
	// Cooperativeness (0–1) is how readily the persona answers questions
	// and how long it puts up with proposals it rejects.
	Cooperativeness *float64 `yaml:"cooperativeness" json:"cooperativeness"`
}

// Constraint is a predicate over catalog items: exactly one of Category,
// Tag and Attribute, an attribute with Equals or with Min and/or Max, and
// Exclude to turn the predicate round ("no horror").
type Constraint struct {
	Category  string   `yaml:"category" json:"category,omitempty"`
	Tag       string   `yaml:"tag" json:"tag,omitempty"`
	Attribute string   `yaml:"attribute" json:"attribute,omitempty"`
	Equals    string   `yaml:"equals" json:"equals,omitempty"`
	Min       *float64 `yaml:"min" json:"min,omitempty"`
	Max       *float64 `yaml:"max" json:"max,omitempty"`
	Exclude   bool     `yaml:"exclude" json:"exclude,omitempty"`
	Reveal    string   `yaml:"reveal" json:"reveal"`
}

// Holds reports whether item it meets the constraint.
func (c *Constraint) Holds(it *catalog.Item) bool {
	return c.matches(it) != c.Exclude
}

func (c *Constraint) matches(it *catalog.Item) bool {
	switch {
	case c.Category != "":
		return slices.Contains(it.Categories, c.Category)
	case c.Tag != "":
		return slices.Contains(it.Tags, c.Tag)
	}
	v, ok := it.Attributes[c.Attribute]
	if !ok {
		return false
	}
	if c.Equals != "" {
		return strings.EqualFold(fmt.Sprint(v), c.Equals)
	}
	x, ok := catalog.AttributeNumber(v)
	if !ok {
		return false
	}
	return (c.Min == nil || x >= *c.Min) && (c.Max == nil || x <= *c.Max)
}

// Topic is what a question about the constraint is about: its category
// or tag ("genre"), or its attribute's name.
func (c *Constraint) Topic() string {
	switch {
	case c.Category != "":
		return "genre"
	case c.Tag != "":
		return "mood"
	}
	return c.Attribute
}

// Describe says the constraint in words, as a user would: "comedy",
// "not horror", "year from 1990 to 2005", "runtime_min at most 120".
func (c *Constraint) Describe() string {
	var s string
	switch {
	case c.Category != "":
		s = c.Category
	case c.Tag != "":
		s = c.Tag
	case c.Equals != "":
		s = c.Attribute + " " + c.Equals
	case c.Min != nil && c.Max != nil:
		s = fmt.Sprintf("%s from %s to %s", c.Attribute, num(*c.Min), num(*c.Max))
	case c.Min != nil:
		s = fmt.Sprintf("%s at least %s", c.Attribute, num(*c.Min))
	default:
		s = fmt.Sprintf("%s at most %s", c.Attribute, num(*c.Max))
	}
	if c.Exclude {
		return "not " + s
	}
	return s
}

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// WithDefaults fills what the YAML left out.
func (n Need) WithDefaults() Need {
	if n.Patience == 0 {
		n.Patience = DefaultPatience
	}
	if n.Style == "" {
		n.Style = StyleDirect
	}
	if n.Cooperativeness == nil {
		c := DefaultCooperativeness
		n.Cooperativeness = &c
	}
	n.Constraints = slices.Clone(n.Constraints)
	for i := range n.Constraints {
		if n.Constraints[i].Reveal == "" {
			n.Constraints[i].Reveal = RevealVolunteer
		}
	}
	return n
}

// Describe lists the constraints in words, with their reveal tags.
func (n *Need) Describe() string {
	parts := make([]string, len(n.Constraints))
	for i := range n.Constraints {
		parts[i] = n.Constraints[i].Describe() + " (" + n.Constraints[i].Reveal + ")"
	}
	return strings.Join(parts, "; ")
}

// Satisfies reports whether item it meets every constraint.
func (n *Need) Satisfies(it *catalog.Item) bool {
	for i := range n.Constraints {
		if !n.Constraints[i].Holds(it) {
			return false
		}
	}
	return true
}

// validateNeed checks a persona's need against the catalog.
func validateNeed(p *Persona, cat *catalog.Catalog) config.Errors {
	n := p.Need
	if n == nil {
		return nil
	}
	var errs config.Errors
	if len(n.Constraints) == 0 {
		errs = append(errs, p.Errorf("need.constraints", "an information need names at least one constraint (a category, a tag or an attribute)"))
	}
	if n.Patience < 0 || n.Patience > MaxPatience {
		errs = append(errs, p.Errorf("need.patience", "must be between 1 and %d turns, got %d", MaxPatience, n.Patience))
	}
	if n.Style != "" && !slices.Contains(Styles, n.Style) {
		errs = append(errs, p.Errorf("need.style", "unknown communication style %q (known: %s)", n.Style, strings.Join(Styles, ", ")))
	}
	if c := n.Cooperativeness; c != nil && !(*c >= 0 && *c <= 1) {
		errs = append(errs, p.Errorf("need.cooperativeness", "must be between 0 and 1, got %g", *c))
	}
	attrs := attributeNames(cat)
	for i := range n.Constraints {
		errs = append(errs, validateConstraint(p, config.Index("need.constraints", i), &n.Constraints[i], cat, attrs)...)
	}
	if len(errs) == 0 {
		full := n.WithDefaults()
		if !slices.ContainsFunc(cat.Items(), func(it catalog.Item) bool { return full.Satisfies(&it) }) {
			errs = append(errs, p.Errorf("need.constraints", "no catalog item meets every constraint: no conversation could succeed"))
		}
	}
	return errs
}

func validateConstraint(p *Persona, at string, c *Constraint, cat *catalog.Catalog, attrs map[string]bool) config.Errors {
	var errs config.Errors
	kinds := 0
	for _, set := range []bool{c.Category != "", c.Tag != "", c.Attribute != ""} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		errs = append(errs, p.Errorf(at, "a constraint names exactly one of category, tag and attribute"))
	}
	if c.Reveal != "" && !slices.Contains(RevealTags, c.Reveal) {
		errs = append(errs, p.Errorf(config.Join(at, "reveal"), "unknown reveal tag %q (known: %s)", c.Reveal, strings.Join(RevealTags, ", ")))
	}
	switch {
	case c.Category != "":
		if _, ok := cat.CategoryIndex(c.Category); !ok {
			errs = append(errs, p.Errorf(config.Join(at, "category"), "unknown category %q: the catalog has no such category%s", c.Category, suggest(c.Category, cat.Categories())))
		}
	case c.Tag != "":
		if _, ok := cat.TagIndex(c.Tag); !ok {
			errs = append(errs, p.Errorf(config.Join(at, "tag"), "unknown tag %q: the catalog has no such tag%s", c.Tag, suggest(c.Tag, cat.Tags())))
		}
	case c.Attribute != "":
		if !attrs[c.Attribute] {
			errs = append(errs, p.Errorf(config.Join(at, "attribute"), "unknown attribute %q: no catalog item has it%s", c.Attribute, suggest(c.Attribute, slices.Sorted(maps.Keys(attrs)))))
		}
		switch {
		case c.Equals == "" && c.Min == nil && c.Max == nil:
			errs = append(errs, p.Errorf(at, "an attribute constraint needs equals, or min and/or max"))
		case c.Equals != "" && (c.Min != nil || c.Max != nil):
			errs = append(errs, p.Errorf(at, "an attribute constraint takes equals or a range (min, max), not both"))
		case c.Min != nil && c.Max != nil && *c.Min > *c.Max:
			errs = append(errs, p.Errorf(config.Join(at, "min"), "min %g is above max %g", *c.Min, *c.Max))
		}
	}
	if c.Attribute == "" && (c.Equals != "" || c.Min != nil || c.Max != nil) {
		errs = append(errs, p.Errorf(at, "equals, min and max apply to an attribute only"))
	}
	return errs
}

// attributeNames are the attribute names any catalog item has.
func attributeNames(cat *catalog.Catalog) map[string]bool {
	names := map[string]bool{}
	for i := range cat.Len() {
		for k := range cat.Item(i).Attributes {
			names[k] = true
		}
	}
	return names
}

// DeriveNeed gives a persona that declares no need one drawn from its own
// tastes, the same in every run with the same seed: its favourite stated
// category, volunteered; a window of years around one its favourite
// category covers, said when asked (when the catalog has years); and not
// its most disliked category, hidden (when it has dislikes). A candidate
// constraint that would leave fewer than minMatches items is dropped.
func DeriveNeed(p *Persona, cat *catalog.Catalog, seed uint64) *Need {
	const minMatches = 5
	key := rng.Key(seed, rng.StringKey(p.ID), rng.PurposeNeed)
	n := &Need{}
	fits := func(c Constraint) bool {
		trial := Need{Constraints: append(slices.Clone(n.Constraints), c)}
		count := 0
		for i := range cat.Len() {
			if trial.Satisfies(cat.Item(i)) {
				if count++; count >= minMatches {
					return true
				}
			}
		}
		return false
	}
	if top := topWeight(p.Interests.Categories); top != "" {
		if c := (Constraint{Category: top, Reveal: RevealVolunteer}); fits(c) {
			n.Constraints = append(n.Constraints, c)
		}
	}
	if attributeNames(cat)["year"] {
		lo, hi := yearRange(cat)
		if hi > lo {
			r := rng.New(key)
			from := float64(lo + r.IntN(hi-lo+1))
			from = math.Floor(from/10) * 10
			to := from + 19
			if c := (Constraint{Attribute: "year", Min: &from, Max: &to, Reveal: RevealOnAsk}); fits(c) {
				n.Constraints = append(n.Constraints, c)
			}
		}
	}
	if worst := topWeight(p.Dislikes.Categories); worst != "" {
		if c := (Constraint{Category: worst, Exclude: true, Reveal: RevealHidden}); fits(c) {
			n.Constraints = append(n.Constraints, c)
		}
	}
	if len(n.Constraints) == 0 {
		// A persona without stated categories still wants something: the
		// catalog's first category.
		if cats := cat.Categories(); len(cats) > 0 {
			n.Constraints = append(n.Constraints, Constraint{Category: cats[0], Reveal: RevealVolunteer})
		}
	}
	coop := 0.4 + 0.6*p.Traits.Activity
	n.Cooperativeness = &coop
	n.Patience = 3 + int(math.Round(6*(1-p.Traits.Pickiness)))
	n.Style = Styles[rng.New(key^1).IntN(len(Styles))]
	full := n.WithDefaults()
	return &full
}

// topWeight is the key with the largest weight (ties broken by name); ""
// when none is positive.
func topWeight(m map[string]float64) string {
	best, bestW := "", 0.0
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if w := m[k]; w > bestW {
			best, bestW = k, w
		}
	}
	return best
}

func yearRange(cat *catalog.Catalog) (lo, hi int) {
	lo, hi = math.MaxInt, math.MinInt
	for i := range cat.Len() {
		if y, ok := catalog.AttributeNumber(cat.Item(i).Attributes["year"]); ok {
			lo, hi = min(lo, int(y)), max(hi, int(y))
		}
	}
	return lo, hi
}

// DeriveNeeds gives every state without a need one from DeriveNeed. A
// replicate gets the need of the persona it replays.
func DeriveNeeds(states []*State, cat *catalog.Catalog, seed uint64) {
	byID := map[string]*Need{}
	for _, st := range states {
		if st.Need != nil {
			continue
		}
		id := st.Persona.ID
		if st.Persona.ReplicateOf != "" {
			id = st.Persona.ReplicateOf
		}
		n, ok := byID[id]
		if !ok {
			origin := *st.Persona
			origin.ID = id
			n = DeriveNeed(&origin, cat, seed)
			byID[id] = n
		}
		st.Need = n
	}
}
