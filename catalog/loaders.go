package catalog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/recloop/recloop/config"
)

// ErrFormat is returned for a file whose extension names no format a loader
// reads.
var ErrFormat = errors.New("catalog: unsupported file format")

// maxLineBytes bounds one line of a line-oriented file (JSONL, MovieLens);
// a longer line is reported, not read.
const maxLineBytes = 64 << 20

// Load reads a catalog file, choosing the format by extension: .yaml/.yml (a
// top-level items list), .json (an array of items or {"items": [...]}),
// .jsonl (one item per line) or .csv (a header row, one item per row).
// Every problem is reported with file, line and field, not only the first.
func Load(path string) (*Catalog, error) {
	items, err := parseFile(path, itemParsers, ".yaml, .yml, .json, .jsonl or .csv")
	if err != nil {
		return nil, err
	}
	return fromItems(path, items)
}

// parser reads the records of one file; file names it in errors.
type parser[T any] func(file string, r io.Reader) ([]T, error)

var itemParsers = map[string]parser[Item]{
	".yaml":  whole(parseYAMLItems),
	".yml":   whole(parseYAMLItems),
	".json":  whole(parseJSONItems),
	".jsonl": parseJSONLItems,
	".csv":   parseCSVItems,
}

// parseFile parses path with the parser its extension names.
func parseFile[T any](path string, parsers map[string]parser[T], want string) ([]T, error) {
	parse, ok := parsers[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return nil, fmt.Errorf("%w: %s (want %s)", ErrFormat, path, want)
	}
	f, err := config.OpenFile(path, config.MaxDataBytes)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer f.Close()
	return parse(path, f)
}

// whole adapts a parser that needs the whole file in memory.
func whole[T any](parse func(file string, data []byte) ([]T, error)) parser[T] {
	return func(file string, r io.Reader) ([]T, error) {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("catalog: reading %s: %w", file, err)
		}
		if !utf8.Valid(data) && strings.EqualFold(filepath.Ext(file), ".json") {
			// YAML is checked, with its field, by config.Parse.
			return nil, invalidUTF8Error(file, data)
		}
		return parse(file, data)
	}
}

// fromItems builds the catalog of a file whose items have been checked.
func fromItems(file string, items []Item) (*Catalog, error) {
	if len(items) == 0 {
		p := &problems{file: file}
		p.add(0, "", "the file has no items")
		return nil, p.err()
	}
	c, err := New(items)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// itemReport records a problem with one field of the record being read.
type itemReport func(field, format string, args ...any)

type yamlCatalog struct {
	Items []Item `yaml:"items"`
}

func parseYAMLItems(file string, data []byte) ([]Item, error) {
	var doc yamlCatalog
	d := config.Parse(file, data, &doc)
	probs := &problems{file: file}
	for _, e := range d.Errors() {
		probs.addError(e)
	}
	check := newItemChecker(len(doc.Items))
	for i := range doc.Items {
		path := config.Index("items", i)
		line, _ := d.Line(path)
		check.check(&doc.Items[i], "line "+strconv.Itoa(line), func(field, format string, args ...any) {
			full := config.Join(path, field)
			l, col := d.Line(full)
			probs.addError(&config.Error{File: file, Line: l, Column: col, Field: full, Msg: fmt.Sprintf(format, args...)})
		})
	}
	probs.errs.Sort()
	if err := probs.err(); err != nil {
		return nil, err
	}
	return doc.Items, nil
}

func parseJSONItems(file string, data []byte) ([]Item, error) {
	p := &jsonItemsParser{
		probs: &problems{file: file},
		lines: newLineIndex(data),
		data:  data,
		dec:   json.NewDecoder(bytes.NewReader(data)),
		check: newItemChecker(0),
	}
	if err := p.parse(); err != nil {
		p.syntaxError(err)
	}
	p.probs.errs.Sort()
	if err := p.probs.err(); err != nil {
		return nil, err
	}
	return p.items, nil
}

type jsonItemsParser struct {
	probs *problems
	lines lineIndex
	data  []byte
	dec   *json.Decoder
	check *itemChecker
	items []Item
}

// errWrongShape stops parsing a JSON catalog whose structure is wrong after
// that has been reported.
var errWrongShape = errors.New("catalog: wrong JSON shape")

func (p *jsonItemsParser) parse() error {
	err := p.value()
	if errors.Is(err, errWrongShape) {
		return nil
	}
	return err
}

func (p *jsonItemsParser) value() error {
	tok, err := p.dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		if err := p.array(); err != nil {
			return err
		}
	case json.Delim('{'):
		if err := p.object(); err != nil {
			return err
		}
	default:
		p.probs.add(p.lines.line(0), "", `a JSON catalog is an array of items or an object {"items": [...]}`)
		return errWrongShape
	}
	if _, err := p.dec.Token(); err != io.EOF {
		p.probs.add(p.lines.line(p.dec.InputOffset()), "", "unexpected data after the catalog")
	}
	return nil
}

