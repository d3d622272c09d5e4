package simulator

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/trajectory"
)

// Conversation makes a run conversational: in each round every active
// persona holds one dialogue with each variant's recommender, which must
// be recommenders.Conversational, instead of browsing a slate.
type Conversation struct {
	// MaxTurns bounds the recommender's turns in one dialogue.
	MaxTurns int
	User     personas.ChatUser
	// Judge decides which proposed items meet a persona's need and which
	// would be a success.
	Judge  personas.Relevance
	Titles *catalog.TitleIndex
	// Learn sends each round's proposals, the accepted ones clicked, to
	// the recommenders' Observe.
	Learn bool
	// Info is recorded in the run's first event.
	Info trajectory.ConversationInfo
}

// dialogue is the simulator's side of one conversation.
type dialogue struct {
	d        personas.Dialogue
	messages []recommenders.ChatMessage
	proposed map[int]bool
	end      trajectory.DialogueEnd
}

// converse plays one dialogue between persona i of world w and the
// world's recommender, and leaves its turns in w.results[i].turns.
func (l *loop) converse(ctx context.Context, w *world, i, round int) error {
	c := l.cfg.Conversation
	res := &w.results[i]
	st := w.states[i]
	variant := l.variants[w.variant]
	chat, ok := w.impl.(recommenders.Conversational)
	if !ok {
		return fmt.Errorf("simulator: variant %q: %w", variant.Name, recommenders.ErrNotConversational)
	}
	if st.Need == nil {
		return fmt.Errorf("simulator: persona %q: %w", st.Persona.ID, personas.ErrNoNeed)
	}
	dl := &dialogue{
		d: personas.Dialogue{ID: variant.Name + "/" + st.Persona.ID + "/" + strconv.Itoa(round), Round: round, Need: st.Need,
			Revealed: make([]bool, len(st.Need.Constraints)), Catalog: l.cat},
		proposed: map[int]bool{},
	}
	st.SlatesViewed++
	dl.end.Relevant = l.relevantItems(st, round)
	for {
		u, err := c.User.Say(ctx, st, &dl.d)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if l.cfg.Fatal != nil && l.cfg.Fatal(err) {
				return fatalError{err}
			}
			res.turns = append(res.turns, trajectory.Turn{Role: trajectory.RoleUser,
				Error: &trajectory.StepError{Kind: trajectory.ErrorKindBehaviour, Message: err.Error()}})
			dl.end.Quit = trajectory.QuitError
			break
		}
		if l.userTurn(st, dl, res, u, round) {
			break
		}
		if dl.end.Turns >= c.MaxTurns {
			dl.end.Quit = trajectory.QuitMaxTurns
			break
		}
		if !l.recommenderTurn(ctx, chat, variant, w, i, round, dl) {
			break
		}
	}
	dl.end.Preferences, dl.end.Covered = l.preferenceCoverage(st, dl)
	last := &res.turns[len(res.turns)-1]
	end := dl.end
	last.End = &end
	for k := range res.turns {
		res.turns[k].Conversation, res.turns[k].Index = dl.d.ID, k
	}
	return nil
}

// userTurn records the user's utterance and reports whether it ended the
// dialogue.
func (l *loop) userTurn(st *personas.State, dl *dialogue, res *stepResult, u personas.Utterance, round int) (ended bool) {
	t := trajectory.Turn{Role: trajectory.RoleUser, Text: u.Text, Act: u.Act, Satisfaction: u.Satisfaction,
		Reason: u.Reason, Hallucinations: u.Hallucinations}
	for _, k := range u.Reveals {
		if k >= 0 && k < len(dl.d.Revealed) && !dl.d.Revealed[k] {
			dl.d.Revealed[k] = true
			t.Revealed = append(t.Revealed, "c"+strconv.Itoa(k))
		}
	}
	// The leakage guard: a user that names an item it was never shown is
	// handing the recommender the answer.
	for _, item := range l.cfg.Conversation.Titles.Scan(u.Text) {
		if !dl.proposed[item] {
			t.Leaks = append(t.Leaks, l.cat.Item(item).ID)
		}
	}
	if t.Act == trajectory.ActAccept && (u.Accepted < 0 || !dl.proposed[u.Accepted]) {
		// Accepting what was never proposed is not a success; the engine
		// counts such ids as hallucinations.
		t.Act = trajectory.ActReject
	}
	dl.end.Satisfaction = u.Satisfaction
	dl.d.Turns = append(dl.d.Turns, personas.DialogueTurn{User: true, Text: u.Text, Act: t.Act})
	dl.messages = append(dl.messages, recommenders.ChatMessage{Role: recommenders.SpeakerUser, Content: u.Text})
	switch t.Act {
	case trajectory.ActAccept:
		t.Accepted = l.cat.Item(u.Accepted).ID
		dl.end.Item = t.Accepted
		_, relevant := l.cfg.Conversation.Judge.Relevant(st, u.Accepted)
		dl.end.Success = relevant
		if !relevant {
			dl.end.Quit = trajectory.QuitWrongPick
		}
		st.Take(l.cat, u.Accepted, round)
		ended = true
	case trajectory.ActQuit:
		dl.end.Quit = trajectory.QuitGaveUp
		if dl.end.Turns >= st.Need.Patience {
			dl.end.Quit = trajectory.QuitPatience
		}
		ended = true
	}
	res.turns = append(res.turns, t)
	return ended
}

