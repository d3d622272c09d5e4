package personas

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/trajectory"
)

// NeedJudge judges items against a persona's need with a behaviour that
// can score items: an item is relevant when it meets every constraint and
// the persona's expected rating of it is at least 3.5, an item it would
// more likely than not rate 4 or more.
type NeedJudge struct {
	Catalog *catalog.Catalog
	Scorer  Scorer
}

// Relevant implements Relevance.
func (j NeedJudge) Relevant(st *State, item int) (satisfies, relevant bool) {
	if st.Need == nil || !st.Need.Satisfies(j.Catalog.Item(item)) {
		return false, false
	}
	return true, j.Scorer.ExpectedRating(st, item) >= relevantRating
}

// AgendaUser is the deterministic, free user engine: it follows an agenda
// of dialogue acts and speaks from templates. It opens with the
// constraints it volunteers (how many depends on its style), answers a
// question about a topic with the constraints it holds on that topic
// (when its cooperativeness draw lets it), accepts the first proposed
// item that is relevant, rejects the others saying which revealed
// constraint they break, and quits when its patience runs out. It never
// names an item the recommender did not propose.
type AgendaUser struct {
	cat   *catalog.Catalog
	judge Relevance
}

// NewAgendaUser returns the agenda engine; judge decides what the
// persona would accept.
func NewAgendaUser(cat *catalog.Catalog, judge Relevance) *AgendaUser {
	return &AgendaUser{cat: cat, judge: judge}
}

// ErrNoNeed is returned for a persona that converses without a need.
var ErrNoNeed = errors.New("personas: the persona has no information need")

// Say implements ChatUser.
func (a *AgendaUser) Say(_ context.Context, st *State, d *Dialogue) (Utterance, error) {
	if st.Need == nil {
		return Utterance{}, ErrNoNeed
	}
	draw := func(purpose uint64) float64 {
		return rng.Uniform(rng.Key(st.Key, uint64(d.Round), rng.PurposeDialogue, uint64(len(d.Turns)), purpose))
	}
	last := d.Last()
	if last == nil {
		return a.open(st, d), nil
	}
	turns := d.RecommenderTurns()
	satisfaction := max(0, 1-float64(turns)/float64(st.Need.Patience+1))
	for _, item := range last.Items {
		if _, relevant := a.judge.Relevant(st, item); relevant {
			title := a.cat.Item(item).Title
			return Utterance{Act: trajectory.ActAccept, Accepted: item, Text: fmt.Sprintf("%q sounds right. I'll take it.", title),
				Satisfaction: max(0.5, 1-0.5*float64(turns-1)/float64(st.Need.Patience)), Reason: "it meets what I need and suits my taste"}, nil
		}
	}
	if turns >= st.Need.Patience {
		return Utterance{Act: trajectory.ActQuit, Accepted: -1, Text: "I've spent long enough on this. Never mind, thanks.",
			Satisfaction: satisfaction, Reason: "out of patience"}, nil
	}
	coop := *st.Need.Cooperativeness
	if len(last.Items) > 0 {
		rejected := 0
		for _, t := range d.Turns {
			if t.User && t.Act == trajectory.ActReject {
				rejected++
			}
		}
		// An uncooperative persona gives up after a couple of misses.
		if rejected >= 2 && draw(0) > coop {
			return Utterance{Act: trajectory.ActQuit, Accepted: -1, Text: "This isn't working for me. Bye.",
				Satisfaction: satisfaction, Reason: "the proposals kept missing"}, nil
		}
		return a.reject(st, d, last, draw(1) < coop, satisfaction), nil
	}
	return a.answer(st, d, last.Text, draw(2) < coop, satisfaction), nil
}

// open is the first turn: the volunteered constraints, as many as the
// style says.
func (a *AgendaUser) open(st *State, d *Dialogue) Utterance {
	n := st.Need
	var said []int
	for i, c := range n.Constraints {
		if c.Reveal == RevealVolunteer {
			said = append(said, i)
		}
	}
	u := Utterance{Act: trajectory.ActInform, Accepted: -1, Satisfaction: 1}
	switch n.Style {
	case StyleVague:
		u.Text = "I'm not sure what I want. Something good?"
		return u
	case StyleTerse:
		said = said[:min(1, len(said))]
	}
	u.Reveals = said
	if len(said) == 0 {
		u.Text = "Can you recommend something?"
	} else {
		u.Text = "I'm looking for " + a.phrases(n, said) + "."
	}
	if n.Style == StyleChatty {
		if likes := topInterests(st, a.cat, 2); len(likes) > 0 {
			u.Text += " I usually love " + strings.Join(likes, " and ") + "."
		}
	}
	return u
}

