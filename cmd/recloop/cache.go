package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/recloop/recloop/llm/cache"
)

// defaultCacheDir is where scenarios keep LLM answers unless their llm:
// block says otherwise.
const defaultCacheDir = ".recloop-cache"

var cacheCommand = command{
	name:    "cache",
	summary: "inspect or prune the LLM response cache (cache stats | cache prune --older-than 720h)",
	run: func(_ context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "cache", "stats|prune")
		dir := fs.String("dir", defaultCacheDir, "cache directory")
		olderThan := fs.Duration("older-than", 30*24*time.Hour, "prune: remove entries last written longer ago than this")
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			fs.Usage()
			return usageError{err: errors.New("cache takes one action: stats or prune")}
		}
		switch pos[0] {
		case "stats":
			st, err := cache.Scan(*dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "%s: %d entries, %s\n", *dir, st.Entries, humanBytes(st.Bytes))
			return nil
		case "prune":
			removed, freed, err := cache.Prune(*dir, *olderThan, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "%s: removed %d entries older than %s, freed %s\n", *dir, removed, *olderThan, humanBytes(freed))
			return nil
		}
		fs.Usage()
		return usageError{err: fmt.Errorf("unknown cache action %q (want stats or prune)", pos[0])}
	},
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
