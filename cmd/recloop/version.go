package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/scenarios"
	"github.com/recloop/recloop/trajectory"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

var versionCommand = command{
	name:    "version",
	summary: "print the version and the schema versions this build reads and writes",
	run: func(_ context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "version", "")
		if _, err := parseFlags(fs, args); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "recloop %s\n", toolVersion())
		fmt.Fprintf(env.stdout, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		fmt.Fprintf(env.stdout, "scenario schema: %d\ntrajectory schema: %d\nresults schema: %d\n",
			scenarios.SchemaVersion, trajectory.SchemaVersion, metrics.ResultsSchemaVersion)
		return nil
	},
}

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
