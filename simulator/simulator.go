// Package simulator runs the closed loop: rounds × personas × variants. Each
// variant is its own world (its own recommender and its own copy of every
// persona), and all worlds share the personas' random draws, so differences
// between variants are paired.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/trajectory"
)

// ErrInterrupted is returned (wrapped) when the context ends mid-run. The
// rounds completed before it are written, and the run is marked partial.
var ErrInterrupted = errors.New("simulator: interrupted")

// fatalError carries a behaviour error that Config.Fatal chose to stop on.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// Variant is one world: a named recommender.
type Variant struct {
	Name        string
	Recommender string // registry name, recorded in the trajectories
	Impl        recommenders.Recommender
	// Timeout bounds each Recommend call; 0 means no limit.
	Timeout time.Duration
}

// Config is everything the loop needs besides the worlds.
type Config struct {
	Scenario  string
	Seed      uint64
	Rounds    int
	SlateSize int
	// Concurrency bounds the goroutines deciding personas; 0 = GOMAXPROCS.
	// It never changes the output.
	Concurrency int
	Behaviour   personas.Behaviour
	// BehaviourName is recorded in the trajectories.
	BehaviourName string
	// Tool identifies the recloop build in the trajectories.
	Tool string
	// OnRound, if set, is called after each completed round (for progress).
	OnRound func(round, rounds int)
	// Fatal, if set, picks the behaviour errors that must stop the run (a
	// spent budget, a cache miss in replay mode). The run then ends as an
	// interrupted one: complete rounds written, marked partial. Every other
	// behaviour error becomes an error event and the run goes on.
	Fatal func(error) bool
}

// Summary is what the loop itself counted.
type Summary struct {
	RoundsRun     int
	Partial       bool
	Reason        string
	Steps         int
	ObserveErrors map[string]int
}

// Run simulates cfg.Rounds rounds and streams every event to sink. states are
// the personas at the start; each variant gets its own clone.
func Run(ctx context.Context, cfg Config, cat *catalog.Catalog, states []*personas.State, variants []Variant, sink trajectory.Sink) (Summary, error) {
	if err := cfg.check(len(variants)); err != nil {
		return Summary{}, err
	}
	s := newLoop(cfg, cat, states, variants, sink)
	return s.run(ctx)
}

func (c Config) check(variants int) error {
	switch {
	case c.Rounds < 1:
		return fmt.Errorf("simulator: rounds must be at least 1, got %d", c.Rounds)
	case c.SlateSize < 1:
		return fmt.Errorf("simulator: slate size must be at least 1, got %d", c.SlateSize)
	case c.Behaviour == nil:
		return errors.New("simulator: no behaviour model")
	case variants == 0:
		return errors.New("simulator: no variants")
	}
	return nil
}

// world is one variant's copy of everything that changes during a run.
type world struct {
	variant  Variant
	states   []*personas.State
	history  [][]recommenders.HistoryItem
	results  []stepResult
	feedback []recommenders.Feedback
}

type stepResult struct {
	active bool
	slate  []trajectory.Shown
	step   trajectory.Step
}

type loop struct {
	cfg    Config
	cat    *catalog.Catalog
	base   []*personas.State
	worlds []*world
	sink   trajectory.Sink
	ev     trajectory.Event
	sum    Summary
}

func newLoop(cfg Config, cat *catalog.Catalog, states []*personas.State, variants []Variant, sink trajectory.Sink) *loop {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.GOMAXPROCS(0)
	}
	l := &loop{cfg: cfg, cat: cat, base: states, sink: sink, sum: Summary{ObserveErrors: map[string]int{}}}
	for _, v := range variants {
		w := &world{
			variant: v,
			states:  make([]*personas.State, len(states)),
			history: make([][]recommenders.HistoryItem, len(states)),
			results: make([]stepResult, len(states)),
		}
		for p, st := range states {
			w.states[p] = st.Clone()
			w.history[p] = make([]recommenders.HistoryItem, 0, len(st.History)+cfg.Rounds)
			for _, h := range st.History {
				w.history[p] = append(w.history[p], recommenders.HistoryItem{Item: cat.Item(int(h.Item)).ID, Round: h.Round, Rating: h.Rating})
			}
			w.results[p].slate = make([]trajectory.Shown, 0, cfg.SlateSize)
		}
		l.worlds = append(l.worlds, w)
	}
	return l
}

func (l *loop) emit(ev *trajectory.Event) error {
	ev.V = trajectory.SchemaVersion
	return l.sink.Write(ev)
}

func (l *loop) flush() error {
	if f, ok := l.sink.(trajectory.Flusher); ok {
		return f.Flush()
	}
	return nil
}

