package recommenders

import (
	"math"
	"testing"
)

func TestContentHandComputed(t *testing.T) {
	cat := tinyCatalog(t)
	env := Env{Catalog: cat}
	rated := func(id string, rating float64) HistoryItem { return HistoryItem{Item: id, Round: -1, Rating: rating} }
	tests := []struct {
		name   string
		params map[string]any
		req    Request
		want   []want
	}{
		{
			// q = x_a = (sci-fi, space)/√2. cos with b and c is
			// (1/√2)(1/√2) = 0.5 each (b first on index); d and f share
			// nothing (0, by index); e is unreleased in round 0.
			name: "one history item", params: nil,
			req: Request{User: "u", K: 4, History: hist("a")},
			want: []want{
				{"b", 0.5, "matches your interest in sci-fi"},
				{"c", 0.5, "matches your interest in space"},
				{"d", 0, "something different for you: drama"},
				{"f", 0, "something different for you: comedy"},
			},
		},
		{
			// Decay 0.5: d (newest) weighs 1, a weighs 0.5.
			// h = x_d + 0.5·x_a: drama .7071, wedding .7071, sci-fi .3536, space .3536;
			// ‖h‖² = 0.5 + 0.5 + 0.125 + 0.125 = 1.25.
			// c: .7071·.7071 + .7071·.3536 = 0.5 + 0.25 = 0.75 → 0.75/√1.25 = 0.670820
			// b: .7071·.3536 = 0.25 → 0.25/√1.25 = 0.223607
			name: "recency", params: map[string]any{"recency_decay": 0.5},
			req: Request{User: "u", K: 2, History: hist("a", "d")},
			want: []want{
				{"c", 0.75 / math.Sqrt(1.25), "matches your interest in drama and space"},
				{"b", 0.25 / math.Sqrt(1.25), "matches your interest in sci-fi"},
			},
		},
		{
			// ρ(5) = (5 − 2.5)/2.5 = 1, ρ(1) = (1 − 2.5)/2.5 = −0.6, no decay.
			// h = x_a − 0.6·x_c: sci-fi .7071, space .7071 − .4243 = .2828, drama −.4243;
			// ‖h‖² = 0.5 + 0.08 + 0.18 = 0.76.
			// b: .7071·.7071 = 0.5 → 0.5/√0.76 = 0.573539
			// f: 0;  d: −.4243·.7071 = −0.3 → −0.3/√0.76 = −0.344124
			name: "ratings", params: map[string]any{"recency_decay": 1},
			req: Request{User: "u", K: 3, History: []HistoryItem{rated("a", 5), rated("c", 1)}},
			want: []want{
				{"b", 0.5 / math.Sqrt(0.76), "matches your interest in sci-fi"},
				{"f", 0, "something different for you: comedy"},
				{"d", -0.3 / math.Sqrt(0.76), "something different for you: drama"},
			},
		},
		{
			// Only the newest item (c) is in the window: q = x_c.
			name: "window", params: map[string]any{"window": 1},
			req: Request{User: "u", K: 1, History: hist("a", "c")},
			want: []want{{"d", 0.5, "matches your interest in drama"}},
		},
		{
			name: "cold user gets popularity", params: nil,
			req:  Request{User: "u", K: 2},
			want: []want{{"a", 60.0 / 210, ""}, {"b", 50.0 / 210, ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := build(t, "content", env, tt.params)
			got := recommend(t, r, tt.req)
			checkContract(t, cat, tt.req, got)
			checkSlate(t, got, tt.want)
		})
	}
}

func TestContentLearnsFromSkips(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "content", Env{Catalog: cat}, nil)
	req := Request{User: "u", Round: 1, K: 1, History: hist("a")}
	checkSlate(t, recommend(t, r, req), []want{{"b", 0.5, ""}})

	// u was shown b and passed it over: s = x_b, β = 0.15.
	// q = x_a − 0.15·x_b: sci-fi .7071 − .1061 = .6010, space .7071, time-travel −.1061;
	// ‖q‖² = 0.36125 + 0.5 + 0.01125 = 0.8725.
	// c: .7071·.7071 = 0.5 → 0.5/√0.8725 = 0.535288
	// b: .7071·.6010 − .7071·.1061 = 0.425 − 0.075 = 0.35 → 0.374701
	observe(t, r, Feedback{User: "u", Round: 0, Item: "b", Rank: 1})
	checkSlate(t, recommend(t, r, req), []want{{"c", 0.5 / math.Sqrt(0.8725), "matches your interest in space"}})
	// Another user's skips do not move u.
	other := req
	other.User = "v"
	checkSlate(t, recommend(t, r, other), []want{{"b", 0.5, ""}})

	if err := r.(Resetter).Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkSlate(t, recommend(t, r, req), []want{{"b", 0.5, ""}})
}