func (p *jsonItemsParser) object() error {
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if key != "items" {
			p.probs.add(p.lines.line(p.dec.InputOffset()), key, `unknown field (a catalog object has only "items")`)
			var skip json.RawMessage
			if err := p.dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if tok, err = p.dec.Token(); err != nil {
			return err
		}
		if tok != json.Delim('[') {
			p.probs.add(p.lines.line(p.dec.InputOffset()), "items", "must be an array of items")
			return errWrongShape
		}
		if err := p.array(); err != nil {
			return err
		}
	}
	_, err := p.dec.Token()
	return err
}

// array reads array elements up to and including the closing bracket.
func (p *jsonItemsParser) array() error {
	for i := 0; p.dec.More(); i++ {
		start := skipJSONSeparators(p.data, p.dec.InputOffset())
		var raw json.RawMessage
		if err := p.dec.Decode(&raw); err != nil {
			return err
		}
		line := p.lines.line(start)
		path := config.Index("items", i)
		var it Item
		jp := decodeStrict(raw, &it)
		if jp != nil {
			p.probs.add(line+jp.lineOffset, joinField(path, jp.field), "%s", jp.msg)
			if jp.whole {
				continue
			}
		}
		normaliseAttributes(it.Attributes)
		p.check.check(&it, "line "+strconv.Itoa(line), jp.except(func(field, format string, args ...any) {
			p.probs.add(line+keyLineOffset(raw, field), config.Join(path, field), format, args...)
		}))
		p.items = append(p.items, it)
	}
	_, err := p.dec.Token()
	return err
}

func (p *jsonItemsParser) syntaxError(err error) {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		p.probs.add(p.lines.line(se.Offset), "", "invalid JSON: %s", se.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		p.probs.add(p.lines.line(int64(len(p.data))), "", "invalid JSON: unexpected end of file")
	default:
		p.probs.add(p.lines.line(p.dec.InputOffset()), "", "invalid JSON: %v", err)
	}
}

