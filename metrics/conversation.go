package metrics

import (
	"maps"
	"math"
	"slices"

	"github.com/recloop/recloop/trajectory"
)

// Conversation metrics (scenarios with a conversation: block). Each is
// computed per persona over its dialogues and averaged, except pass^k,
// which is computed per original persona over its replicates' dialogues.
const (
	SuccessRate            = "success_rate"
	TurnsToSuccess         = "turns_to_success"
	PassK                  = "pass_k"
	ConstraintSatisfaction = "constraint_satisfaction"
	PreferenceCoverage     = "preference_coverage"
	QuitRate               = "quit_rate"
	DialogueSatisfaction   = "dialogue_satisfaction"
	LeakRate               = "leak_rate"
	// SuccessAtTurn and RecallAtTurn are series over turns, in
	// VariantResult.Conversation.
	SuccessAtTurn = "success_at_turn"
	RecallAtTurn  = "recall_at_turn"
)

// ConversationResult summarises a variant's dialogues.
type ConversationResult struct {
	Dialogues int `json:"dialogues"`
	Successes int `json:"successes"`
	// SuccessAtTurn[t-1] is the share of dialogues that succeeded within t
	// recommender turns, t = 1..max_turns.
	SuccessAtTurn []Float `json:"success_at_turn"`
	// RecallAtTurn[t-1] is the mean over dialogues of Recall@k after t
	// recommender turns: distinct relevant items proposed so far (at most
	// k) / min(k, relevant items in the catalog), k the slate size.
	RecallAtTurn []Float `json:"recall_at_turn"`
	// QuitReasons counts the dialogues that ended without success, by
	// reason (trajectory.Quit*).
	QuitReasons map[string]int `json:"quit_reasons,omitempty"`
	// UserTurns counts the users' utterances and LeakTurns those that
	// named a catalog title the recommender had not proposed; Leaks counts
	// the titles named.
	UserTurns int `json:"user_turns"`
	LeakTurns int `json:"leak_turns"`
	Leaks     int `json:"leaks"`
	// RecommenderTurns counts the recommender's replies; Proposed the
	// items they proposed; UnknownIDs the replies rejected for naming an
	// item the catalog does not have.
	RecommenderTurns int `json:"recommender_turns"`
	Proposed         int `json:"proposed"`
	UnknownIDs       int `json:"unknown_ids"`
	// MatchedTitles and UnmatchedTitles count the titles of text-only
	// replies that did and did not match a catalog item.
	MatchedTitles   int `json:"matched_titles"`
	UnmatchedTitles int `json:"unmatched_titles"`
	// WrongPicks counts accepted items that did not meet the persona's
	// need (an over-cooperative user); Hallucinations counts accepted ids
	// that were never proposed.
	WrongPicks     int `json:"wrong_picks"`
	Hallucinations int `json:"hallucinations"`
}

// quitUnstated is the quit reason of a failed dialogue whose end names none.
const quitUnstated = "unstated"

// convTally is what one persona's dialogues in one variant add up to.
type convTally struct {
	dialogues, successes int
	turnsToSuccess       meanAcc // recommender turns of successful dialogues
	proposed, satisfying int     // items proposed, and those meeting the need
	coverage             meanAcc // per dialogue with soft preferences
	satisfaction         meanAcc // per dialogue
	userTurns, leakTurns int
	passK                float64 // at the origin persona only, NaN elsewhere
	dialogue             openDialogue
}

// openDialogue is the dialogue a persona is in: the relevant items
// proposed so far, and how many of them had been proposed after each
// recommender turn.
type openDialogue struct {
	relevant []string
	recall   []int
}

func (d *openDialogue) reset() {
	d.relevant, d.recall = d.relevant[:0], d.recall[:0]
}

// convVariant is a variant's dialogues, beyond the per-persona tallies.
type convVariant struct {
	res ConversationResult
	// successesAt[t-1] counts successes that took t recommender turns.
	successesAt []int
	// recallSum[t-1] sums the dialogues' recall after t turns; recallFinal
	// sums their final recall, which a dialogue keeps after it ended.
	recallSum   []float64
	recallFinal float64
	recallN     int
}

// conversational reports whether the run is one of dialogues.
func (a *Aggregator) conversational() bool { return a.run != nil && a.run.Conversation != nil }

// configureConversation makes the conversation metrics a conversational
// run's only per-persona and headline metrics: its slate metrics would all
// be undefined.
func (a *Aggregator) configureConversation() {
	if !a.conversational() {
		return
	}
	a.metrics = conversationMetrics
	a.headline = make([]string, len(conversationMetrics))
	for k, pm := range conversationMetrics {
		a.headline[k] = pm.name
	}
}