// recommenderTurn asks the recommender for its reply and records it; it
// reports whether the dialogue goes on (a failed call ends it).
func (l *loop) recommenderTurn(ctx context.Context, chat recommenders.Conversational, variant Variant, w *world, i, round int, dl *dialogue) bool {
	res := &w.results[i]
	st := w.states[i]
	req := recommenders.ChatRequest{Conversation: dl.d.ID, User: st.Persona.ID, Round: round, Turn: dl.end.Turns,
		K: l.cfg.SlateSize, History: w.history[i], Context: visibleContext(st.Persona), Messages: dl.messages}
	var reply recommenders.ChatReply
	t := trajectory.Turn{Role: trajectory.RoleRecommender}
	t.WallLatencyUS, t.Error = callRecommender(ctx, variant.Timeout, func(ctx context.Context) (err error) {
		reply, err = chat.Respond(ctx, req)
		return err
	})
	dl.end.Turns++
	if t.Error != nil {
		res.turns = append(res.turns, t)
		dl.end.Quit = trajectory.QuitError
		return false
	}
	t.Text = reply.Message
	items := l.replyItems(st, round, reply, &t)
	turn := personas.DialogueTurn{Text: reply.Message, Items: items}
	msg := recommenders.ChatMessage{Role: recommenders.SpeakerRecommender, Content: reply.Message}
	for _, item := range items {
		satisfies, relevant := l.cfg.Conversation.Judge.Relevant(st, item)
		p := trajectory.Proposed{Item: l.cat.Item(item).ID, Satisfies: satisfies, Relevant: relevant}
		for _, s := range reply.Items {
			if s.Item == p.Item {
				p.Score, p.Explanation = s.Score, s.Explanation
				break
			}
		}
		t.Items = append(t.Items, p)
		turn.Explanations = append(turn.Explanations, p.Explanation)
		msg.Items = append(msg.Items, recommenders.Scored{Item: p.Item, Score: p.Score, Explanation: p.Explanation})
		dl.proposed[item] = true
	}
	dl.d.Turns = append(dl.d.Turns, turn)
	dl.messages = append(dl.messages, msg)
	res.turns = append(res.turns, t)
	return true
}

// replyItems resolves a reply's proposals to catalog indexes. Ids must be
// known, released items; a reply naming any other is rejected whole, as an
// invalid slate is, and the ids are recorded. A reply in text only has
// its titles matched to the catalog, and those that match nothing are
// recorded.
func (l *loop) replyItems(st *personas.State, round int, reply recommenders.ChatReply, t *trajectory.Turn) []int {
	var items []int
	seen := map[int]bool{}
	add := func(idx int) {
		if !seen[idx] && len(items) < l.cfg.SlateSize && !st.HasConsumed(idx) {
			seen[idx] = true
			items = append(items, idx)
		}
	}
	switch {
	case len(reply.Items) > 0:
		for _, s := range reply.Items {
			idx, ok := l.cat.Index(s.Item)
			if !ok || l.cat.Item(idx).ReleaseRound > round {
				t.UnknownIDs = append(t.UnknownIDs, s.Item)
				continue
			}
			add(idx)
		}
		if len(t.UnknownIDs) > 0 {
			t.Error = &trajectory.StepError{Kind: trajectory.ErrorKindInvalid,
				Message: fmt.Sprintf("unknown item id %q (%d of %d proposed ids are not in the catalog or not released yet)", t.UnknownIDs[0], len(t.UnknownIDs), len(reply.Items))}
			return nil
		}
	case len(reply.Titles) > 0:
		for _, title := range reply.Titles {
			idx, n := l.cfg.Conversation.Titles.Lookup(title)
			if n == 0 || l.cat.Item(idx).ReleaseRound > round {
				t.Unmatched = append(t.Unmatched, title)
				continue
			}
			t.Matched++
			add(idx)
		}
	default:
		for _, idx := range l.cfg.Conversation.Titles.Scan(reply.Message) {
			if l.cat.Item(idx).ReleaseRound <= round {
				t.Matched++
				add(idx)
			}
		}
		for _, quoted := range quotedTitles(reply.Message) {
			if _, n := l.cfg.Conversation.Titles.Lookup(quoted); n == 0 {
				t.Unmatched = append(t.Unmatched, quoted)
			}
		}
	}
	return items
}

