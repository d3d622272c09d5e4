package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Doc is a parsed YAML file that remembers where every value came from, so
// validation that runs after decoding can still name the line.
type Doc struct {
	File string
	Root *yaml.Node
	errs Errors
}

// Parse decodes data into v strictly: unknown fields and values of the
// wrong type are errors, each located at its node, and all of them are
// reported. A syntax error stops decoding; the returned Doc then has a nil
// Root, and the error is yaml.v3's message as it is (it names the line in
// its text: yaml.v3 has no node, and no position, for a syntax error).
func Parse(file string, data []byte, v any) *Doc {
	d := &Doc{File: file}
	if bad := invalidUTF8(data); bad >= 0 {
		d.errs = append(d.errs, encodingError(file, data, bad))
		return d
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		d.errs = append(d.errs, &Error{File: file, Msg: err.Error()})
		return d
	}
	if root.Kind == 0 {
		d.errs = append(d.errs, &Error{File: file, Msg: "file is empty"})
		return d
	}
	d.Root = &root
	decodeDoc(d, v)
	return d
}

// Errors returns everything reported against this document so far.
func (d *Doc) Errors() Errors { return d.errs }

// Add records a problem at a dotted path such as "variants[2].params.k"; the
// line is looked up in the document. A path that no longer resolves falls
// back to its nearest existing parent.
func (d *Doc) Add(path, format string, args ...any) {
	line, col := d.Line(path)
	d.errs = append(d.errs, &Error{File: d.File, Line: line, Column: col, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// Append adds already-located errors, for example from an included file.
func (d *Doc) Append(es ...*Error) { d.errs = append(d.errs, es...) }

// Line returns the line and column of the value at path, or of the nearest
// parent that exists.
func (d *Doc) Line(path string) (int, int) {
	n := d.Node(path)
	if n == nil {
		return 0, 0
	}
	return n.Line, n.Column
}

// Node walks path from the root; it returns the deepest node it reached.
func (d *Doc) Node(path string) *yaml.Node {
	if d == nil || d.Root == nil {
		return nil
	}
	return Walk(d.Root, path)
}

// Has reports whether the document sets the value at path.
func (d *Doc) Has(path string) bool {
	if d == nil || d.Root == nil {
		return false
	}
	n := d.Root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, part := range splitPath(path) {
		if n, _ = step(n, part); n == nil {
			return false
		}
	}
	return true
}

// Walk resolves a dotted path under n, returning the deepest node reached.
// For a mapping key that exists, it returns the key node, whose line is where
// the user wrote the field name.
func Walk(n *yaml.Node, path string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	last := n
	for _, part := range splitPath(path) {
		if n == nil {
			break
		}
		next, key := step(n, part)
		if next == nil {
			if key != nil {
				return key
			}
			return last
		}
		if key != nil {
			last = key
		} else {
			last = next
		}
		n = next
	}
	return last
}

func step(n *yaml.Node, part string) (value, key *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if idx, err := strconv.Atoi(part); err == nil && n.Kind == yaml.SequenceNode {
		if idx >= 0 && idx < len(n.Content) {
			return n.Content[idx], nil
		}
		return nil, nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				return n.Content[i+1], n.Content[i]
			}
		}
	}
	return nil, nil
}

func splitPath(path string) []string {
	if path == "" {
		return nil
	}
	path = strings.ReplaceAll(path, "[", ".")
	path = strings.ReplaceAll(path, "]", "")
	return strings.Split(path, ".")
}

// Index formats a path element for a sequence index: Index("variants", 2) is
// "variants[2]".
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Join appends a field to a path.
func Join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// invalidUTF8 is the offset of data's first byte that is not UTF-8, or -1.
func invalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// encodingError locates the invalid byte at offset bad: its line and
// column, and the field whose line it is on, found in the document with
// every invalid byte replaced.
func encodingError(file string, data []byte, bad int) *Error {
	line := 1 + bytes.Count(data[:bad], []byte("\n"))
	col := 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:bad], '\n')+1:bad])
	e := &Error{File: file, Line: line, Column: col, Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02x); save the file as UTF-8", data[bad])}
	var root yaml.Node
	if yaml.Unmarshal(bytes.ToValidUTF8(data, []byte("\uFFFD")), &root) == nil {
		e.Field = fieldOnLine(&root, "", line)
	}
	return e
}

// fieldOnLine is the path of the deepest value on the given line under n, or "".
func fieldOnLine(n *yaml.Node, path string, line int) string {
	found := ""
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if f := fieldOnLine(c, path, line); f != "" {
				found = f
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			p := Join(path, key.Value)
			if key.Line == line || value.Line == line {
				found = p
			}
			if f := fieldOnLine(value, p, line); f != "" {
				found = f
			}
		}
	case yaml.SequenceNode:
		for i, el := range n.Content {
			p := Index(path, i)
			if el.Line == line && el.Kind == yaml.ScalarNode {
				found = p
			}
			if f := fieldOnLine(el, p, line); f != "" {
				found = f
			}
		}
	}
	return found
}
