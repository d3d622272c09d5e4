package catalog

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/recloop/recloop/config"
)

// ErrNotMovieLens is returned for a directory that holds none of the
// MovieLens layouts LoadMovieLens knows.
var ErrNotMovieLens = errors.New("catalog: not a MovieLens directory")

// MovieLens100KGenres is the order of the 19 genre flag columns of ml-100k's
// u.item.
var MovieLens100KGenres = []string{
	"unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
	"Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
	"Romance", "Sci-Fi", "Thriller", "War", "Western",
}

// noGenres is how ml-latest (and the ml-100k "unknown" flag) say an item has
// no genre; such items get no category.
const noGenres = "(no genres listed)"

// LoadMovieLens reads a MovieLens directory, detecting the layout by its
// files: ml-latest and ml-latest-small (movies.csv, ratings.csv, optional
// tags.csv), ml-1m (movies.dat, ratings.dat) or ml-100k (u.item, u.data).
// Item ids are the movie ids; each item's popularity prior is its number of
// ratings; a "(1995)" at the end of a title becomes Attributes["year"].
// Interactions are sorted by (timestamp, user, item, rating).
func LoadMovieLens(dir string) (*Catalog, []Interaction, error) {
	c, log, _, err := LoadMovieLensTagged(dir)
	return c, log, err
}

// TagEvent is one tag a user put on an item, when it happened.
type TagEvent struct {
	User, Item, Tag string
	Timestamp       int64
}

// LoadMovieLensTagged is LoadMovieLens that also returns ml-latest's tag
// events (tags.csv), oldest first, so that a split by time can keep only
// the tags of its seed period; other layouts have none.
func LoadMovieLensTagged(dir string) (*Catalog, []Interaction, []TagEvent, error) {
	layouts := []struct {
		movies, ratings string
		load            func(ml *movieLens) error
	}{
		{"movies.csv", "ratings.csv", (*movieLens).loadLatest},
		{"movies.dat", "ratings.dat", (*movieLens).load1M},
		{"u.item", "u.data", (*movieLens).load100K},
	}
	for _, l := range layouts {
		movies := filepath.Join(dir, l.movies)
		if _, err := os.Stat(movies); err != nil {
			continue
		}
		ml := &movieLens{dir: dir, probs: &problems{}, index: map[string]int{}, check: newItemChecker(0)}
		if err := l.load(ml); err != nil {
			return nil, nil, nil, err
		}
		if err := ml.probs.err(); err != nil {
			return nil, nil, nil, err
		}
		c, err := fromItems(movies, ml.items)
		if err != nil {
			return nil, nil, nil, err
		}
		sortInteractions(ml.ratings)
		slices.SortStableFunc(ml.tags, func(a, b TagEvent) int {
			return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), strings.Compare(a.User, b.User), strings.Compare(a.Item, b.Item), strings.Compare(a.Tag, b.Tag))
		})
		return c, ml.ratings, ml.tags, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: %s has none of movies.csv (ml-latest), movies.dat (ml-1m), u.item (ml-100k)", ErrNotMovieLens, dir)
}

type movieLens struct {
	dir     string
	probs   *problems
	items   []Item
	index   map[string]int
	check   *itemChecker
	ratings []Interaction
	tags    []TagEvent
}

// open opens a file of the directory and points problem reports at it.
func (ml *movieLens) open(name string) (*os.File, error) {
	path := filepath.Join(ml.dir, name)
	ml.probs.file = path
	f, err := config.OpenFile(path, config.MaxDataBytes)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return f, nil
}

func (ml *movieLens) addMovie(line int, it Item, err error) {
	if err != nil {
		ml.reportLineError(line, err)
		return
	}
	if len(it.Attributes) == 0 {
		it.Attributes = nil
	}
	ok := true
	ml.check.check(&it, "line "+strconv.Itoa(line), func(field, format string, args ...any) {
		ml.probs.add(line, field, format, args...)
		ok = false
	})
	if ok {
		ml.index[it.ID] = len(ml.items)
		ml.items = append(ml.items, it)
	}
}

