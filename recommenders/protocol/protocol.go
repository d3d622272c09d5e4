// Package protocol is recloop's wire protocol for recommenders that run
// outside the process: a service over HTTP (recommenders/httprec) or a child
// process speaking newline-delimited JSON (recommenders/execrec). It holds
// the message types, their JSON Schemas, and the Adapter both transports
// share: it maps requests and feedback to messages, validates the answers,
// counts every violation, and applies the on_error policy.
//
// docs/protocol.md is the human-readable specification.
package protocol

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Version is the protocol version recloop speaks. It changes whenever a
// message changes in a way an existing recommender could notice.
const Version = 1

// Message types, carried in every message's "type" field.
const (
	TypeHandshake = "handshake"
	TypeRecommend = "recommend"
	TypeSlate     = "slate"
	TypeFeedback  = "feedback"
	TypeReset     = "reset"
	TypeHealth    = "health"
	TypeAck       = "ack"
	TypeError     = "error"
	// TypeChat and TypeReply carry one turn of a conversation, to a
	// recommender that declared CapabilityChat.
	TypeChat  = "chat"
	TypeReply = "reply"
)

// CapabilityChat, in a handshake's or health answer's capabilities, says
// the recommender holds conversations (chat messages).
const CapabilityChat = "chat"

// Errors the transports wrap, so that the Adapter can count failures by kind.
var (
	ErrMalformed = errors.New("protocol: malformed answer")
	ErrOversized = errors.New("protocol: answer exceeds max_response_bytes")
	ErrStatus    = errors.New("protocol: unexpected HTTP status")
	ErrRemote    = errors.New("protocol: the recommender answered with an error")
	ErrCrashed   = errors.New("protocol: the recommender process exited")
	ErrVersion   = errors.New("protocol: version mismatch")
	ErrInvalid   = errors.New("protocol: invalid slate")
	// ErrFailed is returned for every call after the first failure of a
	// variant whose policy is on_error: fail.
	ErrFailed = errors.New("protocol: recommender failed earlier (on_error: fail)")
)

// Handshake is the first line a child process writes on stdout.
type Handshake struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	Name     string `json:"name,omitempty"`
	// Capabilities lists what the recommender does besides slates
	// (CapabilityChat); absent means slates only.
	Capabilities []string `json:"capabilities,omitempty"`
}

// Converses reports whether the capabilities include chat.
func Converses(capabilities []string) bool { return slices.Contains(capabilities, CapabilityChat) }

// ChatRequest asks for the recommender's next turn in a conversation.
type ChatRequest struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	ID       string `json:"id"`
	Variant  string `json:"variant"`
	World    string `json:"world"`
	// Conversation is the same for every turn of one dialogue.
	Conversation string `json:"conversation"`
	User         string `json:"user"`
	Round        int    `json:"round"`
	// Turn counts the recommender's replies so far in this dialogue.
	Turn    int               `json:"turn"`
	K       int               `json:"k"`
	History []HistoryEntry    `json:"history"`
	Context map[string]string `json:"context,omitempty"`
	// Messages is the dialogue so far, the user's latest message last.
	Messages []ChatMessage `json:"messages"`
}

// ChatMessage is one message of a dialogue; a recommender's earlier
// messages carry the items it proposed.
type ChatMessage struct {
	Role    string         `json:"role"`
	Content string         `json:"content"`
	Items   []ResponseItem `json:"items,omitempty"`
}

// ChatReply is the answer to a ChatRequest: what the recommender says and
// the items it proposes (at most k, best first). A system that answers in
// text only may list the titles it means instead; recloop matches them to
// the catalog.
type ChatReply struct {
	Type    string         `json:"type"`
	ID      string         `json:"id"`
	Message *string        `json:"message"`
	Items   []ResponseItem `json:"items,omitempty"`
	Titles  []string       `json:"titles,omitempty"`
}

// RecommendRequest asks for a slate for one user in one round.
type RecommendRequest struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	ID       string `json:"id"`
	Variant  string `json:"variant"`
	World    string `json:"world"`
	User     string `json:"user"`
	Round    int    `json:"round"`
	K        int    `json:"k"`
	// History is the seed history (round -1) and every item the user
	// consumed, oldest first. Round is the simulation's clock.
	History    []HistoryEntry    `json:"history"`
	Context    map[string]string `json:"context,omitempty"`
	Candidates []string          `json:"candidates,omitempty"`
}

// HistoryEntry is one consumed item.
type HistoryEntry struct {
	Item   string  `json:"item"`
	Round  int     `json:"round"`
	Rating float64 `json:"rating,omitempty"`
}

// RecommendResponse is the answer to a RecommendRequest.
type RecommendResponse struct {
	Type  string         `json:"type"`
	ID    string         `json:"id"`
	Items []ResponseItem `json:"items"`
}

// ResponseItem is one recommended item, best first.
type ResponseItem struct {
	ID          string `json:"id"`
	Score       Score  `json:"score"`
	Explanation string `json:"explanation,omitempty"`
}

// Feedback carries one round of what users did with their slates.
type Feedback struct {
	Type     string          `json:"type"`
	Protocol int             `json:"protocol"`
	ID       string          `json:"id"`
	Variant  string          `json:"variant"`
	World    string          `json:"world"`
	Round    int             `json:"round"`
	Events   []FeedbackEvent `json:"events"`
}

