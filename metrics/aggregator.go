package metrics

import (
	"fmt"
	"math"
	"slices"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/trajectory"
)

// Aggregator consumes a run's trajectory events one at a time and keeps
// per-(variant, persona) and per-(variant, round) accumulators, never the
// events themselves. It implements trajectory.Sink. It is not safe for
// concurrent use: the simulator writes events from one goroutine.
type Aggregator struct {
	cat *catalog.Catalog
	cfg Config

	run    *trajectory.RunInfo
	ended  bool
	runEnd trajectory.RunEnd

	personas   []*persona
	personaIdx map[string]int32

	variants   []*variantState
	variantIdx map[string]int

	// frozen is set at the first step or persona_end: from then on the
	// homogenisation pairs and the exposure groups are fixed.
	frozen bool
	pairs  pairPlan
	groups int

	items   itemTable
	numCats int

	// outcomes is the run's funnel and returning; metrics and headline are
	// the per-persona metrics and the headline order they make.
	outcomes outcomeConfig
	metrics  []personaMetric
	headline []string

	// per-step scratch, reused to keep the hot path allocation-free
	known       []int32
	knownPos    []int32
	q           []float64
	touched     []int32
	featSum     []float64
	featSelf    float64
	featTouched []int32
}

// persona is what the aggregator keeps from a persona event, shared by all
// variants.
type persona struct {
	segments  []string
	joinRound int
	cold      bool
	seed      []int32 // distinct known seed-history items, ascending
	seedCats  []catWeight
	seedTotal float64
	stated    []int32 // features with positive weight in the stated interests
	latent    []int32 // features with positive weight in the latent interests
	// origin is the persona this one replays (replicates), else itself.
	origin int32
}

// personaState is one persona in one variant's world.
type personaState struct {
	hist      []int32 // H_u: seed history plus consumed items, ascending
	histCats  []catWeight
	histTotal float64

	slates, impressions, clicks, accepted int
	latentAccepted, trueHits              int
	calls, failures, newSlots             int
	means                                 [numPersonaMeans]meanAcc
	trend                                 leastSquares

	round      int // the round whose consumption roundCats holds, -1 if none
	roundCats  []catWeight
	lastActive int
	exitRound  int
	join       int
	out        outcomeTally
	ended      bool
	viewed     int // SlatesViewed from persona_end
	drift      float64
	conv       convTally
}

// Per-persona means, each over its own unit (slate, item, round).
const (
	pmRating             = iota // per rated click
	pmSatisfaction              // per step with consumption
	pmILD                       // per slate with k ≥ 2
	pmNovelty                   // per impression
	pmSerendipity               // per slate
	pmContentSerendipity        // per accepted item with a non-empty history
	pmCalibrationKL             // per slate with a categorised history
	pmEntropy                   // per round with categorised consumption
	pmEntropyNorm
	pmTopShare
	numPersonaMeans
)

// Per-round means, each over the slates (or persona-rounds) of the round.
const (
	rmCTR = iota
	rmAcceptance
	rmRating
	rmSatisfaction
	rmILD
	rmNovelty
	rmSerendipity
	rmContentSerendipity
	rmTrueSerendipity
	rmCalibrationKL
	rmEntropy
	rmEntropyNorm
	rmTopShare
	rmCTRCold
	rmCTRWarm
	numRoundMeans
)

type roundStats struct {
	acc                                    [numRoundMeans]meanAcc
	active, slots, newSlots, calls, failed int
	dialogues, successes                   int
	coverage, homog                        float64
}

type variantState struct {
	name, recommender string
	states            []*personaState
	rounds            []roundStats
	curRound          int

	exposure       []int32
	groupExposure  []int32 // groups × items, row g = personas with index ≡ g (mod groups)
	distinct       int
	firstShown     []int32
	newImpressions int
	newClicks      int

	errs     ErrorCounts
	lat      latencyHist
	homog    homogState
	voices   voiceState
	verdicts verdictState
	catShare categoryShareState
	conv     convVariant
}

var _ trajectory.Sink = (*Aggregator)(nil)

const maxErrorExamples = 5

// maxExposureGroups and exposureGroupCells bound the grouped bootstrap of
// coverage and Gini: at most 20 groups, so that the counters of a
// 10,000-item catalog (800 KB) stay in cache on every impression, and at
// most 2²³ group × item counters (32 MiB) per variant however large the
// catalog.
const (
	maxExposureGroups  = 20
	exposureGroupCells = 1 << 23
)

func exposureGroups(personas, items int) int {
	return max(1, min(personas, maxExposureGroups, exposureGroupCells/max(items, 1)))
}

// NewAggregator returns an aggregator over cat; cfg is completed with
// WithDefaults.
func NewAggregator(cat *catalog.Catalog, cfg Config) *Aggregator {
	a := &Aggregator{
		cat:        cat,
		cfg:        cfg.WithDefaults(),
		personaIdx: map[string]int32{},
		variantIdx: map[string]int{},
		items:      newItemTable(cat),
		numCats:    len(cat.Categories()),
		q:          make([]float64, len(cat.Categories())),
		featSum:    make([]float64, cat.NumFeatures()),
		metrics:    personaMetrics,
		headline:   headlineOrder,
	}
	return a
}

