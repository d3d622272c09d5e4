package llm

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
)

// Defaults applied by Config.WithDefaults.
const (
	DefaultBaseURL        = "https://api.openai.com/v1"
	DefaultAPIKeyEnv      = "OPENAI_API_KEY"
	DefaultTimeout        = 60 * time.Second
	DefaultMaxConcurrency = 8
	DefaultMaxAttempts    = 6
	DefaultCacheDir       = ".recloop-cache"
	// DefaultMaxConsecutiveFailures is the circuit breaker's threshold.
	DefaultMaxConsecutiveFailures = 20
	// DefaultAzureAPIVersion is go-openai's Azure api-version.
	DefaultAzureAPIVersion = "2023-05-15"
	// DefaultCompletionTokens is what Estimate assumes when no max_tokens is set.
	DefaultCompletionTokens = 256
)

// Cache modes.
const (
	CacheReadWrite = "readwrite"
	CacheReplay    = "replay"
	CacheOff       = "off"
)

// Config is the provider section of a scenario. The API key is never part of
// it: only the name of the environment variable that holds it.
type Config struct {
	// Provider is "openai" (any OpenAI-compatible endpoint, the default) or
	// "azure" (Azure OpenAI).
	Provider  string `yaml:"provider"`
	BaseURL   string `yaml:"base_url"`
	Model     string `yaml:"model"`
	APIKeyEnv string `yaml:"api_key_env"`
	// OrgID and ProjectID go out as the OpenAI-Organization and
	// OpenAI-Project headers.
	OrgID     string `yaml:"org_id"`
	ProjectID string `yaml:"project_id"`
	// APIVersion and Deployment are Azure's api-version and deployment name
	// (default: the model name).
	APIVersion string `yaml:"api_version"`
	Deployment string `yaml:"deployment"`
	// Temperature nil leaves the provider default; 0 means greedy.
	Temperature *float64 `yaml:"temperature"`
	// Seed nil sends no seed; otherwise Seed+Replicate is sent.
	Seed      *int `yaml:"seed"`
	MaxTokens int  `yaml:"max_tokens"`
	// Timeout is per HTTP attempt, a Go duration string ("60s", "2m").
	Timeout           string           `yaml:"timeout"`
	MaxConcurrency    int              `yaml:"max_concurrency"`
	MaxAttempts       int              `yaml:"max_attempts"`
	RequestsPerMinute int              `yaml:"requests_per_minute"`
	TokensPerMinute   int              `yaml:"tokens_per_minute"`
	BudgetUSD         float64          `yaml:"budget_usd"`
	Prices            map[string]Price `yaml:"prices"`
	Cache             CacheConfig      `yaml:"cache"`
	// MaxConsecutiveFailures stops the run (the circuit breaker opens) after
	// that many calls in a row have failed (default 20).
	MaxConsecutiveFailures int `yaml:"max_consecutive_failures"`
	// Preflight false skips the check of the endpoint before round 1.
	Preflight *bool `yaml:"preflight"`

	// Sources says where the endpoint's values came from; Resolve fills it.
	Sources Sources `yaml:"-"`
}

// Price is USD per million tokens.
type Price struct {
	InputPerMTok  float64 `yaml:"input_per_mtok" json:"input_per_mtok"`
	OutputPerMTok float64 `yaml:"output_per_mtok" json:"output_per_mtok"`
}

// Cost of a call with the given token counts.
func (p Price) Cost(promptTokens, completionTokens int) float64 {
	return (float64(promptTokens)*p.InputPerMTok + float64(completionTokens)*p.OutputPerMTok) / 1e6
}

// CacheConfig places the response cache and says how it is used.
type CacheConfig struct {
	Dir  string `yaml:"dir"`
	Mode string `yaml:"mode"`
}

// BuiltinPrices are list prices (USD per million tokens) of common models;
// Config.Prices overrides or extends them.
var BuiltinPrices = map[string]Price{
	"gpt-4o-mini":   {InputPerMTok: 0.15, OutputPerMTok: 0.60},
	"gpt-4o":        {InputPerMTok: 2.50, OutputPerMTok: 10},
	"gpt-4.1":       {InputPerMTok: 2.00, OutputPerMTok: 8},
	"gpt-4.1-mini":  {InputPerMTok: 0.40, OutputPerMTok: 1.60},
	"gpt-4.1-nano":  {InputPerMTok: 0.10, OutputPerMTok: 0.40},
	"gpt-3.5-turbo": {InputPerMTok: 0.50, OutputPerMTok: 1.50},
	"o3-mini":       {InputPerMTok: 1.10, OutputPerMTok: 4.40},
	"o4-mini":       {InputPerMTok: 1.10, OutputPerMTok: 4.40},
}

