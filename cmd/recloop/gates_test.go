package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/runner"
)

func gatedScenario(gates string, extra string) string {
	return smallScenario + "baseline: popular\n" + extra + "gates:\n" + gates
}

// Gates decide the exit code: pass → 0, a failed gate → 1 (named in
// junit.xml and summary.md), inconclusive → 1 unless the scenario lets it
// pass, a bad gate → 2.
func TestGateExitCodes(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		code  int
		named string
	}{
		{"pass", gatedScenario("  - {name: content keeps CTR, check: \"ctr[content] - baseline >= -0.05\"}\n", ""), runner.ExitOK, ""},
		{"tightened", gatedScenario("  - {name: content keeps CTR, check: \"ctr[content] - baseline >= -0.05\"}\n  - {name: impossible CTR, check: \"ctr[content] >= 0.99\"}\n", ""), runner.ExitGateFailed, "impossible CTR"},
		{"inconclusive fails", gatedScenario("  - {name: tiny margin, check: \"top_category_share[content] - baseline <= 0.1\"}\n", ""), runner.ExitGateFailed, "tiny margin"},
		{"inconclusive allowed", gatedScenario("  - {name: tiny margin, check: \"top_category_share[content] - baseline <= 0.1\"}\n", "inconclusive: pass\n"), runner.ExitOK, ""},
		{"bad gate", gatedScenario("  - \"ctr[nobody] >= 1\"\n", ""), runner.ExitInvalid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			scenario := writeFile(t, dir, "gated.yaml", tc.body)
			out := filepath.Join(dir, "out")
			code, stdout, stderr := cli(t, context.Background(), "run", "--out", out, scenario)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			if tc.named == "" {
				return
			}
			junit, summary := string(readFile(t, out, "junit.xml")), string(readFile(t, out, "summary.md"))
			if !strings.Contains(junit, tc.named) || !strings.Contains(junit, "<failure") {
				t.Errorf("junit.xml does not fail %q:\n%s", tc.named, junit)
			}
			if !strings.Contains(summary, tc.named) {
				t.Errorf("summary.md does not show %q", tc.named)
			}
			if !strings.Contains(stdout, "VERDICT") || !strings.Contains(stderr, tc.named) {
				t.Errorf("no verdict block, or the error does not name %q", tc.named)
			}
		})
	}
}
