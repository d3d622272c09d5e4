// Package cache is an on-disk, content-addressed store for LLM answers, so a
// run can be repeated without calling the model again and a CI run can prove
// it reproduces exactly.
//
// The caller chooses the key: lowercase hex of at least 16 characters,
// normally a hash of everything that determines the answer (model, messages,
// schema, temperature, seed, replicate index, role). Each answer lives in its
// own file:
//
//	<dir>/<key[0:2]>/<key>.json
//	{"v":1,"key":"<key>","describe":"<what was asked>","value":"<answer>"}
//
// A value that is not valid UTF-8 is stored base64-encoded with
// "encoding":"base64". Files are written to a temporary file in the same
// directory and renamed into place, so a crash never leaves half an entry; an
// entry that does not decode is treated as a miss and overwritten on the next
// fill. Nothing is stored except the key, the description and the value the
// caller passes.
//
// Modes:
//   - readwrite (the default): hits come from disk, misses call the model and
//     are stored. Concurrent requests for one key share a single call.
//   - replay: hits come from disk, a miss is an error wrapping ErrMiss and the
//     model is never called, so a run either reproduces exactly or fails.
//   - off: every request calls the model and nothing is read or written.
//
// Scan and Prune work on a directory without opening a Cache, for the
// `recloop cache` commands.
package cache
