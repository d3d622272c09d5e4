package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLoadMovieLens(t *testing.T) {
	tests := []struct {
		dir      string
		items    []Item
		ratings  []Interaction
		category string // one normalised genre name the layout uses
	}{
		{
			dir: "ml-latest-small",
			items: []Item{
				{ID: "1", Title: "Toy Story (1995)", Categories: []string{"adventure", "animation", "children", "comedy", "fantasy"},
					Tags: []string{"pixar"}, Attributes: map[string]any{"year": 1995}, Popularity: 3},
				// The title has a comma inside quotes.
				{ID: "2", Title: "American President, The (1995)", Categories: []string{"comedy", "drama", "romance"},
					Tags: []string{"white-house"}, Attributes: map[string]any{"year": 1995}, Popularity: 1},
				// "(no genres listed)" is no category; no year in the title.
				{ID: "3", Title: "Hyena Road"},
				// UTF-8 in ml-latest; the trailing space is trimmed before the year is read.
				{ID: "4", Title: "Misérables, Les (1995)", Categories: []string{"drama", "war"},
					Attributes: map[string]any{"year": 1995}, Popularity: 1},
			},
			ratings: []Interaction{
				{User: "10", Item: "1", Rating: 3, Timestamp: 964980000},
				{User: "1", Item: "2", Rating: 3.5, Timestamp: 964981247},
				{User: "2", Item: "1", Rating: 5, Timestamp: 964982224},
				{User: "2", Item: "4", Rating: 2, Timestamp: 964982224},
				{User: "1", Item: "1", Rating: 4, Timestamp: 964982703},
			},
			category: "children",
		},
		{
			dir: "ml-100k",
			items: []Item{
				{ID: "1", Title: "Toy Story (1995)", Categories: []string{"animation", "children's", "comedy"}, Popularity: 3,
					Attributes: map[string]any{"year": 1995, "release_date": "01-Jan-1995", "imdb_url": "http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)"}},
				{ID: "2", Title: "GoldenEye (1995)", Categories: []string{"action", "adventure", "thriller"}, Popularity: 1,
					Attributes: map[string]any{"year": 1995, "release_date": "01-Jan-1995", "imdb_url": "http://us.imdb.com/M/title-exact?GoldenEye%20(1995)"}},
				// Byte 0xE9 in Latin-1 is é.
				{ID: "3", Title: "Misérables, Les (1995)", Categories: []string{"drama", "war"}, Popularity: 1,
					Attributes: map[string]any{"year": 1995, "release_date": "01-Jan-1995"}},
				// The "unknown" genre flag is no category.
				{ID: "4", Title: "unknown"},
				// No year in the title: it comes from the release date.
				{ID: "5", Title: "Sans titre", Categories: []string{"film-noir", "sci-fi"},
					Attributes: map[string]any{"year": 1997, "release_date": "12-Feb-1997"}},
			},
			ratings: []Interaction{
				{User: "1", Item: "1", Rating: 5, Timestamp: 874965758},
				{User: "3", Item: "1", Rating: 1, Timestamp: 874965758},
				{User: "1", Item: "2", Rating: 3, Timestamp: 876893171},
				{User: "2", Item: "1", Rating: 4, Timestamp: 888550871},
				{User: "3", Item: "3", Rating: 2, Timestamp: 889237455},
			},
			category: "film-noir",
		},
		{
			dir: "ml-1m",
			items: []Item{
				{ID: "1", Title: "Toy Story (1995)", Categories: []string{"animation", "children's", "comedy"},
					Attributes: map[string]any{"year": 1995}, Popularity: 2},
				{ID: "2", Title: "Jumanji (1995)", Categories: []string{"adventure", "children's", "fantasy"},
					Attributes: map[string]any{"year": 1995}, Popularity: 1},
				// Latin-1 é; the year is the last parenthesis, not the first.
				{ID: "3", Title: "Cité des enfants perdus, La (The City of Lost Children) (1995)", Categories: []string{"adventure", "sci-fi"},
					Attributes: map[string]any{"year": 1995}, Popularity: 1},
			},
			ratings: []Interaction{
				{User: "2", Item: "2", Rating: 4, Timestamp: 978298413},
				{User: "1", Item: "1", Rating: 5, Timestamp: 978300760},
				{User: "2", Item: "1", Rating: 4, Timestamp: 978300760},
				{User: "1", Item: "3", Rating: 3, Timestamp: 978302109},
			},
			category: "sci-fi",
		},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			c, ratings, err := LoadMovieLens(filepath.Join("testdata", tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Items(), tt.items) {
				t.Errorf("items =\n%#v\nwant\n%#v", c.Items(), tt.items)
			}
			if !reflect.DeepEqual(ratings, tt.ratings) {
				t.Errorf("ratings =\n%v\nwant\n%v", ratings, tt.ratings)
			}
			if _, ok := c.CategoryIndex(tt.category); !ok {
				t.Errorf("category %q missing from %q", tt.category, c.Categories())
			}
			for _, it := range c.Items() {
				if !utf8.ValidString(it.Title) {
					t.Errorf("title %q is not UTF-8", it.Title)
				}
			}
		})
	}
}