var conversationMetrics = []personaMetric{
	{SuccessRate, func(ps *personaState) float64 { return ratio(ps.conv.successes, ps.conv.dialogues) }},
	{TurnsToSuccess, func(ps *personaState) float64 { return ps.conv.turnsToSuccess.mean() }},
	{PassK, func(ps *personaState) float64 { return ps.conv.passK }},
	{ConstraintSatisfaction, func(ps *personaState) float64 { return ratio(ps.conv.satisfying, ps.conv.proposed) }},
	{PreferenceCoverage, func(ps *personaState) float64 { return ps.conv.coverage.mean() }},
	{QuitRate, func(ps *personaState) float64 { return ratio(ps.conv.dialogues-ps.conv.successes, ps.conv.dialogues) }},
	{DialogueSatisfaction, func(ps *personaState) float64 { return ps.conv.satisfaction.mean() }},
	{LeakRate, func(ps *personaState) float64 { return ratio(ps.conv.leakTurns, ps.conv.userTurns) }},
}

// turn folds one utterance of persona pi's dialogue in round t.
func (a *Aggregator) turn(v *variantState, pi int32, t int, tu *trajectory.Turn) {
	ps := a.state(v, pi)
	rs := v.round(t)
	if ps.lastActive != t {
		ps.lastActive = t
		rs.active++
	}
	if tu.Index == 0 {
		ps.conv.dialogue.reset()
	}
	if tu.Role == trajectory.RoleRecommender {
		a.recommenderTurn(v, ps, rs, tu)
	} else {
		v.userTurn(ps, tu)
	}
	if tu.End != nil {
		a.endDialogue(v, ps, rs, tu.End)
	}
}

// recommenderTurn counts a reply as a recommender call, like a slate
// request: its latency, its failure and the items it proposed. A failed
// reply's items were dropped, so none of them count.
func (a *Aggregator) recommenderTurn(v *variantState, ps *personaState, rs *roundStats, tu *trajectory.Turn) {
	c, d := &v.conv.res, &ps.conv.dialogue
	c.RecommenderTurns++
	c.MatchedTitles += tu.Matched
	c.UnmatchedTitles += len(tu.Unmatched)
	if len(tu.UnknownIDs) > 0 {
		c.UnknownIDs++
	}
	rs.calls++
	v.errs.Calls++
	v.lat.add(tu.WallLatencyUS)
	if tu.Error != nil {
		rs.failed++
		v.countError(tu.Error)
	} else {
		for _, it := range tu.Items {
			c.Proposed++
			ps.conv.proposed++
			if it.Satisfies {
				ps.conv.satisfying++
			}
			if it.Relevant && !slices.Contains(d.relevant, it.Item) {
				d.relevant = append(d.relevant, it.Item)
			}
		}
	}
	d.recall = append(d.recall, len(d.relevant))
}

// userTurn counts an utterance, its leaks and hallucinations. A user that
// failed is the persona's failure, not the recommender's.
func (v *variantState) userTurn(ps *personaState, tu *trajectory.Turn) {
	c := &v.conv.res
	c.UserTurns++
	ps.conv.userTurns++
	c.Hallucinations += tu.Hallucinations
	if len(tu.Leaks) > 0 {
		c.LeakTurns++
		c.Leaks += len(tu.Leaks)
		ps.conv.leakTurns++
	}
	if tu.Error != nil {
		v.countError(&trajectory.StepError{Kind: trajectory.ErrorKindBehaviour, Message: tu.Error.Message})
	}
}

// endDialogue folds a finished dialogue into the persona's tallies, the
// round's success rate and the variant's curves.
func (a *Aggregator) endDialogue(v *variantState, ps *personaState, rs *roundStats, end *trajectory.DialogueEnd) {
	pc, c := &ps.conv, &v.conv.res
	pc.dialogues++
	c.Dialogues++
	rs.dialogues++
	pc.satisfaction.add(end.Satisfaction)
	if end.Preferences > 0 {
		pc.coverage.add(float64(end.Covered) / float64(end.Preferences))
	}
	if end.Success {
		pc.successes++
		c.Successes++
		rs.successes++
		pc.turnsToSuccess.add(float64(end.Turns))
		v.conv.successesAt = grow(v.conv.successesAt, max(end.Turns, 1))
		v.conv.successesAt[max(end.Turns, 1)-1]++
	} else {
		reason := end.Quit
		if reason == "" {
			reason = quitUnstated
		}
		if c.QuitReasons == nil {
			c.QuitReasons = map[string]int{}
		}
		c.QuitReasons[reason]++
		if end.Quit == trajectory.QuitWrongPick {
			c.WrongPicks++
		}
	}
	if end.Relevant > 0 {
		v.conv.addRecall(a.recallCurve(&pc.dialogue, end.Relevant))
	}
	pc.dialogue.reset()
}

