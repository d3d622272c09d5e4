// Package personas holds simulated users: the persona YAML schema and its
// validation, populations expanded from archetypes, the built-in archetype
// library, per-world persona state, and the behaviour models that decide what
// a persona does with a slate.
package personas

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
)

// ErrInvalid is matched by persona problems found outside YAML parsing
// (Build, Expand). Located YAML problems are config.Errors.
var ErrInvalid = errors.New("personas: invalid")

// DefaultTrait is the value of a trait the YAML leaves out.
const DefaultTrait = 0.5

const maxIDLen = 128

// Traits are the persona's behavioural dispositions, each in [0,1].
type Traits struct {
	// Activity scales how much of a slate the persona examines and how many
	// bad slates it tolerates before leaving.
	Activity float64 `yaml:"activity" json:"activity"`
	// Conformity is how closely the persona's ratings follow the crowd's;
	// the utility model gives conformists less rating noise.
	Conformity float64 `yaml:"conformity" json:"conformity"`
	// Curiosity weighs how much novelty (distance from its history) attracts it.
	Curiosity float64 `yaml:"curiosity" json:"curiosity"`
	// Pickiness raises the utility an item needs before the persona clicks.
	Pickiness float64 `yaml:"pickiness" json:"pickiness"`
	// Mainstreamness is how much popularity attracts the persona. A persona
	// that leaves it out takes its conformity's value: before recloop
	// separated the two, conformity played this part.
	Mainstreamness float64 `yaml:"mainstreamness" json:"mainstreamness"`
}

// Evidence names the items that explain a persona: titles it loved and
// titles it disliked. LLM personas see them in their prompt.
type Evidence struct {
	Liked    []string `yaml:"liked"`
	Disliked []string `yaml:"disliked"`
}

// IsZero reports whether the evidence names no item.
func (e Evidence) IsZero() bool { return len(e.Liked) == 0 && len(e.Disliked) == 0 }

// TraitNames lists the traits in the order they appear everywhere.
var TraitNames = []string{"activity", "conformity", "curiosity", "pickiness", "mainstreamness"}

// ptrs returns the traits in TraitNames order, so loops can treat them alike.
func (t *Traits) ptrs() [5]*float64 {
	return [5]*float64{&t.Activity, &t.Conformity, &t.Curiosity, &t.Pickiness, &t.Mainstreamness}
}

// Map returns the traits keyed by name.
func (t Traits) Map() map[string]float64 {
	m := make(map[string]float64, len(TraitNames))
	for k, p := range t.ptrs() {
		m[TraitNames[k]] = *p
	}
	return m
}

// Persona is one simulated user as written in YAML (or expanded from an
// archetype by a Population).
type Persona struct {
	ID              string        `yaml:"id"`
	Name            string        `yaml:"name"`
	Description     string        `yaml:"description"`
	Interests       catalog.Taste `yaml:"interests"`
	LatentInterests catalog.Taste `yaml:"latent_interests"`
	Dislikes        catalog.Taste `yaml:"dislikes"` // lower utility and ratings (docs/user-model.md)
	Traits          Traits        `yaml:"traits"`
	History         []string      `yaml:"history"`
	HistorySize     int           `yaml:"history_size"`
	Segments        []string      `yaml:"segments"`
	JoinRound       int           `yaml:"join_round"`
	// RatingBias is added to every rating the persona gives (stars).
	RatingBias float64  `yaml:"rating_bias"`
	Evidence   Evidence `yaml:"evidence"`
	// Need is what the persona wants from a conversation (scenarios with a
	// conversation: block); nil derives one from its tastes (DeriveNeed).
	Need *Need `yaml:"need"`
	// Archetype is the library or file persona a population member was
	// expanded from; empty for personas written out by hand.
	Archetype string `yaml:"-"`
	// Replicate is k for the k-th extra play of a persona (see Replicate);
	// 0 for the persona itself. ReplicateOf is then the original's id.
	Replicate   int    `yaml:"-"`
	ReplicateOf string `yaml:"-"`
	// Cell is the independent world the persona lives in (cells: n).
	Cell int `yaml:"-"`

	src source
	// builtin marks the embedded library's personas and their population
	// members; see Adapt.
	builtin bool
}

// source is where a persona was written, so that checks made long after
// parsing (against a catalog, a scenario) can still name file:line:field.
type source struct {
	doc  *config.Doc
	path string
}

// File is the file the persona came from ("" when built in code).
func (p *Persona) File() string {
	if p.src.doc == nil {
		return ""
	}
	return p.src.doc.File
}

// Errorf returns a problem located at field (a dotted path relative to the
// persona, such as "traits.activity" or "history[2]") in the persona's own
// file. A persona built in code is named by id instead.
func (p *Persona) Errorf(field, format string, args ...any) *config.Error {
	e := &config.Error{Msg: fmt.Sprintf(format, args...)}
	if p.src.doc == nil {
		e.Field = config.Join("persona "+p.ID, field)
		return e
	}
	e.File = p.src.doc.File
	e.Field = config.Join(p.src.path, field)
	e.Line, e.Column = p.src.doc.Line(e.Field)
	return e
}

