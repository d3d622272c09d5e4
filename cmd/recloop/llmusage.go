package main

import (
	"sort"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/metrics"
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
	roles := make([]string, 0, len(totals.ByRole))
	for r := range totals.ByRole {
		roles = append(roles, string(r))
	}
	sort.Strings(roles)
	for _, r := range roles {
		u := totals.ByRole[llm.Role(r)]
		if out.ByRole == nil {
			out.ByRole = map[string]metrics.LLMTally{}
		}
		out.ByRole[r] = metrics.LLMTally{Calls: u.Calls, CacheHits: u.CacheHits, PromptTokens: u.PromptTokens,
			CompletionTokens: u.CompletionTokens, CostUSD: u.CostUSD}
	}
	return out
}