// FieldError names the offending field (relative to the provider section).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "llm: " + e.Field + ": " + e.Msg }

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.APIKeyEnv == "" {
		c.APIKeyEnv = DefaultAPIKeyEnv
	}
	if c.Timeout == "" {
		c.Timeout = DefaultTimeout.String()
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxConsecutiveFailures == 0 {
		c.MaxConsecutiveFailures = DefaultMaxConsecutiveFailures
	}
	if c.Cache.Dir == "" {
		c.Cache.Dir = DefaultCacheDir
	}
	if c.Cache.Mode == "" {
		c.Cache.Mode = CacheReadWrite
	}
	return c
}

// TimeoutDuration is the parsed Timeout (DefaultTimeout when unset).
func (c Config) TimeoutDuration() (time.Duration, error) {
	if c.Timeout == "" {
		return DefaultTimeout, nil
	}
	return time.ParseDuration(c.Timeout)
}

// Validate reports every invalid field at once, each as a *FieldError. It
// checks c as resolved from the environment (see Resolve), so a variable
// that holds a bad URL is named.
func (c Config) Validate() error {
	c = c.Resolve(os.Getenv)
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.Model) == "" {
		bad("model", "required (in the scenario or through %s)", EnvModel)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			via := ""
			if c.Sources.BaseURL != SourceScenario {
				via = " (" + From(c.Sources.BaseURL) + ")"
			}
			bad("base_url", "%q%s is not an http(s) URL", c.BaseURL, via)
		}
	}
	switch c.Provider {
	case "", ProviderOpenAI, ProviderAzure:
	default:
		bad("provider", "%q is not one of openai, azure", c.Provider)
	}
	if c.MaxConsecutiveFailures < 0 {
		bad("max_consecutive_failures", "%d is negative", c.MaxConsecutiveFailures)
	}
	if c.Temperature != nil && (*c.Temperature < 0 || *c.Temperature > 2) {
		bad("temperature", "%v is outside [0, 2]", *c.Temperature)
	}
	if c.Seed != nil && *c.Seed < 0 {
		bad("seed", "%d is negative", *c.Seed)
	}
	if c.Timeout != "" {
		if d, err := time.ParseDuration(c.Timeout); err != nil {
			bad("timeout", "%q is not a duration like 60s or 2m", c.Timeout)
		} else if d <= 0 {
			bad("timeout", "%q must be positive", c.Timeout)
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"max_tokens", c.MaxTokens}, {"max_concurrency", c.MaxConcurrency}, {"max_attempts", c.MaxAttempts},
		{"requests_per_minute", c.RequestsPerMinute}, {"tokens_per_minute", c.TokensPerMinute},
	} {
		if f.v < 0 {
			bad(f.name, "%d is negative", f.v)
		}
	}
	if c.BudgetUSD < 0 {
		bad("budget_usd", "%v is negative", c.BudgetUSD)
	}
	models := make([]string, 0, len(c.Prices))
	for m := range c.Prices {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		p := c.Prices[m]
		if p.InputPerMTok < 0 || p.OutputPerMTok < 0 {
			bad("prices."+m, "prices must not be negative")
		}
	}
	switch c.Cache.Mode {
	case "", CacheReadWrite, CacheReplay, CacheOff:
	default:
		bad("cache.mode", "%q is not one of readwrite, replay, off", c.Cache.Mode)
	}
	return errors.Join(errs...)
}

// price finds the price of model: exact name first, then the longest known
// prefix so dated snapshots ("gpt-4o-mini-2024-07-18") price like their family.
func (c Config) price(model string) (Price, bool) {
	if p, ok := c.Prices[model]; ok {
		return p, true
	}
	if p, ok := BuiltinPrices[model]; ok {
		return p, true
	}
	best, found := "", false
	var bestPrice Price
	for _, table := range []map[string]Price{BuiltinPrices, c.Prices} {
		for name, p := range table {
			if strings.HasPrefix(model, name) && len(name) >= len(best) {
				best, bestPrice, found = name, p, true
			}
		}
	}
	return bestPrice, found
}
