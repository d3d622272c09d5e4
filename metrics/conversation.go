package metrics

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
