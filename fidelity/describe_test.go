package fidelity

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/llm/llmtest"
)

// The taste summary goes through the llm.Stack: one call per persona the
// first time, none when the cache already holds the answers.
func TestSummariseThroughTheLLMStackWithCache(t *testing.T) {
	t.Setenv("RECLOOP_FIDELITY_TEST_KEY", "sk-test")
	server := llmtest.New(t)
	server.Handle(func(req llmtest.ChatRequest) llmtest.Reply {
		last := req.Messages[len(req.Messages)-1].Content
		if !strings.Contains(last, "Items they rated") || !strings.Contains(last, "- a: 5") {
			return llmtest.Reply{Content: "the prompt lacks the rated items"}
		}
		return llmtest.Reply{Content: "You love light comedies and avoid horror."}
	})
	cacheDir := filepath.Join(t.TempDir(), "cache")
	summarise := func() *Dataset {
		ds, err := Derive(handCatalog(t), handLog(), DeriveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stack, err := llm.New(llm.Config{BaseURL: server.URL(), Model: "test-model", APIKeyEnv: "RECLOOP_FIDELITY_TEST_KEY", Cache: llm.CacheConfig{Dir: cacheDir}})
		if err != nil {
			t.Fatal(err)
		}
		if err := Summarise(context.Background(), stack, ds); err != nil {
			t.Fatal(err)
		}
		return ds
	}
	first := summarise()
	if server.Count() != 2 {
		t.Fatalf("%d calls, want one per persona (2)", server.Count())
	}
	u := first.Users[0].Persona.Description
	if !strings.HasSuffix(u, " You love light comedies and avoid horror.") || !strings.HasPrefix(u, "User U 1 has 5") {
		t.Errorf("description %q", u)
	}
	second := summarise()
	if server.Count() != 2 {
		t.Errorf("the rerun made %d new calls, want 0 (cached)", server.Count()-2)
	}
	if second.Users[0].Persona.Description != u {
		t.Errorf("cached description differs: %q", second.Users[0].Persona.Description)
	}
}
