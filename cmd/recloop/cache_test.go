package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm/cache"
	"github.com/recloop/recloop/runner"
)

func TestCacheCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	c, err := cache.Open(dir, cache.ModeReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"0123456789abcdef01", "fedcba987654321001"} {
		if _, _, err := c.Do(context.Background(), key, "test", func(context.Context) ([]byte, error) { return []byte(`{"a":1}`), nil }); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := cli(t, context.Background(), "cache", "stats", "--dir", dir)
	if code != runner.ExitOK || !strings.Contains(stdout, "2 entries") {
		t.Fatalf("stats: exit %d, %q %q", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, context.Background(), "cache", "prune", "--dir", dir, "--older-than", "720h")
	if code != runner.ExitOK || !strings.Contains(stdout, "removed 0 entries") {
		t.Fatalf("prune of fresh entries: exit %d, %q", code, stdout)
	}
	code, stdout, _ = cli(t, context.Background(), "cache", "prune", "--dir", dir, "--older-than", "1ns")
	if code != runner.ExitOK || !strings.Contains(stdout, "removed 2 entries") {
		t.Fatalf("prune: exit %d, %q", code, stdout)
	}
	if code, _, stderr := cli(t, context.Background(), "cache", "explode"); code != runner.ExitInvalid || !strings.Contains(stderr, "unknown cache action") {
		t.Fatalf("bad action: exit %d, %q", code, stderr)
	}
}