// FeedbackEvent is what one user did with one shown item.
type FeedbackEvent struct {
	User    string  `json:"user"`
	Item    string  `json:"item"`
	Rank    int     `json:"rank"`
	Clicked bool    `json:"clicked"`
	Rating  float64 `json:"rating,omitempty"`
}

// Reset starts a world: the recommender forgets everything it learned for
// this world id and may keep state per world from now on.
type Reset struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	ID       string `json:"id"`
	Variant  string `json:"variant"`
	World    string `json:"world"`
	// Seed is the world's seed, below 2^53 so that every JSON reader keeps
	// it exact.
	Seed    uint64        `json:"seed"`
	Catalog []CatalogItem `json:"catalog,omitempty"`
}

// CatalogItem is what a recommender may know about an item.
type CatalogItem struct {
	ID           string   `json:"id"`
	Title        string   `json:"title,omitempty"`
	Categories   []string `json:"categories,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	ReleaseRound int      `json:"release_round"`
	// Popularity is the item's share of the catalog's popularity prior.
	Popularity float64 `json:"popularity"`
	// Attributes are the item's attributes (a year, a runtime), which the
	// constraints of a conversation's needs may name.
	Attributes map[string]any `json:"attributes,omitempty"`
}

// HealthRequest asks whether the recommender is up (exec only; HTTP uses
// GET /health).
type HealthRequest struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	ID       string `json:"id"`
}

// HealthResponse says the recommender is up and which protocol it speaks.
type HealthResponse struct {
	Type         string   `json:"type"`
	ID           string   `json:"id,omitempty"`
	Protocol     int      `json:"protocol"`
	Status       string   `json:"status"`
	Name         string   `json:"name,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// Ack acknowledges feedback and reset.
type Ack struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Error is a recommender's refusal to answer a message.
type Error struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error"`
}

// Envelope is the part every answer shares, read first to route it.
type Envelope struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Error string `json:"error"`
}

// Score is a float that also decodes the NaN, Infinity and -Infinity that
// Python's json module writes, so that a non-finite score is reported as
// such instead of as garbage.
type Score float64

// UnmarshalJSON accepts a number or one of the strings "NaN", "Infinity"
// and "-Infinity" (what Sanitize turns the bare tokens into).
func (s *Score) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*s = Score(math.NaN())
		return nil
	case `"Infinity"`:
		*s = Score(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*s = Score(math.Inf(-1))
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("score %s is not a number", b)
	}
	*s = Score(f)
	return nil
}

// DecodeSlate decodes a recommend response, accepting Python's non-finite
// number tokens. Any problem wraps ErrMalformed, or ErrRemote when the
// recommender answered with an error message.
func DecodeSlate(data []byte) (*RecommendResponse, error) {
	var env Envelope
	clean := Sanitize(data)
	if err := json.Unmarshal(clean, &env); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if env.Type == TypeError {
		return nil, fmt.Errorf("%w: %s", ErrRemote, env.Error)
	}
	var resp RecommendResponse
	if err := json.Unmarshal(clean, &resp); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if resp.Items == nil {
		return nil, fmt.Errorf("%w: no items array", ErrMalformed)
	}
	return &resp, nil
}

// DecodeReply decodes a chat reply as DecodeSlate decodes a slate. A reply
// without a message, or of another type, is malformed.
func DecodeReply(data []byte) (*ChatReply, error) {
	var env Envelope
	clean := Sanitize(data)
	if err := json.Unmarshal(clean, &env); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	switch env.Type {
	case TypeError:
		return nil, fmt.Errorf("%w: %s", ErrRemote, env.Error)
	case TypeReply:
	default:
		return nil, fmt.Errorf("%w: answered a chat message with type %q, want %q", ErrMalformed, env.Type, TypeReply)
	}
	var resp ChatReply
	if err := json.Unmarshal(clean, &resp); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if resp.Message == nil {
		return nil, fmt.Errorf("%w: a reply needs a message", ErrMalformed)
	}
	return &resp, nil
}

// Sanitize rewrites the bare tokens NaN, Infinity and -Infinity outside
// strings into JSON strings. Anything else is left as it is. It returns
// data itself when there is nothing to rewrite.
func Sanitize(data []byte) []byte {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data
	}
	out := make([]byte, 0, len(data)+16)
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out = append(out, c)
			continue
		}
		if tok := bareToken(data[i:]); tok != "" {
			out = append(append(append(out, '"'), tok...), '"')
			i += len(tok) - 1
			continue
		}
		out = append(out, c)
	}
	return out
}

func bareToken(rest []byte) string {
	for _, tok := range []string{"NaN", "Infinity", "-Infinity"} {
		if bytes.HasPrefix(rest, []byte(tok)) {
			return tok
		}
	}
	return ""
}

//go:embed schemas/*.json
var schemaFS embed.FS

// SchemaNames lists the messages that have a schema, one file each under
// schemas/ named <name>.schema.json.
var SchemaNames = []string{
	"ack", "error", "feedback", "handshake", "health_request", "health_response",
	"recommend_request", "recommend_response", "reset", "chat_request", "chat_reply",
}

// Schema returns the JSON Schema (draft 2020-12) of one message.
func Schema(name string) ([]byte, error) {
	return schemaFS.ReadFile("schemas/" + name + ".schema.json")
}
