package recommenders

import (
	"context"
	"errors"
)

// ErrNotConversational is returned when a scenario with a conversation:
// block names a recommender that cannot converse.
var ErrNotConversational = errors.New("recommenders: the recommender does not converse")

// Conversational is implemented by recommenders that hold conversations:
// the user says what it wants, the recommender asks or proposes. It is an
// optional capability of a Recommender, found by type assertion; Observe
// still receives what users accepted when the scenario asks recommenders
// to learn.
//
// Respond is called concurrently for different conversations, never for
// the same one, and never concurrently with Observe.
type Conversational interface {
	Respond(ctx context.Context, req ChatRequest) (ChatReply, error)
}

// ChatCapable is implemented by recommenders whose ability to converse is
// known only once they are built: an external service or process says in
// its handshake whether it speaks the chat messages.
type ChatCapable interface {
	Converses() bool
}

// Converses reports whether r can hold a conversation.
func Converses(r Recommender) bool {
	if _, ok := r.(Conversational); !ok {
		return false
	}
	if c, ok := r.(ChatCapable); ok {
		return c.Converses()
	}
	return true
}

// ChatRequest is one turn of a conversation: everything said so far, the
// user's last message last.
type ChatRequest struct {
	// Conversation identifies the dialogue: the same id for all its turns.
	Conversation string `json:"conversation"`
	User         string `json:"user"`
	Round        int    `json:"round"`
	// Turn counts the recommender's replies so far (0 for the first).
	Turn int `json:"turn"`
	// K is the most items one reply may propose.
	K int `json:"k"`
	// History is what the recommender may see of the user, as for slates.
	History []HistoryItem `json:"history"`
	// Context is the persona's visible context (a profile a real system
	// would have: its name, its segments); never its hidden needs.
	Context  map[string]string `json:"context,omitempty"`
	Messages []ChatMessage     `json:"messages"`
}

// Speakers of a ChatMessage.
const (
	SpeakerUser        = "user"
	SpeakerRecommender = "recommender"
)

// ChatMessage is one message of the conversation. A recommender's earlier
// messages carry the items it proposed.
type ChatMessage struct {
	Role    string   `json:"role"`
	Content string   `json:"content"`
	Items   []Scored `json:"items,omitempty"`
}

// ChatReply is the recommender's turn: what it says, and the catalog items
// it proposes, best first, each with an explanation. A reply without items
// is a question or a comment.
//
// Titles is for systems that answer only in text: the titles they name,
// which the caller matches to catalog ids (see catalog.TitleIndex). Items
// takes precedence when both are set.
type ChatReply struct {
	Message string   `json:"message"`
	Items   []Scored `json:"items,omitempty"`
	Titles  []string `json:"titles,omitempty"`
}
