package protocol

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/recommenders"
)

// ChatTransport is implemented by transports that carry conversations: a
// Transport whose recommender may have declared CapabilityChat.
type ChatTransport interface {
	Chat(ctx context.Context, req *ChatRequest) (*ChatReply, error)
	// Converses reports whether the recommender declared CapabilityChat.
	Converses() bool
}

var (
	_ recommenders.Conversational = (*Adapter)(nil)
	_ recommenders.ChatCapable    = (*Adapter)(nil)
)

// Converses reports whether the external recommender holds conversations:
// its transport carries them and its handshake declared the capability.
func (a *Adapter) Converses() bool {
	ct, ok := a.t.(ChatTransport)
	return ok && ct.Converses()
}

// ChatMessage maps a recommenders.ChatRequest to its wire message. Its id
// names the round, the user and the turn, which no other call shares.
func (a *Adapter) ChatMessage(req recommenders.ChatRequest) *ChatRequest {
	w := &ChatRequest{Type: TypeChat, Protocol: Version,
		ID:      "c" + strconv.Itoa(req.Round) + "-" + req.User + "-t" + strconv.Itoa(req.Turn),
		Variant: a.variant, World: a.world, Conversation: req.Conversation, User: req.User, Round: req.Round, Turn: req.Turn,
		K: req.K, History: make([]HistoryEntry, len(req.History)), Context: req.Context, Messages: make([]ChatMessage, len(req.Messages))}
	for i, h := range req.History {
		w.History[i] = HistoryEntry{Item: h.Item, Round: h.Round, Rating: h.Rating}
	}
	for i, m := range req.Messages {
		w.Messages[i] = ChatMessage{Role: m.Role, Content: m.Content}
		for _, it := range m.Items {
			w.Messages[i].Items = append(w.Messages[i].Items, ResponseItem{ID: it.Item, Score: Score(it.Score), Explanation: it.Explanation})
		}
	}
	return w
}

// Respond asks the external recommender for its turn, validates the reply,
// and on any failure applies the policy, as Recommend does for slates.
func (a *Adapter) Respond(ctx context.Context, req recommenders.ChatRequest) (recommenders.ChatReply, error) {
	ct, ok := a.t.(ChatTransport)
	if !ok || !ct.Converses() {
		return recommenders.ChatReply{}, fmt.Errorf("protocol: %w (its handshake does not declare the %q capability)", recommenders.ErrNotConversational, CapabilityChat)
	}
	if err := a.failed(); err != nil {
		return recommenders.ChatReply{}, err
	}
	msg := a.ChatMessage(req)
	resp, err := ct.Chat(ctx, msg)
	var reply recommenders.ChatReply
	if err == nil {
		reply, err = a.CheckReply(req, msg.ID, resp)
	} else {
		a.count(err)
	}
	if err == nil {
		return reply, nil
	}
	if ctx.Err() != nil {
		return recommenders.ChatReply{}, err
	}
	switch a.policy.Action {
	case ActionFail:
		a.fail(err)
		return recommenders.ChatReply{}, fmt.Errorf("%w: %w", ErrFailed, err)
	case ActionFallback:
		if fb, ok := a.fallback.(recommenders.Conversational); ok && recommenders.Converses(a.fallback) {
			a.fallbacks.Add(1)
			return fb.Respond(ctx, req)
		}
	}
	return recommenders.ChatReply{}, err
}

// CheckReply validates a decoded reply and counts every kind of violation
// it holds once. More items than k, a repeated item, a non-finite score,
// an empty id or title, or an answer to another request make it invalid. Unknown, unreleased and
// consumed ids are counted but passed on: the simulator rejects the
// reply's items and records the ids on the turn, as it does for built-in
// recommenders.
func (a *Adapter) CheckReply(req recommenders.ChatRequest, id string, resp *ChatReply) (recommenders.ChatReply, error) {
	if resp.ID != id {
		a.counts[KindMalformed].Add(1)
		return recommenders.ChatReply{}, fmt.Errorf("%w: answer to request %q carries id %q", ErrMalformed, id, resp.ID)
	}
	consumed := consumedSet(req.History)
	seen := make(map[string]struct{}, len(resp.Items))
	var found [numKinds]bool
	first := ""
	flag := func(k Kind, reject bool, format string, args ...any) {
		if reject && first == "" {
			first = fmt.Sprintf(format, args...)
		}
		found[k] = true
	}
	for i, it := range resp.Items {
		idx, known := a.cat.Index(it.ID)
		_, isConsumed := consumed[it.ID]
		switch {
		case it.ID == "":
			// The schema's minLength: an empty id is no id at all, not an
			// unknown one for the simulator to record.
			flag(KindMalformed, true, "item at rank %d has an empty id", i+1)
		case !known:
			flag(KindUnknownID, false, "unknown item id %q at rank %d", it.ID, i+1)
		case a.cat.Item(idx).ReleaseRound > req.Round:
			flag(KindUnreleased, false, "item %q at rank %d is not released until round %d", it.ID, i+1, a.cat.Item(idx).ReleaseRound)
		case isConsumed:
			flag(KindConsumed, false, "item %q at rank %d was already consumed by the user", it.ID, i+1)
		}
		if _, dup := seen[it.ID]; dup {
			flag(KindDuplicate, true, "item %q appears twice", it.ID)
		}
		seen[it.ID] = struct{}{}
		if f := float64(it.Score); math.IsNaN(f) || math.IsInf(f, 0) {
			flag(KindNonFinite, true, "item %q at rank %d has a non-finite score", it.ID, i+1)
		}
	}
	if len(resp.Items) > req.K {
		flag(KindTooMany, true, "%d items for a reply of at most %d", len(resp.Items), req.K)
	}
	if i := slices.Index(resp.Titles, ""); i >= 0 {
		flag(KindMalformed, true, "title %d is empty", i+1)
	}
	var kinds []string
	for k := range numKinds {
		if found[k] {
			a.counts[k].Add(1)
			kinds = append(kinds, k.String())
		}
	}
	if first != "" {
		return recommenders.ChatReply{}, fmt.Errorf("%w (%s): %s", ErrInvalid, strings.Join(kinds, ", "), first)
	}
	reply := recommenders.ChatReply{Message: *resp.Message, Titles: resp.Titles}
	for _, it := range resp.Items {
		reply.Items = append(reply.Items, recommenders.Scored{Item: it.ID, Score: float64(it.Score), Explanation: it.Explanation})
	}
	return reply, nil
}
