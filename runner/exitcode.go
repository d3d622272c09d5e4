package runner

import (
	"errors"

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

// HasExitCode is an error that knows the exit code it stands for, as k6's
// errext does; an error anywhere in a chain may carry one.
type HasExitCode interface {
	error
	ExitCode() int
}

type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }
func (e *codedError) ExitCode() int { return e.code }

// WithExitCode gives err an exit code, unless it carries one already: the
// code set closest to the cause wins.
func WithExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	var has HasExitCode
	if errors.As(err, &has) {
		return err
	}
	return &codedError{code: code, err: err}
}

// ErrGatesFailed: the run completed and a gate failed.
var ErrGatesFailed = WithExitCode(ExitGateFailed, errors.New("gates did not pass"))

// ExitCode is the one place where errors become exit codes: an explicit
// code on the chain first, then the packages' sentinels.
func ExitCode(err error) int {
	var has HasExitCode
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &has):
		return has.ExitCode()
	case errors.Is(err, config.ErrInvalid), errors.Is(err, catalog.ErrInvalid), errors.Is(err, trajectory.ErrShards):
		return ExitInvalid
	case errors.Is(err, simulator.ErrInterrupted):
		return ExitInterrupted
	case errors.Is(err, llm.ErrBudgetExceeded):
		return ExitBudget
	default:
		return ExitRuntime
	}
}
