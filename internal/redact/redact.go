// Package redact keeps secrets (API keys, header values) out of text that
// reaches errors, logs, run files and the terminal: every occurrence of a
// secret value becomes "[redacted]". It imports nothing from recloop.
package redact

import (
	"bytes"
	"os"
	"sort"
	"strings"
)

// Mask is what a secret becomes.
const Mask = "[redacted]"

// MinLength is the shortest value treated as a secret: shorter values ("1",
// "yes") would mask ordinary text, and are no secret anyway.
const MinLength = 6

// KeyEnvs are the environment variables that hold LLM API keys whatever the
// scenario says.
var KeyEnvs = []string{"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"}

// Redactor replaces secret values. The zero value and nil redact nothing.
type Redactor struct {
	secrets []string
}

// New builds a redactor for values; empty and short values are ignored.
func New(values ...string) *Redactor {
	r := &Redactor{}
	r.add(values...)
	return r
}

// FromEnv builds a redactor for the values of the named environment
// variables and of KeyEnvs.
func FromEnv(names ...string) *Redactor {
	r := &Redactor{}
	for _, n := range append(append([]string(nil), KeyEnvs...), names...) {
		r.add(os.Getenv(n))
	}
	return r
}

func (r *Redactor) add(values ...string) {
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) >= MinLength {
			r.secrets = append(r.secrets, v)
		}
	}
	// Longest first, so that a secret containing another is masked whole.
	sort.SliceStable(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// Empty reports whether there is nothing to redact.
func (r *Redactor) Empty() bool { return r == nil || len(r.secrets) == 0 }

// String masks every secret in s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, Mask)
	}
	return s
}

// Bytes masks every secret in b; b itself is left alone.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil {
		return b
	}
	for _, secret := range r.secrets {
		if bytes.Contains(b, []byte(secret)) {
			b = bytes.ReplaceAll(b, []byte(secret), []byte(Mask))
		}
	}
	return b
}

// Error masks every secret in err's text. errors.Is and errors.As still see
// the wrapped error; the text is the only thing that changes.
func (r *Redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	msg := err.Error()
	if clean := r.String(msg); clean != msg {
		return &redacted{err: err, msg: clean}
	}
	return err
}

type redacted struct {
	err error
	msg string
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
