package personas

import (
	"context"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/trajectory"
)

// Behaviour is how a persona acts on a slate. The utility model and (later)
// the LLM agent both implement it, and both read the same persona YAML.
//
// Decide marks, in slate, which items the persona examined, clicked and
// rated, and records the consequences in st (consumption, taste drift,
// patience, exit). The simulator gives Decide exclusive use of st for the
// call; different personas are decided concurrently.
type Behaviour interface {
	Decide(ctx context.Context, st *State, round int, slate []trajectory.Shown) (Decision, error)
}

// Decision summarises one step.
type Decision struct {
	// Utility is the mean realised utility of the consumed items (0 if none).
	Utility float64
	// Exit is set when the persona leaves for good after this slate.
	Exit bool
	// Feedback is the persona's free-text comment (LLM personas).
	Feedback string
	// Hallucinations counts item ids the answer named that were not in the
	// slate (LLM personas).
	Hallucinations int
	// Query is the search the persona falls back to when the slate did not
	// meet its need (scenarios that enable search).
	Query string
}

// Interviewer is implemented by behaviours that can be asked, after the
// run, how a persona found one variant (LLM personas). The simulator calls
// it once per persona per variant, concurrently across personas.
type Interviewer interface {
	Interview(ctx context.Context, st *State, variant string) (trajectory.Interview, error)
}

// CallEstimator is implemented by behaviours that call a language model, so
// that a dry run can say what a scenario will cost before anything is spent.
type CallEstimator interface {
	// EstimateCalls lists the requests one persona would send while viewing
	// `slates` slates of slateSize items in one variant's world, and its
	// interview: one representative request per kind, with how many of that
	// kind there would be.
	EstimateCalls(st *State, slates, slateSize int) []EstimatedCall
}

// EstimatedCall is one kind of request and how many times it is sent.
type EstimatedCall struct {
	Kind    string // "decide", "reflect", "interview"
	Request llm.Request
	Count   int
}