func TestLoadMovieLensPopularityPrior(t *testing.T) {
	c, _, err := LoadMovieLens(filepath.Join("testdata", "ml-latest-small"))
	if err != nil {
		t.Fatal(err)
	}
	// Rating counts 3, 1, 0, 1; the zero becomes 1/2: sum 5.5.
	for i, want := range []float64{3 / 5.5, 1 / 5.5, 0.5 / 5.5, 1 / 5.5} {
		if got := c.PopularityShare(i); !approxEqual(got, want) {
			t.Errorf("p(%d) = %v, want %v", i, got, want)
		}
	}
}

// writeDir creates a MovieLens-like directory from file contents.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadMovieLensErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // with DIR for the directory
	}{
		{"bad movie lines stop before ratings", map[string]string{
			"movies.dat":  "1::A (1990)::Drama\n2::B\n1::C::Comedy\n::D::Drama\n",
			"ratings.dat": "1::9::5::1\n",
		}, []string{
			"DIR/movies.dat:2: want 3 fields (MovieID::Title::Genres), got 2",
			`DIR/movies.dat:3: id: "1" is used more than once (first at line 1)`,
			"DIR/movies.dat:4: id: is required",
		}},
		{"bad rating lines", map[string]string{
			"movies.dat":  "1::A (1990)::Drama\n",
			"ratings.dat": "1::1::5::978300760\n1::9::5::1\n1::1::x::1\n1::1::5\n1::1::5::1::2\n::1::5::1\n1::1::5::later\n",
		}, []string{
			`DIR/ratings.dat:2: item: movie "9" is not in the movie file`,
			`DIR/ratings.dat:3: rating: "x" is not a number`,
			`DIR/ratings.dat:4: want 4 fields (user, item, rating, timestamp) separated by "::", got 3`,
			`DIR/ratings.dat:5: want 4 fields (user, item, rating, timestamp) separated by "::", got more`,
			"DIR/ratings.dat:6: user: is empty",
			`DIR/ratings.dat:7: timestamp: "later" is not a whole number`,
		}},
		{"bad genre flag", map[string]string{
			"u.item": "1|A (1990)|||" + strings.Repeat("|0", 18) + "|2\n",
			"u.data": "",
		}, []string{
			`DIR/u.item:1: Western: genre flag "2" is not 0 or 1`,
		}},
		{"wrong headers", map[string]string{
			"movies.csv":  "id,title,genres\n1,A,Drama\n",
			"ratings.csv": "",
		}, []string{
			`DIR/movies.csv:1: the header is "id,title,genres", want "movieId,title,genres"`,
		}},
		{"tags and ratings of unknown movies", map[string]string{
			"movies.csv":  "movieId,title,genres\n1,A,Drama\n",
			"ratings.csv": "user,movie,rating,timestamp\n1,1,4,5\n",
			"tags.csv":    "userId,movieId,tag,timestamp\n1,2,fun,5\n",
		}, []string{
			`DIR/ratings.csv:1: the header is "user,movie,rating,timestamp", want "userId,movieId,rating,timestamp"`,
			`DIR/tags.csv:2: movieId: movie "2" is not in movies.csv`,
		}},
		{"no movies", map[string]string{
			"movies.dat":  "\n",
			"ratings.dat": "",
		}, []string{"DIR/movies.dat: the file has no items"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			_, _, err := LoadMovieLens(dir)
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.ReplaceAll(w, "DIR", dir)
			}
			assertErrorLines(t, err, want)
		})
	}
}

