package simulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/rectest"
	"github.com/recloop/recloop/trajectory"
)

type fixture struct {
	cat       *catalog.Catalog
	states    []*personas.State
	behaviour personas.Behaviour
}

func newFixture(t testing.TB, items, perArchetype int) fixture {
	t.Helper()
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: items, NewItems: items / 10, ReleaseFrom: 1, ReleaseTo: 3, Seed: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	lib, err := personas.Library()
	if err != nil {
		t.Fatal(err)
	}
	var pops []personas.Population
	for _, a := range lib {
		pops = append(pops, personas.Population{Archetype: a.ID, Count: perArchetype})
	}
	late := 0
	pops = append(pops, personas.Population{Archetype: lib[0].ID, Count: perArchetype, HistorySize: &late, JoinRound: 2, IDPrefix: "late"})
	ps, err := personas.Expand(pops, lib, 11)
	if err != nil {
		t.Fatal(err)
	}
	states, err := personas.Build(ps, cat, 11)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := personas.LookupBehaviour(personas.UtilityName)
	b, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: cat, Seed: 11}, spec.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	return fixture{cat: cat, states: states, behaviour: b}
}

func (f fixture) builtin(t testing.TB, name string) recommenders.Recommender {
	t.Helper()
	spec, ok := recommenders.Lookup(name)
	if !ok {
		t.Fatalf("no recommender %q", name)
	}
	r, err := recommenders.New(t.Context(), name, recommenders.Env{Catalog: f.cat, Seed: 5, Variant: name}, spec.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f fixture) config(concurrency int) Config {
	return Config{Scenario: "test", Seed: 11, Rounds: 5, SlateSize: 6, Concurrency: concurrency, Behaviour: f.behaviour, BehaviourName: "utility", Tool: "test"}
}

var wallClock = regexp.MustCompile(`"wall_latency_us":\d+`)

func run(t *testing.T, f fixture, cfg Config, variants []Variant) (Summary, []byte, error) {
	t.Helper()
	var buf bytes.Buffer
	w := trajectory.NewWriter(&buf)
	sum, err := Run(context.Background(), cfg, f.cat, f.states, variants, w)
	return sum, wallClock.ReplaceAll(buf.Bytes(), []byte(`"wall_latency_us":0`)), err
}

func TestSameBytesAtAnyConcurrency(t *testing.T) {
	f := newFixture(t, 400, 3)
	var first []byte
	for _, conc := range []int{1, 2, 8, 32} {
		variants := []Variant{
			{Name: "popular", Recommender: "popular", New: Instance(f.builtin(t, "popular"))},
			{Name: "itemknn", Recommender: "itemknn", New: Instance(f.builtin(t, "itemknn"))},
			{Name: "flaky", Recommender: "content", New: Instance(&rectest.Flaky{Inner: f.builtin(t, "content"), ErrorRate: 0.2, Seed: 1})},
		}
		_, out, err := run(t, f, f.config(conc), variants)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
			continue
		}
		if !bytes.Equal(first, out) {
			t.Fatalf("concurrency %d wrote different trajectories", conc)
		}
	}
}

// Variants share draws: the same persona seeing the same slate in the same
// round decides the same way in every world.
func TestVariantsShareRandomNumbers(t *testing.T) {
	f := newFixture(t, 300, 2)
	slate := []recommenders.Scored{}
	for i := range 6 {
		slate = append(slate, recommenders.Scored{Item: f.cat.Item(i).ID, Score: float64(6 - i)})
	}
	variants := []Variant{
		{Name: "a", Recommender: "static", New: Instance(&rectest.Static{Items: slate})},
		{Name: "b", Recommender: "static", New: Instance(&rectest.Static{Items: slate})},
	}
	cfg := f.config(4)
	cfg.Rounds = 1
	_, out, err := run(t, f, cfg, variants)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]map[string]string{"a": {}, "b": {}}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, `"kind":"step"`) {
			continue
		}
		variant := regexp.MustCompile(`"variant":"(\w)"`).FindStringSubmatch(line)[1]
		persona := regexp.MustCompile(`"persona":"([^"]+)"`).FindStringSubmatch(line)[1]
		steps[variant][persona] = strings.Replace(line, `"variant":"`+variant+`"`, "", 1)
	}
	if len(steps["a"]) == 0 || len(steps["a"]) != len(steps["b"]) {
		t.Fatalf("%d and %d steps", len(steps["a"]), len(steps["b"]))
	}
	for p, a := range steps["a"] {
		if steps["b"][p] != a {
			t.Errorf("persona %s decided differently:\n%s\n%s", p, a, steps["b"][p])
		}
	}
}

