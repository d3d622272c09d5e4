package personas

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/trajectory"
)

// Consumed is one item in a persona's history. Round is -1 for seed history.
type Consumed struct {
	Item   int32
	Round  int
	Rating float64
}

// Recollection is one item an LLM persona picked, as it remembers it.
type Recollection struct {
	// Visit is the persona's SlatesViewed count on the slate it picked from.
	Visit  int
	Item   int32
	Rating float64
	Reason string
}

// State is one persona inside one variant's world.
type State struct {
	Persona *Persona
	// Index is the persona's position in the population.
	Index int
	// Key is rng.Key(seed, rng.StringKey(Persona.ID)): the same in every
	// variant's world, which is what gives variants common random numbers.
	Key uint64
	// Interests is the stated taste over cat.NumFeatures(); it drifts.
	Interests []float64
	// Initial, Latent and Dislikes never change after Build; clones share
	// them.
	Initial  []float64
	Latent   []float64
	Dislikes []float64
	// History is the seed history, then consumption in order.
	History      []Consumed
	Exited       bool
	ExitRound    int
	SlatesViewed int
	// Patience is how many more unsatisfying slates the persona tolerates;
	// a behaviour sets it on first use.
	Patience float64
	// Memory is what an LLM persona remembers of its recent picks, oldest
	// first; the llm behaviour keeps the last few.
	Memory []Recollection
	// Reflection is an LLM persona's latest summary of its own taste.
	Reflection string
	// Visits tracks coming back between rounds when the scenario has
	// personas return (Returning).
	Visits Visits
	// Need is what the persona wants from a conversation, defaults filled
	// in; nil until DeriveNeeds when its YAML declares none. Clones share it.
	Need *Need
	// reflectedAt is SlatesViewed when Reflection was written, so a failed
	// decision retried later does not reflect twice on the same slates.
	reflectedAt int

	traits       Traits
	consumed     []uint64  // bitset over catalog indexes
	centroid     []float64 // sum of the feature vectors of History
	centroidNorm float64
	// Cached from Interests and Latent; refresh() keeps them current.
	interestNorm float64
	trueNorm     float64 // ‖Interests + Latent‖
	latentNorm   float64
	dislikeNorm  float64
	patienceSet  bool
	// factors is the persona's vector in a learned taste model, solved
	// from History when it had factorsAt items (nil until first needed).
	factors   []float64
	factorsAt int
}

// Build makes the starting state of every persona: explicit history ids are
// resolved, history_size seed items are drawn, tastes become vectors. It runs
// Validate (without the round check) and returns its errors.
func Build(ps []Persona, cat *catalog.Catalog, seed uint64) ([]*State, error) {
	if err := Validate(ps, cat, 0).Err(); err != nil {
		return nil, err
	}
	var draw *seedDrawer
	out := make([]*State, len(ps))
	for i := range ps {
		p := &ps[i]
		st := newState(p, i, cat, seed)
		for _, id := range p.History {
			idx, _ := cat.Index(id)
			st.consume(cat, idx, -1, 0)
		}
		if p.HistorySize > 0 {
			if draw == nil {
				draw = newSeedDrawer(cat)
			}
			for _, idx := range draw.draw(st, p.HistorySize, seed) {
				st.consume(cat, int(idx), -1, 0)
			}
		}
		out[i] = st
	}
	return out, nil
}

func newState(p *Persona, index int, cat *catalog.Catalog, seed uint64) *State {
	interests, _ := cat.TasteVector(p.Interests)
	latent, _ := cat.TasteVector(p.LatentInterests)
	dislikes, _ := cat.TasteVector(p.Dislikes)
	st := &State{
		Persona:   p,
		Index:     index,
		Key:       rng.Key(seed, rng.StringKey(p.ID)),
		Interests: interests,
		Initial:   slices.Clone(interests),
		Latent:    latent,
		Dislikes:  dislikes,
		ExitRound: -1,
		traits:    p.Traits,
		consumed:  make([]uint64, (cat.Len()+63)/64),
		centroid:  make([]float64, cat.NumFeatures()),
	}
	if p.Need != nil {
		n := p.Need.WithDefaults()
		st.Need = &n
	}
	st.refresh()
	for _, w := range dislikes {
		st.dislikeNorm += w * w
	}
	st.dislikeNorm = math.Sqrt(st.dislikeNorm)
	return st
}

