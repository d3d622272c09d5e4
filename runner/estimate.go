package runner

import (
	"sort"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/scenarios"
)

// Estimate is what a scenario's language-model calls would take. Every
// persona is assumed to stay for every round after it joins, so the figures
// are an upper bound when personas exit early.
type Estimate struct {
	// Kinds lists the kinds of call in name order, each with its usage.
	Kinds []KindUsage
	Total llm.Usage
	// Model and BaseURL say where the calls would go; BudgetUSD is the
	// scenario's budget (0: none).
	Model, BaseURL string
	// Sources says where Model, BaseURL and the key came from.
	Sources   llm.Sources
	Endpoint  string
	BudgetUSD float64
}

// KindUsage is the estimated usage of one kind of call.
type KindUsage struct {
	Kind string
	llm.Usage
}

// EstimateLLM estimates a plan's LLM calls without sending any; ok is false
// when the behaviour calls no language model.
func EstimateLLM(plan *scenarios.Plan) (est Estimate, ok bool) {
	estimator, ok := plan.Behaviour.(personas.CallEstimator)
	if !ok || plan.LLM == nil {
		return est, false
	}
	s := plan.Scenario
	byKind := map[string]*llm.Usage{}
	for range plan.Variants {
		for _, st := range plan.States {
			slates := max(0, s.Rounds-st.Persona.JoinRound)
			for _, call := range estimator.EstimateCalls(st, slates, s.SlateSize) {
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
				est.Total.Add(u)
			}
		}
	}
	for k, u := range byKind {
		est.Kinds = append(est.Kinds, KindUsage{Kind: k, Usage: *u})
	}
	sort.Slice(est.Kinds, func(i, j int) bool { return est.Kinds[i].Kind < est.Kinds[j].Kind })
	cfg := plan.LLM.Config()
	est.Model, est.BaseURL, est.BudgetUSD = cfg.Model, cfg.BaseURL, cfg.BudgetUSD
	est.Sources, est.Endpoint = cfg.Sources, cfg.Describe()
	return est, true
}
