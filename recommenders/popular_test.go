package recommenders

import (
	"slices"
	"testing"
)

func TestPopularHandComputed(t *testing.T) {
	cat := tinyCatalog(t)
	env := Env{Catalog: cat, Seed: 1}
	// Before any click the score is the prior share. With a in the history
	// and e unreleased in round 0 the order is b (50/210), c (40/210),
	// d (30/210), f (10/210). Explanations rank each item in its category:
	// sci-fi = {a 60, b 50}, drama = {c 40, d 30}.
	before := []want{
		{"b", 50.0 / 210, "popular in sci-fi (#2 of 2 by catalog popularity)"},
		{"c", 40.0 / 210, "popular in drama (#1 of 2 by catalog popularity)"},
		{"d", 30.0 / 210, "popular in drama (#2 of 2 by catalog popularity)"},
	}
	// Round 0 clicks: f twice, d once, so C = 3. With w = 0.5:
	//   f = 0.5·10/210 + 0.5·2/3 = 0.023810 + 0.333333 = 0.357143
	//   d = 0.5·30/210 + 0.5·1/3 = 0.071429 + 0.166667 = 0.238095
	//   b = 0.5·50/210           = 0.119048
	//   c = 0.5·40/210           = 0.095238
	after := []want{
		{"f", 0.5*10.0/210 + 0.5*2.0/3, "trending: 2 clicks since round 0"},
		{"d", 0.5*30.0/210 + 0.5*1.0/3, "trending: 1 click since round 0"},
		{"b", 0.5 * 50.0 / 210, "popular in sci-fi (#2 of 2 by catalog popularity)"},
	}
	r := build(t, "popular", env, nil)
	req := Request{User: "u", Round: 0, K: 3, History: hist("a")}
	checkSlate(t, recommend(t, r, req), before)

	fb := append(clicked("v", 0, "f", "d"), clicked("w", 0, "f")...)
	fb = append(fb, Feedback{User: "w", Round: 0, Item: "b", Rank: 2})
	observe(t, r, fb...)
	req.Round = 1
	checkSlate(t, recommend(t, r, req), after)

	if err := r.(Resetter).Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	req.Round = 0
	checkSlate(t, recommend(t, r, req), before)
}

func TestPopularWindow(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "popular", Env{Catalog: cat}, map[string]any{"window": 1, "prior_weight": 0.0})
	observe(t, r, clicked("v", 0, "f", "d")...)
	// Round 1 only counts round 1 (window 1): c is the only click, so
	// c = 1/1 and every other item scores 0 (w = 0), tied and ordered by index.
	observe(t, r, clicked("v", 1, "c")...)
	got := recommend(t, r, Request{User: "u", Round: 1, K: 3, History: hist("a")})
	checkSlate(t, got, []want{
		{"c", 1, "trending: 1 click since round 1"},
		{"b", 0, ""},
		{"d", 0, "popular in drama (#2 of 2 by catalog popularity)"},
	})
}

func TestPopularEligibility(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "popular", Env{Catalog: cat}, nil)
	tests := []struct {
		name string
		req  Request
		want []string
	}{
		{"unreleased item left out", Request{Round: 0, K: 10}, []string{"a", "b", "c", "d", "f"}},
		{"released from its round", Request{Round: 2, K: 10}, []string{"a", "b", "c", "d", "e", "f"}},
		{"history left out", Request{Round: 2, K: 10, History: hist("a", "e")}, []string{"b", "c", "d", "f"}},
		{"repeated and unknown history", Request{Round: 0, K: 2, History: hist("a", "zz", "a", "b")}, []string{"c", "d"}},
		{"K zero", Request{Round: 0, K: 0}, []string{}},
		{"negative K", Request{Round: 0, K: -3}, []string{}},
		{"everything consumed", Request{Round: 0, K: 3, History: hist("a", "b", "c", "d", "f")}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.User = "u"
			got := recommend(t, r, tt.req)
			checkContract(t, cat, tt.req, got)
			if g := ids(got); !slices.Equal(g, tt.want) {
				t.Errorf("got %v, want %v", g, tt.want)
			}
		})
	}
}
