// Package trajectory defines the one record type a run streams: the
// trajectory event. The simulator writes events, aggregators (metrics, judges)
// consume them, and reporters read what the aggregators made.
package trajectory

import (
	"errors"

	"github.com/recloop/recloop/catalog"
)

// SchemaVersion is written in every event as "v". Readers reject versions
// they do not know.
const SchemaVersion = 1

// ErrSchema is returned for events of an unknown schema version or kind.
var ErrSchema = errors.New("trajectory: unsupported schema")

// Kind says which part of an Event is set.
type Kind string

const (
	// KindRun is the first event of a run: what was run, with which seed.
	KindRun Kind = "run"
	// KindPersona describes one persona as it starts (once per run, not per variant).
	KindPersona Kind = "persona"
	// KindStep is one persona seeing one slate from one variant in one round.
	KindStep Kind = "step"
	// KindPersonaEnd is a persona's final state in one variant's world.
	KindPersonaEnd Kind = "persona_end"
	// KindRunEnd closes a run; a file without it is a partial run.
	KindRunEnd Kind = "run_end"
)

// Event is one line of trajectories.jsonl. Exactly one of the kind-specific
// parts is set. Fields whose name starts with wall_ hold wall-clock
// measurements: they are the only bytes that differ between two runs of the
// same scenario.
type Event struct {
	V       int    `json:"v"`
	Kind    Kind   `json:"kind"`
	Variant string `json:"variant,omitempty"`
	Round   int    `json:"round"`
	Persona string `json:"persona,omitempty"`

	Step       *Step          `json:"step,omitempty"`
	Profile    *Profile       `json:"profile,omitempty"`
	PersonaEnd *PersonaEnd    `json:"persona_end,omitempty"`
	Run        *RunInfo       `json:"run,omitempty"`
	RunEnd     *RunEnd        `json:"run_end,omitempty"`
	Verdict    *VerdictRecord `json:"verdict,omitempty"`
	Turn       *Turn          `json:"turn,omitempty"`
}

// Step is what happened when a persona was shown a slate.
type Step struct {
	// Slate is the items shown, in rank order (rank = index + 1).
	Slate []Shown `json:"slate"`
	// Utility is the persona's mean realised utility over the items it
	// consumed in this step (0 when it consumed nothing).
	Utility float64 `json:"utility"`
	// Exited is set on the step after which the persona left for good.
	Exited bool `json:"exited,omitempty"`
	// Feedback is the persona's free-text comment on the slate (LLM personas).
	Feedback string `json:"feedback,omitempty"`
	// Hallucinations counts item ids the persona's answer named that were
	// not in the slate (LLM personas); they are dropped.
	Hallucinations int `json:"hallucinations,omitempty"`
	// Query is the search the persona fell back to because the slate did
	// not meet its need; the recommender receives it with the persona's
	// next request, as Request.Context["query"].
	Query string `json:"query,omitempty"`
	// Error is set when the recommender or the persona failed. After a
	// recommender failure the slate is empty; after a persona failure
	// (Kind "behaviour") the slate is shown but nothing was decided.
	Error *StepError `json:"error,omitempty"`
	// WallLatencyUS is the wall time of the Recommend call in microseconds.
	WallLatencyUS int64 `json:"wall_latency_us"`
}

// Shown is one slot of a slate and what the persona did with it.
type Shown struct {
	Item        string  `json:"item"`
	Score       float64 `json:"score"`
	Explanation string  `json:"explanation,omitempty"`
	Examined    bool    `json:"examined,omitempty"`
	Clicked     bool    `json:"clicked,omitempty"`
	// Rating is 1–5 for a clicked item, 0 otherwise.
	Rating float64 `json:"rating,omitempty"`
	// Reason is the persona's own words for its action (LLM personas).
	Reason string `json:"reason,omitempty"`
	// Stage is how far down the scenario's funnel a clicked item went:
	// 1 is the click (RunInfo.Funnel[0]), 2 the next stage, and so on; 0
	// when the scenario declares no funnel or the item was not clicked.
	Stage int `json:"stage,omitempty"`
	// Dwell is the completion fraction (0–1) of a clicked item when the
	// scenario declares a funnel.
	Dwell float64 `json:"dwell,omitempty"`
	// Bounced marks a click left almost at once (dwell below the
	// scenario's bounce threshold): a negative signal.
	Bounced bool `json:"bounced,omitempty"`
}

// Accepted is METRICS.md's acceptance: clicked and rated 4 or more.
func (s *Shown) Accepted() bool { return s.Clicked && s.Rating >= 4 }

