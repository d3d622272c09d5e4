package personas

import (
	"embed"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sync"

	"github.com/recloop/recloop/catalog"
)

//go:embed library/*.yaml
var libraryFS embed.FS

var loadLibrary = sync.OnceValues(func() ([]Persona, error) {
	names, err := fs.Glob(libraryFS, "library/*.yaml")
	if err != nil {
		return nil, err
	}
	var all []Persona
	for _, name := range names {
		data, err := libraryFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ps, errs := Parse(path.Join("personas", name), data)
		if err := errs.Err(); err != nil {
			return nil, err
		}
		for i := range ps {
			ps[i].builtin = true
		}
		all = append(all, ps...)
	}
	return all, nil
})

// Library returns the built-in archetypes, in file-name order. The result is
// a fresh copy the caller may modify.
func Library() ([]Persona, error) {
	lib, err := loadLibrary()
	if err != nil {
		return nil, err
	}
	out := make([]Persona, len(lib))
	for i := range lib {
		out[i] = lib[i].clone()
	}
	return out, nil
}

// Adapt fits built-in library personas to a catalog: it drops the interests
// whose category or tag the catalog does not have. The library is written in
// the vocabulary of film genres and tags, and a real catalog (MovieLens, say)
// carries only part of it. Personas written by users are left alone, so that
// Validate still reports their typos; so is a library persona that would keep
// no stated interest at all. Adapt returns the dropped names, sorted.
func Adapt(ps []Persona, cat *catalog.Catalog) []string {
	dropped := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		if !p.builtin {
			continue
		}
		stated, statedDropped := fitTaste(p.Interests, cat)
		if stated.IsZero() {
			continue
		}
		latent, latentDropped := fitTaste(p.LatentInterests, cat)
		p.Interests, p.LatentInterests = stated, latent
		for _, name := range append(statedDropped, latentDropped...) {
			dropped[name] = true
		}
	}
	return slices.Sorted(maps.Keys(dropped))
}

func fitTaste(t catalog.Taste, cat *catalog.Catalog) (catalog.Taste, []string) {
	var out catalog.Taste
	var dropped []string
	for name, w := range t.Categories {
		if _, ok := cat.CategoryIndex(name); !ok {
			dropped = append(dropped, "category:"+name)
			continue
		}
		if out.Categories == nil {
			out.Categories = map[string]float64{}
		}
		out.Categories[name] = w
	}
	for name, w := range t.Tags {
		if _, ok := cat.TagIndex(name); !ok {
			dropped = append(dropped, "tag:"+name)
			continue
		}
		if out.Tags == nil {
			out.Tags = map[string]float64{}
		}
		out.Tags[name] = w
	}
	return out, dropped
}