// quotedTitles are the strings a text-only reply puts in quotes: the
// titles it means, whether or not the catalog has them.
func quotedTitles(text string) []string {
	var out []string
	for _, q := range []string{`"`, "“", "*"} {
		closing := q
		if q == "“" {
			closing = "”"
		}
		rest := text
		for {
			open := strings.Index(rest, q)
			if open < 0 {
				break
			}
			rest = rest[open+len(q):]
			end := strings.Index(rest, closing)
			if end < 0 {
				break
			}
			if s := strings.TrimSpace(rest[:end]); s != "" && len(s) <= 200 {
				out = append(out, s)
			}
			rest = rest[end+len(closing):]
		}
	}
	return out
}

// visibleContext is what a real system would know of the user: its name
// and segments, never its need.
func visibleContext(p *personas.Persona) map[string]string {
	ctx := map[string]string{}
	if p.Name != "" {
		ctx["name"] = p.Name
	}
	if len(p.Segments) > 0 {
		ctx["segments"] = strings.Join(p.Segments, ",")
	}
	return ctx
}

// relevantItems counts the need's relevant set as the dialogue starts:
// the released, unconsumed items that would be a success.
func (l *loop) relevantItems(st *personas.State, round int) int {
	n := 0
	for idx := range l.cat.Len() {
		if l.cat.Item(idx).ReleaseRound > round || st.HasConsumed(idx) {
			continue
		}
		if _, relevant := l.cfg.Conversation.Judge.Relevant(st, idx); relevant {
			n++
		}
	}
	return n
}

// preferenceCoverage counts the persona's soft preferences (its stated
// interests) and those a proposal touched.
func (l *loop) preferenceCoverage(st *personas.State, dl *dialogue) (preferences, covered int) {
	touched := map[int]bool{}
	ncat := len(l.cat.Categories())
	for item := range dl.proposed {
		for _, c := range l.cat.ItemCategories(item) {
			touched[int(c)] = true
		}
		for _, t := range l.cat.ItemTags(item) {
			touched[ncat+int(t)] = true
		}
	}
	for f, w := range st.Initial {
		if w > 0 {
			preferences++
			if touched[f] {
				covered++
			}
		}
	}
	return preferences, covered
}

// emitDialogue writes persona i's dialogue of the round and, when the
// recommenders learn, queues its proposals as feedback: the accepted item
// clicked, the others not. An accepted item joins the history the
// recommender sees.
func (l *loop) emitDialogue(w *world, i, round int) error {
	res := &w.results[i]
	persona := w.states[i].Persona.ID
	variant := l.variants[w.variant].Name
	var accepted string
	for k := range res.turns {
		ev := trajectory.Event{Kind: trajectory.KindTurn, Variant: variant, Round: round, Persona: persona, Turn: &res.turns[k]}
		if err := l.emit(&ev); err != nil {
			return err
		}
		if e := res.turns[k].End; e != nil {
			accepted = e.Item
		}
	}
	l.sum.Steps++
	if accepted != "" {
		w.history[i] = append(w.history[i], recommenders.HistoryItem{Item: accepted, Round: round})
	}
	if !l.cfg.Conversation.Learn {
		return nil
	}
	for _, t := range res.turns {
		for rank, p := range t.Items {
			w.feedback = append(w.feedback, recommenders.Feedback{User: persona, Round: round, Item: p.Item, Rank: rank + 1,
				Clicked: p.Item == accepted})
		}
	}
	return nil
}
