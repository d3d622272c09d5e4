package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/runner"
)

// usageError marks bad command-line usage. printed is set when the flag
// package has already told the user.
type usageError struct {
	err     error
	printed bool
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// ExitCode makes bad usage exit 2, and -h a success.
func (e usageError) ExitCode() int {
	if errors.Is(e.err, flag.ErrHelp) {
		return runner.ExitOK
	}
	return runner.ExitInvalid
}

// report prints err (every located config error on its own line) and
// returns the exit code, which runner.ExitCode decides.
func report(w io.Writer, err error) int {
	code := runner.ExitCode(err)
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
