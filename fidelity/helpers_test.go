package fidelity

import (
	"context"
	"fmt"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/personas"
)

// world is a planted population and the log it produced.
type world struct {
	cat   *catalog.Catalog
	truth []personas.Persona
	log   []catalog.Interaction
}

// plantedWorld builds n personas with known traits (uniform in [0.05,
// 0.95], drawn from the seed; mainstreamness included) and tastes (two categories and two tags of
// the catalog), and lets them play the utility model with params against
// random slates: slateSize items for rounds rounds, patience high enough
// that nobody leaves.
func plantedWorld(tb testing.TB, n, items, rounds int, params config.Params) *world {
	tb.Helper()
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: items, Categories: 8, Tags: 40, Seed: 3})
	if err != nil {
		tb.Fatal(err)
	}
	r := rng.New(rng.Key(11, rng.PurposeJitter))
	cats, tags := cat.Categories(), cat.Tags()
	ps := make([]personas.Persona, n)
	for i := range ps {
		trait := func() float64 { return 0.05 + 0.9*r.Float64() }
		ps[i] = personas.Persona{
			ID: fmt.Sprintf("p%04d", i),
			Interests: catalog.Taste{
				Categories: map[string]float64{cats[r.IntN(len(cats))]: 1, cats[r.IntN(len(cats))]: 0.5},
				Tags:       map[string]float64{tags[r.IntN(len(tags))]: 0.6, tags[r.IntN(len(tags))]: 0.4},
			},
			Traits: personas.Traits{Activity: trait(), Conformity: trait(), Curiosity: trait(), Pickiness: trait(), Mainstreamness: trait()},
		}
	}
	full := config.Params{"patience": 1e6}
	for k, v := range params {
		full[k] = v
	}
	b := utility(tb, cat, full)
	states, err := personas.Build(ps, cat, 5)
	if err != nil {
		tb.Fatal(err)
	}
	log, err := SimulateLog(context.Background(), cat, states, b, LogOptions{Seed: 5, Rounds: rounds, SlateSize: 10})
	if err != nil {
		tb.Fatal(err)
	}
	return &world{cat: cat, truth: ps, log: log}
}

func utility(tb testing.TB, cat *catalog.Catalog, params config.Params) personas.Behaviour {
	tb.Helper()
	full := utilityDefaults()
	for k, v := range params {
		full[k] = v
	}
	b, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: cat}, full)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