func TestFailuresAreRecordedAndTheRunGoesOn(t *testing.T) {
	f := newFixture(t, 200, 1)
	unknown := []recommenders.Scored{{Item: "no-such-item", Score: 1}}
	dup := []recommenders.Scored{{Item: f.cat.Item(0).ID, Score: 1}, {Item: f.cat.Item(0).ID, Score: 0.5}}
	var unreleasedID string
	for i := range f.cat.Len() {
		if f.cat.Item(i).ReleaseRound > 2 {
			unreleasedID = f.cat.Item(i).ID
			break
		}
	}
	tests := []struct {
		name    string
		impl    recommenders.Recommender
		timeout time.Duration
		kind    string
		message string
	}{
		{"error", &rectest.Flaky{Inner: &rectest.Static{}, ErrorRate: 1}, 0, trajectory.ErrorKindError, ""},
		{"timeout", &rectest.Slow{Inner: &rectest.Static{}, Delay: time.Hour}, time.Millisecond, trajectory.ErrorKindTimeout, ""},
		{"unknown item", &rectest.Static{Items: unknown}, 0, trajectory.ErrorKindInvalid, `unknown item id \"no-such-item\"`},
		{"duplicate", &rectest.Static{Items: dup}, 0, trajectory.ErrorKindInvalid, "appears twice"},
		{"unreleased", &rectest.Static{Items: []recommenders.Scored{{Item: unreleasedID, Score: 1}}}, 0, trajectory.ErrorKindInvalid, "not released until round"},
		{"too long", &rectest.Static{Items: make([]recommenders.Scored, 7)}, 0, trajectory.ErrorKindInvalid, "returned 7 items for a slate of 6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config(4)
			cfg.Rounds = 2
			sum, out, err := run(t, f, cfg, []Variant{{Name: "v", Recommender: "x", New: Instance(tc.impl), Timeout: tc.timeout}})
			if err != nil {
				t.Fatal(err)
			}
			errorSteps := bytes.Count(out, []byte(`"error":{"kind":"`+tc.kind+`"`))
			if errorSteps == 0 || errorSteps != sum.Steps {
				t.Fatalf("%d %s steps of %d", errorSteps, tc.kind, sum.Steps)
			}
			if !bytes.Contains(out, []byte(tc.message)) {
				t.Errorf("no %q in the trajectories", tc.message)
			}
			if !bytes.Contains(out, []byte(`"kind":"run_end","round":2,"run_end":{}`)) {
				t.Error("the run did not finish")
			}
		})
	}
}

// cancelAfter cancels the run's context during round n's Observe.
type cancelAfter struct {
	recommenders.Recommender
	round  int
	cancel context.CancelFunc
	seen   atomic.Int32
}

func (c *cancelAfter) Observe(ctx context.Context, fb []recommenders.Feedback) error {
	if int(c.seen.Add(1)) == c.round+1 {
		c.cancel()
	}
	return c.Recommender.Observe(ctx, fb)
}

func TestInterruptLeavesCompleteRoundsAndAMarkedEnd(t *testing.T) {
	f := newFixture(t, 200, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &cancelAfter{Recommender: f.builtin(t, "popular"), round: 1, cancel: cancel}
	var buf bytes.Buffer
	sum, err := Run(ctx, f.config(2), f.cat, f.states, []Variant{{Name: "p", Recommender: "popular", New: Instance(rec)}}, trajectory.NewWriter(&buf))
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	// Rounds 0 and 1 completed (the cancel came during round 1's Observe).
	if sum.RoundsRun != 2 || !sum.Partial {
		t.Fatalf("summary %+v", sum)
	}
	var last *trajectory.Event
	var maxRound int
	r := trajectory.NewReader(&buf)
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Kind == trajectory.KindStep {
			maxRound = max(maxRound, ev.Round)
		}
		last = ev
	}
	if last == nil || last.Kind != trajectory.KindRunEnd || !last.RunEnd.Partial {
		t.Fatalf("last event %+v, want a partial run_end", last)
	}
	if maxRound != 1 {
		t.Errorf("steps up to round %d, want 1", maxRound)
	}
}

