package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/simulator"
	"github.com/recloop/recloop/trajectory"
)

// Exit codes: the CLI's contract with CI (DESIGN.md).
const (
	ExitOK          = 0
	ExitGateFailed  = 1
	ExitInvalid     = 2
	ExitRuntime     = 3
	ExitBudget      = 4
	ExitInterrupted = 130
)

// exitError carries an explicit exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withExitCode(code int, err error) error { return &exitError{code: code, err: err} }

// usageError marks bad command-line usage. printed is set when the flag
// package has already told the user.
type usageError struct {
	err     error
	printed bool
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode is the one place where errors become exit codes.
func exitCode(err error) int {
	var ee *exitError
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue), errors.Is(err, config.ErrInvalid), errors.Is(err, catalog.ErrInvalid),
		errors.Is(err, trajectory.ErrShards):
		return ExitInvalid
	case errors.Is(err, simulator.ErrInterrupted):
		return ExitInterrupted
	case errors.Is(err, llm.ErrBudgetExceeded):
		return ExitBudget
	default:
		return ExitRuntime
	}
}

// report prints err (every located config error on its own line) and
// returns the exit code.
func report(w io.Writer, err error) int {
	code := exitCode(err)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return code
	}
	if es := config.As(err); len(es) > 1 {
		fmt.Fprintf(w, "recloop: %d problems:\n", len(es))
		for _, e := range es {
			fmt.Fprintf(w, "  %s\n", e)
		}
		return code
	}
	var ue usageError
	if errors.As(err, &ue) && ue.printed {
		return code
	}
	fmt.Fprintf(w, "recloop: %v\n", err)
	return code
}
