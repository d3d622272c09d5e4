package reports

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/trajectory"
)

// DefaultPersonaSample is how many personas the drill-down shows when
// HTMLOptions.PersonaSample is 0.
const DefaultPersonaSample = 12

// worstExplanations bounds the worst-scored explanations listed per judge;
// only those scoring below goodScore on average, or with a violation, count.
const (
	worstExplanations = 6
	goodScore         = 4
)

// Opener opens one of a run's files for a streaming read.
type Opener func() (io.ReadCloser, error)

// HTMLOptions adds to the results what only the run directory holds.
type HTMLOptions struct {
	// Trajectories opens trajectories.jsonl (nil: no persona drill-down).
	Trajectories Opener
	// Verdicts opens verdicts.jsonl (nil: no worst-scored explanations).
	Verdicts Opener
	// Fidelity opens fidelity.json from recloop fidelity (nil: no section).
	Fidelity Opener
	// Titles names items in the drill-down (nil: items show their ids).
	Titles func(id string) string
	// PersonaSample is how many personas the drill-down shows; 0 means
	// DefaultPersonaSample. The sample is drawn with the run's seed.
	PersonaSample int
	// Logger is told which sections were left out and why; nil discards it.
	Logger *slog.Logger
}

// eachEvent streams the events of a file. A truncated last line (a killed
// run leaves one) ends the stream quietly; everything before it is whole.
// When keep is not nil, only the lines it accepts are decoded: a report
// keeps a dozen personas of thousands and a few verdicts of millions, and
// decoding is what a large run's report would otherwise spend its time on.
func eachEvent(open Opener, keep func(line []byte) bool, f func(*trajectory.Event) error) error {
	rc, err := open()
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	defer rc.Close()
	var in io.Reader = rc
	if keep != nil {
		in = &lineFilter{br: bufio.NewReaderSize(rc, 1<<16), keep: keep}
	}
	if err := trajectory.ReadAll(in, sinkFunc(f)); err != nil {
		return fmt.Errorf("reports: read events: %w", err)
	}
	return nil
}

// aboutPersonas keeps the lines about the given personas and the lines
// about no persona (the run's start and end).
func aboutPersonas(ids map[string]bool) func([]byte) bool {
	quoted := make(map[string]bool, len(ids))
	for id := range ids {
		// The same escaping as the trajectory writer's (HTML-safe JSON).
		q, _ := json.Marshal(id)
		quoted[string(q)] = true
	}
	return func(line []byte) bool {
		id := personaField(line)
		return id == nil || quoted[string(id)]
	}
}

var (
	scoresKey     = []byte(`"scores":{`)
	violationsKey = []byte(`"violations":[`)
)

// mayBeBadVerdict keeps a verdict line unless it surely scores goodScore or
// more on every dimension without a violation; a line it cannot read is
// kept, for the decoder to judge.
func mayBeBadVerdict(line []byte) bool {
	if bytes.Contains(line, violationsKey) {
		return true
	}
	i := bytes.Index(line, scoresKey)
	if i < 0 {
		return true
	}
	rest := line[i+len(scoresKey):]
	for {
		// "dimension":number, … }
		rest = bytes.TrimLeft(rest, " ")
		if len(rest) == 0 {
			return true
		}
		if rest[0] == '}' {
			return false
		}
		if rest[0] == ',' {
			rest = rest[1:]
			continue
		}
		name := quotedPrefix(rest)
		if name == nil || len(rest) <= len(name) || rest[len(name)] != ':' {
			return true
		}
		rest = rest[len(name)+1:]
		end := bytes.IndexAny(rest, ",}")
		if end < 0 {
			return true
		}
		score, err := strconv.ParseFloat(string(bytes.TrimSpace(rest[:end])), 64)
		if err != nil || score < goodScore {
			return true
		}
		rest = rest[end:]
	}
}

var personaKey = []byte(`"persona":`)

// personaField is the JSON-quoted value of an event line's top-level
// "persona" key, or nil when it has none. Inside a JSON string every quote
// is escaped, so the first `"persona":` is the key itself.
func personaField(line []byte) []byte {
	i := bytes.Index(line, personaKey)
	if i < 0 {
		return nil
	}
	return quotedPrefix(line[i+len(personaKey):])
}

// quotedPrefix is the JSON string that b starts with, quotes included, or
// nil when b does not start with a whole one.
func quotedPrefix(b []byte) []byte {
	if len(b) == 0 || b[0] != '"' {
		return nil
	}
	for j := 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return b[:j+1]
		}
	}
	return nil
}