// refresh recomputes the norms cached from Interests and Latent.
func (s *State) refresh() {
	var ii, il, ll float64
	for f, x := range s.Interests {
		y := s.Latent[f]
		ii += x * x
		il += x * y
		ll += y * y
	}
	s.interestNorm = math.Sqrt(ii)
	s.latentNorm = math.Sqrt(ll)
	s.trueNorm = math.Sqrt(ii + 2*il + ll)
}

// consume appends to History and updates the consumed set and the history
// centroid. Taste drift is the behaviour's business.
func (s *State) consume(cat *catalog.Catalog, idx, round int, rating float64) {
	s.record(idx, round, rating)
	s.addToCentroid(cat, idx)
}

// record appends to History and marks the item consumed.
func (s *State) record(idx, round int, rating float64) {
	s.History = append(s.History, Consumed{Item: int32(idx), Round: round, Rating: rating})
	s.consumed[idx>>6] |= 1 << (uint(idx) & 63)
}

// addToCentroid adds item idx's feature vector to the history centroid
// (kept as a sum: only its direction matters).
func (s *State) addToCentroid(cat *catalog.Catalog, idx int) {
	x := cat.Features(idx)
	// ‖c + x‖² = ‖c‖² + 2 c·x + ‖x‖²
	n2 := s.centroidNorm*s.centroidNorm + 2*x.Dot(s.centroid)
	for k, f := range x.Idx {
		s.centroid[f] += x.Val[k]
		n2 += x.Val[k] * x.Val[k]
	}
	s.centroidNorm = math.Sqrt(max(n2, 0))
}

// Clone returns an independent copy for another variant's world. The
// persona, Initial and Latent are read-only and shared.
func (s *State) Clone() *State {
	c := *s
	c.Interests = slices.Clone(s.Interests)
	c.History = slices.Clone(s.History)
	c.consumed = slices.Clone(s.consumed)
	c.centroid = slices.Clone(s.centroid)
	c.Memory = slices.Clone(s.Memory)
	c.factors = slices.Clone(s.factors)
	return &c
}

// Active reports whether the persona has joined by round and not yet left.
func (s *State) Active(round int) bool {
	return round >= s.Persona.JoinRound && !s.Exited
}

// HasConsumed reports whether the item at catalog index item is in History.
func (s *State) HasConsumed(item int) bool {
	if item < 0 || item>>6 >= len(s.consumed) {
		return false
	}
	return s.consumed[item>>6]&(1<<(uint(item)&63)) != 0
}

// Profile describes the persona as it starts, for the persona event. Taste
// names come out in the catalog's normalised form, weights as the persona
// holds them (after population jitter) rounded to 4 decimals.
func (s *State) Profile(cat *catalog.Catalog) *trajectory.Profile {
	p := s.Persona
	prof := &trajectory.Profile{
		Name:            p.Name,
		Description:     p.Description,
		Archetype:       p.Archetype,
		Segments:        slices.Clone(p.Segments),
		JoinRound:       p.JoinRound,
		History:         []string{},
		Interests:       roundedTaste(cat, s.Initial),
		LatentInterests: roundedTaste(cat, s.Latent),
		Traits:          p.Traits.Map(),
		RatingBias:      p.RatingBias,
	}
	for _, c := range s.History {
		if c.Round < 0 {
			prof.History = append(prof.History, cat.Item(int(c.Item)).ID)
		}
	}
	for k, v := range prof.Traits {
		prof.Traits[k] = round4(v)
	}
	prof.ReplicateOf, prof.Cell = p.ReplicateOf, p.Cell
	return prof
}

