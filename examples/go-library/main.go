// Command go-library runs a recloop scenario from Go: the built-in
// quickstart, or the scenario file named on the command line. It prints
// each variant's click-through rate and fails when a gate fails.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/runner"
)

func main() {
	scenario := "quickstart"
	if len(os.Args) > 1 {
		scenario = os.Args[1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out, err := runner.Run(ctx, scenario, runner.Options{Out: "out/go-library"})
	if out != nil {
		for _, v := range out.Results.Variants {
			ctr, _ := v.Metric(metrics.CTR)
			fmt.Printf("%-10s CTR %.3f [%.3f, %.3f]\n", v.Name, ctr.Value, ctr.CILow, ctr.CIHigh)
		}
		fmt.Println("wrote", out.Dir.Path)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-library:", err)
		os.Exit(runner.ExitCode(err))
	}
}
