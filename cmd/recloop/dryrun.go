package main

import (
	"fmt"
	"io"

	"github.com/recloop/recloop/runner"
	"github.com/recloop/recloop/scenarios"
)

// dryRun says what a scenario's language-model calls will take, without
// sending any.
func dryRun(w io.Writer, plan *scenarios.Plan) error {
	s := plan.Scenario
	fmt.Fprintf(w, "dry run of %s: %d personas × %d variants × %d rounds, slate %d\n",
		s.Name, len(plan.States), len(plan.Variants), s.Rounds, s.SlateSize)
	est, ok := runner.EstimateLLM(plan)
	if !ok {
		fmt.Fprintf(w, "behaviour %q calls no language model: the run costs nothing.\n", s.Behaviour.Model)
		return nil
	}
	fmt.Fprintln(w, est.Endpoint)
	fmt.Fprintf(w, "API key from %s (precedence: scenario > RECLOOP_* > OPENAI_*)\n", keySource(est.Sources.APIKey, plan))
	for _, k := range est.Kinds {
		fmt.Fprintf(w, "  %-10s %7d calls  ~%d prompt + %d completion tokens  ~$%.4f\n", k.Kind, k.Calls, k.PromptTokens, k.CompletionTokens, k.CostUSD)
	}
	t := est.Total
	fmt.Fprintf(w, "  %-10s %7d calls  ~%d prompt + %d completion tokens  ~$%.4f\n", "total", t.Calls, t.PromptTokens, t.CompletionTokens, t.CostUSD)
	if est.BudgetUSD > 0 {
		fmt.Fprintf(w, "budget $%.2f: ", est.BudgetUSD)
		if t.CostUSD > est.BudgetUSD {
			fmt.Fprintln(w, "the estimate exceeds it; the run would stop early (exit 4) and keep what it paid for")
		} else {
			fmt.Fprintln(w, "the estimate fits")
		}
	}
	fmt.Fprintln(w, "An upper bound: personas that exit early make fewer calls, and answers already in the cache cost nothing.")
	return nil
}

// keySource names the variable the key is read from, never the key.
func keySource(source string, plan *scenarios.Plan) string {
	name := plan.LLM.Config().APIKeyEnv
	if source == "scenario" {
		return name + " (named by the scenario's api_key_env)"
	}
	return name
}
