package catalog

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTitleTokens bounds the titles Scan looks for: longer ones are matched
// only by Lookup.
const maxTitleTokens = 12

// TitleIndex finds catalog items by title: exactly (Lookup) and inside
// free text (Scan). Titles are compared as lower-case words with the
// punctuation dropped, so "Usual Suspects, The (1995)", "the usual
// suspects" and "The Usual Suspects (1995)" are the same title, with or
// without the year. It is read-only after NewTitleIndex and safe for
// concurrent use.
type TitleIndex struct {
	items map[string][]int32
	// vocabulary holds the catalog's category and tag names: a one-word
	// title that is also a genre is not taken for the title in free text.
	vocabulary map[string]bool
}

// NewTitleIndex indexes every titled item of c.
func NewTitleIndex(c *Catalog) *TitleIndex {
	t := &TitleIndex{items: make(map[string][]int32, c.Len()), vocabulary: map[string]bool{}}
	for _, name := range c.Categories() {
		t.vocabulary[strings.Join(titleWords(name), " ")] = true
	}
	for _, name := range c.Tags() {
		t.vocabulary[strings.Join(titleWords(name), " ")] = true
	}
	for i := range c.Len() {
		for _, key := range titleKeys(c.Item(i).Title) {
			if list := t.items[key]; len(list) == 0 || list[len(list)-1] != int32(i) {
				t.items[key] = append(list, int32(i))
			}
		}
	}
	return t
}

// Lookup returns the item whose title is title (the first one when several
// share it) and how many items share it.
func (t *TitleIndex) Lookup(title string) (item, matches int) {
	words := titleWords(title)
	list := t.items[strings.Join(words, " ")]
	if len(list) == 0 {
		return -1, 0
	}
	return int(list[0]), len(list)
}

// Scan returns the items whose titles text names, in the order they first
// appear, each once. At every position the longest title wins, and matches
// do not overlap. A one-word title counts only when the text capitalises
// it, it does not open a sentence, and it is not also a genre or a tag:
// "heat" in "something with heat" is a word, "Heat" mid-sentence is a film.
func (t *TitleIndex) Scan(text string) []int {
	toks := scanTokens(text)
	var out []int
	seen := map[int32]bool{}
	for i := 0; i < len(toks); {
		matched := 0
		for n := min(maxTitleTokens, len(toks)-i); n >= 1; n-- {
			key := joinTokens(toks[i : i+n])
			list := t.items[key]
			if len(list) == 0 || (n == 1 && !toks[i].properNoun(t.vocabulary[key])) {
				continue
			}
			for _, it := range list {
				if !seen[it] {
					seen[it] = true
					out = append(out, int(it))
				}
			}
			matched = n
			break
		}
		i += max(1, matched)
	}
	return out
}

type token struct {
	word          string
	capitalised   bool
	opensSentence bool
}

func (tk token) properNoun(isVocabulary bool) bool {
	return tk.capitalised && !tk.opensSentence && !isVocabulary
}

func joinTokens(toks []token) string {
	var b strings.Builder
	for i, tk := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(tk.word)
	}
	return b.String()
}

// scanTokens splits text into lower-case words and remembers, for each,
// whether it was capitalised and whether it opens a sentence.
func scanTokens(text string) []token {
	var toks []token
	opens := true
	var b strings.Builder
	capital := false
	flush := func() {
		if b.Len() > 0 {
			toks = append(toks, token{word: b.String(), capitalised: capital, opensSentence: opens})
			opens = false
			b.Reset()
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if b.Len() == 0 {
				capital = unicode.IsUpper(r)
			}
			b.WriteRune(unicode.ToLower(r))
		case r == '\'' || r == '’':
			// "Schindler's" stays one word.
		default:
			flush()
			if r == '.' || r == '!' || r == '?' || r == '\n' || r == ':' {
				opens = true
			}
		}
	}
	flush()
	return toks
}

// titleWords is title as lower-case words without punctuation.
func titleWords(title string) []string {
	var words []string
	for _, tk := range scanTokens(title) {
		words = append(words, tk.word)
	}
	return words
}

// titleKeys are the forms a title is found under: as written, without a
// trailing year, and with a trailing ", The" moved to the front (the
// MovieLens convention), each also without the year.
func titleKeys(title string) []string {
	title = strings.TrimSpace(title)
	if title == "" || !utf8.ValidString(title) {
		return nil
	}
	base, year := splitYear(title)
	forms := []string{base}
	for _, article := range []string{"The", "A", "An", "Les", "La", "Le", "Il", "Das", "Der", "Die"} {
		if rest, ok := strings.CutSuffix(base, ", "+article); ok {
			forms = append(forms, article+" "+rest)
		}
	}
	var keys []string
	for _, f := range forms {
		words := titleWords(f)
		if len(words) == 0 {
			continue
		}
		keys = append(keys, strings.Join(words, " "))
		if year != "" {
			keys = append(keys, strings.Join(append(words, year), " "))
		}
	}
	return keys
}

// splitYear cuts a trailing "(1995)" off a title.
func splitYear(title string) (base, year string) {
	if len(title) >= 6 && title[len(title)-1] == ')' {
		if open := strings.LastIndexByte(title, '('); open >= 0 {
			inner := title[open+1 : len(title)-1]
			if len(inner) == 4 && strings.Trim(inner, "0123456789") == "" {
				return strings.TrimSpace(title[:open]), inner
			}
		}
	}
	return title, ""
}
