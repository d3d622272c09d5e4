// Package rng derives every random number in a run from the scenario seed and
// a key, never from shared mutable state. That is what makes a run
// byte-identical at any concurrency, and what lets variants share draws
// (common random numbers): the same key gives the same number in every world.
package rng

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// Purposes keep independent streams apart. Add new ones at the end.
const (
	PurposeExamine uint64 = iota + 1
	PurposeClick
	PurposeNoise
	PurposeRating
	PurposeJitter
	PurposeHistory
	PurposeRecommender
	PurposeSample
	PurposeBootstrap
	PurposeCatalog
	PurposeFault
	PurposeDwell
	PurposeFunnel
	PurposeSearch
	PurposeReturn
	// PurposeIdentity draws a population member's name, age, occupation
	// and wording: who the member is, never how it behaves.
	PurposeIdentity
	// PurposeNeed derives a persona's information need; PurposeDialogue
	// draws what a user says and does in a conversation.
	PurposeNeed
	PurposeDialogue
)

// Mix is splitmix64's finaliser: a fast, well-distributed 64-bit hash.
func Mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Key folds parts into one 64-bit key, order-sensitively.
func Key(parts ...uint64) uint64 {
	h := uint64(0x243f6a8885a308d3)
	for _, p := range parts {
		h = Mix(h ^ p)
	}
	return h
}

// StringKey hashes an identifier (persona id, variant name) into a key part.
func StringKey(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return Mix(h.Sum64())
}

// Uniform returns a number in [0, 1) determined by key alone.
func Uniform(key uint64) float64 {
	return float64(Mix(key)>>11) / (1 << 53)
}

// Normal returns a standard normal draw determined by key alone (Box–Muller).
func Normal(key uint64) float64 {
	u1 := Uniform(key)
	u2 := Uniform(key ^ 0x5851f42d4c957f2d)
	if u1 < 1e-300 {
		u1 = 1e-300
	}
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// New returns a sequential generator seeded from key, for code that needs
// many draws in a fixed order (sampling, shuffling, bootstrap).
func New(key uint64) *rand.Rand {
	return rand.New(rand.NewPCG(key, Mix(key^0xda3e39cb94b95bdb)))
}