// Error kinds recorded in StepError.Kind.
const (
	ErrorKindError   = "error"
	ErrorKindTimeout = "timeout"
	ErrorKindInvalid = "invalid"
	// ErrorKindBehaviour marks a persona that could not decide (an LLM
	// answer that stayed malformed after repair, for example).
	ErrorKindBehaviour = "behaviour"
)

// StepError records a recommender failure.
type StepError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Profile is a persona as it starts the run. Metrics need it for segments,
// cold start, serendipity ground truth and taste drift.
type Profile struct {
	Name            string             `json:"name,omitempty"`
	Description     string             `json:"description,omitempty"`
	Archetype       string             `json:"archetype,omitempty"`
	Segments        []string           `json:"segments,omitempty"`
	JoinRound       int                `json:"join_round,omitempty"`
	History         []string           `json:"history"`
	Interests       catalog.Taste      `json:"interests"`
	LatentInterests catalog.Taste      `json:"latent_interests"`
	Traits          map[string]float64 `json:"traits"`
	// RatingBias is the persona's rating_bias (stars added to every rating
	// it gives), left out when 0.
	RatingBias float64 `json:"rating_bias,omitempty"`
	// ReplicateOf names the persona this one replays (replicates: n).
	ReplicateOf string `json:"replicate_of,omitempty"`
	// Cell is the persona's world when the scenario declares cells.
	Cell int `json:"cell,omitempty"`
}

// PersonaEnd is a persona's state at the end of one variant's world.
type PersonaEnd struct {
	// Interests is the drifted stated-interest vector, as a taste.
	Interests catalog.Taste `json:"interests"`
	// TasteDrift is 1 − cos(start interests, end interests).
	TasteDrift float64 `json:"taste_drift"`
	// ExitRound is the round after which the persona left, or -1.
	ExitRound int `json:"exit_round"`
	// SlatesViewed counts the slates the persona saw.
	SlatesViewed int `json:"slates_viewed"`
	// Interview is the post-run interview (LLM personas).
	Interview *Interview `json:"interview,omitempty"`
}

// Interview is what a persona says about a variant after the run.
type Interview struct {
	// Satisfaction is 1–10.
	Satisfaction int    `json:"satisfaction"`
	Review       string `json:"review"`
}

// RunInfo describes the run in the first event.
type RunInfo struct {
	Scenario  string        `json:"scenario"`
	Seed      uint64        `json:"seed"`
	Rounds    int           `json:"rounds"`
	SlateSize int           `json:"slate_size"`
	Variants  []VariantInfo `json:"variants"`
	Personas  int           `json:"personas"`
	Items     int           `json:"items"`
	Behaviour string        `json:"behaviour"`
	Tool      string        `json:"tool"`
	// Cells is the number of independent persona cells (worlds) each
	// variant runs in; 0 or 1 means one.
	Cells int `json:"cells,omitempty"`
	// Funnel names the stages a clicked item can go through, the click
	// first (Shown.Stage indexes it from 1); empty when the scenario
	// declares none.
	Funnel []string `json:"funnel,omitempty"`
	// Returning is set when personas come back between rounds only with a
	// probability, and churn when they stop.
	Returning bool `json:"returning,omitempty"`
	// Shard is set when this file holds one shard of the run; recloop merge
	// combines the shards into the file one machine would have written.
	Shard *Shard `json:"shard,omitempty"`
	// Conversation is set when personas converse with the recommenders
	// instead of browsing slates.
	Conversation *ConversationInfo `json:"conversation,omitempty"`
}

// Shard names one of Count shards (Index from 1).
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// VariantInfo names a variant and the recommender behind it.
type VariantInfo struct {
	Name        string `json:"name"`
	Recommender string `json:"recommender"`
}

// RunEnd closes the run.
type RunEnd struct {
	// Partial is set when the run stopped early (interrupt, budget).
	Partial bool   `json:"partial,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// ObserveErrors counts, per variant, the (world, round) pairs whose
	// feedback the world's recommender failed to take in.
	ObserveErrors map[string]int `json:"observe_errors,omitempty"`
}

// Sink consumes events in order. Events are only valid during the call;
// a sink that keeps data must copy it.
type Sink interface {
	Write(ev *Event) error
}

// Sinks fans events out to several sinks, stopping at the first error.
type Sinks []Sink

func (s Sinks) Write(ev *Event) error {
	for _, sink := range s {
		if err := sink.Write(ev); err != nil {
			return err
		}
	}
	return nil
}

// Flusher is implemented by sinks that buffer. The simulator flushes after
// every round, so an interrupted run leaves only whole lines on disk.
type Flusher interface {
	Flush() error
}

// Flush flushes every sink that buffers.
func (s Sinks) Flush() error {
	for _, sink := range s {
		if f, ok := sink.(Flusher); ok {
			if err := f.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}
