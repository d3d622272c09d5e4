package fidelity

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// JSON renders the report as fidelity.json.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fidelity: encoding the report: %w", err)
	}
	return append(b, '\n'), nil
}

// WriteTable prints the report for a terminal.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "Fidelity of %s on %d users (%d seed, %d held-out interactions)\n\n", r.Behaviour, r.Users, r.SeedInteractions, r.HeldOut)
	rows := make([][]string, 0, len(r.Discrimination))
	for _, d := range r.Discrimination {
		rows = append(rows, []string{d.Ratio, fmt.Sprint(d.Shown), f3(d.Accuracy), f3(d.Precision), f3(d.Recall),
			f3(d.F1), f3(d.RandomF1), f3(float64(d.AUC))})
	}
	fmt.Fprintln(w, "Discrimination: held-out liked items against untouched ones (random choice: accuracy and AUC 0.5)")
	if err := table(w, []string{"ratio", "shown", "accuracy", "precision", "recall", "F1", "random F1", "AUC"}, rows); err != nil {
		return err
	}
	rt := r.Ratings
	fmt.Fprintf(w, "\nRatings on %d held-out items: RMSE %s, MAE %s (each user's mean seed rating: RMSE %s, MAE %s)\n",
		rt.N, f3(float64(rt.RMSE)), f3(float64(rt.MAE)), f3(float64(rt.Baseline.RMSE)), f3(float64(rt.Baseline.MAE)))
	fmt.Fprintf(w, "Simulated ratings: mean %s, sd %s; real: mean %s, sd %s\n",
		f3(float64(rt.MeanSimulated)), f3(float64(rt.SDSimulated)), f3(float64(rt.MeanReal)), f3(float64(rt.SDReal)))
	if v := r.Verdicts; v != nil {
		rows = rows[:0]
		for _, s := range v.Recommenders {
			rows = append(rows, []string{s.Name, f4(s.CTR), f3(s.HR10), f3(s.NDCG10)})
		}
		fmt.Fprintln(w, "\nVerdict agreement: simulated CTR against offline accuracy on the hold-out")
		if err := table(w, []string{"recommender", "simulated CTR", "HR@10", "NDCG@10"}, rows); err != nil {
			return err
		}
		fmt.Fprintf(w, "Rank correlation with HR@10: Spearman %s, Kendall %s; with NDCG@10: Spearman %s, Kendall %s\n",
			f3(float64(v.SpearmanHR)), f3(float64(v.KendallHR)), f3(float64(v.SpearmanNDCG)), f3(float64(v.KendallNDCG)))
	}
	if f := r.Fit; f != nil {
		rows = rows[:0]
		for _, name := range FittedParams {
			rows = append(rows, []string{name, f3(f.Default[name]), f3(f.Fitted[name])})
		}
		fmt.Fprintf(w, "\nFit on the seed part (%d probes; log-likelihood %s → %s)\n", f.Probes, f4(f.LogLikDefault), f4(f.LogLikFitted))
		if err := table(w, []string{"coefficient", "default", "fitted"}, rows); err != nil {
			return err
		}
		rows = rows[:0]
		for _, g := range f.HeldOut {
			rows = append(rows, []string{g.Ratio, f3(float64(g.AUCDefault)), f3(float64(g.AUCFitted)),
				signed(float64(g.AUCFitted - g.AUCDefault)), f3(g.F1Default), f3(g.F1Fitted)})
		}
		if err := table(w, []string{"ratio", "AUC default", "AUC fitted", "gain", "F1 default", "F1 fitted"}, rows); err != nil {
			return err
		}
	}
	return nil
}

func table(w io.Writer, header []string, rows [][]string) error {
	aligns := make([]tw.Align, len(header))
	for i := range aligns {
		aligns[i] = tw.AlignRight
	}
	aligns[0] = tw.AlignLeft
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return fmt.Errorf("fidelity: table: %w", err)
	}
	return t.Render()
}

func f3(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%.3f", x)
}

func f4(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%.4f", x)
}

func signed(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%+.3f", x)
}