// where formats the persona's location for messages that point back at it.
func (p *Persona) where() string {
	if p.src.doc == nil {
		return "persona " + p.ID
	}
	line, _ := p.src.doc.Line(p.src.path)
	return fmt.Sprintf("%s:%d", p.src.doc.File, line)
}

// clone deep-copies everything a caller might mutate.
func (p Persona) clone() Persona {
	p.Interests = cloneTaste(p.Interests)
	p.LatentInterests = cloneTaste(p.LatentInterests)
	p.Dislikes = cloneTaste(p.Dislikes)
	p.History = slices.Clone(p.History)
	p.Segments = slices.Clone(p.Segments)
	p.Evidence = Evidence{Liked: slices.Clone(p.Evidence.Liked), Disliked: slices.Clone(p.Evidence.Disliked)}
	return p
}

func cloneTaste(t catalog.Taste) catalog.Taste {
	return catalog.Taste{Categories: maps.Clone(t.Categories), Tags: maps.Clone(t.Tags)}
}

// rawFile is a persona file.
type rawFile struct {
	Personas []Spec `yaml:"personas"`
}

// Spec is a persona as written in YAML, with pointers where "absent" and
// "zero" mean different things. Scenarios embed it to allow inline personas.
type Spec struct {
	ID              string        `yaml:"id"`
	Name            string        `yaml:"name"`
	Description     string        `yaml:"description"`
	Interests       catalog.Taste `yaml:"interests"`
	LatentInterests catalog.Taste `yaml:"latent_interests"`
	Dislikes        catalog.Taste `yaml:"dislikes"`
	Traits          TraitSpec     `yaml:"traits"`
	History         []string      `yaml:"history"`
	HistorySize     *int          `yaml:"history_size"`
	Segments        []string      `yaml:"segments"`
	JoinRound       int           `yaml:"join_round"`
	RatingBias      float64       `yaml:"rating_bias"`
	Evidence        Evidence      `yaml:"evidence"`
	Need            *Need         `yaml:"need"`
}

// TraitSpec is the traits block as written; a missing trait is nil.
type TraitSpec struct {
	Activity       *float64 `yaml:"activity"`
	Conformity     *float64 `yaml:"conformity"`
	Curiosity      *float64 `yaml:"curiosity"`
	Pickiness      *float64 `yaml:"pickiness"`
	Mainstreamness *float64 `yaml:"mainstreamness"`
}

func (t TraitSpec) ptrs() [5]*float64 {
	return [5]*float64{t.Activity, t.Conformity, t.Curiosity, t.Pickiness, t.Mainstreamness}
}

// Parse reads a persona file strictly and reports every problem at once, each
// naming the file, line and field. Catalog-dependent checks are Validate's.
func Parse(file string, data []byte) ([]Persona, config.Errors) {
	var raw rawFile
	doc := config.Parse(file, data, &raw)
	if doc.Root == nil {
		return nil, doc.Errors()
	}
	if len(raw.Personas) == 0 {
		doc.Add("personas", "the file defines no personas (expected a top-level personas: list)")
	}
	return fromSpecs(doc, "personas", raw.Personas), sorted(doc.Errors())
}

// FromSpecs checks personas written inline in another document (a
// scenario) at the dotted path base, and returns them with the problems
// found, located in that document. doc itself is not modified.
func FromSpecs(doc *config.Doc, base string, specs []Spec) ([]Persona, config.Errors) {
	own := &config.Doc{File: doc.File, Root: doc.Root}
	return fromSpecs(own, base, specs), sorted(own.Errors())
}

func sorted(errs config.Errors) config.Errors {
	errs.Sort()
	return errs
}

func fromSpecs(doc *config.Doc, base string, specs []Spec) []Persona {
	out := make([]Persona, 0, len(specs))
	firstAt := make(map[string]int, len(specs))
	for i, r := range specs {
		path := config.Index(base, i)
		p := Persona{
			ID: r.ID, Name: r.Name, Description: r.Description,
			Interests: r.Interests, LatentInterests: r.LatentInterests, Dislikes: r.Dislikes,
			History: r.History, Segments: r.Segments, JoinRound: r.JoinRound,
			RatingBias: r.RatingBias, Evidence: r.Evidence, Need: r.Need,
			src: source{doc: doc, path: path},
		}
		if r.HistorySize != nil {
			p.HistorySize = *r.HistorySize
		}
		dst := p.Traits.ptrs()
		for k, v := range r.Traits.ptrs() {
			*dst[k] = DefaultTrait
			if v != nil {
				*dst[k] = *v
			}
		}
		if r.Traits.Mainstreamness == nil {
			p.Traits.Mainstreamness = p.Traits.Conformity
		}
		checkID(doc, path, r.ID)
		if first, dup := firstAt[r.ID]; dup && r.ID != "" {
			line, _ := doc.Line(config.Index(base, first))
			doc.Add(config.Join(path, "id"), "duplicate persona id %q (first defined at line %d)", r.ID, line)
		} else {
			firstAt[r.ID] = i
		}
		checkPersona(doc, path, &p, r.HistorySize != nil)
		out = append(out, p)
	}
	return out
}

