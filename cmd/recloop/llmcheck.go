package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/recloop/recloop/runner"
)

var llmCommand = command{
	name:    "llm",
	summary: "check a scenario's LLM endpoint before a long run (llm check [scenario], default llm-quickstart)",
	run: func(ctx context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "llm", "check [scenario]")
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) == 0 || pos[0] != "check" || len(pos) > 2 {
			fs.Usage()
			return usageError{err: errors.New("llm takes one action: check [scenario]")}
		}
		scenario := "llm-quickstart"
		if len(pos) == 2 {
			scenario = pos[1]
		}
		pf, err := runner.CheckLLM(ctx, scenario, runner.Options{Logger: env.log})
		if pf.Endpoint != "" {
			fmt.Fprintln(env.stdout, pf.Endpoint)
		}
		for _, c := range pf.Checks {
			status, detail := "ok  ", c.Detail
			if !c.OK {
				status = "fail"
				if !c.Critical {
					detail += " (not fatal: a run goes on)"
				}
			}
			fmt.Fprintf(env.stdout, "%s  %-13s %s\n", status, c.Name, detail)
		}
		return err
	},
}
