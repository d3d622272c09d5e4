package fidelity

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/internal/rng"
)

// Samplers are the negative samplers every check runs, in report order.
var Samplers = []string{report.Uniform, report.PopularityMatched}

// probe is one item shown to one persona in the discrimination check.
type probe struct {
	user  int // index in Dataset.Users
	item  int // catalog index
	liked bool
}

// probeSet is every user's probes for one sampler and ratio, grouped by
// user, each user's probes shuffled.
type probeSet struct {
	sampler string
	m       int
	probes  []probe
}

func (s *probeSet) ratio() string { return "1:" + strconv.Itoa(s.m) }

// popWindow is the half-width, in popularity ranks, of the neighbourhood a
// popularity-matched negative is drawn from; it doubles until it holds
// enough items the user may be shown.
const popWindow = 10

// sampler draws negatives for one dataset.
type sampler struct {
	ds   *Dataset
	seed uint64
	// order lists the catalog by seed popularity, ties in a seeded order;
	// rank is each item's position in it.
	order, rank []int
}

func newSampler(ds *Dataset, seed uint64) *sampler {
	n := ds.Catalog.Len()
	s := &sampler{ds: ds, seed: seed, order: make([]int, n), rank: make([]int, n)}
	for i := range s.order {
		s.order[i] = i
	}
	tie := func(i int) uint64 {
		return rng.Key(seed, rng.PurposeSample, rng.StringKey("popularity-order"), uint64(i))
	}
	slices.SortFunc(s.order, func(a, b int) int {
		return cmp.Or(cmp.Compare(ds.Catalog.Item(a).Popularity, ds.Catalog.Item(b).Popularity), cmp.Compare(tie(a), tie(b)), cmp.Compare(a, b))
	})
	for r, i := range s.order {
		s.rank[i] = r
	}
	return s
}

// positives are up to max held-out liked items of user u, oldest first.
func (s *sampler) positives(u, max int) []int {
	user := &s.ds.Users[u]
	var out []int
	for k, in := range user.HeldOut {
		if len(out) == max {
			break
		}
		if s.ds.Liked(in.Rating) {
			out = append(out, user.HeldIdx[k])
		}
	}
	return out
}

// allowed marks the items user u may be shown as a negative: never touched
// by the user (neither in its seed part nor held out) and first seen in
// the log no later than the user's last seed interaction, so no negative
// comes from the user's future.
func (s *sampler) allowed(u int) []bool {
	user := &s.ds.Users[u]
	last := user.LastSeed()
	ok := make([]bool, s.ds.Catalog.Len())
	for i := range ok {
		ok[i] = s.ds.FirstSeen[i] <= last
	}
	for _, i := range user.SeedIdx {
		ok[i] = false
	}
	for _, i := range user.HeldIdx {
		ok[i] = false
	}
	return ok
}

// set draws the probes of one sampler at ratio 1:m for every user.
func (s *sampler) set(name string, m, maxPositives int) probeSet {
	ps := probeSet{sampler: name, m: m}
	for u := range s.ds.Users {
		pos := s.positives(u, maxPositives)
		if len(pos) == 0 {
			continue
		}
		ok := s.allowed(u)
		r := rng.New(rng.Key(s.seed, rng.PurposeSample, rng.StringKey(s.ds.Users[u].ID), uint64(m), rng.StringKey(name)))
		var neg []int
		if name == report.PopularityMatched {
			neg = s.matched(r, pos, m, ok)
		} else {
			neg = s.uniform(r, m*len(pos), ok)
		}
		start := len(ps.probes)
		for _, i := range pos {
			ps.probes = append(ps.probes, probe{u, i, true})
		}
		for _, i := range neg {
			ps.probes = append(ps.probes, probe{u, i, false})
		}
		own := ps.probes[start:]
		r.Shuffle(len(own), func(i, j int) { own[i], own[j] = own[j], own[i] })
	}
	return ps
}

