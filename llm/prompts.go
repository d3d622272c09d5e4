package llm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/template"
)

// Prompts is a set of versioned prompt templates: embedded ones, optionally
// overridden by a user's file that redefines some of them.
type Prompts struct {
	Template *template.Template
	// Version names what is in use: the embedded version, plus the override
	// file's name and content hash when there is one, so a changed prompt is
	// visible in the results (and misses the cache).
	Version string
}

// LoadPrompts parses the embedded templates matching patterns in fsys, then
// the override file (relative paths resolve against dir) on top, and checks
// that every required template is defined.
func LoadPrompts(fsys fs.FS, version, dir, override string, required []string, patterns ...string) (Prompts, error) {
	tmpl, err := template.New(version).Option("missingkey=error").ParseFS(fsys, patterns...)
	if err != nil {
		return Prompts{}, fmt.Errorf("embedded prompts %s: %w", version, err)
	}
	if override != "" {
		path := override
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return Prompts{}, fmt.Errorf("prompt override: %w", err)
		}
		if tmpl, err = tmpl.New(filepath.Base(path)).Parse(string(data)); err != nil {
			return Prompts{}, fmt.Errorf("prompt override %s: %w", path, err)
		}
		sum := sha256.Sum256(data)
		version += "+" + filepath.Base(path) + "@" + hex.EncodeToString(sum[:6])
	}
	for _, name := range required {
		if tmpl.Lookup(name) == nil {
			return Prompts{}, fmt.Errorf("prompt %s: template %q is not defined", version, name)
		}
	}
	return Prompts{Template: tmpl, Version: version}, nil
}
