package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"

	"github.com/recloop/recloop/internal/redact"
	"github.com/recloop/recloop/runner"
)

// command is one subcommand, in a file of its own.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv is everything a command may touch, so that tests can run the CLI
// as a function.
type cliEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

func commands() []command {
	return []command{runCommand, judgeCommand, judgesCommand, validateCommand, listCommand, cacheCommand, llmCommand, initCommand, compareCommand, mergeCommand, reportCommand, exportCommand, personasCommand, fidelityCommand, versionCommand}
}

// Main runs the CLI and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// The values of the environment's secrets never reach the terminal.
	secrets := redact.FromEnviron()
	stdout, stderr = secrets.Lines(stdout), secrets.Lines(stderr)
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: dropTime}))}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return runner.ExitInvalid
		}
		return runner.ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, env, args[1:])
			return report(stderr, err)
		}
	}
	fmt.Fprintf(stderr, "recloop: unknown command %q\n\n", args[0])
	usage(stderr)
	return runner.ExitInvalid
}

func usage(w io.Writer) {
	fmt.Fprint(w, "recloop rehearses recommender systems against simulated users.\n\nUsage:\n  recloop <command> [flags] [arguments]\n\nCommands:\n")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'recloop <command> -h' for a command's flags.\n")
}

// newFlagSet returns a flag set that reports to env.stderr and never exits.
func newFlagSet(env *cliEnv, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: recloop %s [flags] %s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses flags that may come before or after the positional
// arguments, as users type them either way.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err: err, printed: true}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// dropTime leaves timestamps out of log lines: the terminal has its own, and
// CI logs add theirs.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
