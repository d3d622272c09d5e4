package personas

import (
	"embed"
	"io/fs"
	"path"
	"sync"
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

// Archetype returns one built-in archetype by id.
func Archetype(id string) (Persona, bool) {
	lib, err := loadLibrary()
	if err != nil {
		return Persona{}, false
	}
	for i := range lib {
		if lib[i].ID == id {
			return lib[i].clone(), true
		}
	}
	return Persona{}, false
}
