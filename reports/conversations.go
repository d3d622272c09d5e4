package reports

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/trajectory"
)

// conversational reports whether the results are a conversational run's:
// personas held dialogues instead of browsing slates.
func conversational(r *metrics.Results) bool {
	return slices.ContainsFunc(r.Variants, func(v metrics.VariantResult) bool { return v.Conversation != nil })
}

// conversationsBlock is the report's section on dialogues: the curves over
// turns, why dialogues failed, and what users and recommenders got wrong.
type conversationsBlock struct {
	Charts   []chart
	Variants []string
	Quits    []countRow
	Counts   []countRow
}

// countRow is one count per variant, with what it means.
type countRow struct {
	Label, Explain string
	Cells          []string
}

// conversationsFor draws success and recall by turn, one line per variant,
// and tabulates the quit reasons and the counts; nil for a run without
// dialogues.
func conversationsFor(s *chartSet, r *metrics.Results) *conversationsBlock {
	if !conversational(r) {
		return nil
	}
	cb := &conversationsBlock{}
	var convs []*metrics.ConversationResult
	for i := range r.Variants {
		if c := r.Variants[i].Conversation; c != nil {
			cb.Variants = append(cb.Variants, r.Variants[i].Name)
			convs = append(convs, c)
		}
	}
	first := len(s.charts)
	for _, curve := range []struct {
		name string
		pick func(*metrics.ConversationResult) []metrics.Float
	}{
		{metrics.SuccessAtTurn, func(c *metrics.ConversationResult) []metrics.Float { return c.SuccessAtTurn }},
		{metrics.RecallAtTurn, func(c *metrics.ConversationResult) []metrics.Float { return c.RecallAtTurn }},
	} {
		ss := make([]series, len(convs))
		for k, c := range convs {
			ss[k] = series{Name: cb.Variants[k], Values: curve.pick(c)}
		}
		info, text := infoFor(curve.name), textFor(curve.name, r.Definitions)
		s.lineChartOver(chart{ID: s.nextID(curve.name), Title: info.label, Explain: text.explain, Good: text.good},
			info, text.unit, ss, false, turnsAxis(seriesRounds(ss)))
	}
	cb.Charts = slices.Clone(s.charts[first:])
	cb.Quits = quitRows(convs)
	cb.Counts = countRows(convs)
	return cb
}

func turnsAxis(turns int) lineAxis {
	labels := make([]string, turns)
	for t := range labels {
		labels[t] = strconv.Itoa(t + 1)
	}
	return lineAxis{"recommender turn", "Turn", labels}
}

// quitReasons explains the simulator's quit reasons (trajectory.Quit*).
var quitReasons = map[string]string{
	trajectory.QuitPatience:   "the persona's patience ran out",
	trajectory.QuitMaxTurns:   "the scenario's turn limit was reached",
	trajectory.QuitGaveUp:     "the persona left on its own",
	trajectory.QuitError:      "the recommender or the user failed",
	trajectory.QuitWrongPick:  "the persona accepted an item that does not meet its need",
	trajectory.QuitNoProposal: "the recommender proposed nothing",
}

// quitRows counts each quit reason per variant, with its share of the
// variant's dialogues.
func quitRows(convs []*metrics.ConversationResult) []countRow {
	reasons := map[string]bool{}
	for _, c := range convs {
		for reason := range c.QuitReasons {
			reasons[reason] = true
		}
	}
	var rows []countRow
	for _, reason := range slices.Sorted(maps.Keys(reasons)) {
		row := countRow{Label: reason, Explain: quitReasons[reason]}
		for _, c := range convs {
			row.Cells = append(row.Cells, shareOf(c.QuitReasons[reason], c.Dialogues))
		}
		rows = append(rows, row)
	}
	return rows
}