// reject turns the proposals down and says why, when a revealed
// constraint explains it; a cooperative persona also mentions what it
// does like.
func (a *AgendaUser) reject(st *State, d *Dialogue, last *DialogueTurn, cooperative bool, satisfaction float64) Utterance {
	n := st.Need
	u := Utterance{Act: trajectory.ActReject, Accepted: -1, Satisfaction: satisfaction, Reason: "none of them suits me"}
	var broken []int
	for i := range n.Constraints {
		if !d.Revealed[i] {
			continue
		}
		for _, item := range last.Items {
			if !n.Constraints[i].Holds(a.cat.Item(item)) {
				broken = append(broken, i)
				break
			}
		}
	}
	switch {
	case len(broken) > 0:
		u.Text = "Those aren't right: I said " + a.phrases(n, broken) + "."
		u.Reason = "they break what I asked for"
	default:
		u.Text = "Not quite what I'm after."
	}
	if cooperative {
		if unsaid := a.unsaid(n, d); len(unsaid) > 0 && n.Constraints[unsaid[0]].Reveal == RevealVolunteer {
			u.Text += " I want " + a.phrases(n, unsaid[:1]) + "."
			u.Reveals = unsaid[:1]
		} else if likes := topInterests(st, a.cat, 1); len(likes) > 0 {
			u.Text += " I tend to like " + likes[0] + "."
		}
	}
	return u
}

// answer replies to a question: with the constraints the persona holds on
// the topic asked about, if it is cooperative enough this time.
func (a *AgendaUser) answer(st *State, d *Dialogue, question string, cooperative bool, satisfaction float64) Utterance {
	n := st.Need
	u := Utterance{Act: trajectory.ActAnswer, Accepted: -1, Satisfaction: satisfaction}
	if !strings.Contains(question, "?") {
		u.Act, u.Text = trajectory.ActAsk, "Could you suggest something?"
		return u
	}
	topics := questionTopics(question)
	var onTopic []int
	for _, i := range a.unsaid(n, d) {
		if slices.Contains(topics, n.Constraints[i].Topic()) {
			onTopic = append(onTopic, i)
		}
	}
	switch {
	case len(onTopic) > 0 && cooperative:
		u.Reveals = onTopic
		u.Text = "I want " + a.phrases(n, onTopic) + "."
	case len(onTopic) > 0:
		u.Text = "I'm not sure. Surprise me."
	case slices.Contains(topics, "genre") || slices.Contains(topics, "mood"):
		if likes := topInterests(st, a.cat, 1); len(likes) > 0 {
			u.Text = "No strong preference. I tend to like " + likes[0] + "."
		} else {
			u.Text = "No strong preference."
		}
	default:
		u.Text = "No preference there."
	}
	return u
}

// unsaid are the constraints the persona may still reveal (not hidden,
// not said yet), in need order.
func (a *AgendaUser) unsaid(n *Need, d *Dialogue) []int {
	var out []int
	for i, c := range n.Constraints {
		if c.Reveal != RevealHidden && !d.Revealed[i] {
			out = append(out, i)
		}
	}
	return out
}

// phrases says the constraints at idx in words: "a comedy from 1990 to
// 2009, nothing horror".
func (a *AgendaUser) phrases(n *Need, idx []int) string {
	parts := make([]string, len(idx))
	for k, i := range idx {
		parts[k] = phrase(&n.Constraints[i])
	}
	return strings.Join(parts, ", ")
}

// phrase is one constraint as a user says it.
func phrase(c *Constraint) string {
	var s string
	switch {
	case c.Category != "":
		s = c.Category
	case c.Tag != "":
		s = "something " + c.Tag
	case c.Attribute == "year" && c.Min != nil && c.Max != nil:
		s = fmt.Sprintf("something from %s to %s", num(*c.Min), num(*c.Max))
	case c.Attribute == "year" && c.Min != nil:
		s = "something after " + num(*c.Min-1)
	case c.Attribute == "year" && c.Max != nil:
		s = "something before " + num(*c.Max+1)
	default:
		s = c.Describe()
		if c.Exclude {
			return "nothing with " + strings.TrimPrefix(s, "not ")
		}
		return s
	}
	if c.Exclude {
		return "nothing " + strings.TrimPrefix(s, "something ")
	}
	return s
}

// questionTopics are the need topics a recommender's question is about,
// by the words it uses.
func questionTopics(q string) []string {
	q = strings.ToLower(q)
	var topics []string
	for _, t := range []struct {
		topic string
		words []string
	}{
		{"genre", []string{"genre", "kind", "type", "category", "sort of"}},
		{"mood", []string{"mood", "feel", "tone", "vibe", "theme", "tag"}},
		{"year", []string{"year", "era", "decade", "old", "recent", "new", "when", "release"}},
		{"runtime_min", []string{"long", "length", "runtime", "short", "minutes"}},
	} {
		for _, w := range t.words {
			if strings.Contains(q, w) {
				topics = append(topics, t.topic)
				break
			}
		}
	}
	for _, w := range strings.FieldsFunc(q, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
		if !slices.Contains(topics, w) {
			topics = append(topics, w) // an attribute named in the question
		}
	}
	return topics
}

// topInterests are the persona's strongest stated interests by name.
func topInterests(st *State, cat *catalog.Catalog, n int) []string {
	type weighted struct {
		f int
		w float64
	}
	var ws []weighted
	for f, w := range st.Initial {
		if w > 0 {
			ws = append(ws, weighted{f, w})
		}
	}
	slices.SortStableFunc(ws, func(x, y weighted) int {
		switch {
		case x.w > y.w:
			return -1
		case x.w < y.w:
			return 1
		}
		return x.f - y.f
	})
	var out []string
	for _, x := range ws[:min(n, len(ws))] {
		_, name, _ := strings.Cut(cat.FeatureName(x.f), ":")
		out = append(out, name)
	}
	return out
}
