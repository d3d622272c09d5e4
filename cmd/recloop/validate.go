package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/recloop/recloop/scenarios"
)

var validateCommand = command{
	name:    "validate",
	summary: "check scenarios, their personas and catalog without simulating",
	run: func(ctx context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "validate", "<scenario.yaml | built-in name>...")
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) == 0 {
			fs.Usage()
			return usageError{err: errors.New("validate takes at least one scenario")}
		}
		var failed []error
		for _, name := range pos {
			plan, err := scenarios.Prepare(ctx, name, scenarios.Options{Logger: env.log})
			if err != nil {
				failed = append(failed, err)
				continue
			}
			fmt.Fprintf(env.stdout, "%s: ok (%d items, %d personas, %d variants, %d rounds)\n",
				name, plan.Catalog.Len(), len(plan.States), len(plan.Variants), plan.Scenario.Rounds)
			if err := plan.Close(); err != nil {
				failed = append(failed, err)
			}
		}
		return errors.Join(failed...)
	},
}
