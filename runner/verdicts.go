package runner

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/trajectory"
)

// groundingJudge is the free judge whose passes are stored as counts.
const groundingJudge = "grounding"

// compactVerdicts writes verdicts.jsonl with the grounding judge's passes
// (no violation, every score 4 or more) counted per variant, round,
// segment and scores instead of one line each: they are most of a large
// run's verdicts and say nothing one by one. Failures, and every other
// judge's verdicts, are written in full. The aggregator still sees every
// verdict, so results are the same either way.
type compactVerdicts struct {
	w       *trajectory.Writer
	segment map[string]string // persona → first segment label
	counts  map[passKey]int
	scores  map[passKey]map[string]float64
	// variants orders the variants as the run does.
	variants map[string]int
	// single caches the keys of one-dimension scores (the grounding
	// judge's), which every explanation of a large run would otherwise
	// spell out again.
	single map[string]map[float64]string
}

type passKey struct {
	variant string
	round   int
	segment string
	scores  string // the scores, canonically
}

func newCompactVerdicts(w *trajectory.Writer, segment map[string]string, variants []string) *compactVerdicts {
	c := &compactVerdicts{w: w, segment: segment, counts: map[passKey]int{}, scores: map[passKey]map[string]float64{},
		variants: map[string]int{}, single: map[string]map[float64]string{}}
	for i, v := range variants {
		c.variants[v] = i
	}
	return c
}

func (c *compactVerdicts) Write(ev *trajectory.Event) error {
	vr := ev.Verdict
	if ev.Kind != trajectory.KindVerdict || vr == nil || vr.Judge != groundingJudge || !passed(vr) {
		return c.w.Write(ev)
	}
	key := passKey{variant: ev.Variant, round: ev.Round, segment: c.segment[ev.Persona], scores: c.scoresKey(vr.Scores)}
	if c.counts[key] == 0 {
		c.scores[key] = maps.Clone(vr.Scores)
	}
	c.counts[key]++
	return nil
}

// passed is what the report calls a good explanation: no violation and no
// score below 4.
func passed(vr *trajectory.VerdictRecord) bool {
	if len(vr.Violations) > 0 {
		return false
	}
	for _, s := range vr.Scores {
		if s < 4 {
			return false
		}
	}
	return true
}

func (c *compactVerdicts) scoresKey(scores map[string]float64) string {
	if len(scores) != 1 {
		return canonical(scores)
	}
	for dim, score := range scores {
		byScore := c.single[dim]
		if byScore == nil {
			byScore = map[float64]string{}
			c.single[dim] = byScore
		}
		key, ok := byScore[score]
		if !ok {
			key = canonical(scores)
			byScore[score] = key
		}
		return key
	}
	return ""
}

func canonical(scores map[string]float64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(scores)) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(scores[k], 'g', -1, 64))
		b.WriteByte(';')
	}
	return b.String()
}

// finish writes the counts, in variant, round, segment and scores order.
func (c *compactVerdicts) finish() error {
	keys := slices.Collect(maps.Keys(c.counts))
	slices.SortFunc(keys, func(a, b passKey) int {
		return cmp.Or(cmp.Compare(c.variants[a.variant], c.variants[b.variant]), cmp.Compare(a.round, b.round),
			strings.Compare(a.segment, b.segment), strings.Compare(a.scores, b.scores))
	})
	for _, k := range keys {
		ev := trajectory.Event{V: trajectory.SchemaVersion, Kind: trajectory.KindVerdict, Variant: k.variant, Round: k.round,
			Verdict: &trajectory.VerdictRecord{Judge: groundingJudge, Scores: c.scores[k], Passes: c.counts[k], Segment: k.segment}}
		if err := c.w.Write(&ev); err != nil {
			return err
		}
	}
	return c.w.Flush()
}
