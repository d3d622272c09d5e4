package recommenders

import (
	"context"
	"math"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
)

// tinyCatalog is the hand-computed test catalog.
//
//	index id  title    categories tags         popularity  release
//	0     a   Alpha    sci-fi     space        60          0
//	1     b   Bravo    sci-fi     time-travel  50          0
//	2     c   Charlie  drama      space        40          0
//	3     d   Delta    drama      wedding      30          0
//	4     e   Echo     comedy     —            20          2
//	5     f   Foxtrot  comedy     time-travel  0           0
//
// Popularity shares: f's zero prior becomes half the smallest positive one
// (20/2 = 10), so the total is 60+50+40+30+20+10 = 210 and p(a) = 60/210,
// p(b) = 50/210, p(c) = 40/210, p(d) = 30/210, p(e) = 20/210, p(f) = 10/210.
//
// Feature space (categories, then tags, each sorted): comedy, drama, sci-fi,
// space, time-travel, wedding. Every item with two features has 1/√2 on each;
// e has 1 on comedy.
func tinyCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "a", Title: "Alpha", Categories: []string{"sci-fi"}, Tags: []string{"space"}, Popularity: 60},
		{ID: "b", Title: "Bravo", Categories: []string{"sci-fi"}, Tags: []string{"time-travel"}, Popularity: 50},
		{ID: "c", Title: "Charlie", Categories: []string{"drama"}, Tags: []string{"space"}, Popularity: 40},
		{ID: "d", Title: "Delta", Categories: []string{"drama"}, Tags: []string{"wedding"}, Popularity: 30},
		{ID: "e", Title: "Echo", Categories: []string{"comedy"}, Popularity: 20, ReleaseRound: 2},
		{ID: "f", Title: "Foxtrot", Categories: []string{"comedy"}, Tags: []string{"time-travel"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func build(t testing.TB, name string, env Env, raw map[string]any) Recommender {
	t.Helper()
	params, errs := Resolve(nil, "params", name, raw)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	r, err := New(t.Context(), name, env, params)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hist(ids ...string) []HistoryItem {
	out := make([]HistoryItem, len(ids))
	for i, id := range ids {
		out[i] = HistoryItem{Item: id, Round: -1}
	}
	return out
}

func recommend(t testing.TB, r Recommender, req Request) Slate {
	t.Helper()
	s, err := r.Recommend(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func observe(t testing.TB, r Recommender, fb ...Feedback) {
	t.Helper()
	if err := r.Observe(context.Background(), fb); err != nil {
		t.Fatal(err)
	}
}

func clicked(user string, round int, items ...string) []Feedback {
	out := make([]Feedback, len(items))
	for i, it := range items {
		out[i] = Feedback{User: user, Round: round, Item: it, Rank: i + 1, Clicked: true}
	}
	return out
}

// want is an expected slate entry; score is compared to 1e-6.
type want struct {
	item  string
	score float64
	why   string
}

func checkSlate(t *testing.T, got Slate, wants []want) {
	t.Helper()
	if len(got.Items) != len(wants) {
		t.Fatalf("got %d items %v, want %d", len(got.Items), got.Items, len(wants))
	}
	for i, w := range wants {
		g := got.Items[i]
		if g.Item != w.item || math.Abs(g.Score-w.score) > 1e-6 || (w.why != "" && g.Explanation != w.why) {
			t.Errorf("rank %d: got {%s %.6f %q}, want {%s %.6f %q}", i+1, g.Item, g.Score, g.Explanation, w.item, w.score, w.why)
		}
	}
}

// handCase is one hand-computed slate: build the recommender with params,
// ask req, expect want.
type handCase struct {
	name   string
	params map[string]any
	req    Request
	want   []want
}

func runHandCases(t *testing.T, recommender string, env Env, cases []handCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r := build(t, recommender, env, tt.params)
			got := recommend(t, r, tt.req)
			checkContract(t, env.Catalog, tt.req, got)
			checkSlate(t, got, tt.want)
		})
	}
}

func ids(s Slate) []string {
	out := make([]string, len(s.Items))
	for i, it := range s.Items {
		out[i] = it.Item
	}
	return out
}

// checkContract verifies what every built-in owes every caller.
func checkContract(t testing.TB, cat *catalog.Catalog, req Request, s Slate) {
	t.Helper()
	inHistory := map[string]bool{}
	for _, h := range req.History {
		inHistory[h.Item] = true
	}
	eligible := 0
	for i := range cat.Len() {
		it := cat.Item(i)
		if it.ReleaseRound <= req.Round && !inHistory[it.ID] {
			eligible++
		}
	}
	if want := min(max(req.K, 0), eligible); len(s.Items) != want {
		t.Fatalf("user %s round %d: %d items, want min(K=%d, eligible=%d)", req.User, req.Round, len(s.Items), req.K, eligible)
	}
	seen := map[string]bool{}
	for r, it := range s.Items {
		i, ok := cat.Index(it.Item)
		switch {
		case !ok:
			t.Fatalf("rank %d: unknown item %q", r+1, it.Item)
		case cat.Item(i).ReleaseRound > req.Round:
			t.Fatalf("rank %d: %q is released in round %d, request is for round %d", r+1, it.Item, cat.Item(i).ReleaseRound, req.Round)
		case inHistory[it.Item]:
			t.Fatalf("rank %d: %q is in the history", r+1, it.Item)
		case seen[it.Item]:
			t.Fatalf("rank %d: %q repeated", r+1, it.Item)
		case math.IsNaN(it.Score) || math.IsInf(it.Score, 0):
			t.Fatalf("rank %d: score %v", r+1, it.Score)
		case it.Explanation == "":
			t.Fatalf("rank %d: no explanation", r+1)
		}
		seen[it.Item] = true
		if r > 0 {
			prev := s.Items[r-1]
			j, _ := cat.Index(prev.Item)
			if prev.Score < it.Score || (prev.Score == it.Score && j > i) {
				t.Fatalf("ranks %d and %d out of order: %v then %v", r, r+1, prev, it)
			}
		}
	}
}

// world is a small closed loop for the contract tests and the benchmarks:
// users with seed histories drawn by the popularity prior, who click each
// shown item with probability clickRate.
type world struct {
	cat       *catalog.Catalog
	users     []string
	history   [][]HistoryItem
	seed      uint64
	k         int
	clickRate float64
	shares    []float64 // cumulative popularity shares
}

func newWorld(cat *catalog.Catalog, users, seedLen int, seed uint64) *world {
	w := &world{cat: cat, users: make([]string, users), history: make([][]HistoryItem, users), seed: seed, k: 10, clickRate: 0.2}
	var cum float64
	for i := range cat.Len() {
		if cat.Item(i).ReleaseRound == 0 {
			cum += cat.PopularityShare(i)
		}
		w.shares = append(w.shares, cum)
	}
	for u := range users {
		w.users[u] = "user-" + strconv.Itoa(u)
		seen := map[int]bool{}
		for j := 0; len(seen) < seedLen && j < 20*seedLen; j++ {
			x := rng.Uniform(rng.Key(seed, rng.PurposeHistory, uint64(u), uint64(j))) * cum
			i := sort.SearchFloat64s(w.shares, x)
			if i >= cat.Len() || seen[i] || cat.Item(i).ReleaseRound > 0 {
				continue
			}
			seen[i] = true
			w.history[u] = append(w.history[u], HistoryItem{Item: cat.Item(i).ID, Round: -1})
		}
	}
	return w
}

func (w *world) request(u, round int) Request {
	return Request{User: w.users[u], Round: round, K: w.k, History: w.history[u]}
}

// recommendAll asks for every user's slate with the given number of
// goroutines, each taking users in the given order (strided).
func (w *world) recommendAll(ctx context.Context, r Recommender, round, workers int, order []int) ([]Slate, error) {
	slates := make([]Slate, len(w.users))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for k := g; k < len(order); k += workers {
				u := order[k]
				slates[u], errs[g] = r.Recommend(ctx, w.request(u, round))
				if errs[g] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return slates, nil
}

// feedback turns the slates into the round's feedback, in user order, and
// extends the histories with the clicks.
func (w *world) feedback(round int, slates []Slate, fb []Feedback) []Feedback {
	fb = fb[:0]
	for u, s := range slates {
		for rank, it := range s.Items {
			click := rng.Uniform(rng.Key(w.seed, rng.PurposeClick, uint64(u), uint64(round), uint64(rank))) < w.clickRate
			fb = append(fb, Feedback{User: w.users[u], Round: round, Item: it.Item, Rank: rank + 1, Clicked: click})
			if click {
				w.history[u] = append(w.history[u], HistoryItem{Item: it.Item, Round: round})
			}
		}
	}
	return fb
}

func identity(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func specOf(t testing.TB, name string) config.Spec {
	t.Helper()
	s, ok := Lookup(name)
	if !ok {
		t.Fatalf("%s is not registered", name)
	}
	return s
}