func (ml *movieLens) reportLineError(line int, err error) {
	var fe *fieldError
	if errors.As(err, &fe) {
		ml.probs.add(line, fe.field, "%s", fe.msg)
		return
	}
	ml.probs.add(line, "", "%v", err)
}

func (ml *movieLens) loadLatest() error {
	f, err := ml.open("movies.csv")
	if err != nil {
		return err
	}
	defer f.Close()
	c, ok := openCSV(ml.probs.file, f)
	c.probs = ml.probs
	if !ok || !ml.expectHeader(c.header, "movieId", "title", "genres") {
		return nil
	}
	if err := c.rows(func(line int, rec []string) {
		it, err := parseLatestMovie(rec)
		ml.addMovie(line, it, err)
	}); err != nil || ml.probs.any() {
		return err
	}
	if err := ml.readRatings("ratings.csv", ",", true); err != nil {
		return err
	}
	return ml.readTags("tags.csv")
}

// expectHeader reports a header that is not the one the layout defines.
func (ml *movieLens) expectHeader(got []string, want ...string) bool {
	if strings.EqualFold(strings.Join(got, ","), strings.Join(want, ",")) {
		return true
	}
	ml.probs.add(1, "", "the header is %q, want %q", strings.Join(got, ","), strings.Join(want, ","))
	return false
}

// readTags adds the tags of ml-latest's optional tags.csv
// (userId,movieId,tag,timestamp) to the movies they name.
func (ml *movieLens) readTags(name string) error {
	f, err := ml.open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	c, ok := openCSV(ml.probs.file, f)
	c.probs = ml.probs
	if !ok || !ml.expectHeader(c.header, "userId", "movieId", "tag", "timestamp") {
		return nil
	}
	return c.rows(func(line int, rec []string) {
		i, known := ml.index[rec[1]]
		switch tag := strings.TrimSpace(rec[2]); {
		case !known:
			ml.probs.add(line, "movieId", "movie %q is not in movies.csv", rec[1])
		case tag != "":
			ml.items[i].Tags = append(ml.items[i].Tags, tag)
			ts, err := strconv.ParseInt(strings.TrimSpace(rec[3]), 10, 64)
			if err != nil {
				ml.probs.add(line, "timestamp", "%q is not a whole number of seconds", rec[3])
			}
			ml.tags = append(ml.tags, TagEvent{User: strings.TrimSpace(rec[0]), Item: rec[1], Tag: tag, Timestamp: ts})
		}
	})
}

func (ml *movieLens) load1M() error {
	if err := ml.readMovieLines("movies.dat", parse1MMovieLine); err != nil || ml.probs.any() {
		return err
	}
	return ml.readRatings("ratings.dat", "::", false)
}

func (ml *movieLens) load100K() error {
	if err := ml.readMovieLines("u.item", parse100KItemLine); err != nil || ml.probs.any() {
		return err
	}
	return ml.readRatings("u.data", "\t", false)
}

// readMovieLines reads a Latin-1 movie file of the older layouts.
func (ml *movieLens) readMovieLines(name string, parse func(string) (Item, error)) error {
	f, err := ml.open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	err = eachLine(ml.probs.file, f, func(line int, b []byte) {
		if len(bytes.TrimSpace(b)) == 0 {
			return
		}
		it, err := parse(latin1(b))
		ml.addMovie(line, it, err)
	})
	return ml.probs.addReadError(err)
}

