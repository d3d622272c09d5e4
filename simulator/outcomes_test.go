package simulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/trajectory"
)

// recording remembers every request and every feedback event.
type recording struct {
	recommenders.Recommender
	mu       sync.Mutex
	requests map[string]string // "user@round" → query
	feedback []recommenders.Feedback
}

func (r *recording) Recommend(ctx context.Context, req recommenders.Request) (recommenders.Slate, error) {
	r.mu.Lock()
	r.requests[fmt.Sprintf("%s@%d", req.User, req.Round)] = req.Context["query"]
	r.mu.Unlock()
	return r.Recommender.Recommend(ctx, req)
}

func (r *recording) Observe(ctx context.Context, fb []recommenders.Feedback) error {
	r.mu.Lock()
	r.feedback = append(r.feedback, fb...)
	r.mu.Unlock()
	return r.Recommender.Observe(ctx, fb)
}

func engagedFixture(t *testing.T) (fixture, Config) {
	t.Helper()
	f := newFixture(t, 400, 2)
	eng := personas.Engagement{Funnel: []string{"click", "add_to_cart", "purchase"}, BounceBelow: 0.1, Search: true}
	spec, _ := personas.LookupBehaviour(personas.UtilityName)
	params, errs := spec.Resolve(nil, "behaviour", map[string]any{"search_base": 1.0})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	b, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: f.cat, Seed: 11, Engagement: eng}, params)
	if err != nil {
		t.Fatal(err)
	}
	f.behaviour = b
	ret := personas.DefaultReturning()
	ret.Base = 0 // return about half the time, so absences happen
	cfg := f.config(2)
	cfg.Rounds, cfg.Behaviour, cfg.Funnel, cfg.Returning = 8, b, eng.Funnel, &ret
	return f, cfg
}

type stepLine struct {
	persona string
	round   int
	query   string
	slate   []trajectory.Shown
}

func stepsOf(t *testing.T, out []byte) []stepLine {
	t.Helper()
	var steps []stepLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var ev trajectory.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Kind == trajectory.KindRun && (len(ev.Run.Funnel) != 3 || !ev.Run.Returning) {
			t.Fatalf("run info does not record the funnel and returning: %+v", ev.Run)
		}
		if ev.Kind == trajectory.KindStep {
			steps = append(steps, stepLine{ev.Persona, ev.Round, ev.Step.Query, ev.Step.Slate})
		}
	}
	return steps
}

// Personas that do not come back get no request; a search goes out with
// the persona's next request; feedback carries the funnel stage.
func TestReturningAndSearchReachTheRecommender(t *testing.T) {
	f, cfg := engagedFixture(t)
	rec := &recording{Recommender: f.builtin(t, "popular"), requests: map[string]string{}}
	_, out, err := run(t, f, cfg, []Variant{{Name: "popular", Recommender: "popular", New: Instance(rec)}})
	if err != nil {
		t.Fatal(err)
	}
	steps := stepsOf(t, out)
	if len(steps) != len(rec.requests) {
		t.Fatalf("%d steps but %d requests: absent personas were asked for", len(steps), len(rec.requests))
	}
	joined := 0
	for _, st := range f.states {
		joined += max(0, cfg.Rounds-st.Persona.JoinRound)
	}
	if len(steps) >= joined {
		t.Fatalf("%d steps for %d persona-rounds: nobody stayed away", len(steps), joined)
	}
	pending := map[string]string{}
	queries, staged := 0, 0
	for _, s := range steps {
		got, ok := rec.requests[fmt.Sprintf("%s@%d", s.persona, s.round)]
		if !ok {
			t.Fatalf("step without a request: %s round %d", s.persona, s.round)
		}
		if got != pending[s.persona] {
			t.Errorf("%s round %d: request query %q, want the search of its last visit %q", s.persona, s.round, got, pending[s.persona])
		}
		pending[s.persona] = s.query
		if s.query != "" {
			queries++
		}
		for _, sh := range s.slate {
			if sh.Clicked && sh.Stage >= 1 {
				staged++
			}
		}
	}
	if queries == 0 || staged == 0 {
		t.Fatalf("%d queries and %d staged clicks: the features did nothing", queries, staged)
	}
	withStage := 0
	for _, fb := range rec.feedback {
		if fb.Clicked && fb.Stage >= 1 {
			withStage++
		}
		if !fb.Clicked && (fb.Stage != 0 || fb.Bounced) {
			t.Fatalf("feedback on an unclicked item carries a stage: %+v", fb)
		}
	}
	if withStage != staged {
		t.Errorf("feedback carries %d staged clicks, the trajectories %d", withStage, staged)
	}
}

// Returning and funnels keep the run deterministic at any concurrency.
func TestEngagedRunIsDeterministic(t *testing.T) {
	var first []byte
	for _, conc := range []int{1, 4} {
		f, cfg := engagedFixture(t)
		cfg.Concurrency = conc
		_, out, err := run(t, f, cfg, []Variant{
			{Name: "popular", Recommender: "popular", New: Instance(f.builtin(t, "popular"))},
			{Name: "content", Recommender: "content", New: Instance(f.builtin(t, "content"))},
		})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
		} else if !bytes.Equal(first, out) {
			t.Fatalf("concurrency %d wrote different trajectories", conc)
		}
	}
}
