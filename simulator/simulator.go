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

// Variant is one recommender configuration under test. It runs in one world
// per cell and replicate, each with a recommender of its own from New, which
// gets the run's context (an external recommender is contacted as it is
// built).
type Variant struct {
	Name        string
	Recommender string // registry name, recorded in the trajectories
	New         func(context.Context, World) (recommenders.Recommender, error)
	// Timeout bounds each Recommend call; 0 means no limit.
	Timeout time.Duration
}

// World names one of a variant's independent worlds: the personas of one
// cell, playing one replicate.
type World struct{ Cell, Replicate int }

// Instance is a fixed recommender for a variant that runs in one world.
func Instance(r recommenders.Recommender) func(context.Context, World) (recommenders.Recommender, error) {
	return func(context.Context, World) (recommenders.Recommender, error) { return r, nil }
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
	// Shard, when set, limits the run to the worlds (units) of one shard.
	Shard *trajectory.Shard
	// Built, if set, receives every recommender the run builds, with its
	// variant, so that the caller can read their counters and close them.
	Built func(variant int, r recommenders.Recommender)
	// Funnel is the scenario's funnel (recorded in the trajectories; the
	// behaviour acts through it).
	Funnel []string
	// Returning, if set, decides each round which personas come back; the
	// others get no request. Nil means every active persona visits every
	// round.
	Returning *personas.Returning
	// Conversation, if set, makes the run conversational: dialogues
	// instead of slates.
	Conversation *Conversation
	// Logger receives the warnings about failures the run survives (an
	// interview, a recommender's Observe); nil discards them.
	Logger *slog.Logger
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
// the personas at the start; each world gets its own clones of its members.
func Run(ctx context.Context, cfg Config, cat *catalog.Catalog, states []*personas.State, variants []Variant, sink trajectory.Sink) (Summary, error) {
	if err := cfg.check(len(variants)); err != nil {
		return Summary{}, err
	}
	s, err := newLoop(ctx, cfg, cat, states, variants, sink)
	if err != nil {
		return Summary{}, err
	}
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
	case c.Conversation != nil && (c.Conversation.MaxTurns < 1 || c.Conversation.User == nil || c.Conversation.Judge == nil || c.Conversation.Titles == nil):
		return errors.New("simulator: a conversation needs max turns ≥ 1, a user engine, a relevance judge and a title index")
	case c.Shard != nil && (c.Shard.Count < 1 || c.Shard.Index < 1 || c.Shard.Index > c.Shard.Count):
		return fmt.Errorf("simulator: shard %d/%d: want i/n with 1 ≤ i ≤ n", c.Shard.Index, c.Shard.Count)
	}
	return nil
}

// world is one independent world: one variant's recommender and its own
// copy of the personas of one cell and replicate.
type world struct {
	variant       int
	impl          recommenders.Recommender
	members       []int // indexes into the run's personas, ascending
	states        []*personas.State
	history       [][]recommenders.HistoryItem
	queries       []string // a member's search, sent with its next request
	results       []stepResult
	feedback      []recommenders.Feedback
	observeFailed bool
}

type stepResult struct {
	active bool
	slate  []trajectory.Shown
	step   trajectory.Step
	// turns is the round's dialogue in a conversational run.
	turns []trajectory.Turn
}

// slot places persona p of variant v in its world; world is -1 when this
// shard does not run it.
type slot struct{ world, member int32 }

type loop struct {
	cfg      Config
	cat      *catalog.Catalog
	base     []*personas.State
	variants []Variant
	worlds   []*world
	slots    []slot // [variant*len(base)+persona]
	cells    int
	sink     trajectory.Sink
	sum      Summary
}

// Units counts a run's independent worlds: variants × replicates × cells.
// Shards split them; a world is never split.
func Units(variants int, states []*personas.State) int {
	reps, cells := worldShape(states)
	return variants * reps * cells
}

func worldShape(states []*personas.State) (replicates, cells int) {
	replicates, cells = 1, 1
	for _, st := range states {
		replicates = max(replicates, st.Persona.Replicate+1)
		cells = max(cells, st.Persona.Cell+1)
	}
	return replicates, cells
}

func newLoop(ctx context.Context, cfg Config, cat *catalog.Catalog, states []*personas.State, variants []Variant, sink trajectory.Sink) (*loop, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	reps, cells := worldShape(states)
	units := len(variants) * reps * cells
	if cfg.Shard != nil && cfg.Shard.Count > units {
		return nil, fmt.Errorf("simulator: %d shards for %d independent worlds (variants × replicates × cells); use at most %d", cfg.Shard.Count, units, units)
	}
	n := len(states)
	l := &loop{cfg: cfg, cat: cat, base: states, variants: variants, cells: cells, sink: sink,
		slots: make([]slot, len(variants)*n), sum: Summary{ObserveErrors: map[string]int{}}}
	for i := range l.slots {
		l.slots[i].world = -1
	}
	for v, variant := range variants {
		for rep := range reps {
			for cell := range cells {
				unit := (v*reps+rep)*cells + cell
				if cfg.Shard != nil && unit%cfg.Shard.Count != cfg.Shard.Index-1 {
					continue
				}
				if err := l.addWorld(ctx, v, variant, World{Cell: cell, Replicate: rep}); err != nil {
					return nil, err
				}
			}
		}
	}
	return l, nil
}

