package runner

import (
	"math"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
	"github.com/recloop/recloop/scenarios"
)

// llmUsageIfAny is the plan's LLM usage, or nil for a plan without a client.
func llmUsageIfAny(plan *scenarios.Plan) *metrics.LLMUsage {
	if plan.LLM == nil {
		return nil
	}
	return llmUsage(plan)
}

// llmUsage turns the client's accounting into the results' summary.
func llmUsage(plan *scenarios.Plan) *metrics.LLMUsage {
	totals := plan.LLM.Usage()
	cfg := plan.LLM.Config()
	stats := plan.LLM.CacheStats()
	t := totals.Total
	out := &metrics.LLMUsage{
		Model: cfg.Model, Calls: t.Calls, CacheHits: t.CacheHits,
		PromptTokens: t.PromptTokens, CompletionTokens: t.CompletionTokens, CostUSD: dollars(t.CostUSD),
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
		CompletionTokens: u.CompletionTokens, CostUSD: dollars(u.CostUSD)}
}

// Accounting is what a run's clients counted outside the trajectory: the
// LLM's usage and the recommenders' own counts, by variant.
type Accounting struct {
	LLM          *metrics.LLMUsage            `json:"llm,omitempty"`
	Recommenders map[string]recommenderCounts `json:"recommenders,omitempty"`
}

// accountingOf reads the live clients of a plan.
func accountingOf(plan *scenarios.Plan) Accounting {
	a := Accounting{LLM: llmUsageIfAny(plan)}
	if counts := countRecommenders(plan); len(counts) > 0 {
		a.Recommenders = counts
	}
	return a
}

// add sums the accounting of two processes of one run (a simulation and a
// later judging pass, or the shards of a merge).
func (a Accounting) add(b Accounting) Accounting {
	out := Accounting{LLM: addLLMUsage(a.LLM, b.LLM)}
	for _, m := range []map[string]recommenderCounts{a.Recommenders, b.Recommenders} {
		for name, c := range m {
			if out.Recommenders == nil {
				out.Recommenders = map[string]recommenderCounts{}
			}
			out.Recommenders[name] = out.Recommenders[name].add(c)
		}
	}
	return out
}

// recommenderCounts is what a variant's recommenders counted themselves,
// outside the trajectory: an LLM recommender's invented ids and an external
// recommender's protocol violations, summed over the variant's worlds.
type recommenderCounts struct {
	LLM      *metrics.RecommenderLLM `json:"llm,omitempty"`
	Protocol *metrics.Protocol       `json:"protocol,omitempty"`
}

// countRecommenders reads the counters of every recommender the plan built.
func countRecommenders(plan *scenarios.Plan) map[string]recommenderCounts {
	out := map[string]recommenderCounts{}
	for i, v := range plan.Variants {
		var c recommenderCounts
		for _, r := range plan.Recommenders(i) {
			if h, ok := r.(recommenders.HallucinationReporter); ok {
				rejected, proposed := h.Hallucinations()
				one := &metrics.RecommenderLLM{Proposed: proposed, Rejected: rejected}
				if f, ok := r.(protocol.FallbackReporter); ok {
					one.Fallbacks = f.Fallbacks()
				}
				c.LLM = addRecommenderLLM(c.LLM, one)
				continue
			}
			if p, ok := r.(protocol.ViolationReporter); ok {
				one := &metrics.Protocol{Violations: p.Violations()}
				if f, ok := r.(protocol.FallbackReporter); ok {
					one.Fallbacks = f.Fallbacks()
				}
				c.Protocol = addProtocol(c.Protocol, one)
			}
		}
		if c.LLM != nil || c.Protocol != nil {
			out[v.Name] = c
		}
	}
	return out
}

func (c recommenderCounts) add(o recommenderCounts) recommenderCounts {
	return recommenderCounts{LLM: addRecommenderLLM(c.LLM, o.LLM), Protocol: addProtocol(c.Protocol, o.Protocol)}
}