// Replicate plays every persona n times: the original and n−1 copies with
// the same seed history and tastes, ids suffixed "~r1", "~r2"…, their own
// random draws and, for LLM personas, their own model seed. Replicates give
// the variance of what a persona does; metrics can average them per persona.
func Replicate(states []*State, n int, seed uint64) []*State {
	if n <= 1 {
		return states
	}
	out := make([]*State, 0, len(states)*n)
	for _, st := range states {
		out = append(out, st)
		for k := 1; k < n; k++ {
			c := st.Clone()
			p := *st.Persona
			p.ID = fmt.Sprintf("%s~r%d", st.Persona.ID, k)
			p.Replicate, p.ReplicateOf = k, st.Persona.ID
			c.Persona = &p
			c.Key = rng.Key(seed, rng.StringKey(p.ID))
			out = append(out, c)
		}
	}
	for i, st := range out {
		st.Index = i
	}
	return out
}

// End describes the persona's state at the end of its world.
func (s *State) End(cat *catalog.Catalog) *trajectory.PersonaEnd {
	return &trajectory.PersonaEnd{
		Interests:    roundedTaste(cat, s.Interests),
		TasteDrift:   1 - cosine(s.Initial, s.Interests),
		ExitRound:    s.ExitRound,
		SlatesViewed: s.SlatesViewed,
	}
}

func roundedTaste(cat *catalog.Catalog, vec []float64) catalog.Taste {
	r := make([]float64, len(vec))
	for f, w := range vec {
		r[f] = round4(w)
	}
	return cat.TasteFromVector(r)
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// cosine of two dense vectors; 1 when either is zero, so an empty taste
// counts as not having drifted.
func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i, x := range a {
		ab += x * b[i]
		aa += x * x
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 1
	}
	return min(1, ab/math.Sqrt(aa*bb))
}

// seedDrawer samples seed histories with probability proportional to
// aff(i)·p(i), where aff(i) = x_i·I/‖I‖. Because x_i·I = Σ_f I_f·x_{i,f}, that
// weight is a mixture over the persona's features: pick feature f with
// probability ∝ I_f·S_f, S_f = Σ_i x_{i,f}·p(i), then item i within f with
// probability ∝ x_{i,f}·p(i). Each draw costs a few binary searches instead
// of a pass over the catalog; duplicates are rejected, which is exactly
// sampling without replacement.
type seedDrawer struct {
	cat      *catalog.Catalog
	postings [][]int32   // feature → seedable items carrying it, ascending
	cumMass  [][]float64 // feature → running Σ x_{i,f}·p(i) along postings
	seedable []int32     // all seedable items, for the popularity fallback
	featW    []float64   // scratch: I_f·S_f per feature
	feats    []int       // scratch: features with I_f·S_f > 0
	// Scratch for the exhaustive fallback.
	score   []float64 // indexed by item, zero between draws
	touched []uint64  // bitset of items with a score, zero between draws
	cands   []int32
	weights []float64
	cum     []float64
}

func newSeedDrawer(cat *catalog.Catalog) *seedDrawer {
	d := &seedDrawer{
		cat:      cat,
		postings: make([][]int32, cat.NumFeatures()),
		cumMass:  make([][]float64, cat.NumFeatures()),
		featW:    make([]float64, cat.NumFeatures()),
		score:    make([]float64, cat.Len()),
		touched:  make([]uint64, (cat.Len()+63)/64),
	}
	for i := range cat.Len() {
		if cat.Item(i).IsNew() {
			continue
		}
		d.seedable = append(d.seedable, int32(i))
		x := cat.Features(i)
		for k, f := range x.Idx {
			var prev float64
			if c := d.cumMass[f]; len(c) > 0 {
				prev = c[len(c)-1]
			}
			d.postings[f] = append(d.postings[f], int32(i))
			d.cumMass[f] = append(d.cumMass[f], prev+x.Val[k]*cat.PopularityShare(i))
		}
	}
	return d
}

