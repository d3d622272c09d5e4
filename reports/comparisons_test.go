package reports

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/recloop/recloop/metrics"
)

func TestComparisonsMarkOnlySignificantDifferences(t *testing.T) {
	var b bytes.Buffer
	err := Comparisons(&b, []metrics.Comparison{
		{Candidate: "knn", Metric: metrics.CTR, Diff: 0.02, CILow: 0.01, CIHigh: 0.03, PHolm: 0.001, MDE: 0.005},
		{Candidate: "knn", Metric: metrics.ILD, Diff: 0.01, CILow: -0.01, CIHigh: 0.03, PHolm: 0.4, MDE: 0.02},
		{Candidate: "knn", Metric: metrics.Novelty, Diff: metrics.Float(math.NaN()), PHolm: metrics.Float(math.NaN())},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[1], "+0.03]*") || strings.Contains(lines[2], "]*") || strings.Contains(lines[3], "]*") {
		t.Errorf("significance marks wrong:\n%s", b.String())
	}
}
