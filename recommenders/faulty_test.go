package recommenders

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
)

func TestFaultyInjectsStableFaults(t *testing.T) {
	cat := tinyCatalog(t)
	env := Env{Catalog: cat, Seed: 5}
	r := build(t, "faulty", env, map[string]any{"inner": "popular", "error_rate": 0.2, "timeout_rate": 0.3})
	inner := build(t, "popular", env, nil)
	const users = 2000
	outcome := func(u int) string {
		req := Request{User: "u" + strconv.Itoa(u), Round: 3, K: 2}
		s, err := r.Recommend(context.Background(), req)
		switch {
		case errors.Is(err, context.DeadlineExceeded) && errors.Is(err, ErrInjected):
			return "timeout"
		case errors.Is(err, ErrInjected):
			return "error"
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		}
		if want := recommend(t, inner, req); !slices.Equal(ids(s), ids(want)) {
			t.Fatalf("passed-through slate %v, inner gives %v", ids(s), ids(want))
		}
		return "ok"
	}
	first := make([]string, users)
	counts := map[string]int{}
	for u := range users {
		first[u] = outcome(u)
		counts[first[u]]++
	}
	// Expected 400 errors and 600 timeouts; the draws are seeded.
	if counts["error"] < 320 || counts["error"] > 480 || counts["timeout"] < 510 || counts["timeout"] > 690 {
		t.Fatalf("outcomes %v, want about 400 errors and 600 timeouts of %d", counts, users)
	}
	for u := users - 1; u >= 0; u-- {
		if got := outcome(u); got != first[u] {
			t.Fatalf("user %d: %s on the second pass, %s on the first", u, got, first[u])
		}
	}
}

func TestFaultyRejectsBadParams(t *testing.T) {
	cat := tinyCatalog(t)
	spec := specOf(t, "faulty")
	if _, errs := spec.Resolve(nil, "params", map[string]any{"inner": "faulty"}); len(errs) == 0 {
		t.Fatal("faulty wrapping faulty passed validation")
	}
	params, _ := spec.Resolve(nil, "params", map[string]any{"error_rate": 0.7, "timeout_rate": 0.5})
	if _, err := New(t.Context(), "faulty", Env{Catalog: cat}, params); err == nil {
		t.Fatal("rates summing to 1.2 were accepted")
	}
	params["inner"] = "nope"
	params["timeout_rate"] = 0.0
	if _, err := New(t.Context(), "faulty", Env{Catalog: cat}, params); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown inner: %v", err)
	}
}
