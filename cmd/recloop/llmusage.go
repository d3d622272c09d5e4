package main

import (
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/scenarios"
)

// llmUsage turns the client's accounting into the results' summary.
func llmUsage(plan *scenarios.Plan) *metrics.LLMUsage {
	totals := plan.LLM.Usage()
	cfg := plan.LLM.Config()
	stats := plan.LLM.CacheStats()
	t := totals.Total
	out := &metrics.LLMUsage{
		Model: cfg.Model, Calls: t.Calls, CacheHits: t.CacheHits,
		PromptTokens: t.PromptTokens, CompletionTokens: t.CompletionTokens, CostUSD: t.CostUSD,
		Retries: t.Retries, Errors: t.Errors, BudgetUSD: cfg.BudgetUSD,
		CacheEntries: stats.Entries, CacheBytes: stats.Bytes,
	}
	if t.Calls > 0 {
		out.CacheHitRate = metrics.Float(float64(t.CacheHits) / float64(t.Calls))
	}
	if len(totals.ByRole) > 0 {
		out.ByRole = make(map[string]metrics.LLMTally, len(totals.ByRole))
		for r, u := range totals.ByRole {
			out.ByRole[string(r)] = tally(u)
		}
	}
	if len(totals.BySubject) > 0 {
		out.BySubject = make(map[string]metrics.LLMTally, len(totals.BySubject))
		for subject, u := range totals.BySubject {
			out.BySubject[subject] = tally(u)
		}
	}
	return out
}

func tally(u llm.Usage) metrics.LLMTally {
	return metrics.LLMTally{Calls: u.Calls, CacheHits: u.CacheHits, PromptTokens: u.PromptTokens,
		CompletionTokens: u.CompletionTokens, CostUSD: u.CostUSD}
}

// recommenderHallucinations fills in, for variants whose recommender asks a
// language model, how many ids it invented.
func recommenderHallucinations(plan *scenarios.Plan, results *metrics.Results) {
	for i, v := range plan.Variants {
		h, ok := v.Impl.(recommenders.HallucinationReporter)
		if !ok || i >= len(results.Variants) {
			continue
		}
		rejected, proposed := h.Hallucinations()
		out := &metrics.RecommenderLLM{Proposed: proposed, Rejected: rejected}
		if proposed > 0 {
			out.HallucinationRate = metrics.Float(float64(rejected) / float64(proposed))
		}
		if f, ok := v.Impl.(interface{ Fallbacks() int64 }); ok {
			out.Fallbacks = f.Fallbacks()
		}
		results.Variants[i].RecommenderLLM = out
	}
}