// lineFilter passes on only the lines keep accepts.
type lineFilter struct {
	br      *bufio.Reader
	keep    func(line []byte) bool
	pending []byte
	long    []byte
	err     error
}

func (f *lineFilter) Read(p []byte) (int, error) {
	for len(f.pending) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		chunk, err := f.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			f.long = append(f.long, chunk...)
			continue
		}
		line := chunk
		if len(f.long) > 0 {
			f.long = append(f.long, chunk...)
			line = f.long
		}
		if err != nil {
			f.err = err
		}
		if len(line) > 0 && f.keep(line) {
			f.pending = append(f.pending[:0], line...)
		}
		f.long = f.long[:0]
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

type sinkFunc func(*trajectory.Event) error

func (f sinkFunc) Write(ev *trajectory.Event) error { return f(ev) }

// personaView is one sampled persona, as the drill-down shows it.
type personaView struct {
	ID, Name, Description, Archetype string
	Segments                         []string
	History                          int
	JoinRound                        int
	Variants                         []personaVariant
}

// personaVariant is the persona's trajectory in one variant's world: the
// slates it saw, or in a conversational run its dialogues.
type personaVariant struct {
	Variant   string
	Steps     []personaStep
	Dialogues []dialogueView
	Drift     string
	Exit      string
	Interview *trajectory.Interview
}

// dialogueView is one dialogue, turn by turn, and how it ended.
type dialogueView struct {
	Round   int
	Turns   []turnView
	Ended   bool
	Success bool
	// Item is the accepted item's title, Quit why a dialogue without
	// success ended, Took its recommender turns.
	Item, Quit string
	Took       int
}

// turnView is one utterance as the drill-down shows it.
type turnView struct {
	Recommender bool
	Text, Act   string
	Error       string
	// Accepted is the title the user took.
	Accepted string
	Items    []proposedView
	// Leaks are the titles the user named that had not been proposed;
	// Unmatched the titles of a text-only reply that matched no item;
	// UnknownIDs the ids the catalog does not have.
	Leaks, Unmatched, UnknownIDs []string
}

type proposedView struct {
	id, Title, Explanation string
	// Fits when accepting it would have been a success, Meets when it
	// meets the need's hard constraints only.
	Fits, Meets, Accepted bool
}

type personaStep struct {
	Round    int
	Feedback string
	Error    string
	Exited   bool
	Items    []shownView
}

type shownView struct {
	Title, Explanation, Reason string
	Clicked, Examined          bool
	Rating                     string
}

// runInfo is what the run event says that results.json does not.
type runInfo struct {
	Tool, Behaviour string
	SlateSize       int
}

// samplePersonas picks n persona ids by the smallest seeded hash, so the
// sample depends only on the seed and the ids, not on their order.
func samplePersonas(seed uint64, ids []string, n int) []string {
	type scored struct {
		id  string
		key uint64
	}
	all := make([]scored, len(ids))
	for i, id := range ids {
		all[i] = scored{id, rng.Key(seed, rng.PurposeSample, rng.StringKey("report"), rng.StringKey(id))}
	}
	slices.SortFunc(all, func(a, b scored) int { return cmp.Or(cmp.Compare(a.key, b.key), strings.Compare(a.id, b.id)) })
	all = all[:min(n, len(all))]
	// Shown in the run's order of ids.
	slices.SortFunc(all, func(a, b scored) int { return strings.Compare(a.id, b.id) })
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = s.id
	}
	return out
}