func skipJSONSeparators(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// joinField is config.Join that leaves path alone when field is empty.
func joinField(path, field string) string {
	if field == "" {
		return path
	}
	return config.Join(path, field)
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int64

func newLineIndex(data []byte) lineIndex {
	var nl lineIndex
	for i, b := range data {
		if b == '\n' {
			nl = append(nl, int64(i))
		}
	}
	return nl
}

func (l lineIndex) line(off int64) int {
	return sort.Search(len(l), func(i int) bool { return l[i] >= off }) + 1
}

// jsonProblem is why one JSON value did not decode: where inside the value
// (lines after its first) and which field.
type jsonProblem struct {
	lineOffset int
	field      string
	msg        string
	whole      bool // nothing of the value could be decoded
}

// except wraps report so that the field the decoder already complained
// about is not reported again (a type error leaves it zero, which would
// otherwise read as "is required").
func (jp *jsonProblem) except(report itemReport) itemReport {
	if jp == nil {
		return report
	}
	return func(field, format string, args ...any) {
		if field != jp.field {
			report(field, format, args...)
		}
	}
}

var unknownJSONField = regexp.MustCompile(`^json: unknown field "(.*)"$`)

// decodeStrict decodes one JSON value into v, rejecting unknown fields and
// trailing data, and explains the first problem in the user's terms.
func decodeStrict(data []byte, v any) *jsonProblem {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return &jsonProblem{lineOffset: bytes.Count(data[:dec.InputOffset()], []byte("\n")), msg: "unexpected data after the JSON object", whole: true}
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		off := min(max(te.Offset, 0), int64(len(data)))
		return &jsonProblem{
			lineOffset: bytes.Count(data[:off], []byte("\n")),
			field:      te.Field,
			msg:        fmt.Sprintf("must be %s, not a JSON %s", jsonTypeName(te.Type), te.Value),
			whole:      te.Field == "",
		}
	case errors.As(err, &se):
		off := min(max(se.Offset, 0), int64(len(data)))
		return &jsonProblem{lineOffset: bytes.Count(data[:off], []byte("\n")), msg: "invalid JSON: " + se.Error(), whole: true}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &jsonProblem{lineOffset: bytes.Count(data, []byte("\n")), msg: "invalid JSON: unexpected end of input", whole: true}
	}
	if m := unknownJSONField.FindStringSubmatch(err.Error()); m != nil {
		return &jsonProblem{lineOffset: keyLineOffset(data, m[1]), field: m[1], msg: "unknown field"}
	}
	return &jsonProblem{msg: strings.TrimPrefix(err.Error(), "json: "), whole: true}
}

// keyLineOffset is the number of lines between the start of a JSON object
// and its key, 0 when the key is not found.
func keyLineOffset(data []byte, key string) int {
	quoted := []byte(strconv.Quote(key))
	for from := 0; ; {
		k := bytes.Index(data[from:], quoted)
		if k < 0 {
			return 0
		}
		at := from + k
		rest := bytes.TrimLeft(data[at+len(quoted):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			return bytes.Count(data[:at], []byte("\n"))
		}
		from = at + len(quoted)
	}
}

func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(jsonTypeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// normaliseAttributes turns JSON numbers into int when whole and float64
// otherwise, so attributes read from JSON look like those read from YAML.
func normaliseAttributes(attrs map[string]any) {
	for k, v := range attrs {
		attrs[k] = normaliseJSONValue(v)
	}
}

func normaliseJSONValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.Atoi(string(x)); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normaliseJSONValue(x[i])
		}
	case map[string]any:
		normaliseAttributes(x)
	}
	return v
}

// eachLine calls fn for every line of r (1-based line numbers, without the
// line ending). A line longer than maxLineBytes stops reading with an error
// located at that line.
func eachLine(file string, r io.Reader, fn func(line int, b []byte)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		fn(line, bytes.TrimSuffix(sc.Bytes(), []byte("\r")))
	}
	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return &config.Error{File: file, Line: line + 1, Msg: fmt.Sprintf("line is longer than %d MiB", maxLineBytes>>20)}
	case err != nil:
		return fmt.Errorf("catalog: reading %s: %w", file, err)
	}
	return nil
}

// addReadError records a located error from eachLine among the problems and
// passes any other error through.
func (p *problems) addReadError(err error) error {
	var ce *config.Error
	if errors.As(err, &ce) {
		p.addError(ce)
		return nil
	}
	return err
}

func parseJSONLItems(file string, r io.Reader) ([]Item, error) {
	probs := &problems{file: file}
	check := newItemChecker(0)
	var items []Item
	err := eachJSONLine(file, r, probs, func(line int, it *Item, report itemReport) {
		normaliseAttributes(it.Attributes)
		check.check(it, "line "+strconv.Itoa(line), report)
		items = append(items, *it)
	})
	return result(items, err, probs)
}