func (l *loop) addWorld(ctx context.Context, v int, variant Variant, at World) error {
	w := &world{variant: v}
	for p, st := range l.base {
		if st.Persona.Cell == at.Cell && st.Persona.Replicate == at.Replicate {
			w.members = append(w.members, p)
		}
	}
	if len(w.members) == 0 {
		return nil
	}
	impl, err := variant.New(ctx, at)
	if err != nil {
		return fmt.Errorf("simulator: variant %q, cell %d, replicate %d: %w", variant.Name, at.Cell, at.Replicate, err)
	}
	if l.cfg.Built != nil {
		l.cfg.Built(v, impl)
	}
	w.impl = impl
	w.states = make([]*personas.State, len(w.members))
	w.history = make([][]recommenders.HistoryItem, len(w.members))
	w.results = make([]stepResult, len(w.members))
	w.queries = make([]string, len(w.members))
	for i, p := range w.members {
		st := l.base[p]
		w.states[i] = st.Clone()
		w.history[i] = make([]recommenders.HistoryItem, 0, len(st.History)+l.cfg.Rounds)
		for _, h := range st.History {
			w.history[i] = append(w.history[i], recommenders.HistoryItem{Item: l.cat.Item(int(h.Item)).ID, Round: h.Round, Rating: h.Rating})
		}
		w.results[i].slate = make([]trajectory.Shown, 0, l.cfg.SlateSize)
		l.slots[v*len(l.base)+p] = slot{world: int32(len(l.worlds)), member: int32(i)}
	}
	l.worlds = append(l.worlds, w)
	return nil
}

