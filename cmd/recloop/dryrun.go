package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/scenarios"
)

// dryRun says what a scenario's language-model calls will take, without
// sending any. Every persona is assumed to stay for every round after it
// joins, so the figures are an upper bound when personas exit early.
func dryRun(w io.Writer, plan *scenarios.Plan) error {
	s := plan.Scenario
	fmt.Fprintf(w, "dry run of %s: %d personas × %d variants × %d rounds, slate %d\n",
		s.Name, len(plan.States), len(plan.Variants), s.Rounds, s.SlateSize)
	est, ok := plan.Behaviour.(personas.CallEstimator)
	if !ok || plan.LLM == nil {
		fmt.Fprintf(w, "behaviour %q calls no language model: the run costs nothing.\n", s.Behaviour.Model)
		return nil
	}
	byKind := map[string]*llm.Usage{}
	var total llm.Usage
	for range plan.Variants {
		for _, st := range plan.States {
			slates := max(0, s.Rounds-st.Persona.JoinRound)
			for _, call := range est.EstimateCalls(st, slates, s.SlateSize) {
				if call.Count == 0 {
					continue
				}
				one := plan.LLM.Estimate(call.Request)
				u := llm.Usage{Calls: call.Count, PromptTokens: one.PromptTokens * call.Count,
					CompletionTokens: one.CompletionTokens * call.Count, CostUSD: one.CostUSD * float64(call.Count)}
				if byKind[call.Kind] == nil {
					byKind[call.Kind] = &llm.Usage{}
				}
				byKind[call.Kind].Add(u)
				total.Add(u)
			}
		}
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	cfg := plan.LLM.Config()
	fmt.Fprintf(w, "model %s at %s\n", cfg.Model, cfg.BaseURL)
	for _, k := range kinds {
		u := byKind[k]
		fmt.Fprintf(w, "  %-10s %7d calls  ~%d prompt + %d completion tokens  ~$%.4f\n", k, u.Calls, u.PromptTokens, u.CompletionTokens, u.CostUSD)
	}
	fmt.Fprintf(w, "  %-10s %7d calls  ~%d prompt + %d completion tokens  ~$%.4f\n", "total", total.Calls, total.PromptTokens, total.CompletionTokens, total.CostUSD)
	if cfg.BudgetUSD > 0 {
		fmt.Fprintf(w, "budget $%.2f: ", cfg.BudgetUSD)
		if total.CostUSD > cfg.BudgetUSD {
			fmt.Fprintln(w, "the estimate exceeds it; the run would stop early (exit 4) and keep what it paid for")
		} else {
			fmt.Fprintln(w, "the estimate fits")
		}
	}
	fmt.Fprintln(w, "An upper bound: personas that exit early make fewer calls, and answers already in the cache cost nothing.")
	return nil
}
