package llm

import (
	"context"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestResolvePrecedence(t *testing.T) {
	for _, tc := range []struct {
		name             string
		cfg              Config
		env              map[string]string
		url, urlFrom     string
		model, modelFrom string
		key, provider    string
	}{
		{"defaults", Config{Model: "m"}, nil, DefaultBaseURL, SourceDefault, "m", SourceScenario, "OPENAI_API_KEY", ProviderOpenAI},
		{"openai env", Config{Model: "m"}, map[string]string{"OPENAI_BASE_URL": "http://o/v1"}, "http://o/v1", "OPENAI_BASE_URL", "m", SourceScenario, "OPENAI_API_KEY", ProviderOpenAI},
		{"recloop beats openai", Config{}, map[string]string{"OPENAI_BASE_URL": "http://o/v1", "RECLOOP_LLM_BASE_URL": "http://r/v1", "RECLOOP_LLM_MODEL": "rm"},
			"http://r/v1", "RECLOOP_LLM_BASE_URL", "rm", "RECLOOP_LLM_MODEL", "OPENAI_API_KEY", ProviderOpenAI},
		{"scenario beats all", Config{BaseURL: "http://s/v1", Model: "m", APIKeyEnv: "MY_KEY"}, map[string]string{"OPENAI_BASE_URL": "http://o/v1", "RECLOOP_LLM_BASE_URL": "http://r/v1", "AZURE_OPENAI_ENDPOINT": "https://a"},
			"http://s/v1", SourceScenario, "m", SourceScenario, "MY_KEY", ProviderOpenAI},
		{"azure from env", Config{}, map[string]string{"AZURE_OPENAI_ENDPOINT": "https://a.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "dep"},
			"https://a.openai.azure.com", "AZURE_OPENAI_ENDPOINT", "dep", "AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_API_KEY", ProviderAzure},
		{"explicit azure prefers its endpoint", Config{Provider: ProviderAzure, Model: "m"}, map[string]string{"AZURE_OPENAI_ENDPOINT": "https://a", "OPENAI_BASE_URL": "http://o/v1"},
			"https://a", "AZURE_OPENAI_ENDPOINT", "m", SourceScenario, "AZURE_OPENAI_API_KEY", ProviderAzure},
		{"openai base url beats azure", Config{Model: "m"}, map[string]string{"AZURE_OPENAI_ENDPOINT": "https://a", "OPENAI_BASE_URL": "http://o/v1"},
			"http://o/v1", "OPENAI_BASE_URL", "m", SourceScenario, "OPENAI_API_KEY", ProviderOpenAI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.cfg.Resolve(envOf(tc.env))
			if r.BaseURL != tc.url || r.Sources.BaseURL != tc.urlFrom || r.Model != tc.model || r.Sources.Model != tc.modelFrom ||
				r.APIKeyEnv != tc.key || r.Provider != tc.provider {
				t.Errorf("got %s, key %s, provider %s", r.Describe(), r.APIKeyEnv, r.Provider)
			}
			if again := r.Resolve(envOf(map[string]string{"OPENAI_BASE_URL": "http://other/v1"})); again.BaseURL != r.BaseURL || again.Sources != r.Sources {
				t.Error("resolving twice changed the config")
			}
		})
	}
}

func TestValidateNamesTheVariableOfABadURL(t *testing.T) {
	t.Setenv("RECLOOP_LLM_BASE_URL", "")
	t.Setenv("OPENAI_BASE_URL", "not a url")
	err := Config{Model: "m"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "from OPENAI_BASE_URL") {
		t.Fatalf("err = %v", err)
	}
}

func TestAzureThroughEnvironment(t *testing.T) {
	for _, name := range []string{"RECLOOP_LLM_BASE_URL", "RECLOOP_LLM_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY"} {
		t.Setenv(name, "")
	}
	srv := llmtest.New(t)
	t.Setenv("AZURE_OPENAI_ENDPOINT", srv.BaseURL())
	t.Setenv("AZURE_OPENAI_API_KEY", testKey)
	t.Setenv("AZURE_OPENAI_DEPLOYMENT", "my-deployment")
	t.Setenv("OPENAI_API_VERSION", "2024-10-21")
	s, err := New(Config{Cache: CacheConfig{Dir: t.TempDir(), Mode: CacheOff}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Complete(context.Background(), ask("hello")); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Path != "/openai/deployments/my-deployment/chat/completions" || r.Query != "api-version=2024-10-21" || r.Header.Get("api-key") != testKey {
		t.Errorf("path %s, query %s, api-key sent %v", r.Path, r.Query, r.Header.Get("api-key") == testKey)
	}
	if d := s.Config().Describe(); !strings.Contains(d, "(from AZURE_OPENAI_ENDPOINT)") || !strings.Contains(d, "Azure deployment my-deployment") {
		t.Errorf("Describe() = %s", d)
	}
}