// recallCurve is a dialogue's Recall@k after each of its recommender
// turns; k is the slate size, no cap when the run has none.
func (a *Aggregator) recallCurve(d *openDialogue, relevant int) []float64 {
	k := a.run.SlateSize
	if k <= 0 {
		k = relevant
	}
	out := make([]float64, len(d.recall))
	for t, hits := range d.recall {
		out[t] = float64(min(hits, k)) / float64(min(k, relevant))
	}
	return out
}

// addRecall adds one dialogue's curve to the variant's sums. The curve
// keeps its last value after the dialogue ended, and so do earlier
// dialogues when this one is longer than any before it.
func (cv *convVariant) addRecall(curve []float64) {
	for len(cv.recallSum) < len(curve) {
		cv.recallSum = append(cv.recallSum, cv.recallFinal)
	}
	final := 0.0
	if len(curve) > 0 {
		final = curve[len(curve)-1]
	}
	for t := range cv.recallSum {
		if t < len(curve) {
			cv.recallSum[t] += curve[t]
		} else {
			cv.recallSum[t] += final
		}
	}
	cv.recallFinal += final
	cv.recallN++
}

// grow extends counts with zeros to length n at least.
func grow(counts []int, n int) []int {
	for len(counts) < n {
		counts = append(counts, 0)
	}
	return counts
}

// finalisePassK sets pass^k at each original persona: its dialogues and
// successes pooled over its replicates, so that every original persona
// counts once.
func (a *Aggregator) finalisePassK(v *variantState) {
	type pooled struct{ n, c int }
	byOrigin := map[int32]*pooled{}
	var order []int32
	for p, ps := range v.states {
		if ps == nil {
			continue
		}
		origin := a.personas[p].origin
		if byOrigin[origin] == nil {
			byOrigin[origin] = &pooled{}
			order = append(order, origin)
		}
		byOrigin[origin].n += ps.conv.dialogues
		byOrigin[origin].c += ps.conv.successes
	}
	for _, origin := range order {
		pl := byOrigin[origin]
		a.state(v, origin).conv.passK = passHatK(pl.n, pl.c, a.run.Conversation.PassK)
	}
}

// passHatK is τ-bench's pass^k = C(c, k) / C(n, k): the chance that k of
// the n dialogues drawn without replacement all succeed; NaN when n < k
// or k < 1.
func passHatK(n, c, k int) float64 {
	if k < 1 || n < k {
		return math.NaN()
	}
	p := 1.0
	for i := range k {
		p *= float64(c-i) / float64(n-i)
		if p <= 0 {
			return 0
		}
	}
	return p
}

// result is the variant's ConversationResult, with curves over
// max(maxTurns, the longest dialogue) turns.
func (cv *convVariant) result(maxTurns int) *ConversationResult {
	out := cv.res
	out.QuitReasons = maps.Clone(cv.res.QuitReasons)
	n := max(maxTurns, len(cv.successesAt), len(cv.recallSum))
	out.SuccessAtTurn, out.RecallAtTurn = make([]Float, n), make([]Float, n)
	within := 0
	for t := range n {
		if t < len(cv.successesAt) {
			within += cv.successesAt[t]
		}
		out.SuccessAtTurn[t] = Float(ratio(within, out.Dialogues))
		sum := cv.recallFinal
		if t < len(cv.recallSum) {
			sum = cv.recallSum[t]
		}
		out.RecallAtTurn[t] = Float(math.NaN())
		if cv.recallN > 0 {
			out.RecallAtTurn[t] = Float(sum / float64(cv.recallN))
		}
	}
	return &out
}

// conversationRounds are a conversational run's per-round series: the
// success rate over the round's dialogues, the recommender's failure rate
// and the personas in a dialogue.
func conversationRounds(v *variantState, rounds int) map[string][]Float {
	series := func(f func(rs *roundStats) float64) []Float {
		out := make([]Float, rounds)
		for t := range out {
			out[t] = nan()
			if t < len(v.rounds) {
				out[t] = Float(f(&v.rounds[t]))
			}
		}
		return out
	}
	return map[string][]Float{
		SuccessRate:        series(func(rs *roundStats) float64 { return ratio(rs.successes, rs.dialogues) }),
		RecommenderErrRate: series(func(rs *roundStats) float64 { return ratio(rs.failed, rs.calls) }),
		ActivePersonas:     series(func(rs *roundStats) float64 { return float64(rs.active) }),
	}
}

// conversationDefinitions are the meanings a conversational run's results
// carry: its metrics, curves and per-round series.
func conversationDefinitions() map[string]string {
	defs := map[string]string{}
	for _, m := range registry {
		if m.Needs == NeedsConversation {
			defs[m.Name] = m.Def
		}
	}
	for _, name := range []string{RecommenderErrRate, ActivePersonas} {
		m, _ := Lookup(name)
		defs[name] = m.Def
	}
	return defs
}