// eachJSONLine strictly decodes every non-blank line of r into a T and hands
// it to use with a report for further problems on that line. A value the
// decoder could only partly read is still handed over, its bad field
// already reported and silenced.
func eachJSONLine[T any](file string, r io.Reader, probs *problems, use func(line int, v *T, report itemReport)) error {
	err := eachLine(file, r, func(line int, b []byte) {
		if len(bytes.TrimSpace(b)) == 0 {
			return
		}
		if !utf8.Valid(b) {
			probs.add(line, jsonFieldOfInvalidUTF8(b), "invalid UTF-8; save the file as UTF-8")
			return
		}
		var v T
		jp := decodeStrict(b, &v)
		if jp != nil {
			probs.add(line, jp.field, "%s", jp.msg)
			if jp.whole {
				return
			}
		}
		use(line, &v, jp.except(func(field, format string, args ...any) {
			probs.add(line, field, format, args...)
		}))
	})
	return probs.addReadError(err)
}

// result is what a parser returns: the read error if reading failed, else
// the problems found if there were any, else the values.
func result[T any](values []T, err error, probs *problems) ([]T, error) {
	if err == nil {
		err = probs.err()
	}
	if err != nil {
		return nil, err
	}
	return values, nil
}

// csvFile is a CSV reader that reports problems by line and column name.
type csvFile struct {
	r      *csv.Reader
	probs  *problems
	header []string
}

// openCSV reads the header row; names are trimmed and a UTF-8 byte order
// mark is dropped.
func openCSV(file string, r io.Reader) (*csvFile, bool) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = -1
	c := &csvFile{r: cr, probs: &problems{file: file}}
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		c.probs.add(1, "", "the file is empty; the first row must be a header")
		return c, false
	case err != nil:
		c.addCSVError(err)
		return c, false
	}
	c.header = make([]string, len(header))
	for i, h := range header {
		c.header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	}
	return c, true
}

// rows calls fn for every data row that has as many cells as the header.
func (c *csvFile) rows(fn func(line int, rec []string)) error {
	for {
		rec, err := c.r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("catalog: reading %s: %w", c.probs.file, err)
			}
			c.addCSVError(err)
			continue
		}
		line, _ := c.r.FieldPos(0)
		if len(rec) != len(c.header) {
			c.probs.add(line, "", "the row has %d cells, the header has %d", len(rec), len(c.header))
			continue
		}
		if i := slices.IndexFunc(rec, func(cell string) bool { return !utf8.ValidString(cell) }); i >= 0 {
			c.probs.add(line, c.header[i], "invalid UTF-8; save the file as UTF-8")
			continue
		}
		fn(line, rec)
	}
}

func (c *csvFile) addCSVError(err error) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		c.probs.add(pe.Line, "", "invalid CSV: %v", pe.Err)
		return
	}
	c.probs.add(0, "", "%v", err)
}

// columns maps each header column to a canonical name via canon (which
// returns "" for columns it does not know) and reports duplicates.
func (c *csvFile) columns(canon func(string) string) map[string]int {
	cols := make(map[string]int, len(c.header))
	for i, h := range c.header {
		name := canon(h)
		if h == "" {
			c.probs.add(1, "", "column %d has no name", i+1)
			continue
		}
		if name == "" {
			continue
		}
		if j, dup := cols[name]; dup {
			c.probs.add(1, h, "column %d repeats column %d (%s)", i+1, j+1, c.header[j])
			continue
		}
		cols[name] = i
	}
	return cols
}

var csvItemColumns = []string{"id", "title", "categories", "tags", "description", "popularity", "release_round", "new", "embedding"}

func parseCSVItems(file string, r io.Reader) ([]Item, error) {
	c, ok := openCSV(file, r)
	if !ok {
		return nil, c.probs.err()
	}
	cols := c.columns(func(h string) string {
		if k := strings.ToLower(h); slices.Contains(csvItemColumns, k) {
			return k
		}
		return "attr:" + h
	})
	if _, ok := cols["id"]; !ok {
		c.probs.add(1, "", "the header has no id column (want %s, plus any attribute columns)", strings.Join(csvItemColumns, ","))
	}
	if c.probs.any() {
		return nil, c.probs.err()
	}
	check := newItemChecker(0)
	var items []Item
	err := c.rows(func(line int, rec []string) {
		report := func(field, format string, args ...any) { c.probs.add(line, field, format, args...) }
		it := csvItem(c.header, cols, rec, report)
		check.check(&it, "line "+strconv.Itoa(line), report)
		items = append(items, it)
	})
	return result(items, err, c.probs)
}