// Write consumes one event. Events are only read during the call.
func (a *Aggregator) Write(ev *trajectory.Event) error {
	switch ev.Kind {
	case trajectory.KindRun:
		return a.writeRun(ev.Run)
	case trajectory.KindPersona:
		if ev.Profile == nil {
			return fmt.Errorf("%w: persona event for %q has no profile", ErrEvent, ev.Persona)
		}
		if _, dup := a.personaIdx[ev.Persona]; dup {
			return fmt.Errorf("%w: persona %q described twice", ErrEvent, ev.Persona)
		}
		a.addPersona(ev.Persona, ev.Profile)
		return nil
	case trajectory.KindStep:
		if ev.Step == nil {
			return fmt.Errorf("%w: step event without a step", ErrEvent)
		}
		if limit := a.roundLimit(); ev.Round < 0 || ev.Round >= limit {
			return fmt.Errorf("%w: round %d outside [0, %d)", ErrEvent, ev.Round, limit)
		}
		a.freeze()
		a.step(a.variant(ev.Variant), a.personaIndex(ev.Persona), ev.Round, ev.Step)
		return nil
	case trajectory.KindPersonaEnd:
		if ev.PersonaEnd == nil {
			return fmt.Errorf("%w: persona_end event without its part", ErrEvent)
		}
		a.freeze()
		v := a.variant(ev.Variant)
		a.personaEnd(v, a.personaIndex(ev.Persona), ev.PersonaEnd)
		if ev.PersonaEnd.Interview != nil {
			v.voices.interview(ev.Persona, ev.PersonaEnd.Interview)
		}
		return nil
	case trajectory.KindVerdict:
		if ev.Verdict == nil {
			return fmt.Errorf("%w: verdict event without its part", ErrEvent)
		}
		a.verdict(a.variant(ev.Variant), a.personaIndex(ev.Persona), ev.Persona, ev.Round, ev.Verdict)
		return nil
	case trajectory.KindTurn:
		if ev.Turn == nil {
			return fmt.Errorf("%w: turn event without a turn", ErrEvent)
		}
		if !a.conversational() {
			return fmt.Errorf("%w: turn event in a run without a conversation", ErrEvent)
		}
		if limit := a.roundLimit(); ev.Round < 0 || ev.Round >= limit {
			return fmt.Errorf("%w: round %d outside [0, %d)", ErrEvent, ev.Round, limit)
		}
		a.freeze()
		a.turn(a.variant(ev.Variant), a.personaIndex(ev.Persona), ev.Round, ev.Turn)
		return nil
	case trajectory.KindRunEnd:
		a.ended = true
		if ev.RunEnd != nil {
			a.runEnd = *ev.RunEnd
		}
		return nil
	}
	return fmt.Errorf("%w: event kind %q", trajectory.ErrSchema, ev.Kind)
}

func (a *Aggregator) writeRun(run *trajectory.RunInfo) error {
	switch {
	case run == nil:
		return fmt.Errorf("%w: run event without run info", ErrEvent)
	case a.run != nil:
		return fmt.Errorf("%w: second run event", ErrEvent)
	case run.Rounds < 0 || run.Rounds > maxRounds:
		return fmt.Errorf("%w: %d rounds outside [0, %d]", ErrEvent, run.Rounds, maxRounds)
	}
	info := *run
	info.Variants = slices.Clone(run.Variants)
	a.run = &info
	a.configureOutcomes(&info)
	a.configureConversation()
	for _, vi := range info.Variants {
		a.variant(vi.Name).recommender = vi.Recommender
	}
	return nil
}

func (a *Aggregator) roundLimit() int {
	if a.run != nil && a.run.Rounds > 0 {
		return a.run.Rounds
	}
	return maxRounds
}

func (a *Aggregator) variant(name string) *variantState {
	if k, ok := a.variantIdx[name]; ok {
		return a.variants[k]
	}
	v := &variantState{name: name, curRound: -1}
	a.variantIdx[name] = len(a.variants)
	a.variants = append(a.variants, v)
	return v
}

func (a *Aggregator) addPersona(id string, pr *trajectory.Profile) int32 {
	p := &persona{
		joinRound: pr.JoinRound,
		cold:      len(pr.History) <= max(a.cfg.ColdMaxHistory, 0) || pr.JoinRound > 0,
		stated:    a.tasteFeatures(pr.Interests),
		latent:    a.tasteFeatures(pr.LatentInterests),
	}
	for _, s := range pr.Segments {
		if s != "" && !slices.Contains(p.segments, s) {
			p.segments = append(p.segments, s)
		}
	}
	slices.Sort(p.segments)
	for _, id := range pr.History {
		i, ok := a.cat.Index(id)
		if !ok {
			continue
		}
		var added bool
		if p.seed, added = insertSorted(p.seed, int32(i)); !added {
			continue
		}
		var w float64
		p.seedCats, w = addSpread(p.seedCats, a.items.categories(int32(i)))
		p.seedTotal += w
	}
	idx := int32(len(a.personas))
	p.origin = idx
	if k, ok := a.personaIdx[pr.ReplicateOf]; ok && pr.ReplicateOf != "" {
		p.origin = k
	}
	a.personas = append(a.personas, p)
	a.personaIdx[id] = idx
	return idx
}

