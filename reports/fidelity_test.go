package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	fidreport "github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/metrics"
)

func openBytes(data []byte) Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

func TestFidelitySection(t *testing.T) {
	rep := fidreport.Report{Behaviour: "utility", Users: 943, HeldOut: 20000, Split: "per-user",
		Samplers: []fidreport.Sampler{{Name: fidreport.Uniform, Ratios: []fidreport.Discrimination{{
			Ratio: "1:1", Shown: 1886, Clicks: fidreport.Classification{Accuracy: 0.74, Precision: 0.7, Recall: 0.7, F1: 0.7}, RandomF1: 0.5,
			Scorers: []fidreport.Scorer{
				{Name: fidreport.SimulatorName, AUC: 0.9, AUCLo: 0.89, AUCHi: 0.91},
				{Name: hostileScript, AUC: 0.8, AUCLo: 0.79, AUCHi: 0.81},
			},
			Best: hostileScript, Lift: 0.1, LiftLo: 0.09, LiftHi: 0.11,
		}}}},
		Ratings: fidreport.Ratings{
			Expected:  &fidreport.ErrorStats{N: 500, RMSE: 0.95, MAE: 0.75, Pearson: 0.55},
			Drawn:     fidreport.ErrorStats{N: 500, RMSE: 1.45, MAE: 1.1},
			Baselines: []fidreport.RatingBaseline{{Name: "user + item bias", ErrorStats: fidreport.ErrorStats{N: 500, RMSE: 0.98, MAE: 0.8}}},
		},
		Verdicts: &fidreport.Verdicts{Recommenders: []fidreport.Recommender{{Name: hostileScript, CTR: 0.12, HR10: 0.3, NDCG10: 0.2}, {Name: "popular", CTR: 0.1, HR10: 0.2, NDCG10: 0.1}},
			SpearmanHR: 1, KendallHR: 1, SpearmanNDCG: 1, KendallNDCG: 1, SpearmanNDCGP: 0.5, KendallNDCGP: 0.5, Significant: 1, Agreeing: 1},
		Targets: []fidreport.Target{{Name: "uniform AUC", Goal: "≥ 0.90", Value: 0.9, Met: true}},
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	render := func(o HTMLOptions) string {
		var buf bytes.Buffer
		if err := WriteHTML(&buf, sample(), o); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	page := render(HTMLOptions{Fidelity: openBytes(data)})
	assertContains(t, page, `<h2 id="fidelity">Fidelity: how far to trust the simulator</h2>`, `<a href="#fidelity">Fidelity</a>`,
		"the utility behaviour model against 943 real users",
		"Ranking 2 recommenders by simulated CTR agrees with ranking them by NDCG@10",
		"<td>uniform</td><td>1:1</td><td>1886</td><td>0.740</td>", "<td>simulator</td><td>0.900 (0.890–0.910)</td>",
		"better than the best simple scorer", "<td>simulator, expected rating</td><td>500</td><td>0.950</td>",
		"item bias</td><td>500</td><td>0.980</td>", "Of the 1 pairs whose offline difference is significant", "<td>uniform AUC</td>")
	if strings.Contains(page, hostileScript) {
		t.Error("a recommender name reached the page unescaped")
	}
	if got := render(HTMLOptions{}); strings.Contains(got, `id="fidelity"`) {
		t.Error("a run without fidelity.json has a fidelity section")
	}
	broken := render(HTMLOptions{Fidelity: openBytes([]byte("{not json"))})
	assertContains(t, broken, "The fidelity check could not be read")
	missing := render(HTMLOptions{Fidelity: func() (io.ReadCloser, error) { return nil, errors.New("gone") }})
	assertContains(t, missing, "The fidelity check could not be read: gone.")
}

func TestAgreementSentence(t *testing.T) {
	for _, tc := range []struct {
		rho  float64
		want string
	}{{0.9, " agrees with"}, {0.5, "partly agrees with"}, {-0.2, "disagrees with"}} {
		v := &fidreport.Verdicts{SpearmanNDCG: metrics.Float(tc.rho), KendallNDCG: metrics.Float(tc.rho)}
		if got := agreementSentence(v); !strings.Contains(got, tc.want) {
			t.Errorf("ρ = %g: %q, want %q", tc.rho, got, tc.want)
		}
	}
}