// readRatings streams a ratings file, counting each movie's ratings into its
// popularity prior.
func (ml *movieLens) readRatings(name, sep string, header bool) error {
	f, err := ml.open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		// About 20 bytes per rating line in every layout; one allocation
		// up front beats repeated doubling on tens of millions of rows.
		ml.ratings = make([]Interaction, 0, st.Size()/20+1)
	}
	counts := make([]float64, len(ml.items))
	items := newItemLookup(ml.items)
	users := &numericInterner{}
	err = eachLine(ml.probs.file, f, func(line int, b []byte) {
		if header && line == 1 {
			ml.expectHeader(strings.Split(string(b), ","), "userId", "movieId", "rating", "timestamp")
			return
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return
		}
		r, err := parseRatingLine(b, sep)
		if err != nil {
			ml.reportLineError(line, err)
			return
		}
		i, known := items.find(r.item)
		if !known {
			ml.probs.add(line, "item", "movie %q is not in the movie file", r.item)
			return
		}
		counts[i]++
		ml.ratings = append(ml.ratings, Interaction{
			User:      users.intern(r.user),
			Item:      ml.items[i].ID,
			Rating:    r.rating,
			Timestamp: r.timestamp,
		})
	})
	if err := ml.probs.addReadError(err); err != nil {
		return err
	}
	for i, n := range counts {
		ml.items[i].Popularity = n
	}
	return nil
}

// MovieLens ids are small integers, so the ratings loop finds them by
// number in a slice; anything else ("01", "tt0114709") goes through a map.
const maxSliceID = 1 << 24

// smallID parses a canonical decimal id below maxSliceID: no sign, no
// leading zero, so that "01" stays distinct from "1".
func smallID(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 8 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n < maxSliceID
}

type itemLookup struct {
	byNum []int32 // item index + 1; 0 is unknown
	other map[string]int
}

func newItemLookup(items []Item) *itemLookup {
	l := &itemLookup{other: map[string]int{}}
	for i := range items {
		n, ok := smallID([]byte(items[i].ID))
		if !ok {
			l.other[items[i].ID] = i
			continue
		}
		l.byNum = growTo(l.byNum, n+1)
		l.byNum[n] = int32(i) + 1
	}
	return l
}

func (l *itemLookup) find(id []byte) (int, bool) {
	if n, ok := smallID(id); ok {
		if n < len(l.byNum) && l.byNum[n] > 0 {
			return int(l.byNum[n]) - 1, true
		}
		return 0, false
	}
	i, ok := l.other[string(id)]
	return i, ok
}

// growTo extends s with zero values to at least n elements.
func growTo[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// numericInterner is an interner with a slice for small numeric ids.
type numericInterner struct {
	byNum []string
	other interner
}

func (in *numericInterner) intern(b []byte) string {
	n, ok := smallID(b)
	if !ok {
		if in.other == nil {
			in.other = interner{}
		}
		return in.other.internBytes(b)
	}
	in.byNum = growTo(in.byNum, n+1)
	if in.byNum[n] == "" {
		in.byNum[n] = string(b)
	}
	return in.byNum[n]
}

// fieldError is a problem with one field of one line.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

type ratingLine struct {
	user, item []byte
	rating     float64
	timestamp  int64
}

// parseRatingLine splits "user<sep>item<sep>rating<sep>timestamp". The ids
// alias b.
func parseRatingLine(b []byte, sep string) (ratingLine, error) {
	var f [4][]byte
	rest := b
	for k := range f {
		if k == len(f)-1 {
			f[k] = rest
			break
		}
		i := bytes.Index(rest, []byte(sep))
		if i < 0 {
			return ratingLine{}, fmt.Errorf("want 4 fields (user, item, rating, timestamp) separated by %q, got %d", sep, k+1)
		}
		f[k], rest = rest[:i], rest[i+len(sep):]
	}
	if bytes.Contains(f[3], []byte(sep)) {
		return ratingLine{}, fmt.Errorf("want 4 fields (user, item, rating, timestamp) separated by %q, got more", sep)
	}
	r := ratingLine{user: bytes.TrimSpace(f[0]), item: bytes.TrimSpace(f[1])}
	if len(r.user) == 0 {
		return ratingLine{}, &fieldError{"user", "is empty"}
	}
	if len(r.item) == 0 {
		return ratingLine{}, &fieldError{"item", "is empty"}
	}
	var err error
	if r.rating, err = parseFiniteFloat(bytes.TrimSpace(f[2])); err != nil {
		return ratingLine{}, &fieldError{"rating", fmt.Sprintf("%q is not a number", f[2])}
	}
	if r.timestamp, err = strconv.ParseInt(string(bytes.TrimSpace(f[3])), 10, 64); err != nil {
		return ratingLine{}, &fieldError{"timestamp", fmt.Sprintf("%q is not a whole number", f[3])}
	}
	return r, nil
}

var errNotFinite = errors.New("not a finite number")

func parseFiniteFloat(b []byte) (float64, error) {
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, errNotFinite
	}
	return x, nil
}