func TestFeedbackReachesTheRecommenderInOrder(t *testing.T) {
	f := newFixture(t, 300, 2)
	rec := &rectest.Recorder{Inner: f.builtin(t, "popular")}
	cfg := f.config(8)
	if _, _, err := run(t, f, cfg, []Variant{{Name: "p", Recommender: "popular", New: Instance(rec)}}); err != nil {
		t.Fatal(err)
	}
	batches := rec.Batches()
	if len(batches) != cfg.Rounds {
		t.Fatalf("%d Observe batches, want %d", len(batches), cfg.Rounds)
	}
	index := map[string]int{}
	for i, st := range f.states {
		index[st.Persona.ID] = i
	}
	for r, batch := range batches {
		for i, fb := range batch {
			if fb.Round != r {
				t.Fatalf("batch %d holds round %d feedback", r, fb.Round)
			}
			if i > 0 {
				prev := batch[i-1]
				if index[prev.User] > index[fb.User] || prev.User == fb.User && prev.Rank >= fb.Rank {
					t.Fatalf("batch %d out of order at %d: %+v then %+v", r, i, prev, fb)
				}
			}
		}
	}
	// Late joiners (join_round 2) ask for nothing before round 2.
	for _, req := range rec.Requests() {
		if strings.HasPrefix(req.User, "late-") && req.Round < 2 {
			t.Fatalf("late joiner %s was served in round %d", req.User, req.Round)
		}
	}
}

func TestClickedItemsJoinTheVisibleHistory(t *testing.T) {
	f := newFixture(t, 300, 2)
	rec := &rectest.Recorder{Inner: f.builtin(t, "content")}
	cfg := f.config(2)
	_, out, err := run(t, f, cfg, []Variant{{Name: "c", Recommender: "content", New: Instance(rec)}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"clicked":true`)) {
		t.Fatal("nobody clicked anything; the test needs clicks")
	}
	clicked := map[string]map[string]int{} // user → item → round
	for _, batch := range rec.Batches() {
		for _, fb := range batch {
			if fb.Clicked {
				if clicked[fb.User] == nil {
					clicked[fb.User] = map[string]int{}
				}
				clicked[fb.User][fb.Item] = fb.Round
			}
		}
	}
	for _, req := range rec.Requests() {
		seen := map[string]bool{}
		for _, h := range req.History {
			seen[h.Item] = true
		}
		for item, round := range clicked[req.User] {
			if round < req.Round && !seen[item] {
				t.Fatalf("%s clicked %s in round %d but its round-%d request does not show it", req.User, item, round, req.Round)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	f := newFixture(t, 100, 1)
	v := []Variant{{Name: "p", New: Instance(&rectest.Static{})}}
	for _, tc := range []struct {
		name string
		cfg  Config
		vars []Variant
	}{
		{"no rounds", Config{SlateSize: 1, Behaviour: f.behaviour}, v},
		{"no slate", Config{Rounds: 1, Behaviour: f.behaviour}, v},
		{"no behaviour", Config{Rounds: 1, SlateSize: 1}, v},
		{"no variants", Config{Rounds: 1, SlateSize: 1, Behaviour: f.behaviour}, nil},
	} {
		if _, err := Run(context.Background(), tc.cfg, f.cat, f.states, tc.vars, trajectory.Sinks{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func BenchmarkRound(b *testing.B) {
	f := newFixture(b, 2000, 20)
	cfg := f.config(0)
	cfg.Rounds = 10
	b.ReportAllocs()
	for b.Loop() {
		variants := []Variant{{Name: "itemknn", Recommender: "itemknn", New: Instance(f.builtin(b, "itemknn"))}}
		if _, err := Run(context.Background(), cfg, f.cat, f.states, variants, trajectory.Sinks{}); err != nil {
			b.Fatal(err)
		}
	}
}

type observeFails struct{ rectest.Static }

func (observeFails) Observe(context.Context, []recommenders.Feedback) error {
	return errors.New("model store unavailable")
}

func TestObserveFailuresAreCountedNotFatal(t *testing.T) {
	f := newFixture(t, 200, 1)
	slate := []recommenders.Scored{{Item: f.cat.Item(0).ID, Score: 1}}
	cfg := f.config(2)
	cfg.Rounds = 3
	var logged bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	sum, out, err := run(t, f, cfg, []Variant{{Name: "v", Recommender: "x", New: Instance(&observeFails{rectest.Static{Items: slate}})}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ObserveErrors["v"] != 3 || !bytes.Contains(out, []byte(`"observe_errors":{"v":3}`)) {
		t.Fatalf("observe errors %v not recorded in run_end", sum.ObserveErrors)
	}
	// One warning per failed round, in the configured logger.
	want := ""
	for round := range 3 {
		want += fmt.Sprintf("level=WARN msg=\"recommender failed to observe feedback\" variant=v round=%d err=\"model store unavailable\"\n", round)
	}
	if logged.String() != want {
		t.Errorf("logged:\n%s\nwant:\n%s", logged.String(), want)
	}
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
