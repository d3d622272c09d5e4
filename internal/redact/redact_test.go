package redact

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := New("sk-SENTINEL-abc", "", "1", "sk-SENTINEL-abcdef")
	got := r.String("key sk-SENTINEL-abcdef and sk-SENTINEL-abc, 1 thing")
	if got != "key [redacted] and [redacted], 1 thing" {
		t.Errorf("String = %q", got)
	}
	if b := r.Bytes([]byte(`{"k":"sk-SENTINEL-abc"}`)); string(b) != `{"k":"[redacted]"}` {
		t.Errorf("Bytes = %s", b)
	}
	err := r.Error(fmt.Errorf("server said sk-SENTINEL-abc: %w", fs.ErrNotExist))
	if strings.Contains(err.Error(), "SENTINEL") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Error = %v, Is %v", err, errors.Is(err, fs.ErrNotExist))
	}
	var none *Redactor
	if none.String("sk-SENTINEL-abc") != "sk-SENTINEL-abc" || !none.Empty() || none.Error(nil) != nil {
		t.Error("a nil redactor changes text")
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-SENTINEL-env")
	t.Setenv("MY_KEY_VAR", "other-SENTINEL")
	if got := FromEnv("MY_KEY_VAR").String("sk-SENTINEL-env other-SENTINEL"); got != "[redacted] [redacted]" {
		t.Errorf("got %q", got)
	}
}

func TestWriterMasksSecretsSplitAcrossWrites(t *testing.T) {
	var out strings.Builder
	w := New("sk-SENTINEL-split").Writer(&out)
	for _, chunk := range []string{"a sk-SENT", "INEL-split b\nc sk-SENTINEL-", "split"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a [redacted] b\nc [redacted]" {
		t.Errorf("wrote %q", out.String())
	}
	var term strings.Builder
	if _, err := New("sk-SENTINEL-term").Lines(&term).Write([]byte("key sk-SENTINEL-term\n")); err != nil || term.String() != "key [redacted]\n" {
		t.Errorf("Lines wrote %q, %v", term.String(), err)
	}
}

func TestFromEnvironFindsSecretNames(t *testing.T) {
	t.Setenv("VLLM_API_KEY", "vllm-SENTINEL")
	t.Setenv("RECLOOP_TOKEN", "tok-SENTINEL")
	t.Setenv("RECLOOP_LLM_MODEL", "model-name-not-secret")
	got := FromEnviron().String("vllm-SENTINEL tok-SENTINEL model-name-not-secret")
	if got != "[redacted] [redacted] model-name-not-secret" {
		t.Errorf("got %q", got)
	}
}