// draw picks up to n distinct seedable items for st. When the mixture keeps
// hitting items already picked (few candidates, or mass piled on a few), it
// finishes with an exhaustive pass, and if fewer than n items have any
// affinity, the rest are drawn by popularity alone.
func (d *seedDrawer) draw(st *State, n int, seed uint64) []int32 {
	r := rng.New(rng.Key(seed, rng.PurposeHistory, rng.StringKey(st.Persona.ID)))
	var total float64
	d.feats = d.feats[:0]
	for f, w := range st.Interests {
		if w > 0 && len(d.cumMass[f]) > 0 {
			d.feats = append(d.feats, f)
			d.featW[f] = w * d.cumMass[f][len(d.cumMass[f])-1]
			total += d.featW[f]
		}
	}
	var picked []int32
	for attempt := 0; total > 0 && attempt < 8*n && len(picked) < n; attempt++ {
		u := r.Float64() * total
		f := d.feats[len(d.feats)-1]
		for _, g := range d.feats {
			if u < d.featW[g] {
				f = g
				break
			}
			u -= d.featW[g]
		}
		c := d.cumMass[f]
		v := r.Float64() * c[len(c)-1]
		k := min(len(c)-1, sort.Search(len(c), func(j int) bool { return c[j] > v }))
		if i := d.postings[f][k]; !slices.Contains(picked, i) {
			picked = append(picked, i)
		}
	}
	if len(picked) < n {
		picked = d.drawExhaustive(r, st, n, picked)
	}
	return picked
}

// drawExhaustive scores every item sharing a feature with the interests and
// samples from them, then from the whole catalog by popularity.
func (d *seedDrawer) drawExhaustive(r *rand.Rand, st *State, n int, picked []int32) []int32 {
	for f, w := range st.Interests {
		if w <= 0 {
			continue
		}
		for _, i := range d.postings[f] {
			d.score[i] += w * d.cat.Features(int(i)).Val[0] // all of an item's feature values are equal
			d.touched[i>>6] |= 1 << (uint(i) & 63)
		}
	}
	d.cands, d.weights = d.cands[:0], d.weights[:0]
	for word, bitsLeft := range d.touched {
		for bitsLeft != 0 {
			i := int32(word<<6 + bits.TrailingZeros64(bitsLeft))
			bitsLeft &= bitsLeft - 1
			d.cands = append(d.cands, i)
			d.weights = append(d.weights, d.score[i]/st.interestNorm*d.cat.PopularityShare(int(i)))
			d.score[i] = 0
		}
		d.touched[word] = 0
	}
	picked = d.sample(r, d.cands, d.weights, n, picked)
	if len(picked) < n {
		d.weights = d.weights[:0]
		for _, i := range d.seedable {
			d.weights = append(d.weights, d.cat.PopularityShare(int(i)))
		}
		picked = d.sample(r, d.seedable, d.weights, n, picked)
	}
	return picked
}

// sample draws from items (ascending) by weight until picked holds n items
// or no item with positive weight is left. Between batches of draws the
// picked items' weights are zeroed and the cumulative table rebuilt, so
// every batch makes progress and the loop ends.
func (d *seedDrawer) sample(r *rand.Rand, items []int32, weights []float64, n int, picked []int32) []int32 {
	d.cum = slices.Grow(d.cum[:0], len(weights))[:len(weights)]
	cum := d.cum
	for len(picked) < n {
		for _, it := range picked {
			if k, ok := slices.BinarySearch(items, it); ok {
				weights[k] = 0
			}
		}
		var total float64
		for k, w := range weights {
			total += w
			cum[k] = total
		}
		if total <= 0 {
			break
		}
		for attempt := 0; attempt < 4*n && len(picked) < n; attempt++ {
			u := r.Float64() * total
			k := sort.Search(len(cum), func(j int) bool { return cum[j] > u })
			if k < len(items) && !slices.Contains(picked, items[k]) {
				picked = append(picked, items[k])
			}
		}
	}
	return picked
}