// parseLatestMovie reads one movies.csv record: movieId, title, genres.
func parseLatestMovie(rec []string) (Item, error) {
	if len(rec) != 3 {
		return Item{}, fmt.Errorf("want 3 fields (movieId, title, genres), got %d", len(rec))
	}
	return movieItem(rec[0], rec[1], strings.Split(rec[2], "|")), nil
}

// parse1MMovieLine reads one movies.dat line: MovieID::Title::Genres.
func parse1MMovieLine(line string) (Item, error) {
	f := strings.Split(line, "::")
	if len(f) != 3 {
		return Item{}, fmt.Errorf("want 3 fields (MovieID::Title::Genres), got %d", len(f))
	}
	return movieItem(f[0], f[1], strings.Split(f[2], "|")), nil
}

// parse100KItemLine reads one u.item line: id | title | release date | video
// release date | IMDb URL | 19 genre flags.
func parse100KItemLine(line string) (Item, error) {
	f := strings.Split(line, "|")
	if want := 5 + len(MovieLens100KGenres); len(f) != want {
		return Item{}, fmt.Errorf("want %d fields separated by |, got %d", want, len(f))
	}
	var genres []string
	for k, flag := range f[5:] {
		switch strings.TrimSpace(flag) {
		case "0":
		case "1":
			if k > 0 {
				genres = append(genres, MovieLens100KGenres[k])
			}
		default:
			return Item{}, &fieldError{MovieLens100KGenres[k], fmt.Sprintf("genre flag %q is not 0 or 1", flag)}
		}
	}
	it := movieItem(f[0], f[1], genres)
	date := strings.TrimSpace(f[2])
	if date != "" {
		it.Attributes["release_date"] = date
		if _, ok := it.Attributes["year"]; !ok {
			if y, ok := dateYear(date); ok {
				it.Attributes["year"] = y
			}
		}
	}
	if url := strings.TrimSpace(f[4]); url != "" {
		it.Attributes["imdb_url"] = url
	}
	return it, nil
}

// dateYear reads the year of an ml-100k date such as "01-Jan-1995".
func dateYear(date string) (int, bool) {
	i := strings.LastIndexByte(date, '-')
	if i < 0 || len(date)-i-1 != 4 {
		return 0, false
	}
	y, err := strconv.Atoi(date[i+1:])
	return y, err == nil
}

var titleYear = regexp.MustCompile(`\((\d{4})\)$`)

func movieItem(id, title string, genres []string) Item {
	title = strings.TrimSpace(title)
	it := Item{ID: strings.TrimSpace(id), Title: title, Attributes: map[string]any{}}
	if m := titleYear.FindStringSubmatch(title); m != nil {
		y, _ := strconv.Atoi(m[1])
		it.Attributes["year"] = y
	}
	for _, g := range genres {
		if g = strings.TrimSpace(g); g != "" && g != noGenres {
			it.Categories = append(it.Categories, g)
		}
	}
	return it
}

// latin1 decodes ISO-8859-1, where every byte is the code point of the same
// value.
func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return string(out)
}
