package trajectory

// KindTurn is one utterance in a conversation between a persona and a
// conversational recommender (scenarios with a conversation: block). A
// dialogue's turns are written together, in order, after the round that
// held it; the last one carries the dialogue's End.
const KindTurn Kind = "turn"

// Roles of a turn's speaker.
const (
	RoleUser        = "user"
	RoleRecommender = "recommender"
)

// Dialogue acts of a user turn.
const (
	ActInform = "inform" // opens the dialogue with what the user wants
	ActAnswer = "answer" // answers the recommender's question
	ActAsk    = "ask"    // asks the recommender for something else
	ActAccept = "accept" // takes one of the proposed items
	ActReject = "reject" // turns the proposals down
	ActQuit   = "quit"   // leaves without an item
)

// Acts lists the dialogue acts a user turn may carry.
var Acts = []string{ActInform, ActAnswer, ActAsk, ActAccept, ActReject, ActQuit}

// Why a dialogue ended without success (End.Quit).
const (
	QuitPatience   = "patience"   // the persona's patience ran out
	QuitMaxTurns   = "max_turns"  // the scenario's turn limit was reached
	QuitGaveUp     = "gave_up"    // the persona left on its own (LLM users)
	QuitError      = "error"      // the recommender or the user failed
	QuitWrongPick  = "wrong_pick" // it accepted an item that does not meet its need
	QuitNoProposal = "no_proposal"
)

// Turn is one utterance. Index counts from 0 within the dialogue; the user
// speaks at even indexes and the recommender at odd ones.
type Turn struct {
	Conversation string `json:"conversation"`
	Index        int    `json:"index"`
	Role         string `json:"role"`
	Text         string `json:"text"`

	// User turns.
	Act string `json:"act,omitempty"`
	// Revealed names the constraints this utterance disclosed, by their
	// index in the persona's need ("c0", "c2").
	Revealed []string `json:"revealed,omitempty"`
	Accepted string   `json:"accepted,omitempty"`
	// Satisfaction is the user's satisfaction with the dialogue so far, 0–1.
	Satisfaction float64 `json:"satisfaction"`
	Reason       string  `json:"reason,omitempty"`
	// Leaks are the catalog items whose titles the utterance named although
	// the recommender had not proposed them: a user that names items it
	// was never shown gives the answer away.
	Leaks []string `json:"leaks,omitempty"`
	// Hallucinations counts item ids an LLM user accepted that were not
	// proposed; they are dropped.
	Hallucinations int `json:"hallucinations,omitempty"`

	// Recommender turns.
	Items []Proposed `json:"items,omitempty"`
	// Unmatched are the titles of a text-only answer that matched no
	// catalog item; Matched counts those that did.
	Unmatched []string `json:"unmatched,omitempty"`
	Matched   int      `json:"matched,omitempty"`
	// UnknownIDs are the item ids the reply proposed that the catalog does
	// not have (or that are not released yet); the reply's items are then
	// rejected, as an invalid slate is, and Error says so.
	UnknownIDs []string `json:"unknown_ids,omitempty"`
	// Error is set when the recommender (or the user) failed on this turn;
	// the dialogue ends with it.
	Error         *StepError `json:"error,omitempty"`
	WallLatencyUS int64      `json:"wall_latency_us,omitempty"`

	// End is set on the dialogue's last turn.
	End *DialogueEnd `json:"end,omitempty"`
}

// Proposed is one item a recommender turn proposed, judged against the
// persona's need by the simulator (the recommender never sees the verdict).
type Proposed struct {
	Item        string  `json:"item"`
	Score       float64 `json:"score"`
	Explanation string  `json:"explanation,omitempty"`
	// Satisfies is set when the item meets every hard constraint of the
	// need, hidden ones included.
	Satisfies bool `json:"satisfies,omitempty"`
	// Relevant is set when it also suits the persona's taste: accepting it
	// is a success.
	Relevant bool `json:"relevant,omitempty"`
}

// DialogueEnd is how a dialogue ended.
type DialogueEnd struct {
	Success bool   `json:"success"`
	Item    string `json:"item,omitempty"` // the accepted item
	// Turns is the number of recommender turns the dialogue took.
	Turns int `json:"turns"`
	// Quit says why a dialogue without success ended (Quit* constants).
	Quit string `json:"quit,omitempty"`
	// Satisfaction is the user's final satisfaction, 0–1.
	Satisfaction float64 `json:"satisfaction"`
	// Relevant is the number of catalog items that would have been a
	// success (the need's relevant set, for recall).
	Relevant int `json:"relevant"`
	// Preferences counts the persona's soft preferences (its stated
	// interests) and Covered those that a proposed item touched.
	Preferences int `json:"preferences"`
	Covered     int `json:"covered"`
}

// ConversationInfo describes a conversational run in RunInfo.
type ConversationInfo struct {
	MaxTurns int `json:"max_turns"`
	// User is the user engine (agenda, llm) and UserModel the language
	// model that played the users, when one did.
	User      string `json:"user"`
	UserModel string `json:"user_model,omitempty"`
	// PassK is the k of pass^k.
	PassK int `json:"pass_k"`
	// Learn is set when recommenders observe accepted items.
	Learn bool `json:"learn,omitempty"`
}