func (l *loop) run(ctx context.Context) (Summary, error) {
	if err := l.emitStart(); err != nil {
		return l.sum, err
	}
	var stopErr error
	for r := 0; r < l.cfg.Rounds; r++ {
		if err := ctx.Err(); err != nil {
			stopErr = err
			break
		}
		if err := l.decideRound(ctx, r); err != nil {
			var fatal fatalError
			if !errors.As(err, &fatal) {
				return l.sum, err
			}
			stopErr = fatal.err
			break
		}
		// A round cut short by cancellation would hold spurious errors; it
		// is dropped whole, so the file holds only complete rounds.
		if err := ctx.Err(); err != nil {
			stopErr = err
			break
		}
		if err := l.finishRound(ctx, r); err != nil {
			return l.sum, err
		}
		l.sum.RoundsRun = r + 1
		if l.cfg.OnRound != nil {
			l.cfg.OnRound(r, l.cfg.Rounds)
		}
	}
	if stopErr != nil {
		l.sum.Partial = true
		l.sum.Reason = fmt.Sprintf("stopped after %d of %d rounds: %v", l.sum.RoundsRun, l.cfg.Rounds, stopErr)
	}
	if err := l.emitEnd(ctx); err != nil {
		return l.sum, err
	}
	switch {
	case stopErr != nil && ctx.Err() != nil:
		return l.sum, fmt.Errorf("%w after %d of %d rounds", ErrInterrupted, l.sum.RoundsRun, l.cfg.Rounds)
	case stopErr != nil:
		return l.sum, fmt.Errorf("simulator: stopped after %d of %d rounds: %w", l.sum.RoundsRun, l.cfg.Rounds, stopErr)
	}
	return l.sum, nil
}

func (l *loop) emitStart() error {
	info := &trajectory.RunInfo{
		Scenario: l.cfg.Scenario, Seed: l.cfg.Seed, Rounds: l.cfg.Rounds, SlateSize: l.cfg.SlateSize,
		Personas: len(l.base), Items: l.cat.Len(), Behaviour: l.cfg.BehaviourName, Tool: l.cfg.Tool,
	}
	for _, w := range l.worlds {
		info.Variants = append(info.Variants, trajectory.VariantInfo{Name: w.variant.Name, Recommender: w.variant.Recommender})
	}
	if err := l.emit(&trajectory.Event{Kind: trajectory.KindRun, Run: info}); err != nil {
		return err
	}
	for _, st := range l.base {
		ev := trajectory.Event{Kind: trajectory.KindPersona, Persona: st.Persona.ID, Profile: st.Profile(l.cat)}
		if err := l.emit(&ev); err != nil {
			return err
		}
	}
	return l.flush()
}

func (l *loop) emitEnd(ctx context.Context) error {
	interviews := l.interview(ctx)
	for v, w := range l.worlds {
		for p, st := range w.states {
			end := st.End(l.cat)
			if interviews != nil {
				end.Interview = interviews[v][p]
			}
			ev := trajectory.Event{Kind: trajectory.KindPersonaEnd, Variant: w.variant.Name, Round: l.sum.RoundsRun,
				Persona: st.Persona.ID, PersonaEnd: end}
			if err := l.emit(&ev); err != nil {
				return err
			}
		}
	}
	ev := trajectory.Event{Kind: trajectory.KindRunEnd, Round: l.sum.RoundsRun,
		RunEnd: &trajectory.RunEnd{Partial: l.sum.Partial, Reason: l.sum.Reason}}
	if len(l.sum.ObserveErrors) > 0 {
		ev.RunEnd.ObserveErrors = l.sum.ObserveErrors
	}
	if err := l.emit(&ev); err != nil {
		return err
	}
	return l.flush()
}

// interview asks every persona that took part what it thought of each
// variant, when the behaviour can be asked. A persona whose interview fails
// simply has none; an interrupted run skips the interviews.
func (l *loop) interview(ctx context.Context) [][]*trajectory.Interview {
	iv, ok := l.cfg.Behaviour.(personas.Interviewer)
	if !ok || ctx.Err() != nil || l.sum.RoundsRun == 0 {
		return nil
	}
	out := make([][]*trajectory.Interview, len(l.worlds))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.cfg.Concurrency)
	for v, w := range l.worlds {
		out[v] = make([]*trajectory.Interview, len(w.states))
		for p, st := range w.states {
			if st.SlatesViewed == 0 {
				continue
			}
			g.Go(func() error {
				answer, err := iv.Interview(gctx, st, w.variant.Name)
				if err != nil {
					slog.Warn("interview failed", "persona", st.Persona.ID, "variant", w.variant.Name, "err", err)
					return nil
				}
				out[v][p] = &answer
				return nil
			})
		}
	}
	_ = g.Wait()
	return out
}

