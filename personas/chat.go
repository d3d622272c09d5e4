package personas

import (
	"context"

	"github.com/recloop/recloop/catalog"
)

// ChatUser plays a persona in a conversation with a conversational
// recommender: given the dialogue so far, it says the persona's next
// line. The simulator gives Say exclusive use of st and d for the call;
// different dialogues are played concurrently.
//
// Say never changes the need. It reports which constraints the utterance
// revealed; the simulator records them and keeps Dialogue.Revealed.
type ChatUser interface {
	Say(ctx context.Context, st *State, d *Dialogue) (Utterance, error)
}

// Dialogue is one conversation as the user engine sees it.
type Dialogue struct {
	// ID is the conversation id the recommender sees too.
	ID    string
	Round int
	// Need is the persona's information need (with defaults filled in).
	Need *Need
	// Revealed[i] is set once constraint i has been said.
	Revealed []bool
	// Turns is everything said so far, oldest first.
	Turns []DialogueTurn
	// Catalog resolves the proposed items.
	Catalog *catalog.Catalog
}

// DialogueTurn is one message of the dialogue.
type DialogueTurn struct {
	// User is set for the persona's own turns.
	User bool
	Text string
	// Act is a user turn's dialogue act.
	Act string
	// Items are the catalog indexes a recommender turn proposed, best
	// first, and Explanations what it said about each.
	Items        []int
	Explanations []string
}

// RecommenderTurns counts the recommender's turns so far.
func (d *Dialogue) RecommenderTurns() int {
	n := 0
	for _, t := range d.Turns {
		if !t.User {
			n++
		}
	}
	return n
}

// Last is the latest turn, or nil before anything was said.
func (d *Dialogue) Last() *DialogueTurn {
	if len(d.Turns) == 0 {
		return nil
	}
	return &d.Turns[len(d.Turns)-1]
}

// Utterance is the user's turn.
type Utterance struct {
	Text string
	// Act is one of trajectory.Acts.
	Act string
	// Accepted is the catalog index of the accepted item with Act accept,
	// else -1.
	Accepted int
	// Satisfaction is how satisfied the persona is so far, 0–1.
	Satisfaction float64
	// Reason is the persona's reason for its act, in its own words.
	Reason string
	// Reveals are the indexes of the constraints the utterance disclosed.
	Reveals []int
	// Hallucinations counts item ids an LLM user accepted that the
	// recommender had not proposed (they are dropped: the act becomes a
	// rejection).
	Hallucinations int
}

// Relevance judges items against a persona's need: whether an item meets
// every hard constraint, and whether it is relevant (meets them and suits
// the persona's taste, so that accepting it is a success).
type Relevance interface {
	Relevant(st *State, item int) (satisfies, relevant bool)
}

// Take records an item the persona accepted in a conversation: it is
// consumed, as a clicked item is.
func (s *State) Take(cat *catalog.Catalog, item, round int) {
	s.consume(cat, item, round, 0)
}
