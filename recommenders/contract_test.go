package recommenders

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/recloop/recloop/catalog"
)

// builtins lists every built-in with parameters for the shared tests.
var builtins = []struct {
	name   string
	params map[string]any
}{
	{"random", nil},
	{"popular", nil},
	{"itemknn", nil},
	{"content", nil},
	{"faulty", map[string]any{"inner": "itemknn", "error_rate": 0}},
	{"mf", nil},
	{"mmr(mf)", map[string]any{"lambda": 0.5, "inner": map[string]any{"factors": 8}}},
	{"explore(itemknn)", map[string]any{"epsilon": 0.3}},
	{"calibrated(explore(content))", map[string]any{"inner": map[string]any{"epsilon": 0.2, "pool": 3}}},
	{"clarify", nil},
	{"chatpopular", nil},
}

func TestRegistryHasEveryBuiltin(t *testing.T) {
	for _, b := range builtins {
		spec := specOf(t, b.name)
		if _, err := New(t.Context(), b.name, Env{}, spec.Defaults()); !errors.Is(err, ErrNoCatalog) {
			t.Errorf("%s without a catalog: %v", b.name, err)
		}
		if spec.Summary == "" {
			t.Errorf("%s has no summary", b.name)
		}
		for _, p := range spec.Params {
			if p.Doc == "" {
				t.Errorf("%s.%s has no doc", b.name, p.Name)
			}
			if _, errs := spec.Resolve(nil, "", map[string]any{p.Name: p.Default}); len(errs) > 0 {
				t.Errorf("%s.%s: the default does not validate: %v", b.name, p.Name, errs)
			}
		}
	}
}

func mediumCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 2000, NewItems: 200, ReleaseFrom: 1, ReleaseTo: 3, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// priorLog is a prior interaction log for itemknn: the seed histories of a
// separate population.
func priorLog(cat *catalog.Catalog) []catalog.Interaction {
	w := newWorld(cat, 200, 12, 99)
	var log []catalog.Interaction
	for u, h := range w.history {
		for ts, it := range h {
			log = append(log, catalog.Interaction{User: "prior-" + w.users[u], Item: it.Item, Timestamp: int64(ts)})
		}
	}
	return log
}

// run plays rounds of the world against r and returns every slate, round by
// round.
func run(t *testing.T, w *world, r Recommender, rounds, workers int, order []int) [][]Slate {
	t.Helper()
	var all [][]Slate
	var fb []Feedback
	for round := range rounds {
		slates, err := w.recommendAll(context.Background(), r, round, workers, order)
		if err != nil {
			t.Fatal(err)
		}
		for u, s := range slates {
			checkContract(t, w.cat, w.request(u, round), s)
		}
		all = append(all, slates)
		fb = w.feedback(round, slates, fb)
		observe(t, r, fb...)
	}
	return all
}

func TestBuiltinsAreDeterministicAtAnyConcurrency(t *testing.T) {
	const users, rounds = 300, 4
	reversed := identity(users)
	slices.Reverse(reversed)
	eachBuiltin(t, users, func(t *testing.T, w *world, fresh func() Recommender) {
		twin := newWorld(w.cat, users, 8, 1)
		serial := run(t, w, fresh(), rounds, 1, identity(users))
		parallel := run(t, twin, fresh(), rounds, 8, reversed)
		for round := range rounds {
			for u := range users {
				if !reflect.DeepEqual(serial[round][u], parallel[round][u]) {
					t.Fatalf("round %d user %d:\nserial   %v\nparallel %v", round, u, serial[round][u], parallel[round][u])
				}
			}
		}
	})
}

// eachBuiltin runs test for every built-in against a fresh world of users
// on the medium catalog; fresh builds a new instance.
func eachBuiltin(t *testing.T, users int, test func(t *testing.T, w *world, fresh func() Recommender)) {
	cat := mediumCatalog(t)
	env := Env{Catalog: cat, Interactions: priorLog(cat), Seed: 3}
	for _, b := range builtins {
		t.Run(b.name, func(t *testing.T) {
			test(t, newWorld(cat, users, 8, 1), func() Recommender { return build(t, b.name, env, b.params) })
		})
	}
}

func TestBuiltinsLearnFromObserve(t *testing.T) {
	const users = 200
	eachBuiltin(t, users, func(t *testing.T, w *world, fresh func() Recommender) {
		learner := fresh()
		run(t, w, learner, 2, 4, identity(users))
		// The same round-2 requests against a model that saw nothing.
		naive := fresh()
		changed := 0
		for u := range users {
			req := w.request(u, 2)
			if !reflect.DeepEqual(recommend(t, learner, req), recommend(t, naive, req)) {
				changed++
			}
		}
		if changed < users/10 {
			t.Fatalf("feedback changed only %d of %d slates", changed, users)
		}
	})
}

func TestBuiltinsResetRestoresConstruction(t *testing.T) {
	const users = 150
	eachBuiltin(t, users, func(t *testing.T, w *world, fresh func() Recommender) {
		r := fresh()
		initial := make([]Request, users)
		for u := range users {
			initial[u] = w.request(u, 0)
			initial[u].History = slices.Clone(initial[u].History)
		}
		first := run(t, w, r, 3, 4, identity(users))[0]
		if err := r.(Resetter).Reset(context.Background()); err != nil {
			t.Fatal(err)
		}
		for u, req := range initial {
			if got := recommend(t, r, req); !reflect.DeepEqual(got, first[u]) {
				t.Fatalf("user %d after Reset:\n got %v\nwant %v", u, got, first[u])
			}
		}
	})
}

func TestRecommendHonoursCancellation(t *testing.T) {
	cat := tinyCatalog(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, b := range builtins {
		r := build(t, b.name, Env{Catalog: cat}, b.params)
		if _, err := r.Recommend(ctx, Request{User: "u", K: 2}); err == nil {
			t.Errorf("%s answered a cancelled request", b.name)
		}
	}
}
