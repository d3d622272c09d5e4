package reports

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/recloop/recloop/fidelity"
)

// fidelityBlock is `recloop fidelity`'s verdict on the behaviour model, shown
// when the run directory holds a fidelity.json.
type fidelityBlock struct {
	Note           string
	Users, HeldOut int
	Behaviour      string
	Discrimination []discriminationRow
	Ratings        *ratingsRow
	Recommenders   []fidelityRecommenderRow
	Agreement      string
}

type discriminationRow struct {
	Ratio, Shown, Accuracy, Precision, Recall, F1, RandomF1, AUC string
}

type ratingsRow struct{ N, RMSE, MAE, BaselineRMSE, BaselineMAE string }

type fidelityRecommenderRow struct{ Name, CTR, HR10, NDCG10 string }

func readFidelity(open Opener) (*fidelityBlock, error) {
	f, err := open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, err
	}
	var rep fidelity.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("fidelity.json: %w", err)
	}
	return fidelityFrom(&rep), nil
}

func fidelityFrom(rep *fidelity.Report) *fidelityBlock {
	b := &fidelityBlock{Users: rep.Users, HeldOut: rep.HeldOut, Behaviour: rep.Behaviour}
	for _, d := range rep.Discrimination {
		b.Discrimination = append(b.Discrimination, discriminationRow{
			Ratio: d.Ratio, Shown: fmt.Sprint(d.Shown), Accuracy: formatNumber(d.Accuracy), Precision: formatNumber(d.Precision),
			Recall: formatNumber(d.Recall), F1: formatNumber(d.F1), RandomF1: formatNumber(d.RandomF1), AUC: formatNumber(float64(d.AUC)),
		})
	}
	if r := rep.Ratings; r.N > 0 {
		b.Ratings = &ratingsRow{N: fmt.Sprint(r.N), RMSE: formatNumber(float64(r.RMSE)), MAE: formatNumber(float64(r.MAE)),
			BaselineRMSE: formatNumber(float64(r.Baseline.RMSE)), BaselineMAE: formatNumber(float64(r.Baseline.MAE))}
	}
	if v := rep.Verdicts; v != nil {
		for _, s := range v.Recommenders {
			b.Recommenders = append(b.Recommenders, fidelityRecommenderRow{Name: s.Name, CTR: formatPercent(s.CTR),
				HR10: formatNumber(s.HR10), NDCG10: formatNumber(s.NDCG10)})
		}
		b.Agreement = agreementSentence(v)
	}
	return b
}

// agreementSentence says in words whether simulated A/B verdicts point the
// way the held-out data does.
func agreementSentence(v *fidelity.Verdicts) string {
	rho, tau := float64(v.SpearmanNDCG), float64(v.KendallNDCG)
	if !v.SpearmanNDCG.Defined() || !v.KendallNDCG.Defined() {
		return "Too few recommenders differ offline to rank them; the agreement is undefined."
	}
	how := "disagrees with"
	switch {
	case rho >= 0.8:
		how = "agrees with"
	case rho >= 0.4:
		how = "partly agrees with"
	}
	return fmt.Sprintf("Ranking %d recommenders by simulated CTR %s ranking them by NDCG@10 on the users' held-out interactions (Spearman ρ = %s, Kendall τ = %s). The closer to 1, the more the simulator's A/B verdicts can be believed for this data.",
		len(v.Recommenders), how, formatNumber(rho), formatNumber(tau))
}
