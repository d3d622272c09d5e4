package scenarios

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/redact"
	"github.com/recloop/recloop/llm"
)

// envReference is ${NAME} or ${NAME:-default}.
var envReference = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expandedFields are the scenario fields where ${NAME} is read from the
// environment. A recommender's headers (any field named headers) expand
// their own references when the recommender is built.
var expandedFields = []string{"llm.base_url", "llm.model"}

// secretEnv reports whether the environment variable name holds a secret
// that must never be expanded into the scenario: the scenario's own API-key
// variable, the well-known ones, and anything named like a key or token
// (the names whose values every output masks).
func secretEnv(name, apiKeyEnv string) bool {
	return name == apiKeyEnv || slices.Contains(redact.KeyEnvs, name) || redact.SecretName(name)
}

// expandEnv fills ${NAME} and ${NAME:-default} from the environment, so one
// scenario can point at OpenAI, Ollama or vLLM. It refuses variables that
// hold secrets: an API key must never end up in a URL or a model name, from
// where it would reach errors, logs and run files.
func expandEnv(s, apiKeyEnv string) (string, error) {
	var refused string
	out := envReference.ReplaceAllStringFunc(s, func(ref string) string {
		m := envReference.FindStringSubmatch(ref)
		if secretEnv(m[1], apiKeyEnv) {
			if refused == "" {
				refused = m[1]
			}
			return ref
		}
		if v, ok := os.LookupEnv(m[1]); ok && v != "" {
			return v
		}
		return m[2]
	})
	if refused != "" {
		return s, fmt.Errorf("${%s} holds a secret and is never expanded into the scenario; the API key is read only from the variable api_key_env names", refused)
	}
	return out, nil
}

// checkEnvReferences reports every ${NAME} written in a field where it is
// not expanded, so that it does not silently stay literal.
func (s *Scenario) checkEnvReferences() {
	if s.doc == nil || s.doc.Root == nil {
		return
	}
	root := s.doc.Root
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	s.walkEnvReferences(root, "")
}

func (s *Scenario) walkEnvReferences(n *yaml.Node, at string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			s.walkEnvReferences(n.Content[i+1], config.Join(at, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			s.walkEnvReferences(c, config.Index(at, i))
		}
	case yaml.ScalarNode:
		if at == "headers" || strings.HasSuffix(at, ".headers") {
			s.checkHeaderReferences(n.Value, at)
			return
		}
		m := envReference.FindStringSubmatch(n.Value)
		if m == nil || envExpanded(at) {
			return
		}
		s.doc.Add(at, "${%s}: environment variables are expanded only in %s and a recommender's headers", m[1], strings.Join(expandedFields, ", "))
	}
}

func envExpanded(at string) bool {
	for _, f := range expandedFields {
		if at == f {
			return true
		}
	}
	return false
}

// headerReference is $NAME or ${NAME}, as os.Expand reads them in headers.
var headerReference = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// checkHeaderReferences refuses the LLM's API key in a recommender's
// headers: a scenario must not send it to a recommender service.
func (s *Scenario) checkHeaderReferences(value, at string) {
	keyEnv := llm.DefaultAPIKeyEnv
	if s.LLM != nil {
		keyEnv = s.LLM.WithDefaults().APIKeyEnv
	}
	for _, m := range headerReference.FindAllStringSubmatch(value, -1) {
		if m[1] == keyEnv || slices.Contains(redact.KeyEnvs, m[1]) {
			s.doc.Add(at, "${%s} is the LLM's API key; it is never sent to a recommender", m[1])
			return
		}
	}
}
