package runner

import (
	"context"
	"errors"

	"github.com/recloop/recloop/llm"
)

// CheckLLM runs the language-model preflight of a scenario alone: the plan
// is built (nothing is simulated) and its endpoint checked. The error is
// the first critical failure, with exit code 3, or a scenario that cannot
// be built or calls no language model (exit 2).
func CheckLLM(ctx context.Context, scenario string, opts Options) (llm.Preflight, error) {
	plan, err := Prepare(ctx, scenario, opts)
	if err != nil {
		return llm.Preflight{}, err
	}
	defer plan.Close()
	if plan.LLM == nil {
		return llm.Preflight{}, WithExitCode(ExitInvalid, errors.New(scenario+" has no llm: block: it calls no language model"))
	}
	pf := plan.LLM.Preflight(ctx)
	return pf, WithExitCode(ExitRuntime, pf.Err())
}
