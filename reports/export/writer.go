package export

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Writer writes one format's events as they come, holding none of them
// beyond what the format buffers (a batch, a row group). Close flushes what
// is buffered and ends the format's framing; it does not close the
// underlying io.Writer.
type Writer interface {
	Write(e *Event) error
	Close() error
}

// Format is one output format of recloop export.
type Format struct {
	// Name is what --to takes.
	Name string
	// Ext is the extension of the default output file, dot included.
	Ext string
	// New starts a writer on w.
	New func(w io.Writer) (Writer, error)
	// CheckTimes refuses a run whose events span first..last when the
	// format's ingest API would reject those times, judged at now; nil
	// accepts any time.
	CheckTimes func(first, last, now time.Time) error
}

var formats = map[string]Format{}

// Register adds a format; each format's file registers itself in init. A
// second format of one name is a programming error.
func Register(f Format) {
	if _, dup := formats[f.Name]; dup {
		panic("export: format " + f.Name + " registered twice")
	}
	formats[f.Name] = f
}

// Lookup finds a format by name; the error lists the known ones.
func Lookup(name string) (Format, error) {
	f, ok := formats[name]
	if !ok {
		return Format{}, fmt.Errorf("export: unknown format %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return f, nil
}

// Names lists the registered formats in order.
func Names() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
