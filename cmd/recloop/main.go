// Command recloop rehearses recommender systems against simulated users.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		// Restore the default handling, so a second Ctrl-C quits at once.
		stop()
		fmt.Fprintln(os.Stderr, "recloop: interrupted; writing what has been simulated (Ctrl-C again to quit now)")
	}()
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