// countRows are what users and recommenders got wrong, per variant.
func countRows(convs []*metrics.ConversationResult) []countRow {
	counts := []struct {
		label, explain string
		n, of          func(*metrics.ConversationResult) int
	}{
		{"Dialogues", "", func(c *metrics.ConversationResult) int { return c.Dialogues }, nil},
		{"Successes", "the persona accepted an item that meets its need",
			func(c *metrics.ConversationResult) int { return c.Successes }, func(c *metrics.ConversationResult) int { return c.Dialogues }},
		{"Wrong picks", "the persona accepted an item that does not meet its need: an over-cooperative user",
			func(c *metrics.ConversationResult) int { return c.WrongPicks }, func(c *metrics.ConversationResult) int { return c.Dialogues }},
		{"User turns with leaks", "the user named a catalog title the recommender had not proposed, giving the answer away",
			func(c *metrics.ConversationResult) int { return c.LeakTurns }, func(c *metrics.ConversationResult) int { return c.UserTurns }},
		{"Titles leaked", "", func(c *metrics.ConversationResult) int { return c.Leaks }, nil},
		{"Hallucinated ids", "ids a language-model user accepted that were never proposed",
			func(c *metrics.ConversationResult) int { return c.Hallucinations }, nil},
		{"Replies with unknown ids", "replies rejected for proposing an item the catalog does not have",
			func(c *metrics.ConversationResult) int { return c.UnknownIDs }, func(c *metrics.ConversationResult) int { return c.RecommenderTurns }},
		{"Items proposed", "", func(c *metrics.ConversationResult) int { return c.Proposed }, nil},
		{"Titles matched", "titles in text-only replies that matched a catalog item",
			func(c *metrics.ConversationResult) int { return c.MatchedTitles }, nil},
		{"Titles unmatched", "titles in text-only replies that matched no catalog item",
			func(c *metrics.ConversationResult) int { return c.UnmatchedTitles }, nil},
	}
	rows := make([]countRow, len(counts))
	for k, ct := range counts {
		rows[k] = countRow{Label: ct.label, Explain: ct.explain}
		for _, c := range convs {
			cell := strconv.Itoa(ct.n(c))
			if ct.of != nil {
				cell = shareOf(ct.n(c), ct.of(c))
			}
			rows[k].Cells = append(rows[k].Cells, cell)
		}
	}
	return rows
}

// shareOf prints a count with its share of a total: "2 (33.3%)".
func shareOf(n, of int) string {
	if of == 0 {
		return strconv.Itoa(n)
	}
	return fmt.Sprintf("%d (%s)", n, formatPercent(float64(n)/float64(of)))
}

// conversationGroup is the terminal table of a conversational run: its
// headline metrics, the replies that failed, and what users gave away.
func conversationGroup(r *metrics.Results) tableGroup {
	var cols []column
	for _, name := range headlineNamesOf(r) {
		cols = append(cols, metricColumn(name))
	}
	cols = append(cols,
		column{header: "Success by last turn ↑", cell: func(v *metrics.VariantResult) string {
			if v.Conversation == nil || len(v.Conversation.SuccessAtTurn) == 0 {
				return undefined
			}
			return formatPercent(float64(v.Conversation.SuccessAtTurn[len(v.Conversation.SuccessAtTurn)-1]))
		}},
		column{header: "Dialogues", cell: func(v *metrics.VariantResult) string {
			if v.Conversation == nil {
				return undefined
			}
			return strconv.Itoa(v.Conversation.Dialogues)
		}},
		column{header: "Failed replies", cell: func(v *metrics.VariantResult) string {
			e := v.Errors
			return fmt.Sprintf("%d/%d/%d\nof %d", e.Errors, e.Timeouts, e.Invalid, e.Calls)
		}},
		column{header: "Failure rate ↓", cell: func(v *metrics.VariantResult) string {
			if v.Errors.Calls == 0 {
				return undefined
			}
			return formatPercent(float64(v.Errors.Rate))
		}},
	)
	return tableGroup{
		title: "Conversations",
		notes: "Success = the persona accepted an item that meets its need; turns = recommender replies; " +
			"pass^k = chance that k dialogues of one persona all succeed; leak rate = user turns naming a title never proposed; " +
			"failed replies = errors/timeouts/invalid (unknown ids) of all replies.",
		cols: cols,
	}
}
