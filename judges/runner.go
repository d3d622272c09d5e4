package judges

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/trajectory"
)

// DefaultSample is how many explanations per variant the sampled (LLM)
// judges score when the scenario does not say.
const DefaultSample = 200

// Panelist is one judge on the panel. A sampled judge sees only the
// stratified sample of explanations; an unsampled one (the free grounding
// judge) sees every explanation.
type Panelist struct {
	Name    string
	Judge   Judge
	Sampled bool
}

// RunConfig bounds a judging pass.
type RunConfig struct {
	// Sample is the number of explanations per variant the sampled judges
	// score, stratified by the personas' first segment label.
	Sample      int
	Seed        uint64
	Concurrency int
	// Stop picks judge errors after which judging cannot go on (a spent
	// budget); other errors are counted and the explanation skipped.
	Stop func(error) bool
	// Logger receives a warning for every judge error that is skipped; nil
	// discards them.
	Logger *slog.Logger
}

// Summary counts what a judging pass did.
type Summary struct {
	Explanations int
	Verdicts     map[string]int
	Errors       map[string]int
	// Agreement is Krippendorff's α (ordinal) for every dimension that two
	// or more judges scored on the same explanations.
	Agreement []Agreement
}

// Agreement is how far the judges that scored one dimension agree.
type Agreement struct {
	Dimension string
	Judges    []string
	// Units is the number of explanations scored by at least two of them.
	Units int
	Alpha float64
}

// ref names one explained slot of one step.
type ref struct {
	variant int32
	persona int32
	round   int32
	rank    int32
}

type stratum struct {
	variant int32
	segment string
}

// Run runs the panel over a saved run: it reads trajectoriesPath twice
// (once to draw the sample, once to build the cases) and writes one
// verdict event per judge per judged explanation to sink, in trajectory
// order. Nothing is held but the sample, one batch of cases, and the
// verdicts of the explanations that two or more judges scored.
func Run(ctx context.Context, cat *catalog.Catalog, trajectoriesPath string, panel []Panelist, cfg RunConfig, sink trajectory.Sink) (Summary, error) {
	sum := Summary{Verdicts: map[string]int{}, Errors: map[string]int{}}
	if cfg.Sample <= 0 {
		cfg.Sample = DefaultSample
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	selected := map[ref]bool{}
	if slices.ContainsFunc(panel, func(p Panelist) bool { return p.Sampled }) {
		var err error
		if selected, err = drawSample(trajectoriesPath, cfg); err != nil {
			return sum, err
		}
	}
	b := &batchJudge{panel: panel, cfg: cfg, sink: sink, sum: &sum, errCounts: make([]int, len(panel)), dims: make([]map[string]bool, len(panel))}
	err := visitCases(cat, trajectoriesPath, panel, selected, func(c judgedCase) error {
		b.cases = append(b.cases, c)
		if len(b.cases) == judgeBatch {
			return b.flush(ctx)
		}
		return nil
	})
	if err == nil {
		err = b.flush(ctx)
	}
	for j, p := range panel {
		sum.Errors[p.Name] = b.errCounts[j]
	}
	sum.Agreement = agreement(panel, b.dims, b.multi)
	if f, ok := sink.(trajectory.Flusher); ok {
		if ferr := f.Flush(); ferr != nil && err == nil {
			err = ferr
		}
	}
	return sum, err
}

// judgeBatch bounds the cases held at once: a run's explanations are
// judged and written batch by batch, in trajectory order.
const judgeBatch = 4096

// batchJudge judges a batch of cases concurrently and writes their verdicts
// in order. Only what agreement needs outlives a batch: the explanations
// two or more judges scored.
type batchJudge struct {
	panel     []Panelist
	cfg       RunConfig
	sink      trajectory.Sink
	sum       *Summary
	cases     []judgedCase
	calls     []judgeCall
	verdicts  [][]*Verdict
	errCounts []int
	dims      []map[string]bool // per judge: the dimensions it scored
	multi     [][]*Verdict
}

// judgeCall is judge j on case i of a batch.
type judgeCall struct{ i, j int }

func (b *batchJudge) flush(ctx context.Context) error {
	defer func() { b.cases = b.cases[:0] }()
	b.sum.Explanations += len(b.cases)
	b.verdicts = slices.Grow(b.verdicts[:0], len(b.cases))[:len(b.cases)]
	// A fixed pool of workers, not a goroutine per call: most calls are
	// the grounding judge's microseconds of CPU.
	calls := b.calls[:0]
	for i := range b.cases {
		b.verdicts[i] = make([]*Verdict, len(b.panel))
		for j, p := range b.panel {
			if !p.Sampled || b.cases[i].sampled {
				calls = append(calls, judgeCall{i, j})
			}
		}
	}
	b.calls = calls
	var next atomic.Int64
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for range min(b.cfg.Concurrency, len(calls)) {
		g.Go(func() error {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(calls) {
					return nil
				}
				i, j := calls[k].i, calls[k].j
				c, p := &b.cases[i], b.panel[j]
				v, err := p.Judge.Judge(gctx, c.Case)
				if err != nil {
					if b.cfg.Stop != nil && b.cfg.Stop(err) {
						return err
					}
					if gctx.Err() != nil {
						return gctx.Err()
					}
					mu.Lock()
					b.errCounts[j]++
					mu.Unlock()
					b.cfg.Logger.Warn("judge failed", "judge", p.Name, "persona", c.Persona, "item", c.Item.ID, "err", err)
					continue
				}
				if v.Judge == "" {
					v.Judge = p.Name
				}
				b.verdicts[i][j] = &v
			}
		})
	}
	stopErr := g.Wait()
	// Verdicts already given are kept, even when judging has to stop.
	for i, c := range b.cases {
		given := 0
		for j, p := range b.panel {
			v := b.verdicts[i][j]
			if v == nil {
				continue
			}
			given++
			for dim := range v.Scores {
				if b.dims[j] == nil {
					b.dims[j] = map[string]bool{}
				}
				b.dims[j][dim] = true
			}
			ev := trajectory.Event{V: trajectory.SchemaVersion, Kind: trajectory.KindVerdict, Variant: c.Variant,
				Round: c.Round, Persona: c.Persona, Verdict: record(c.Item.ID, c.Rank, v)}
			if err := b.sink.Write(&ev); err != nil {
				return err
			}
			b.sum.Verdicts[p.Name]++
		}
		if given >= 2 {
			b.multi = append(b.multi, b.verdicts[i])
		}
	}
	if stopErr != nil {
		return fmt.Errorf("judges: stopped: %w", stopErr)
	}
	return nil
}

