package llm

import (
	"fmt"
	"os"
	"strings"
)

// Environment variables read by Config.Resolve. The scenario wins over the
// RECLOOP_* variables, which win over the ecosystem's own (OPENAI_*,
// AZURE_OPENAI_*), which win over the defaults.
const (
	EnvBaseURL         = "RECLOOP_LLM_BASE_URL"
	EnvModel           = "RECLOOP_LLM_MODEL"
	EnvOpenAIBaseURL   = "OPENAI_BASE_URL"
	EnvOpenAIAPIKey    = "OPENAI_API_KEY"
	EnvOpenAIOrg       = "OPENAI_ORG_ID"
	EnvOpenAIProject   = "OPENAI_PROJECT_ID"
	EnvAzureEndpoint   = "AZURE_OPENAI_ENDPOINT"
	EnvAzureAPIKey     = "AZURE_OPENAI_API_KEY"
	EnvAzureAPIVersion = "OPENAI_API_VERSION"
	EnvAzureDeployment = "AZURE_OPENAI_DEPLOYMENT"
)

// APIKeyEnvVars are the variables that may hold an API key by default; a
// scenario's api_key_env adds one more. Their values must never be written
// anywhere.
var APIKeyEnvVars = []string{EnvOpenAIAPIKey, EnvAzureAPIKey}

// Providers.
const (
	ProviderOpenAI = "openai"
	ProviderAzure  = "azure"
)

// Where a resolved value came from, besides the name of an environment
// variable.
const (
	SourceScenario = "scenario"
	SourceDefault  = "default"
)

// Sources says where each resolved value came from: SourceScenario,
// SourceDefault or the name of an environment variable. It never holds a
// value, so it is safe to print.
type Sources struct {
	Provider   string `json:"provider,omitempty"`
	BaseURL    string `json:"base_url,omitempty"`
	Model      string `json:"model,omitempty"`
	APIKey     string `json:"api_key,omitempty"`
	OrgID      string `json:"org_id,omitempty"`
	ProjectID  string `json:"project_id,omitempty"`
	APIVersion string `json:"api_version,omitempty"`
	Deployment string `json:"deployment,omitempty"`
}

// Resolved reports whether Resolve has filled c in.
func (c Config) Resolved() bool { return c.Sources.BaseURL != "" }

// Resolve fills every endpoint field the scenario left empty from the
// environment (getenv, usually os.Getenv) or the defaults, and records where
// each value came from in c.Sources. Precedence: scenario > RECLOOP_* >
// OPENAI_* / AZURE_OPENAI_* > default. The key itself is not read here: only
// the name of the variable that holds it (APIKeyEnv). Resolving twice is a
// no-op.
func (c Config) Resolve(getenv func(string) string) Config {
	if c.Resolved() {
		return c
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	pick := func(field *string, source *string, names ...string) {
		if *source != "" {
			return // set by an earlier pick
		}
		if *field != "" {
			*source = SourceScenario
			return
		}
		for _, n := range names {
			if v := env(n); v != "" {
				*field, *source = v, n
				return
			}
		}
	}
	src := &c.Sources
	pick(&c.BaseURL, &src.BaseURL, EnvBaseURL)
	// Azure: asked for by the scenario, or found in the environment when no
	// other endpoint is configured.
	switch {
	case c.Provider != "":
		src.Provider = SourceScenario
	case c.BaseURL == "" && env(EnvOpenAIBaseURL) == "" && env(EnvAzureEndpoint) != "":
		c.Provider, src.Provider = ProviderAzure, EnvAzureEndpoint
	default:
		c.Provider, src.Provider = ProviderOpenAI, SourceDefault
	}
	azure := c.Provider == ProviderAzure
	if azure {
		pick(&c.BaseURL, &src.BaseURL, EnvAzureEndpoint, EnvOpenAIBaseURL)
		pick(&c.APIVersion, &src.APIVersion, EnvAzureAPIVersion)
		pick(&c.Deployment, &src.Deployment, EnvAzureDeployment)
	} else {
		pick(&c.BaseURL, &src.BaseURL, EnvOpenAIBaseURL)
	}
	if c.BaseURL == "" {
		c.BaseURL, src.BaseURL = DefaultBaseURL, SourceDefault
	}
	pick(&c.Model, &src.Model, EnvModel)
	if c.Model == "" && azure && c.Deployment != "" {
		// An Azure deployment names its model.
		c.Model, src.Model = c.Deployment, src.Deployment
	}
	switch {
	case c.APIKeyEnv != "":
		src.APIKey = SourceScenario
	case azure:
		c.APIKeyEnv, src.APIKey = EnvAzureAPIKey, SourceDefault
	default:
		c.APIKeyEnv, src.APIKey = DefaultAPIKeyEnv, SourceDefault
	}
	pick(&c.OrgID, &src.OrgID, EnvOpenAIOrg)
	pick(&c.ProjectID, &src.ProjectID, EnvOpenAIProject)
	return c
}

// From formats a value's source for messages: "from scenario", "from
// OPENAI_BASE_URL", "default".
func From(source string) string {
	switch source {
	case "":
		return "unset"
	case SourceDefault:
		return "default"
	}
	return "from " + source
}

// Describe is one line naming the endpoint and the model and where each came
// from, e.g. `model gpt-4o-mini (from scenario) at http://… (from OPENAI_BASE_URL)`.
func (c Config) Describe() string {
	s := fmt.Sprintf("model %s (%s) at %s (%s)", c.Model, From(c.Sources.Model), c.BaseURL, From(c.Sources.BaseURL))
	if c.Provider == ProviderAzure {
		s += fmt.Sprintf(", Azure deployment %s, api-version %s", orDefault(c.Deployment, c.Model), orDefault(c.APIVersion, DefaultAzureAPIVersion))
	}
	return s
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
