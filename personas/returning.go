package personas

import (
	"github.com/recloop/recloop/internal/rng"
)

// Returning is the between-rounds model: a persona comes back for round t
// with probability
//
//	P(return) = σ(ρ₀ + ρ_s·(S − ½) − ρ_f·F)
//
// where S is its recent satisfaction (an exponential moving average of the
// visits' realised utility, weight α on the latest) and F = min(1,
// streak/n_f) its fatigue from the visits in a row just made. A persona
// that stays away ChurnAfter rounds in a row has churned and never comes
// back. docs/user-model.md explains the choice of defaults.
type Returning struct {
	Base          float64 // ρ₀
	Satisfaction  float64 // ρ_s
	Fatigue       float64 // ρ_f
	FatigueRounds int     // n_f: visits in a row that make fatigue 1
	Memory        float64 // α
	Start         float64 // S₀: satisfaction before the first visit
	ChurnAfter    int
}

// DefaultReturning is the model a scenario gets from `returning: {}`.
func DefaultReturning() Returning {
	return Returning{Base: 2, Satisfaction: 4, Fatigue: 1.5, FatigueRounds: 5, Memory: 0.5, Start: 0.5, ChurnAfter: 3}
}

// Visits is a persona's coming and going under a Returning model.
type Visits struct {
	// Recent is S, the recent satisfaction.
	Recent float64
	// Streak counts the rounds in a row the persona visited, up to its last.
	Streak int
	// Missed counts the rounds in a row it stayed away.
	Missed int
	// Last is the last round it visited (-1 before the first).
	Last    int
	started bool
}

// Probability is P(return) for recent satisfaction s after streak visits in a row.
func (r Returning) Probability(s float64, streak int) float64 {
	fatigue := 1.0
	if r.FatigueRounds > 0 {
		fatigue = min(1, float64(streak)/float64(r.FatigueRounds))
	}
	return logistic(r.Base + r.Satisfaction*(s-0.5) - r.Fatigue*fatigue)
}

// Returns reports whether the persona shows up in round; a persona that has
// not joined, or has left, does not. The first visit after joining is
// certain. The draw u is keyed by (persona, round), so every variant's world
// uses the same u and only the probabilities differ. When the persona
// churns, it is marked exited after its last visit.
func (r Returning) Returns(st *State, round int) bool {
	if !st.Active(round) {
		return false
	}
	v := &st.Visits
	if !v.started {
		v.started, v.Recent, v.Last = true, r.Start, -1
		return true
	}
	if rng.Uniform(rng.Key(st.Key, uint64(round), rng.PurposeReturn)) < r.Probability(v.Recent, v.Streak) {
		v.Missed = 0
		return true
	}
	v.Streak = 0
	v.Missed++
	if r.ChurnAfter > 0 && v.Missed >= r.ChurnAfter {
		st.Exited, st.ExitRound = true, v.Last
	}
	return false
}

// Visited records a visit in round with realised satisfaction s (the step's
// utility, 0 when nothing was consumed): S ← (1 − α)·S + α·s.
func (r Returning) Visited(st *State, round int, s float64) {
	v := &st.Visits
	v.Recent = (1-r.Memory)*v.Recent + r.Memory*s
	v.Streak++
	v.Last = round
}