// tasteFeatures is the set of features (category index, or number of
// categories + tag index) that t weights positively; names the catalog does
// not know are ignored.
func (a *Aggregator) tasteFeatures(t catalog.Taste) []int32 {
	var out []int32
	for name, w := range t.Categories {
		if g, ok := a.cat.CategoryIndex(name); ok && w > 0 {
			out, _ = insertSorted(out, int32(g))
		}
	}
	for name, w := range t.Tags {
		if k, ok := a.cat.TagIndex(name); ok && w > 0 {
			out, _ = insertSorted(out, int32(a.numCats+k))
		}
	}
	return out
}

// personaIndex returns the persona's index, creating an empty profile for
// a persona that had no persona event (a truncated or hand-made stream).
func (a *Aggregator) personaIndex(id string) int32 {
	if k, ok := a.personaIdx[id]; ok {
		return k
	}
	return a.addPersona(id, &trajectory.Profile{})
}

// freeze fixes the persona universe for homogenisation pairs and exposure
// groups. Persona events all precede the first step, so this is every
// persona of a well-formed run.
func (a *Aggregator) freeze() {
	if a.frozen {
		return
	}
	a.frozen = true
	a.pairs = planPairs(len(a.personas), a.cfg)
	a.groups = exposureGroups(len(a.personas), a.cat.Len())
}

func (v *variantState) round(t int) *roundStats {
	for len(v.rounds) <= t {
		v.rounds = append(v.rounds, roundStats{coverage: math.NaN(), homog: math.NaN()})
	}
	return &v.rounds[t]
}

func (a *Aggregator) state(v *variantState, pi int32) *personaState {
	if int(pi) >= len(v.states) {
		v.states = append(v.states, make([]*personaState, len(a.personas)-len(v.states))...)
	}
	if ps := v.states[pi]; ps != nil {
		return ps
	}
	p := a.personas[pi]
	ps := &personaState{
		hist:       slices.Clone(p.seed),
		histCats:   slices.Clone(p.seedCats),
		histTotal:  p.seedTotal,
		round:      -1,
		lastActive: -1,
		exitRound:  -1,
		join:       p.joinRound,
		drift:      math.NaN(),
		conv:       convTally{passK: math.NaN()},
	}
	v.states[pi] = ps
	return ps
}

// ensureExposure allocates a variant's per-item arrays on its first step.
func (a *Aggregator) ensureExposure(v *variantState) {
	if v.exposure != nil {
		return
	}
	n := a.cat.Len()
	v.exposure = make([]int32, n)
	v.groupExposure = make([]int32, a.groups*n)
	v.firstShown = make([]int32, n)
	for i := range v.firstShown {
		v.firstShown[i] = -1
	}
	v.homog = newHomogState(&a.pairs, n)
}

func (a *Aggregator) personaEnd(v *variantState, pi int32, pe *trajectory.PersonaEnd) {
	ps := a.state(v, pi)
	ps.ended = true
	ps.viewed = pe.SlatesViewed
	ps.drift = pe.TasteDrift
	if pe.ExitRound >= 0 {
		ps.exitRound = pe.ExitRound
	}
}

// advance closes variant v's rounds before t: the cumulative per-round
// metrics (coverage, homogenisation) are snapshotted at the end of each
// round, and rounds without any step carry the previous value forward.
func (a *Aggregator) advance(v *variantState, t int) {
	if t <= v.curRound {
		return
	}
	if v.curRound >= 0 {
		a.snapshot(v, v.curRound)
		for r := v.curRound + 1; r < t; r++ {
			prev := v.rounds[r-1]
			rs := v.round(r)
			rs.coverage, rs.homog = prev.coverage, prev.homog
		}
	}
	v.curRound = t
}

func (a *Aggregator) snapshot(v *variantState, t int) {
	rs := v.round(t)
	rs.coverage = float64(v.distinct) / float64(a.cat.Len())
	rs.homog = v.homog.mean(&a.pairs)
}

// finalise closes the last round of every variant and every persona's open
// round. It is idempotent, so Results may be called more than once.
func (a *Aggregator) finalise() {
	a.freeze()
	for _, v := range a.variants {
		if v.curRound >= 0 {
			a.snapshot(v, v.curRound)
		}
		for _, ps := range v.states {
			if ps != nil {
				a.flushRound(v, ps)
			}
		}
		if a.conversational() {
			a.finalisePassK(v)
		}
	}
}
