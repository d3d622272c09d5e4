package scenarios

import (
	"strings"
	"testing"
)

const sentinelKey = "sk-SENTINEL-scenario-0451"

func envScenario(llmBlock, extra string) string {
	return "name: e\n" + extra + `catalog: {synthetic: {items: 50}}
personas: {population: [{archetype: cinephile, count: 2}]}
behaviour: {model: llm}
variants:
  - {name: p, recommender: popular}
  - name: h
    recommender: http
    params: {url: "http://127.0.0.1:1", headers: "Authorization: Bearer ${RECLOOP_ENVREF_TOKEN}"}
llm:
` + llmBlock
}

// TestExpansionNeverReadsAKey: the API key must not reach a URL or a model
// name, whichever variable names it.
func TestExpansionNeverReadsAKey(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", sentinelKey)
	t.Setenv("MY_LLM_KEY", sentinelKey)
	t.Setenv("AZURE_OPENAI_API_KEY", sentinelKey)
	t.Setenv("RECLOOP_ENVREF_TOKEN", "t")
	for name, block := range map[string]string{
		"default key in base_url": "  base_url: http://x/${OPENAI_API_KEY}\n  model: m\n",
		"azure key in base_url":   "  base_url: http://x/?k=${AZURE_OPENAI_API_KEY:-none}\n  model: m\n",
		"api_key_env in model":    "  api_key_env: MY_LLM_KEY\n  model: m-${MY_LLM_KEY}\n",
	} {
		s, errs := Parse("e.yaml", []byte(envScenario(block, "")), ".")
		err := errs.Err()
		if err == nil {
			t.Errorf("%s: accepted; base_url %q, model %q", name, s.LLM.BaseURL, s.LLM.Model)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, sentinelKey) || !strings.Contains(msg, "e.yaml:") || !strings.Contains(msg, "holds a secret") {
			t.Errorf("%s: error %q should be located, say why, and not hold the key", name, msg)
		}
	}
}

// TestExpansionOnlyInDocumentedFields: ${VAR} in base_url, model and a
// recommender's headers is fine; anywhere else it is a located error rather
// than a literal that looks expanded.
func TestExpansionOnlyInDocumentedFields(t *testing.T) {
	t.Setenv("RECLOOP_ENVREF_URL", "http://127.0.0.1:9/v1")
	t.Setenv("RECLOOP_ENVREF_MODEL", "m1")
	t.Setenv("RECLOOP_ENVREF_TOKEN", "t")
	t.Setenv("RECLOOP_ENVREF_DIR", "/tmp/x")
	good := "  base_url: ${RECLOOP_ENVREF_URL}\n  model: ${RECLOOP_ENVREF_MODEL:-other}\n"
	s, errs := Parse("e.yaml", []byte(envScenario(good, "")), ".")
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	if s.LLM.BaseURL != "http://127.0.0.1:9/v1" || s.LLM.Model != "m1" {
		t.Errorf("base_url %q, model %q", s.LLM.BaseURL, s.LLM.Model)
	}
	_, errs = Parse("e.yaml", []byte(envScenario(good, "description: \"a ${RECLOOP_ENVREF_DIR} run\"\noutput: {dir: \"${RECLOOP_ENVREF_DIR}/out\"}\n")), ".")
	got := errs.Err()
	if got == nil {
		t.Fatal("${VAR} outside the documented fields was accepted")
	}
	for _, want := range []string{
		"e.yaml:2:", "description: ${RECLOOP_ENVREF_DIR}: environment variables are expanded only in llm.base_url, llm.model",
		"e.yaml:3:", "output.dir: ${RECLOOP_ENVREF_DIR}",
	} {
		if !strings.Contains(got.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, got)
		}
	}
}

// TestHeadersNeverSendTheLLMKey: a recommender's headers expand their own
// variables, but never the LLM's API key.
func TestHeadersNeverSendTheLLMKey(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", sentinelKey)
	t.Setenv("RECLOOP_ENVREF_TOKEN", "t")
	text := strings.Replace(envScenario("  model: m\n", ""), "${RECLOOP_ENVREF_TOKEN}", "${RECLOOP_ENVREF_TOKEN}; X-Key: $OPENAI_API_KEY", 1)
	_, errs := Parse("e.yaml", []byte(text), ".")
	err := errs.Err()
	if err == nil || !strings.Contains(err.Error(), "variants[1].params.headers: ${OPENAI_API_KEY} is the LLM's API key") {
		t.Errorf("got %v", err)
	}
}