// decideRound asks every variant for every active persona's slate and lets
// the persona decide. Recommenders see state frozen at the round's start, and
// each (world, persona) pair is touched by one goroutine, so the outcome does
// not depend on scheduling.
func (l *loop) decideRound(ctx context.Context, round int) error {
	n := len(l.base)
	chunk := max(1, n/(l.cfg.Concurrency*8))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.cfg.Concurrency)
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		g.Go(func() error {
			for p := lo; p < hi; p++ {
				for _, w := range l.worlds {
					if err := l.step(gctx, w, p, round); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func (l *loop) step(ctx context.Context, w *world, p, round int) error {
	res := &w.results[p]
	st := w.states[p]
	res.slate = res.slate[:0]
	res.step = trajectory.Step{}
	res.active = st.Active(round)
	if !res.active {
		return nil
	}
	req := recommenders.Request{User: st.Persona.ID, Round: round, K: l.cfg.SlateSize, History: w.history[p]}
	callCtx, cancel := ctx, context.CancelFunc(func() {})
	if w.variant.Timeout > 0 {
		callCtx, cancel = context.WithTimeout(ctx, w.variant.Timeout)
	}
	start := time.Now()
	slate, err := w.variant.Impl.Recommend(callCtx, req)
	res.step.WallLatencyUS = time.Since(start).Microseconds()
	timedOut := callCtx.Err() != nil && ctx.Err() == nil
	cancel()
	switch {
	case err != nil && (timedOut || errors.Is(err, context.DeadlineExceeded)):
		res.step.Error = &trajectory.StepError{Kind: trajectory.ErrorKindTimeout, Message: err.Error()}
		return nil
	case err != nil:
		res.step.Error = &trajectory.StepError{Kind: trajectory.ErrorKindError, Message: err.Error()}
		return nil
	}
	if problem := l.checkSlate(st, round, slate); problem != "" {
		res.step.Error = &trajectory.StepError{Kind: trajectory.ErrorKindInvalid, Message: problem}
		return nil
	}
	for _, it := range slate.Items {
		res.slate = append(res.slate, trajectory.Shown{Item: it.Item, Score: it.Score, Explanation: it.Explanation})
	}
	d, err := l.cfg.Behaviour.Decide(ctx, st, round, res.slate)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if l.cfg.Fatal != nil && l.cfg.Fatal(err) {
			return fatalError{err}
		}
		for i := range res.slate {
			res.slate[i].Examined, res.slate[i].Clicked, res.slate[i].Rating, res.slate[i].Reason = false, false, 0, ""
		}
		res.step.Error = &trajectory.StepError{Kind: trajectory.ErrorKindBehaviour, Message: err.Error()}
		return nil
	}
	res.step.Utility = d.Utility
	res.step.Exited = d.Exit
	res.step.Feedback = d.Feedback
	res.step.Hallucinations = d.Hallucinations
	return nil
}

// checkSlate enforces what every recommender owes the loop: known items,
// released ones, no duplicates, nothing the persona already consumed, at
// most k items, finite scores.
func (l *loop) checkSlate(st *personas.State, round int, slate recommenders.Slate) string {
	if len(slate.Items) > l.cfg.SlateSize {
		return fmt.Sprintf("returned %d items for a slate of %d", len(slate.Items), l.cfg.SlateSize)
	}
	for i, it := range slate.Items {
		idx, ok := l.cat.Index(it.Item)
		switch {
		case !ok:
			return fmt.Sprintf("unknown item id %q at rank %d", it.Item, i+1)
		case l.cat.Item(idx).ReleaseRound > round:
			return fmt.Sprintf("item %q at rank %d is not released until round %d", it.Item, i+1, l.cat.Item(idx).ReleaseRound)
		case st.HasConsumed(idx):
			return fmt.Sprintf("item %q at rank %d was already consumed by the persona", it.Item, i+1)
		case it.Score != it.Score || it.Score > 1e308 || it.Score < -1e308:
			return fmt.Sprintf("item %q at rank %d has a non-finite score", it.Item, i+1)
		}
		for _, prev := range slate.Items[:i] {
			if prev.Item == it.Item {
				return fmt.Sprintf("item %q appears twice", it.Item)
			}
		}
	}
	return ""
}

// finishRound writes the round's events in a fixed order (variant, then
// persona), feeds each variant its round of feedback, and extends the
// histories recommenders will see next round.
func (l *loop) finishRound(ctx context.Context, round int) error {
	for _, w := range l.worlds {
		w.feedback = w.feedback[:0]
		for p := range w.results {
			res := &w.results[p]
			if !res.active {
				continue
			}
			step := res.step
			step.Slate = res.slate
			ev := trajectory.Event{Kind: trajectory.KindStep, Variant: w.variant.Name, Round: round,
				Persona: w.states[p].Persona.ID, Step: &step}
			if err := l.emit(&ev); err != nil {
				return err
			}
			l.sum.Steps++
			for rank, sh := range res.slate {
				w.feedback = append(w.feedback, recommenders.Feedback{User: ev.Persona, Round: round, Item: sh.Item,
					Rank: rank + 1, Clicked: sh.Clicked, Rating: sh.Rating})
				if sh.Clicked {
					w.history[p] = append(w.history[p], recommenders.HistoryItem{Item: sh.Item, Round: round, Rating: sh.Rating})
				}
			}
		}
		if len(w.feedback) > 0 {
			// The round's steps are already written; an interrupt must not
			// leave the recommender without the feedback they record.
			if err := w.variant.Impl.Observe(context.WithoutCancel(ctx), w.feedback); err != nil {
				l.sum.ObserveErrors[w.variant.Name]++
				slog.Warn("recommender failed to observe feedback", "variant", w.variant.Name, "round", round, "err", err)
			}
		}
	}
	return l.flush()
}