// eachSlot calls fn for every (variant, persona) this run plays, in the
// canonical order of the trajectory file: variant, then persona.
func (l *loop) eachSlot(fn func(w *world, i int) error) error {
	for _, sl := range l.slots {
		if sl.world < 0 {
			continue
		}
		if err := fn(l.worlds[sl.world], int(sl.member)); err != nil {
			return err
		}
	}
	return nil
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
		Personas: len(l.base), Items: l.cat.Len(), Behaviour: l.cfg.BehaviourName, Tool: l.cfg.Tool, Shard: l.cfg.Shard,
		Funnel: l.cfg.Funnel, Returning: l.cfg.Returning != nil,
	}
	if c := l.cfg.Conversation; c != nil {
		conv := c.Info
		info.Conversation = &conv
	}
	if l.cells > 1 {
		info.Cells = l.cells
	}
	for _, v := range l.variants {
		info.Variants = append(info.Variants, trajectory.VariantInfo{Name: v.Name, Recommender: v.Recommender})
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
	err := l.eachSlot(func(w *world, i int) error {
		st := w.states[i]
		end := st.End(l.cat)
		if interviews != nil {
			end.Interview = interviews[w.variant*len(l.base)+w.members[i]]
		}
		ev := trajectory.Event{Kind: trajectory.KindPersonaEnd, Variant: l.variants[w.variant].Name, Round: l.sum.RoundsRun,
			Persona: st.Persona.ID, PersonaEnd: end}
		return l.emit(&ev)
	})
	if err != nil {
		return err
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

// interview asks every persona that took part what it thought of its
// variant, when the behaviour can be asked. The answers are indexed like
// l.slots. A persona whose interview fails simply has none; an interrupted
// run skips the interviews.
func (l *loop) interview(ctx context.Context) []*trajectory.Interview {
	iv, ok := l.cfg.Behaviour.(personas.Interviewer)
	if !ok || ctx.Err() != nil || l.sum.RoundsRun == 0 {
		return nil
	}
	out := make([]*trajectory.Interview, len(l.slots))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.cfg.Concurrency)
	_ = l.eachSlot(func(w *world, i int) error {
		st, name := w.states[i], l.variants[w.variant].Name
		if st.SlatesViewed == 0 {
			return nil
		}
		at := w.variant*len(l.base) + w.members[i]
		g.Go(func() error {
			answer, err := iv.Interview(gctx, st, name)
			if err != nil {
				l.cfg.Logger.Warn("interview failed", "persona", st.Persona.ID, "variant", name, "err", err)
				return nil
			}
			out[at] = &answer
			return nil
		})
		return nil
	})
	_ = g.Wait()
	return out
}

// decideRound asks every world for every active persona's slate and lets
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
				for v := range l.variants {
					sl := l.slots[v*n+p]
					if sl.world < 0 {
						continue
					}
					if err := l.step(gctx, l.worlds[sl.world], int(sl.member), round); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func (l *loop) step(ctx context.Context, w *world, i, round int) error {
	res := &w.results[i]
	st := w.states[i]
	variant := l.variants[w.variant]
	res.slate = res.slate[:0]
	res.step = trajectory.Step{}
	res.turns = res.turns[:0]
	if l.cfg.Returning != nil {
		res.active = l.cfg.Returning.Returns(st, round)
	} else {
		res.active = st.Active(round)
	}
	if !res.active {
		return nil
	}
	if l.cfg.Conversation != nil {
		return l.converse(ctx, w, i, round)
	}
	req := recommenders.Request{User: st.Persona.ID, Round: round, K: l.cfg.SlateSize, History: w.history[i]}
	// A search goes out with the persona's next visit: the query is the
	// page it lands on after the slate that failed it, and each visit stays
	// one request, one slate and one step.
	if q := w.queries[i]; q != "" {
		req.Context = map[string]string{"query": q}
		w.queries[i] = ""
	}
	satisfaction := 0.0
	if l.cfg.Returning != nil {
		defer func() { l.cfg.Returning.Visited(st, round, satisfaction) }()
	}
	var slate recommenders.Slate
	res.step.WallLatencyUS, res.step.Error = callRecommender(ctx, variant.Timeout, func(ctx context.Context) (err error) {
		slate, err = w.impl.Recommend(ctx, req)
		return err
	})
	if res.step.Error != nil {
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
	satisfaction = d.Utility
	res.step.Query = d.Query
	w.queries[i] = d.Query
	res.step.Exited = d.Exit
	res.step.Feedback = d.Feedback
	res.step.Hallucinations = d.Hallucinations
	return nil
}

// callRecommender makes one call of a variant's recommender under its
// timeout (0: none) and returns the call's wall time and, when it failed,
// the failure as the trajectory records it: a timeout or an error.
func callRecommender(ctx context.Context, timeout time.Duration, call func(context.Context) error) (latencyUS int64, failure *trajectory.StepError) {
	callCtx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		callCtx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	start := time.Now()
	err := call(callCtx)
	latencyUS = time.Since(start).Microseconds()
	switch {
	case err == nil:
		return latencyUS, nil
	case callCtx.Err() != nil && ctx.Err() == nil, errors.Is(err, context.DeadlineExceeded):
		return latencyUS, &trajectory.StepError{Kind: trajectory.ErrorKindTimeout, Message: err.Error()}
	}
	return latencyUS, &trajectory.StepError{Kind: trajectory.ErrorKindError, Message: err.Error()}
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
// persona), feeds each world its round of feedback, and extends the
// histories recommenders will see next round.
func (l *loop) finishRound(ctx context.Context, round int) error {
	for _, w := range l.worlds {
		w.feedback = w.feedback[:0]
	}
	err := l.eachSlot(func(w *world, i int) error {
		res := &w.results[i]
		if !res.active {
			return nil
		}
		if l.cfg.Conversation != nil {
			return l.emitDialogue(w, i, round)
		}
		step := res.step
		step.Slate = res.slate
		ev := trajectory.Event{Kind: trajectory.KindStep, Variant: l.variants[w.variant].Name, Round: round,
			Persona: w.states[i].Persona.ID, Step: &step}
		if err := l.emit(&ev); err != nil {
			return err
		}
		l.sum.Steps++
		for rank, sh := range res.slate {
			w.feedback = append(w.feedback, recommenders.Feedback{User: ev.Persona, Round: round, Item: sh.Item,
				Rank: rank + 1, Clicked: sh.Clicked, Rating: sh.Rating, Stage: sh.Stage, Dwell: sh.Dwell, Bounced: sh.Bounced})
			if sh.Clicked {
				w.history[i] = append(w.history[i], recommenders.HistoryItem{Item: sh.Item, Round: round, Rating: sh.Rating})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.observe(ctx, round)
	return l.flush()
}

// observe hands each world its round of feedback. Worlds are independent,
// so they learn in parallel. The round's steps are already written, so an
// interrupt must not leave a recommender without the feedback they record.
func (l *loop) observe(ctx context.Context, round int) {
	ctx = context.WithoutCancel(ctx)
	var g errgroup.Group
	g.SetLimit(l.cfg.Concurrency)
	for _, w := range l.worlds {
		w.observeFailed = false
		if len(w.feedback) == 0 {
			continue
		}
		g.Go(func() error {
			if err := w.impl.Observe(ctx, w.feedback); err != nil {
				w.observeFailed = true
				l.cfg.Logger.Warn("recommender failed to observe feedback", "variant", l.variants[w.variant].Name, "round", round, "err", err)
			}
			return nil
		})
	}
	_ = g.Wait()
	for _, w := range l.worlds {
		if w.observeFailed {
			l.sum.ObserveErrors[l.variants[w.variant].Name]++
		}
	}
}