func TestLoadMovieLensMissingFiles(t *testing.T) {
	_, _, err := LoadMovieLens(t.TempDir())
	if !errors.Is(err, ErrNotMovieLens) {
		t.Errorf("empty dir: %v, want ErrNotMovieLens", err)
	}
	_, _, err = LoadMovieLens(writeDir(t, map[string]string{"u.item": "1|A|||" + strings.Repeat("|0", 19) + "\n"}))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no u.data: %v, want ErrNotExist", err)
	}
}

func TestParseRatingLine(t *testing.T) {
	tests := []struct {
		line, sep string
		want      ratingLine
		err       string
	}{
		{"1,31,2.5,1260759144", ",", ratingLine{user: []byte("1"), item: []byte("31"), rating: 2.5, timestamp: 1260759144}, ""},
		{"196\t242\t3\t881250949", "\t", ratingLine{user: []byte("196"), item: []byte("242"), rating: 3, timestamp: 881250949}, ""},
		{"1::1193::5::978300760", "::", ratingLine{user: []byte("1"), item: []byte("1193"), rating: 5, timestamp: 978300760}, ""},
		{"1,2,NaN,3", ",", ratingLine{}, `rating: "NaN" is not a number`},
		{"1,2,1e999,3", ",", ratingLine{}, `rating: "1e999" is not a number`},
		{"1,,3,4", ",", ratingLine{}, "item: is empty"},
		{"", ",", ratingLine{}, `want 4 fields (user, item, rating, timestamp) separated by ",", got 1`},
	}
	for _, tt := range tests {
		got, err := parseRatingLine([]byte(tt.line), tt.sep)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseRatingLine(%q) error = %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseRatingLine(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}

func TestLatin1(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"Mis\xe9rables", "Misérables"},
		{"\xff\x80", "ÿ\u0080"},
	}
	for _, tt := range tests {
		if got := latin1([]byte(tt.in)); got != tt.want {
			t.Errorf("latin1(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzMovieLensLines feeds one line to every MovieLens line parser: none may
// panic, Latin-1 titles always come out as UTF-8, and accepted ratings have
// both ids.
func FuzzMovieLensLines(f *testing.F) {
	for _, name := range []string{"ml-100k/u.item", "ml-100k/u.data", "ml-1m/movies.dat", "ml-1m/ratings.dat", "ml-latest-small/ratings.csv"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			f.Add(line)
		}
	}
	f.Add("1,\"Title, The (1999)\",Drama|Comedy")
	f.Fuzz(func(t *testing.T, line string) {
		for _, parse := range []func(string) (Item, error){parse100KItemLine, parse1MMovieLine} {
			if it, err := parse(latin1([]byte(line))); err == nil && (!utf8.ValidString(it.Title) || it.Attributes == nil) {
				t.Fatalf("accepted %q as %+v", line, it)
			}
		}
		if it, err := parseLatestMovie(strings.Split(line, ",")); err == nil && it.ID != strings.TrimSpace(it.ID) {
			t.Fatalf("accepted %q with an untrimmed id %q", line, it.ID)
		}
		for _, sep := range []string{",", "\t", "::"} {
			if r, err := parseRatingLine([]byte(line), sep); err == nil && (len(r.user) == 0 || len(r.item) == 0) {
				t.Fatalf("accepted %q with an empty id", line)
			}
		}
	})
}

func BenchmarkLoadMovieLens(b *testing.B) {
	for _, dir := range []string{"ml-latest-small", "ml-100k", "ml-1m"} {
		b.Run(dir, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := LoadMovieLens(filepath.Join("testdata", dir)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ml-latest's tags.csv comes back as events, oldest first, beside the
// items' tags.
func TestLoadMovieLensTagEvents(t *testing.T) {
	_, _, tags, err := LoadMovieLensTagged("testdata/ml-latest-small")
	if err != nil {
		t.Fatal(err)
	}
	want := []TagEvent{
		{User: "1", Item: "1", Tag: "pixar", Timestamp: 1139045764},
		{User: "2", Item: "1", Tag: "Pixar", Timestamp: 1139045765},
		{User: "2", Item: "2", Tag: "white house", Timestamp: 1139045766},
	}
	if !reflect.DeepEqual(tags, want) {
		t.Errorf("tags = %+v, want %+v", tags, want)
	}
	if _, _, tags, err := LoadMovieLensTagged("testdata/ml-100k"); err != nil || tags != nil {
		t.Errorf("ml-100k: tags %v, err %v; want none", tags, err)
	}
}