// applyCounts puts the counts into the results; a violation rate is over
// the variant's recommender calls.
func applyCounts(results *metrics.Results, counts map[string]recommenderCounts) {
	for i := range results.Variants {
		v := &results.Variants[i]
		c, ok := counts[v.Name]
		if !ok {
			continue
		}
		v.RecommenderLLM = c.LLM
		if c.Protocol != nil {
			p := *c.Protocol
			var total int64
			for _, n := range p.Violations {
				total += n
			}
			if v.Errors.Calls > 0 {
				p.ViolationRate = metrics.Float(float64(total) / float64(v.Errors.Calls))
			}
			v.Protocol = &p
		}
	}
}

func addProtocol(a, b *metrics.Protocol) *metrics.Protocol {
	if a == nil && b == nil {
		return nil
	}
	out := &metrics.Protocol{}
	for _, x := range []*metrics.Protocol{a, b} {
		if x == nil {
			continue
		}
		out.Fallbacks += x.Fallbacks
		for kind, n := range x.Violations {
			if n == 0 {
				continue
			}
			if out.Violations == nil {
				out.Violations = map[string]int64{}
			}
			out.Violations[kind] += n
		}
	}
	return out
}

// addRecommenderLLM sums two counts (either may be nil) and recomputes the rate.
func addRecommenderLLM(a, b *metrics.RecommenderLLM) *metrics.RecommenderLLM {
	if a == nil && b == nil {
		return nil
	}
	out := &metrics.RecommenderLLM{}
	for _, x := range []*metrics.RecommenderLLM{a, b} {
		if x != nil {
			out.Proposed += x.Proposed
			out.Rejected += x.Rejected
			out.Fallbacks += x.Fallbacks
		}
	}
	if out.Proposed > 0 {
		out.HallucinationRate = metrics.Float(float64(out.Rejected) / float64(out.Proposed))
	}
	return out
}

// addLLMUsage sums the accounting of two processes that shared a scenario
// (a merge and its shards). The cache is shared, so its size is the larger.
func addLLMUsage(a, b *metrics.LLMUsage) *metrics.LLMUsage {
	if a == nil || b == nil {
		if a == nil {
			return b
		}
		return a
	}
	out := *a
	out.Calls += b.Calls
	out.CacheHits += b.CacheHits
	out.PromptTokens += b.PromptTokens
	out.CompletionTokens += b.CompletionTokens
	out.CostUSD = dollars(out.CostUSD + b.CostUSD)
	out.Retries += b.Retries
	out.Errors += b.Errors
	out.CacheEntries = max(a.CacheEntries, b.CacheEntries)
	out.CacheBytes = max(a.CacheBytes, b.CacheBytes)
	out.ByRole = addTallies(a.ByRole, b.ByRole)
	out.BySubject = addTallies(a.BySubject, b.BySubject)
	out.CacheHitRate = 0
	if out.Calls > 0 {
		out.CacheHitRate = metrics.Float(float64(out.CacheHits) / float64(out.Calls))
	}
	return &out
}

func addTallies(a, b map[string]metrics.LLMTally) map[string]metrics.LLMTally {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make(map[string]metrics.LLMTally, len(a)+len(b))
	for _, m := range []map[string]metrics.LLMTally{a, b} {
		for k, t := range m {
			sum := out[k]
			sum.Calls += t.Calls
			sum.CacheHits += t.CacheHits
			sum.PromptTokens += t.PromptTokens
			sum.CompletionTokens += t.CompletionTokens
			sum.CostUSD = dollars(sum.CostUSD + t.CostUSD)
			out[k] = sum
		}
	}
	return out
}

// dollars rounds a cost to a billionth of a dollar. Calls finish in any
// order, and a float sum depends on its order in the last bits: rounded,
// the same calls cost the same bytes, whatever the concurrency, and a
// re-judged run's sum of two passes equals the run's own.
func dollars(x float64) float64 { return math.Round(x*1e9) / 1e9 }