// readPersonas streams trajectories.jsonl and keeps only the sampled
// personas' events. It returns the sample, the population it came from,
// and the run event's facts.
func readPersonas(r *metrics.Results, o HTMLOptions) (views []personaView, population int, info runInfo, err error) {
	ids := r.PersonaIDs
	if len(ids) == 0 {
		err = eachEvent(o.Trajectories, nil, func(ev *trajectory.Event) error {
			if ev.Kind == trajectory.KindPersona {
				ids = append(ids, ev.Persona)
			}
			return nil
		})
		if err != nil {
			return nil, 0, info, err
		}
	}
	n := o.PersonaSample
	if n <= 0 {
		n = DefaultPersonaSample
	}
	sample := samplePersonas(r.Seed, ids, n)
	index := make(map[string]int, len(sample))
	keep := make(map[string]bool, len(sample))
	views = make([]personaView, len(sample))
	for i, id := range sample {
		index[id] = i
		keep[id] = true
		views[i] = personaView{ID: id}
	}
	variantIdx := map[string]int{}
	for i := range r.Variants {
		variantIdx[r.Variants[i].Name] = i
	}
	title := o.Titles
	if title == nil {
		title = func(id string) string { return id }
	}
	pv := func(p *personaView, variant string) *personaVariant {
		for k := range p.Variants {
			if p.Variants[k].Variant == variant {
				return &p.Variants[k]
			}
		}
		p.Variants = append(p.Variants, personaVariant{Variant: variant})
		return &p.Variants[len(p.Variants)-1]
	}
	err = eachEvent(o.Trajectories, aboutPersonas(keep), func(ev *trajectory.Event) error {
		if ev.Kind == trajectory.KindRun && ev.Run != nil {
			info = runInfo{Tool: ev.Run.Tool, Behaviour: ev.Run.Behaviour, SlateSize: ev.Run.SlateSize}
			return nil
		}
		k, ok := index[ev.Persona]
		if !ok {
			return nil
		}
		p := &views[k]
		switch {
		case ev.Kind == trajectory.KindPersona && ev.Profile != nil:
			pr := ev.Profile
			p.Name, p.Description, p.Archetype = pr.Name, pr.Description, pr.Archetype
			p.Segments, p.History, p.JoinRound = slices.Clone(pr.Segments), len(pr.History), pr.JoinRound
		case ev.Kind == trajectory.KindStep && ev.Step != nil:
			st := ev.Step
			ps := personaStep{Round: ev.Round, Feedback: st.Feedback, Exited: st.Exited}
			if st.Error != nil {
				ps.Error = st.Error.Kind + ": " + st.Error.Message
			}
			for _, s := range st.Slate {
				sv := shownView{Title: title(s.Item), Explanation: s.Explanation, Reason: s.Reason, Clicked: s.Clicked, Examined: s.Examined}
				if s.Clicked && s.Rating > 0 {
					sv.Rating = strconv.FormatFloat(s.Rating, 'f', -1, 64)
				}
				ps.Items = append(ps.Items, sv)
			}
			v := pv(p, ev.Variant)
			v.Steps = append(v.Steps, ps)
		case ev.Kind == trajectory.KindTurn && ev.Turn != nil:
			addTurn(pv(p, ev.Variant), ev.Round, ev.Turn, title)
		case ev.Kind == trajectory.KindPersonaEnd && ev.PersonaEnd != nil:
			v := pv(p, ev.Variant)
			pe := ev.PersonaEnd
			if len(v.Dialogues) > 0 {
				// A conversation's persona neither drifts nor leaves: what
				// matters is how its dialogues went.
				won := 0
				for _, d := range v.Dialogues {
					if d.Success {
						won++
					}
				}
				v.Exit = fmt.Sprintf("%d of %d dialogues succeeded", won, len(v.Dialogues))
				break
			}
			v.Drift = formatNumber(pe.TasteDrift)
			v.Exit = "stayed to the end"
			if pe.ExitRound >= 0 {
				v.Exit = fmt.Sprintf("left after round %d", pe.ExitRound)
			}
			v.Interview = pe.Interview
		}
		return nil
	})
	if err != nil {
		return nil, 0, info, err
	}
	for i := range views {
		slices.SortStableFunc(views[i].Variants, func(a, b personaVariant) int {
			ia, oka := variantIdx[a.Variant]
			ib, okb := variantIdx[b.Variant]
			if oka && okb {
				return cmp.Compare(ia, ib)
			}
			return strings.Compare(a.Variant, b.Variant)
		})
	}
	return views, len(ids), info, nil
}