func record(item string, rank int, v *Verdict) *trajectory.VerdictRecord {
	r := &trajectory.VerdictRecord{Judge: v.Judge, Item: item, Rank: rank, Scores: v.Scores, Reason: v.Reason, Model: v.Model, Samples: v.Samples}
	for _, x := range v.Violations {
		r.Violations = append(r.Violations, trajectory.ViolationRecord{Kind: x.Kind, Phrase: x.Phrase, Detail: x.Detail})
	}
	return r
}

// readEvents feeds every event of the file to visit.
func readEvents(path string, visit func(*trajectory.Event) error) error {
	f, err := trajectory.Open(path)
	if err != nil {
		return fmt.Errorf("judges: %w", err)
	}
	defer f.Close()
	rd := trajectory.NewReader(f)
	for {
		ev, err := rd.Next()
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, trajectory.ErrTruncated):
			return nil
		case err != nil:
			return fmt.Errorf("judges: %s: %w", path, err)
		}
		if err := visit(ev); err != nil {
			return err
		}
	}
}

// drawSample picks cfg.Sample explained slots per variant, spread over the
// strata (the personas' first segment label) in proportion to their size
// (largest remainder), each stratum drawn with its own seeded generator.
func drawSample(path string, cfg RunConfig) (map[ref]bool, error) {
	variants := map[string]int32{}
	personas := map[string]int32{}
	var segments []string
	strata := map[stratum][]ref{}
	var ranks dialogueRanks
	err := readEvents(path, func(ev *trajectory.Event) error {
		switch ev.Kind {
		case trajectory.KindRun:
			for i, v := range ev.Run.Variants {
				variants[v.Name] = int32(i)
			}
		case trajectory.KindPersona:
			personas[ev.Persona] = int32(len(segments))
			seg := "(none)"
			if ev.Profile != nil && len(ev.Profile.Segments) > 0 {
				seg = ev.Profile.Segments[0]
			}
			segments = append(segments, seg)
		case trajectory.KindStep, trajectory.KindTurn:
			p, ok := personas[ev.Persona]
			if !ok {
				return nil
			}
			v := variants[ev.Variant]
			for _, sh := range explained(ev, &ranks) {
				s := stratum{variant: v, segment: segments[p]}
				strata[s] = append(strata[s], ref{variant: v, persona: p, round: int32(ev.Round), rank: int32(sh.rank)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	byVariant := map[int32][]stratum{}
	for s := range strata {
		byVariant[s.variant] = append(byVariant[s.variant], s)
	}
	selected := map[ref]bool{}
	for v, list := range byVariant {
		sort.Slice(list, func(i, j int) bool { return list[i].segment < list[j].segment })
		total := 0
		for _, s := range list {
			total += len(strata[s])
		}
		for i, quota := range allocate(list, strata, min(cfg.Sample, total), total) {
			refs := strata[list[i]]
			r := rng.New(rng.Key(cfg.Seed, rng.PurposeSample, uint64(v), rng.StringKey(list[i].segment)))
			for k := 0; k < quota; k++ {
				pick := k + r.IntN(len(refs)-k)
				refs[k], refs[pick] = refs[pick], refs[k]
				selected[refs[k]] = true
			}
		}
	}
	return selected, nil
}

// allocate splits n over the strata in proportion to their sizes, by the
// largest-remainder method (ties go to the earlier stratum).
func allocate(list []stratum, strata map[stratum][]ref, n, total int) []int {
	quotas := make([]int, len(list))
	if total == 0 {
		return quotas
	}
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(list))
	given := 0
	for i, s := range list {
		exact := float64(n) * float64(len(strata[s])) / float64(total)
		quotas[i] = int(exact)
		given += quotas[i]
		rems[i] = rem{i, exact - float64(quotas[i])}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; given < n && k < len(rems); k++ {
		if quotas[rems[k].i] < len(strata[list[rems[k].i]]) {
			quotas[rems[k].i]++
			given++
		}
	}
	return quotas
}

// judgedCase is a Case with whether the sampled judges see it.
type judgedCase struct {
	Case
	sampled bool
}

// visitCases rebuilds, for every explained slot that some judge must see,
// the case as the recommender saw it (the persona's visible history before
// that round), and hands it to visit in trajectory order.
func visitCases(cat *catalog.Catalog, path string, panel []Panelist, selected map[ref]bool, visit func(judgedCase) error) error {
	allSlots := slices.ContainsFunc(panel, func(p Panelist) bool { return !p.Sampled })
	variants := map[string]int32{}
	personas := map[string]int32{}
	var profiles []*trajectory.Profile
	var summaries []string
	histories := map[[2]int32][]HistoryItem{}
	var ranks dialogueRanks
	return readEvents(path, func(ev *trajectory.Event) error {
		switch ev.Kind {
		case trajectory.KindRun:
			for i, v := range ev.Run.Variants {
				variants[v.Name] = int32(i)
			}
		case trajectory.KindPersona:
			personas[ev.Persona] = int32(len(profiles))
			profiles = append(profiles, ev.Profile)
			summaries = append(summaries, summary(ev.Profile))
		case trajectory.KindStep, trajectory.KindTurn:
			p, ok := personas[ev.Persona]
			if !ok {
				return nil
			}
			key := [2]int32{variants[ev.Variant], p}
			hist, seen := histories[key]
			if !seen {
				hist = seedHistory(cat, profiles[p])
			}
			// One copy of the history per step: every case of the step shares it.
			stepHist := slices.Clip(hist)
			shown := explained(ev, &ranks)
			var slate []string
			if len(shown) > 0 {
				slate = shownItems(ev)
			}
			for _, sh := range shown {
				idx, ok := cat.Index(sh.item)
				if !ok {
					continue
				}
				r := ref{variant: key[0], persona: p, round: int32(ev.Round), rank: int32(sh.rank)}
				if !allSlots && !selected[r] {
					continue
				}
				err := visit(judgedCase{sampled: selected[r], Case: Case{
					Variant: ev.Variant, Round: ev.Round, Persona: ev.Persona,
					PersonaSummary: summaries[p], Interests: profiles[p].Interests,
					History: stepHist, Item: cat.Item(idx), ItemIndex: idx, Rank: sh.rank,
					Slate: slate, Explanation: sh.explanation,
				}})
				if err != nil {
					return err
				}
			}
			for _, c := range consumed(ev) {
				if idx, ok := cat.Index(c.Item); ok {
					hist = append(hist, HistoryItem{Item: c.Item, Title: cat.Item(idx).Title, Rating: c.Rating})
				}
			}
			histories[key] = hist
		}
		return nil
	})
}

func seedHistory(cat *catalog.Catalog, p *trajectory.Profile) []HistoryItem {
	var out []HistoryItem
	if p == nil {
		return out
	}
	for _, id := range p.History {
		if idx, ok := cat.Index(id); ok {
			out = append(out, HistoryItem{Item: id, Title: cat.Item(idx).Title})
		}
	}
	return out
}

// summary describes a persona for a judge: its own description when it has
// one, otherwise its name, archetype and strongest stated interests.
func summary(p *trajectory.Profile) string {
	if p == nil {
		return ""
	}
	if p.Description != "" {
		return p.Description
	}
	s := p.Name
	if p.Archetype != "" {
		s += " (" + p.Archetype + ")"
	}
	names := make([]string, 0, len(p.Interests.Categories))
	for name := range p.Interests.Categories {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := p.Interests.Categories[names[i]], p.Interests.Categories[names[j]]
		if a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	if len(names) > 3 {
		names = names[:3]
	}
	if len(names) > 0 {
		s += "; likes " + joinWords(names)
	}
	return s
}

func joinWords(ws []string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	out := ""
	for i, w := range ws {
		switch {
		case i == 0:
			out = w
		case i == len(ws)-1:
			out += " and " + w
		default:
			out += ", " + w
		}
	}
	return out
}

// agreement computes α per dimension over the explanations that at least
// two judges scored on it.
func agreement(panel []Panelist, scored []map[string]bool, verdicts [][]*Verdict) []Agreement {
	byDim := map[string][]int{}
	for j := range panel {
		for dim := range scored[j] {
			byDim[dim] = append(byDim[dim], j)
		}
	}
	dims := make([]string, 0, len(byDim))
	for dim, js := range byDim {
		if len(js) >= 2 {
			dims = append(dims, dim)
		}
	}
	sort.Strings(dims)
	var out []Agreement
	for _, dim := range dims {
		js := byDim[dim]
		sort.Ints(js)
		var units [][]float64
		for i := range verdicts {
			unit := make([]float64, 0, len(js))
			n := 0
			for _, j := range js {
				if v := verdicts[i][j]; v != nil {
					if score, ok := v.Scores[dim]; ok {
						unit = append(unit, score)
						n++
						continue
					}
				}
				unit = append(unit, math.NaN())
			}
			if n >= 2 {
				units = append(units, unit)
			}
		}
		a := Agreement{Dimension: dim, Units: len(units), Alpha: KrippendorffAlphaOrdinal(units)}
		for _, j := range js {
			a.Judges = append(a.Judges, panel[j].Name)
		}
		out = append(out, a)
	}
	return out
}

// explainedItem is one explained item of a step or a recommender turn,
// with its rank: its place in the slate, or, in a dialogue, its place among
// everything the dialogue proposed so far (the first turn's items are 1, 2,
// 3, the next turn's 4, 5, 6), so that (variant, persona, round, rank)
// names one explanation either way.
type explainedItem struct {
	item, explanation string
	rank              int
}

// dialogueRanks counts the items a dialogue has proposed so far; the turns
// of a dialogue come one after another, and a dialogue starts at turn 0.
type dialogueRanks struct{ proposed int }

func explained(ev *trajectory.Event, ranks *dialogueRanks) []explainedItem {
	var out []explainedItem
	if ev.Kind == trajectory.KindStep {
		for k, sh := range ev.Step.Slate {
			if sh.Explanation != "" {
				out = append(out, explainedItem{item: sh.Item, explanation: sh.Explanation, rank: k + 1})
			}
		}
		return out
	}
	if ev.Turn.Index == 0 {
		ranks.proposed = 0
	}
	for _, p := range ev.Turn.Items {
		ranks.proposed++
		if p.Explanation != "" {
			out = append(out, explainedItem{item: p.Item, explanation: p.Explanation, rank: ranks.proposed})
		}
	}
	return out
}

// shownItems lists what was shown together: a slate, or a turn's proposals.
func shownItems(ev *trajectory.Event) []string {
	var out []string
	if ev.Kind == trajectory.KindStep {
		for _, sh := range ev.Step.Slate {
			out = append(out, sh.Item)
		}
		return out
	}
	for _, p := range ev.Turn.Items {
		out = append(out, p.Item)
	}
	return out
}

// consumed is what the event adds to the persona's visible history: the
// clicked items of a step, the accepted item at a dialogue's end.
func consumed(ev *trajectory.Event) []HistoryItem {
	var out []HistoryItem
	if ev.Kind == trajectory.KindStep {
		for _, sh := range ev.Step.Slate {
			if sh.Clicked {
				out = append(out, HistoryItem{Item: sh.Item, Rating: sh.Rating})
			}
		}
		return out
	}
	if e := ev.Turn.End; e != nil && e.Item != "" {
		out = append(out, HistoryItem{Item: e.Item})
	}
	return out
}
