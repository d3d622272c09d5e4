package trajectory

// KindVerdict is a judge's verdict on one explanation. Verdicts live in
// verdicts.jsonl beside trajectories.jsonl, so a run can be judged again
// without simulating it again, and reports read them as data.
const KindVerdict Kind = "verdict"

// VerdictRecord is a judge's assessment of the explanation of one shown item.
// The event's Variant, Round and Persona say which step it belongs to.
type VerdictRecord struct {
	Judge string `json:"judge"`
	Item  string `json:"item"`
	Rank  int    `json:"rank"`
	// Scores maps a rubric dimension to a 1–5 score.
	Scores     map[string]float64 `json:"scores"`
	Reason     string             `json:"reason,omitempty"`
	Violations []ViolationRecord  `json:"violations,omitempty"`
	Model      string             `json:"model,omitempty"`
	Samples    int                `json:"samples,omitempty"`
	// Passes, when set, makes the record a count instead of one verdict:
	// this many explanations of the event's variant and round, shown to
	// personas whose first segment is Segment, passed with these Scores
	// and no violation. The free grounding judge's passes are stored so
	// (output.verdicts: compact); its failures are stored one by one.
	Passes  int    `json:"passes,omitempty"`
	Segment string `json:"segment,omitempty"`
}

// ViolationRecord is one claim in an explanation that the data contradicts.
type ViolationRecord struct {
	Kind   string `json:"kind"`
	Phrase string `json:"phrase"`
	Detail string `json:"detail,omitempty"`
}
