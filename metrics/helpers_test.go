package metrics

import (
	"io"
	"math"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/trajectory"
)

// tinyCatalog is the 4-item catalog every hand computation uses.
//
//	item  categories  tags  popularity  p(i)  −log2 p(i)
//	a     x           t1    4           0.4   1.3219281
//	b     x           t2    3           0.3   1.7369656
//	c     y           t1    2           0.2   2.3219281  (marked new)
//	d     y           t2    1           0.1   3.3219281
//
// Each item's feature vector is (1/√2, 1/√2) on its category and tag, so
// cos = 1/2 when two items share exactly one feature and 0 when they share
// none: d(a,b) = d(a,c) = d(b,d) = d(c,d) = 0.5, d(a,d) = d(b,c) = 1.
// Popularity ranking: a, b, c, d.
func tinyCatalog(tb testing.TB) *catalog.Catalog {
	tb.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "a", Categories: []string{"x"}, Tags: []string{"t1"}, Popularity: 4},
		{ID: "b", Categories: []string{"x"}, Tags: []string{"t2"}, Popularity: 3},
		{ID: "c", Categories: []string{"y"}, Tags: []string{"t1"}, Popularity: 2, New: true},
		{ID: "d", Categories: []string{"y"}, Tags: []string{"t2"}, Popularity: 1},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

func runEvent(rounds int, variants ...string) trajectory.Event {
	info := &trajectory.RunInfo{Scenario: "tiny", Seed: 42, Rounds: rounds, SlateSize: 2, Personas: 2, Items: 4}
	for _, v := range variants {
		info.Variants = append(info.Variants, trajectory.VariantInfo{Name: v, Recommender: "rec-" + v})
	}
	return trajectory.Event{V: 1, Kind: trajectory.KindRun, Run: info}
}

func personaEvent(id string, pr trajectory.Profile) trajectory.Event {
	return trajectory.Event{V: 1, Kind: trajectory.KindPersona, Persona: id, Profile: &pr}
}

func stepEvent(variant string, round int, persona string, utility float64, slate ...trajectory.Shown) trajectory.Event {
	return trajectory.Event{V: 1, Kind: trajectory.KindStep, Variant: variant, Round: round, Persona: persona,
		Step: &trajectory.Step{Slate: slate, Utility: utility, WallLatencyUS: 1000}}
}

func endEvent(variant, persona string, drift float64, exitRound, viewed int) trajectory.Event {
	return trajectory.Event{V: 1, Kind: trajectory.KindPersonaEnd, Variant: variant, Persona: persona,
		PersonaEnd: &trajectory.PersonaEnd{TasteDrift: drift, ExitRound: exitRound, SlatesViewed: viewed}}
}

func runEndEvent() trajectory.Event {
	return trajectory.Event{V: 1, Kind: trajectory.KindRunEnd, RunEnd: &trajectory.RunEnd{}}
}

func seen(item string) trajectory.Shown { return trajectory.Shown{Item: item, Examined: true} }

func clicked(item string, rating float64) trajectory.Shown {
	return trajectory.Shown{Item: item, Examined: true, Clicked: true, Rating: rating}
}

func taste(cats ...string) catalog.Taste {
	t := catalog.Taste{Categories: map[string]float64{}}
	for _, c := range cats {
		t.Categories[c] = 1
	}
	return t
}

// handStream is the case every metric test computes by hand: one variant
// "A", two rounds, slates of two.
//
//	p1 (warm: 2 seed items > ColdMaxHistory 1), history {a, b}, stated {x}, latent {y}, segments fans, vip
//	  round 0: [d ✓5, a]   utility 0.8
//	  round 1: [b, c ✓4]   utility 0.5, exits
//	p2 (cold: 1 seed item), history {d}, stated {y}, latent {x}, segment fans
//	  round 0: [a ✓4, c ✓3] utility 0.6
//	  round 1: [b ✓2, a]   utility 0.2
//
// (✓r = clicked and rated r; accepted when r ≥ 4.)
func handStream() []trajectory.Event {
	return []trajectory.Event{
		runEvent(2, "A"),
		personaEvent("p1", trajectory.Profile{Segments: []string{"vip", "fans"}, History: []string{"a", "b"}, Interests: taste("x"), LatentInterests: taste("y")}),
		personaEvent("p2", trajectory.Profile{Segments: []string{"fans"}, History: []string{"d"}, Interests: taste("y"), LatentInterests: taste("x")}),
		stepEvent("A", 0, "p1", 0.8, clicked("d", 5), seen("a")),
		stepEvent("A", 0, "p2", 0.6, clicked("a", 4), clicked("c", 3)),
		withExit(stepEvent("A", 1, "p1", 0.5, seen("b"), clicked("c", 4))),
		stepEvent("A", 1, "p2", 0.2, clicked("b", 2), seen("a")),
		endEvent("A", "p1", 0.1, 1, 2),
		endEvent("A", "p2", 0.3, -1, 2),
		runEndEvent(),
	}
}

func withExit(ev trajectory.Event) trajectory.Event {
	ev.Step.Exited = true
	return ev
}

var handConfig = Config{ColdMaxHistory: 1, SerendipityTopN: 1, Bootstrap: 200, Seed: 7}

func aggregate(tb testing.TB, cat *catalog.Catalog, cfg Config, events []trajectory.Event) *Results {
	tb.Helper()
	agg := NewAggregator(cat, cfg)
	for k := range events {
		if err := agg.Write(&events[k]); err != nil {
			tb.Fatalf("event %d: %v", k, err)
		}
	}
	return agg.Results()
}

// readResults decodes a trajectories.jsonl stream the way recloop does:
// trajectory.ReadAll into an Aggregator.
func readResults(cat *catalog.Catalog, cfg Config, r io.Reader) (*Results, error) {
	a := NewAggregator(cat, cfg)
	if err := trajectory.ReadAll(r, a); err != nil {
		return nil, err
	}
	return a.Results(), nil
}

func approx(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b))
}

func headline(tb testing.TB, v *VariantResult, name string) Value {
	tb.Helper()
	m, ok := v.Metric(name)
	if !ok {
		tb.Fatalf("no headline metric %q", name)
	}
	return m
}
