// Package redact keeps secrets (API keys, header values) out of text that
// reaches errors, logs, run files and the terminal: every occurrence of a
// secret value becomes "[redacted]". It imports nothing from recloop.
package redact

import (
	"bytes"
	"io"
	"os"
	"slices"
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

// FromEnviron is FromEnv(names...) plus every environment variable named
// like a secret (ending in _KEY, _TOKEN, _SECRET or _PASSWORD, or holding
// API_KEY): whatever api_key_env or a header names, its value is masked.
func FromEnviron(names ...string) *Redactor {
	r := FromEnv(names...)
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if SecretName(name) {
			r.add(value)
		}
	}
	return r
}

// SecretName reports whether an environment variable's name says it holds
// a secret.
func SecretName(name string) bool {
	n := strings.ToUpper(name)
	for _, suffix := range []string{"_KEY", "_TOKEN", "_SECRET", "_PASSWORD"} {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return strings.Contains(n, "API_KEY")
}

func (r *Redactor) add(values ...string) {
	for _, v := range values {
		// Lines are redacted one at a time (Writer), so a secret is its lines.
		for _, line := range strings.Split(v, "\n") {
			line = strings.TrimSpace(line)
			if len(line) >= MinLength && !slices.Contains(r.secrets, line) {
				r.secrets = append(r.secrets, line)
			}
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

// Writer masks secrets in everything written through it. It holds back the
// last incomplete line, since a secret (which never spans lines) may be
// split between two writes; Close writes it out.
type Writer struct {
	r    *Redactor
	w    io.Writer
	tail []byte
}

// Writer wraps w. With nothing to redact the result writes straight through.
func (r *Redactor) Writer(w io.Writer) *Writer { return &Writer{r: r, w: w} }

// Write passes p on with every complete line redacted.
func (w *Writer) Write(p []byte) (int, error) {
	if w.r.Empty() {
		return w.w.Write(p)
	}
	w.tail = append(w.tail, p...)
	i := bytes.LastIndexByte(w.tail, '\n')
	if i < 0 {
		return len(p), nil
	}
	if _, err := w.w.Write(w.r.Bytes(w.tail[:i+1])); err != nil {
		return 0, err
	}
	w.tail = append(w.tail[:0], w.tail[i+1:]...)
	return len(p), nil
}

// Close writes what is held back; it does not close the wrapped writer.
func (w *Writer) Close() error {
	if len(w.tail) == 0 {
		return nil
	}
	_, err := w.w.Write(w.r.Bytes(w.tail))
	w.tail = w.tail[:0]
	return err
}

// Lines wraps w for callers that write whole messages (the terminal): each
// Write is redacted on its own and nothing is held back.
func (r *Redactor) Lines(w io.Writer) io.Writer {
	if r.Empty() {
		return w
	}
	return linesWriter{r: r, w: w}
}

type linesWriter struct {
	r *Redactor
	w io.Writer
}

// Unwrap is the wrapped writer, for callers that ask whether it is a terminal.
func (l linesWriter) Unwrap() io.Writer { return l.w }

func (l linesWriter) Write(p []byte) (int, error) {
	if _, err := l.w.Write(l.r.Bytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