// uniform draws want allowed items uniformly without replacement (all of
// them when fewer are allowed).
func (s *sampler) uniform(r *rand.Rand, want int, ok []bool) []int {
	var pool []int
	for i, yes := range ok {
		if yes {
			pool = append(pool, i)
		}
	}
	want = min(want, len(pool))
	for k := range want {
		j := k + r.IntN(len(pool)-k)
		pool[k], pool[j] = pool[j], pool[k]
	}
	return pool[:want]
}

// matched draws, for each positive, m allowed items from its popularity
// neighbourhood: the items within popWindow ranks of it in the seed
// popularity order, the window doubling until it holds m items not drawn
// yet. Popularity alone then cannot tell positives from negatives.
func (s *sampler) matched(r *rand.Rand, pos []int, m int, ok []bool) []int {
	n := len(s.order)
	taken := map[int]bool{}
	var out []int
	for _, p := range pos {
		for w := popWindow; ; w *= 2 {
			lo, hi := max(0, s.rank[p]-w), min(n, s.rank[p]+w+1)
			var cands []int
			for _, i := range s.order[lo:hi] {
				if ok[i] && !taken[i] {
					cands = append(cands, i)
				}
			}
			if len(cands) >= m || (lo == 0 && hi == n) {
				for k := range min(m, len(cands)) {
					j := k + r.IntN(len(cands)-k)
					cands[k], cands[j] = cands[j], cands[k]
					taken[cands[k]] = true
					out = append(out, cands[k])
				}
				break
			}
		}
	}
	return out
}

// Probe is one line of a probe dump (recloop fidelity --dump): one item
// shown to one user, whether the user liked it in the hold-out, and every
// scorer's score, so that every discrimination figure can be recomputed.
type Probe struct {
	Sampler    string  `json:"sampler"`
	Ratio      string  `json:"ratio"`
	User       string  `json:"user"`
	Item       string  `json:"item"`
	Label      int     `json:"label"`
	Popularity float64 `json:"popularity"`
	// Score is the simulator's (its click probability, or 1 for a click
	// and 0 otherwise); Click its own decision.
	Score     float64            `json:"score"`
	Click     bool               `json:"click"`
	Baselines map[string]float64 `json:"baselines"`
}

// WriteProbes writes probes as JSON lines.
func WriteProbes(w io.Writer, probes []Probe) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range probes {
		if err := enc.Encode(&probes[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadProbes reads a probe dump, reporting the first bad line by number.
func ReadProbes(r io.Reader) ([]Probe, error) {
	var out []Probe
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxProbeLine)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var p Probe
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("fidelity: probes line %d: %w", line, err)
		}
		if p.Label != 0 && p.Label != 1 {
			return nil, fmt.Errorf("fidelity: probes line %d: label %d, want 0 or 1", line, p.Label)
		}
		if math.IsNaN(p.Score) || math.IsInf(p.Score, 0) {
			return nil, fmt.Errorf("fidelity: probes line %d: score is not a finite number", line)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fidelity: probes line %d: %w", line+1, err)
	}
	return out, nil
}

// maxProbeLine bounds one line of a probe dump (a line is about 200 bytes).
const maxProbeLine = 1 << 20

// ProbeAUC is the mean over users of each user's AUC of score on the
// probes of one sampler and ratio, the figure the report calls AUC (NaN
// when no user has both positives and negatives).
func ProbeAUC(probes []Probe, sampler, ratio string, score func(*Probe) float64) float64 {
	byUser := map[string]int{}
	var labels [][]bool
	var scores [][]float64
	for i := range probes {
		p := &probes[i]
		if p.Sampler != sampler || p.Ratio != ratio {
			continue
		}
		u, ok := byUser[p.User]
		if !ok {
			u = len(labels)
			byUser[p.User] = u
			labels, scores = append(labels, nil), append(scores, nil)
		}
		labels[u] = append(labels[u], p.Label == 1)
		scores[u] = append(scores[u], score(p))
	}
	var sum, n float64
	for u := range labels {
		if a := AUC(labels[u], scores[u]); !math.IsNaN(a) {
			sum += a
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / n
}
