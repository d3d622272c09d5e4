package personas

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
)

// DefaultJitter is the population jitter when the YAML leaves it out.
const DefaultJitter = 0.15

// Population is a cohort of personas expanded from one archetype.
type Population struct {
	// Archetype is the id of a library persona or of a persona loaded from a file.
	Archetype string `yaml:"archetype"`
	Count     int    `yaml:"count"`
	// Jitter (default 0.15) varies members: each trait moves by a uniform
	// amount in ±jitter (clamped to [0,1]) and each interest weight is
	// multiplied by a uniform factor in 1 ± jitter.
	Jitter *float64 `yaml:"jitter"`
	// HistorySize overrides the archetype's; 0 makes a cold cohort.
	HistorySize *int `yaml:"history_size"`
	// JoinRound, when above 0, replaces the archetype's join round.
	JoinRound int `yaml:"join_round"`
	// Segments are added to the archetype's.
	Segments []string `yaml:"segments"`
	// IDPrefix defaults to the archetype id; members are "<prefix>-0001"...
	IDPrefix string `yaml:"id_prefix"`
}

// Expand turns populations into personas. Members are numbered from 1 within
// each population and jittered deterministically from (seed, member id), so
// a member is the same persona whatever other populations exist. Problems
// come back as config.Errors whose fields ("populations[1].count") are
// relative to the list the caller decoded, so the caller can locate them.
func Expand(pops []Population, archetypes []Persona, seed uint64) ([]Persona, error) {
	byID := make(map[string]*Persona, len(archetypes))
	for i := range archetypes {
		if _, dup := byID[archetypes[i].ID]; !dup {
			byID[archetypes[i].ID] = &archetypes[i]
		}
	}
	var errs config.Errors
	report := func(i int, field, format string, args ...any) {
		errs = append(errs, &config.Error{Field: config.Join(config.Index("populations", i), field), Msg: fmt.Sprintf(format, args...)})
	}
	total, over := 0, false
	for i, pop := range pops {
		if _, ok := byID[pop.Archetype]; !ok {
			report(i, "archetype", "unknown archetype %q%s", pop.Archetype, suggest(pop.Archetype, slices.Sorted(maps.Keys(byID))))
		}
		switch {
		case pop.Count < 1:
			report(i, "count", "must be at least 1, got %d", pop.Count)
		case pop.Count > config.MaxPersonas-total && !over:
			// Reported once, at the population that crosses the limit.
			over = true
			report(i, "count", "takes the scenario above its limit of %d personas", config.MaxPersonas)
		}
		if pop.Jitter != nil && !(*pop.Jitter >= 0 && *pop.Jitter <= 1) {
			report(i, "jitter", "must be between 0 and 1, got %g", *pop.Jitter)
		}
		if pop.HistorySize != nil && *pop.HistorySize < 0 {
			report(i, "history_size", "must be at least 0, got %d", *pop.HistorySize)
		}
		if pop.JoinRound < 0 {
			report(i, "join_round", "must be at least 0, got %d", pop.JoinRound)
		}
		if pop.IDPrefix != "" && !validID(pop.IDPrefix) {
			report(i, "id_prefix", "id_prefix %q may only contain lower-case letters, digits, '.', '_' and '-'", pop.IDPrefix)
		}
		total += min(max(pop.Count, 0), config.MaxPersonas-total)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	out := make([]Persona, 0, total)
	owner := make(map[string]int, total)
	for i, pop := range pops {
		arch := byID[pop.Archetype]
		prefix := pop.IDPrefix
		if prefix == "" {
			prefix = arch.ID
		}
		for n := 1; n <= pop.Count; n++ {
			m := member(arch, pop, fmt.Sprintf("%s-%04d", prefix, n), seed)
			identity(&m, arch.ID, prefix, n, seed)
			if prev, dup := owner[m.ID]; dup {
				report(i, "id_prefix", "member id %q is also made by populations[%d]; give one of them a distinct id_prefix", m.ID, prev)
				break
			}
			owner[m.ID] = i
			out = append(out, m)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func member(arch *Persona, pop Population, id string, seed uint64) Persona {
	m := arch.clone()
	m.ID = id
	m.Archetype = arch.ID
	for _, s := range pop.Segments {
		if !slices.Contains(m.Segments, s) {
			m.Segments = append(m.Segments, s)
		}
	}
	if pop.JoinRound > 0 {
		m.JoinRound = pop.JoinRound
	}
	if pop.HistorySize != nil {
		m.HistorySize = *pop.HistorySize
		m.History = nil
	}
	jitter := DefaultJitter
	if pop.Jitter != nil {
		jitter = *pop.Jitter
	}
	if jitter > 0 {
		r := rng.New(rng.Key(seed, rng.PurposeJitter, rng.StringKey(id)))
		traits := m.Traits.ptrs()
		for _, t := range traits[:4] {
			*t = min(1, max(0, *t+jitter*(2*r.Float64()-1)))
		}
		// Mainstreamness came after the other traits: its own stream keeps
		// every earlier draw, hence every existing population, as it was.
		ms := rng.Uniform(rng.Key(seed, rng.PurposeJitter, rng.StringKey(id), rng.StringKey("mainstreamness")))
		m.Traits.Mainstreamness = min(1, max(0, m.Traits.Mainstreamness+jitter*(2*ms-1)))
		for _, weights := range []map[string]float64{
			m.Interests.Categories, m.Interests.Tags,
			m.LatentInterests.Categories, m.LatentInterests.Tags,
		} {
			jitterWeights(r, weights, jitter)
		}
	}
	return m
}

// jitterWeights scales each weight by a factor in 1 ± jitter, visiting names
// in sorted order so the draws are reproducible.
func jitterWeights(r *rand.Rand, weights map[string]float64, jitter float64) {
	for _, name := range slices.Sorted(maps.Keys(weights)) {
		weights[name] *= 1 + jitter*(2*r.Float64()-1)
	}
}
