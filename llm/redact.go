package llm

import "github.com/recloop/recloop/internal/redact"

// redactText keeps the API key out of an answer: an endpoint that echoes
// what it was sent must not put the key in the cache, a trajectory or a
// report.
func (s *Stack) redactText(text string) string {
	return redact.New(s.apiKey).String(text)
}