func checkID(doc *config.Doc, path, id string) {
	field := config.Join(path, "id")
	switch {
	case id == "":
		doc.Add(path, "id is required")
	case len(id) > maxIDLen:
		doc.Add(field, "id is longer than %d characters", maxIDLen)
	case !validID(id):
		doc.Add(field, "id %q may only contain lower-case letters, digits, '.', '_' and '-'", id)
	}
}

func validID(id string) bool {
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func checkPersona(doc *config.Doc, path string, p *Persona, historySizeSet bool) {
	for k, v := range p.Traits.ptrs() {
		if !(*v >= 0 && *v <= 1) {
			doc.Add(config.Join(path, "traits."+TraitNames[k]), "must be between 0 and 1, got %g", *v)
		}
	}
	positive := checkTaste(doc, config.Join(path, "interests"), p.Interests)
	checkTaste(doc, config.Join(path, "latent_interests"), p.LatentInterests)
	checkTaste(doc, config.Join(path, "dislikes"), p.Dislikes)
	if !positive {
		doc.Add(config.Join(path, "interests"), "needs at least one category or tag with a weight above 0")
	}
	if historySizeSet && len(p.History) > 0 {
		doc.Add(config.Join(path, "history_size"), "set either history (explicit items) or history_size (drawn from the catalog), not both")
	}
	if p.HistorySize < 0 {
		doc.Add(config.Join(path, "history_size"), "must be at least 0, got %d", p.HistorySize)
	}
	if p.JoinRound < 0 {
		doc.Add(config.Join(path, "join_round"), "must be at least 0, got %d", p.JoinRound)
	}
	if !(p.RatingBias >= -maxRatingBias && p.RatingBias <= maxRatingBias) {
		doc.Add(config.Join(path, "rating_bias"), "must be a number of stars between %d and %d, got %g", -maxRatingBias, maxRatingBias, p.RatingBias)
	}
	checkEvidence(doc, config.Join(path, "evidence"), p.Evidence)
	seen := make(map[string]int, len(p.History))
	for j, id := range p.History {
		field := config.Index(config.Join(path, "history"), j)
		if id == "" {
			doc.Add(field, "item id is empty")
			continue
		}
		if first, dup := seen[id]; dup {
			doc.Add(field, "item %q is already in the history at history[%d]", id, first)
			continue
		}
		seen[id] = j
	}
	for j, s := range p.Segments {
		if s == "" {
			doc.Add(config.Index(config.Join(path, "segments"), j), "segment name is empty")
		}
	}
}

// maxRatingBias bounds rating_bias: a bias of 4 stars already turns every
// rating into the same end of the scale.
const maxRatingBias = 4

// checkEvidence reports empty ids, repeats within a list and an item both
// liked and disliked; ids unknown to the catalog are Validate's.
func checkEvidence(doc *config.Doc, path string, e Evidence) {
	liked := make(map[string]bool, len(e.Liked))
	for _, list := range []struct {
		name string
		ids  []string
	}{{"liked", e.Liked}, {"disliked", e.Disliked}} {
		seen := make(map[string]int, len(list.ids))
		for j, id := range list.ids {
			field := config.Index(config.Join(path, list.name), j)
			switch first, dup := seen[id]; {
			case id == "":
				doc.Add(field, "item id is empty")
			case dup:
				doc.Add(field, "item %q is already in %s[%d]", id, list.name, first)
			case list.name == "disliked" && liked[id]:
				doc.Add(field, "item %q is also in evidence.liked", id)
			default:
				seen[id] = j
				if list.name == "liked" {
					liked[id] = true
				}
			}
		}
	}
}

// checkTaste reports negative or non-finite weights and says whether any
// weight is positive.
func checkTaste(doc *config.Doc, path string, t catalog.Taste) (positive bool) {
	for _, part := range []struct {
		name    string
		weights map[string]float64
	}{{"categories", t.Categories}, {"tags", t.Tags}} {
		for _, name := range slices.Sorted(maps.Keys(part.weights)) {
			w := part.weights[name]
			switch {
			case math.IsNaN(w) || math.IsInf(w, 0) || w < 0:
				doc.Add(path+"."+part.name+"."+name, "weight must be a finite number ≥ 0, got %g", w)
			case w > 0:
				positive = true
			}
		}
	}
	return positive
}

// LoadFile reads and parses one persona file.
func LoadFile(path string) ([]Persona, config.Errors) {
	data, err := config.ReadFile(path, config.MaxYAMLBytes)
	if err != nil {
		return nil, config.Errors{{File: path, Msg: err.Error()}}
	}
	return Parse(path, data)
}
