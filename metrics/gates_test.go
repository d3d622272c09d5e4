package metrics

import (
	"errors"
	"testing"
)

func gateResults(mde float64) *Results {
	return &Results{
		Baseline: "popular",
		Variants: []VariantResult{
			{Name: "popular", Metrics: []Value{{Name: CTR, Value: 0.08}}},
			{Name: "content", Metrics: []Value{{Name: CTR, Value: 0.10}},
				Segments:      []SegmentResult{{Segment: "cold", Metrics: []Value{{Name: CTR, Value: 0.04}}}},
				WallLatencyMS: Latency{P95: 120}},
		},
		Comparisons: []Comparison{{Metric: CTR, Baseline: "popular", Candidate: "content", N: 100,
			Diff: 0.004, CILow: -0.002, CIHigh: 0.01, MDE: Float(mde)}},
	}
}

func parseGates(t *testing.T, checks ...string) []Gate {
	t.Helper()
	var gs []Gate
	for _, c := range checks {
		g, err := ParseGate("", c)
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	return gs
}

func TestGateVerdicts(t *testing.T) {
	tests := []struct {
		check string
		mde   float64
		want  string
	}{
		{"ctr[content] >= 0.05", 0.004, GatePass},      // 0.10 ≥ 0.05
		{"ctr[content] >= 0.2", 0.004, GateFail},       // 0.10 < 0.2
		{"ctr[content/cold] >= 0.05", 0.004, GateFail}, // cold CTR 0.04
		{"p95_latency_ms[content] <= 200", 0.004, GatePass},
		{"ctr[nobody] >= 0", 0.004, GateFail},
		// Non-inferiority, margin 0.005: CI low −0.002 ≥ −0.005.
		{"ctr[content] - baseline >= -0.005", 0.004, GatePass},
		// Superiority: CI low −0.002 is not > 0; the CI straddles 0 and the
		// MDE 0.004 exceeds the margin 0: too small to tell.
		{"ctr[content] - baseline > 0", 0.004, GateInconclusive},
		// Margin 0.001: CI low −0.002 < −0.001 and straddles it; MDE 0.004 > 0.001.
		{"ctr[content] - baseline >= -0.001", 0.004, GateInconclusive},
		// The same with an MDE of 0.0005 < 0.001: enough personas, so it fails.
		{"ctr[content] - baseline >= -0.001", 0.0005, GateFail},
		// Upper bound for ≤: CI high 0.01 ≤ 0.02.
		{"ctr[content] - baseline <= 0.02", 0.004, GatePass},
	}
	for _, tc := range tests {
		r := gateResults(tc.mde)
		EvaluateGates(r, parseGates(t, tc.check), true)
		if got := r.Gates[0].Verdict; got != tc.want {
			t.Errorf("%s (MDE %g): %s, want %s — %s", tc.check, tc.mde, got, tc.want, r.Gates[0].Message)
		}
	}
}

func TestRunVerdict(t *testing.T) {
	r := gateResults(0.004)
	EvaluateGates(r, parseGates(t, "ctr[content] >= 0.05", "ctr[content] - baseline > 0"), true)
	if r.Verdict != GateFail {
		t.Errorf("inconclusive counted as failure: verdict %s", r.Verdict)
	}
	EvaluateGates(r, parseGates(t, "ctr[content] >= 0.05", "ctr[content] - baseline > 0"), false)
	if r.Verdict != GateInconclusive {
		t.Errorf("inconclusive allowed: verdict %s", r.Verdict)
	}
	EvaluateGates(r, parseGates(t, "ctr[*] >= 0.09"), false)
	if len(r.Gates) != 2 || r.Gates[0].Verdict != GateFail || r.Gates[1].Verdict != GatePass || r.Verdict != GateFail {
		t.Errorf("wildcard gates %+v, verdict %s", r.Gates, r.Verdict)
	}
	EvaluateGates(r, nil, true)
	if r.Verdict != "" || len(r.Gates) != 0 {
		t.Errorf("no gates: %+v %s", r.Gates, r.Verdict)
	}
}

func TestParseGate(t *testing.T) {
	g, err := ParseGate("CTR holds", "ctr[content/new-signup] - baseline >= -0.5e-2")
	if err != nil || g.Metric != CTR || g.Variant != "content" || g.Segment != "new-signup" || !g.VsBaseline || g.Op != ">=" || g.Threshold != -0.005 || g.Name != "CTR holds" {
		t.Fatalf("%+v %v", g, err)
	}
	for _, bad := range []string{"", "ctr >= 1", "ctr[content] == 1", "ctr[content] >= high", "ctr[] >= 1"} {
		if _, err := ParseGate("", bad); !errors.Is(err, ErrGate) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