// addTurn appends a turn to the persona's open dialogue in the variant, or
// opens one: a dialogue's turns are written together, from index 0.
func addTurn(v *personaVariant, round int, tu *trajectory.Turn, title func(string) string) {
	if tu.Index == 0 || len(v.Dialogues) == 0 || v.Dialogues[len(v.Dialogues)-1].Ended {
		v.Dialogues = append(v.Dialogues, dialogueView{Round: round})
	}
	d := &v.Dialogues[len(v.Dialogues)-1]
	tv := turnView{Recommender: tu.Role == trajectory.RoleRecommender, Text: tu.Text, Act: tu.Act,
		Unmatched: tu.Unmatched, UnknownIDs: tu.UnknownIDs}
	if tu.Error != nil {
		tv.Error = tu.Error.Kind + ": " + tu.Error.Message
	}
	for _, it := range tu.Items {
		tv.Items = append(tv.Items, proposedView{id: it.Item, Title: title(it.Item), Explanation: it.Explanation, Fits: it.Relevant, Meets: it.Satisfies})
	}
	for _, id := range tu.Leaks {
		tv.Leaks = append(tv.Leaks, title(id))
	}
	if tu.Accepted != "" {
		tv.Accepted = title(tu.Accepted)
		d.markAccepted(tu.Accepted)
	}
	d.Turns = append(d.Turns, tv)
	if e := tu.End; e != nil {
		d.Ended, d.Success, d.Quit, d.Took = true, e.Success, e.Quit, e.Turns
		if e.Item != "" {
			d.Item = title(e.Item)
		}
	}
}

// markAccepted marks the latest proposal of the accepted item.
func (d *dialogueView) markAccepted(id string) {
	for k := len(d.Turns) - 1; k >= 0; k-- {
		items := d.Turns[k].Items
		if j := slices.IndexFunc(items, func(p proposedView) bool { return p.id == id }); j >= 0 {
			items[j].Accepted = true
			return
		}
	}
}

// scoredExplanation is one judged explanation with its judge's reason.
type scoredExplanation struct {
	Judge, Variant, Persona, Item string
	Round, Rank                   int
	Mean                          float64
	Score, Scores, Reason         string
	Explanation                   string
}

// stepKey finds a shown item in trajectories.jsonl.
type stepKey struct {
	variant, persona string
	round, rank      int
}

// readWorstExplanations keeps, per judge, the lowest-scored verdicts (mean
// over dimensions; ties broken by variant, persona, round, rank), then looks
// their explanations up in trajectories.jsonl.
func readWorstExplanations(o HTMLOptions) ([]scoredExplanation, error) {
	byJudge := map[string][]scoredExplanation{}
	less := func(a, b scoredExplanation) int {
		return cmp.Or(cmp.Compare(a.Mean, b.Mean), strings.Compare(a.Variant, b.Variant),
			strings.Compare(a.Persona, b.Persona), cmp.Compare(a.Round, b.Round), cmp.Compare(a.Rank, b.Rank))
	}
	err := eachEvent(o.Verdicts, mayBeBadVerdict, func(ev *trajectory.Event) error {
		vr := ev.Verdict
		if ev.Kind != trajectory.KindVerdict || vr == nil || len(vr.Scores) == 0 {
			return nil
		}
		dims := slices.Sorted(maps.Keys(vr.Scores))
		var sum float64
		for _, d := range dims {
			sum += vr.Scores[d]
		}
		parts := make([]string, len(dims))
		for i, d := range dims {
			parts[i] = d + " " + formatNumber(vr.Scores[d])
		}
		se := scoredExplanation{Judge: vr.Judge, Variant: ev.Variant, Persona: ev.Persona, Item: vr.Item,
			Round: ev.Round, Rank: vr.Rank, Mean: sum / float64(len(dims)), Scores: strings.Join(parts, ", "), Reason: vr.Reason}
		se.Score = formatNumber(se.Mean)
		// Explanations the rubric calls good are no example of a problem.
		if se.Mean >= goodScore && len(vr.Violations) == 0 {
			return nil
		}
		list := append(byJudge[vr.Judge], se)
		slices.SortStableFunc(list, less)
		byJudge[vr.Judge] = list[:min(len(list), worstExplanations)]
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []scoredExplanation
	for _, j := range slices.Sorted(maps.Keys(byJudge)) {
		out = append(out, byJudge[j]...)
	}
	if len(out) == 0 || o.Trajectories == nil {
		return out, nil
	}
	want := map[stepKey][]int{}
	personas := map[string]bool{}
	for i, se := range out {
		k := stepKey{se.Variant, se.Persona, se.Round, se.Rank}
		want[k] = append(want[k], i)
		personas[se.Persona] = true
	}
	err = eachEvent(o.Trajectories, aboutPersonas(personas), func(ev *trajectory.Event) error {
		if ev.Kind != trajectory.KindStep || ev.Step == nil {
			return nil
		}
		for rank := 1; rank <= len(ev.Step.Slate); rank++ {
			for _, i := range want[stepKey{ev.Variant, ev.Persona, ev.Round, rank}] {
				out[i].Explanation = ev.Step.Slate[rank-1].Explanation
			}
		}
		return nil
	})
	return out, err
}