// csvItem builds one item from a row, reporting cells that do not parse.
func csvItem(header []string, cols map[string]int, rec []string, report itemReport) Item {
	cell := func(name string) string {
		if i, ok := cols[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	it := Item{
		ID:          cell("id"),
		Title:       cell("title"),
		Categories:  splitMulti(cell("categories")),
		Tags:        splitMulti(cell("tags")),
		Description: cell("description"),
	}
	if s := cell("popularity"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			report("popularity", "%q is not a number", s)
		}
		it.Popularity = f
	}
	if s := cell("release_round"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			report("release_round", "%q is not a whole number", s)
		}
		it.ReleaseRound = n
	}
	if s := cell("new"); s != "" {
		b, ok := parseBool(s)
		if !ok {
			report("new", "%q is not true or false", s)
		}
		it.New = b
	}
	if s := cell("embedding"); s != "" {
		for k, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '|' || r == '\t' }) {
			x, err := strconv.ParseFloat(f, 32)
			if err != nil {
				report("embedding", "value %d (%q) is not a number", k, f)
				it.Embedding = nil
				break
			}
			it.Embedding = append(it.Embedding, float32(x))
		}
	}
	for i, h := range header {
		v := strings.TrimSpace(rec[i])
		if j, isAttr := cols["attr:"+h]; v == "" || !isAttr || j != i {
			continue
		}
		if it.Attributes == nil {
			it.Attributes = map[string]any{}
		}
		it.Attributes[h] = inferAttribute(v)
	}
	return it
}

// splitMulti splits a multi-valued cell on "|", dropping empty parts.
func splitMulti(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(s, "|") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "1":
		return true, true
	case "false", "f", "no", "n", "0":
		return false, true
	}
	return false, false
}

// inferAttribute types a CSV cell as YAML would: a whole number becomes an
// int, another finite number a float64, true/false a bool, anything else
// stays a string.
func inferAttribute(s string) any {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f
	}
	switch s {
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	}
	return s
}

// jsonFieldOfInvalidUTF8 names the field of a JSON line whose text holds
// the invalid bytes, or "" when it cannot tell: each invalid byte becomes
// the escape \u0000, which only that field then holds.
func jsonFieldOfInvalidUTF8(b []byte) string {
	var doc any
	if json.Unmarshal(bytes.ToValidUTF8(b, []byte(`\u0000`)), &doc) != nil {
		return ""
	}
	f, _ := nulField(doc, "")
	return f
}

// invalidUTF8Error locates the first byte of data that is not UTF-8.
func invalidUTF8Error(file string, data []byte) error {
	i := 0
	for i < len(data) {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		i += size
	}
	line := 1 + bytes.Count(data[:i], []byte("\n"))
	col := 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
	e := &config.Error{File: file, Line: line, Column: col, Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02x); save the file as UTF-8", data[i])}
	// Each invalid byte becomes the escape \u0000; the field is the first
	// string that then holds a NUL.
	var doc any
	if json.Unmarshal(bytes.ToValidUTF8(data, []byte(`\u0000`)), &doc) == nil {
		if list, ok := doc.([]any); ok {
			doc = map[string]any{"items": list}
		}
		e.Field, _ = nulField(doc, "")
	}
	return config.Errors{e}
}

// nulField is the path of the first string under v that holds a NUL.
func nulField(v any, path string) (string, bool) {
	switch v := v.(type) {
	case string:
		return path, strings.ContainsRune(v, 0)
	case []any:
		for i, el := range v {
			if f, ok := nulField(el, config.Index(path, i)); ok {
				return f, true
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if f, ok := nulField(v[k], config.Join(path, k)); ok {
				return f, true
			}
		}
	}
	return "", false
}
