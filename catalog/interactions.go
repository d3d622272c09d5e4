package catalog

import (
	"cmp"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// LoadInteractions reads an interaction log: .csv with a header naming the
// columns user, item, rating and timestamp (userId/user_id and
// itemId/item_id/movieId/movie_id are accepted; other columns are ignored),
// or .jsonl with one {"user", "item", "rating", "timestamp"} object per line.
// The result is sorted by (timestamp, user, item, rating).
func LoadInteractions(path string) ([]Interaction, error) {
	out, err := parseFile(path, interactionParsers, ".csv or .jsonl")
	if err != nil {
		return nil, err
	}
	sortInteractions(out)
	return out, nil
}

var interactionParsers = map[string]parser[Interaction]{
	".csv":   parseCSVInteractions,
	".jsonl": parseJSONLInteractions,
}

func interactionColumn(h string) string {
	switch strings.ToLower(h) {
	case "user", "userid", "user_id":
		return "user"
	case "item", "itemid", "item_id", "movieid", "movie_id":
		return "item"
	case "rating":
		return "rating"
	case "timestamp":
		return "timestamp"
	}
	return ""
}

func parseCSVInteractions(file string, r io.Reader) ([]Interaction, error) {
	c, ok := openCSV(file, r)
	if !ok {
		return nil, c.probs.err()
	}
	c.r.ReuseRecord = true
	cols := c.columns(interactionColumn)
	for _, need := range []string{"user", "item"} {
		if _, ok := cols[need]; !ok {
			c.probs.add(1, "", "the header has no %s column (want user,item,rating,timestamp)", need)
		}
	}
	if c.probs.any() {
		return nil, c.probs.err()
	}
	users, items := interner{}, interner{}
	var out []Interaction
	err := c.rows(func(line int, rec []string) {
		report := func(field, format string, args ...any) { c.probs.add(line, field, format, args...) }
		in := Interaction{
			User: users.intern(strings.TrimSpace(rec[cols["user"]])),
			Item: items.intern(strings.TrimSpace(rec[cols["item"]])),
		}
		if i, ok := cols["rating"]; ok && strings.TrimSpace(rec[i]) != "" {
			s := strings.TrimSpace(rec[i])
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				report("rating", "%q is not a number", s)
			}
			in.Rating = f
		}
		if i, ok := cols["timestamp"]; ok && strings.TrimSpace(rec[i]) != "" {
			s := strings.TrimSpace(rec[i])
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				report("timestamp", "%q is not a whole number", s)
			}
			in.Timestamp = n
		}
		if checkInteraction(&in, report) {
			out = append(out, in)
		}
	})
	return result(out, err, c.probs)
}

func parseJSONLInteractions(file string, r io.Reader) ([]Interaction, error) {
	probs := &problems{file: file}
	users, items := interner{}, interner{}
	var out []Interaction
	err := eachJSONLine(file, r, probs, func(_ int, in *Interaction, report itemReport) {
		in.User, in.Item = users.intern(in.User), items.intern(in.Item)
		if checkInteraction(in, report) {
			out = append(out, *in)
		}
	})
	return result(out, err, probs)
}

// checkInteraction reports what is wrong with in and whether it is usable.
func checkInteraction(in *Interaction, report itemReport) bool {
	ok := true
	if in.User == "" {
		report("user", "is required")
		ok = false
	}
	if in.Item == "" {
		report("item", "is required")
		ok = false
	}
	if math.IsNaN(in.Rating) || math.IsInf(in.Rating, 0) {
		report("rating", "must be a finite number")
		ok = false
	}
	return ok
}

func sortInteractions(xs []Interaction) {
	// Compared field by field rather than with cmp.Or, which would compare
	// the strings even when the timestamps already differ.
	slices.SortFunc(xs, func(a, b Interaction) int {
		if c := cmp.Compare(a.Timestamp, b.Timestamp); c != 0 {
			return c
		}
		if c := strings.Compare(a.User, b.User); c != 0 {
			return c
		}
		if c := strings.Compare(a.Item, b.Item); c != 0 {
			return c
		}
		return cmp.Compare(a.Rating, b.Rating)
	})
}

// interner shares one string per distinct id, so a log of millions of rows
// holds each user and item id once.
type interner map[string]string

func (in interner) intern(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	s = strings.Clone(s)
	in[s] = s
	return s
}

func (in interner) internBytes(b []byte) string {
	if v, ok := in[string(b)]; ok {
		return v
	}
	s := string(b)
	in[s] = s
	return s
}
