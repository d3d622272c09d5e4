// Package llmtest is an in-process fake of an OpenAI-compatible chat
// completions endpoint, for tests that must not touch the network.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Message is one chat message as the server received it.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ResponseFormat is the request's response_format.
type ResponseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
		Strict bool            `json:"strict"`
	} `json:"json_schema"`
}

// ChatRequest is one decoded chat completion request.
type ChatRequest struct {
	Model          string          `json:"model"`
	Messages       []Message       `json:"messages"`
	ResponseFormat *ResponseFormat `json:"response_format"`
	Seed           *int            `json:"seed"`
	Temperature    *float64        `json:"temperature"`
	MaxTokens      int             `json:"max_tokens"`
	// MaxCompletionTokens is what reasoning models get instead of MaxTokens.
	MaxCompletionTokens int `json:"max_completion_tokens"`
	// Header is the HTTP request's header.
	Header http.Header `json:"-"`
	// Path and Query are the request URL's (Azure puts the deployment in
	// the path and the api-version in the query).
	Path, Query string `json:"-"`
	// N numbers requests from 1 in arrival order.
	N int64 `json:"-"`
}

// Schema is the JSON schema the request asks for through json_schema, or nil.
func (r ChatRequest) Schema() json.RawMessage {
	if r.ResponseFormat == nil || r.ResponseFormat.JSONSchema == nil {
		return nil
	}
	return r.ResponseFormat.JSONSchema.Schema
}

// Reply scripts one answer. The zero Reply is a 200 with empty content.
type Reply struct {
	// Content is the assistant message of a 200 answer.
	Content string
	// Status is the HTTP status (default 200).
	Status int
	// Body, when set, is sent verbatim instead of a completion: error
	// bodies, malformed or truncated JSON.
	Body string
	// Header adds response headers, e.g. Retry-After.
	Header map[string]string
	// Delay holds the answer back (cut short if the client gives up).
	Delay time.Duration
	// PromptTokens and CompletionTokens are the reported usage; zero means
	// characters/4 of the request and of Content.
	PromptTokens, CompletionTokens int
	// Model is the model reported (default: the requested model).
	Model string
}

// JSON replies with v marshalled as the content.
func JSON(v any) Reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("llmtest: JSON(%T): %v", v, err))
	}
	return Reply{Content: string(b)}
}

// Error replies with an OpenAI-style error body.
func Error(status int, code, message string) Reply {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": message, "type": "invalid_request_error", "code": code,
	}})
	return Reply{Status: status, Body: string(b)}
}

// Truncated replies 200 with a completion cut off mid-JSON.
func Truncated() Reply {
	return Reply{Body: `{"id":"chatcmpl-x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assi`}
}

// Server is the fake endpoint. Set the switches before the first request.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	// RejectJSONSchema answers 400 to response_format json_schema, like
	// servers without structured outputs.
	RejectJSONSchema bool
	// RejectJSONObject answers 400 to response_format json_object.
	RejectJSONObject bool
	// IgnoreSchema answers "ok" whatever response_format asks for.
	IgnoreSchema bool
	// RejectSeed answers 400 to a request with a seed.
	RejectSeed bool
	// Models, when not nil, is what GET /v1/models lists; nil answers 404
	// there, like servers without a models endpoint.
	Models []string

	mu       sync.Mutex
	handle   func(ChatRequest) Reply
	answer   func(ChatRequest) any
	requests []ChatRequest
	count    atomic.Int64
	// preflights counts the preflight requests among count.
	preflights atomic.Int64
}

// New starts a server that is closed when the test ends. By default it
// answers every request with a document conforming to the requested schema
// (see Example), or "ok" when no schema is given.
func New(t testing.TB) *Server {
	s := &Server{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the base URL to configure (it ends in /v1).
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// Handle scripts every answer.
func (s *Server) Handle(h func(ChatRequest) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handle = h
}

// Answer keeps the default handler but builds its JSON content from f.
func (s *Server) Answer(f func(ChatRequest) any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = f
}

// Count is how many requests arrived.
func (s *Server) Count() int { return int(s.count.Load()) }

// PreflightSchemaName is the schema name of recloop's preflight requests
// (llm.PreflightSchemaName).
const PreflightSchemaName = "recloop_preflight"

// IsPreflight tells recloop's preflight request from a run's.
func (r ChatRequest) IsPreflight() bool {
	return r.ResponseFormat != nil && r.ResponseFormat.JSONSchema != nil && r.ResponseFormat.JSONSchema.Name == PreflightSchemaName
}

// Preflights is how many of the requests were recloop's preflight.
func (s *Server) Preflights() int { return int(s.preflights.Load()) }

// Requests are the requests received, in arrival order.
func (s *Server) Requests() []ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ChatRequest(nil), s.requests...)
}

// Keep request records bounded for long benchmarks.
const maxRecorded = 10_000

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && (r.URL.Path == "/v1/models" || r.URL.Path == "/models") {
		s.serveModels(w)
		return
	}
	n := s.count.Add(1)
	if problem := checkShape(r); problem != "" {
		s.t.Errorf("llmtest: bad request: %s", problem)
		writeReply(w, Error(http.StatusBadRequest, "bad_request", problem), ChatRequest{})
		return
	}
	body, err := io.ReadAll(r.Body)
	var req ChatRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || req.Model == "" {
		s.t.Errorf("llmtest: bad request body (err %v): %.200s", err, body)
		writeReply(w, Error(http.StatusBadRequest, "bad_request", "model is required"), req)
		return
	}
	req.Header, req.N, req.Path, req.Query = r.Header.Clone(), n, r.URL.Path, r.URL.RawQuery
	if req.IsPreflight() {
		s.preflights.Add(1)
	}
	s.mu.Lock()
	if len(s.requests) < maxRecorded {
		s.requests = append(s.requests, req)
	}
	handle, answer := s.handle, s.answer
	s.mu.Unlock()

	var reply Reply
	switch {
	case s.RejectJSONSchema && req.ResponseFormat != nil && req.ResponseFormat.Type == "json_schema":
		reply = Error(http.StatusBadRequest, "", "response_format json_schema is not supported by this server")
	case s.RejectJSONObject && req.ResponseFormat != nil && req.ResponseFormat.Type == "json_object":
		reply = Error(http.StatusBadRequest, "", "response_format json_object is unsupported")
	case s.RejectSeed && req.Seed != nil:
		reply = Error(http.StatusBadRequest, "", "Unrecognized request argument supplied: seed")
	case s.IgnoreSchema:
		reply = Reply{Content: "ok"}
	case handle != nil:
		reply = handle(req)
	default:
		reply = defaultReply(req, answer)
	}
	if reply.Delay > 0 {
		t := time.NewTimer(reply.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	writeReply(w, reply, req)
}

// serveModels answers GET /v1/models; it is not counted as a request.
func (s *Server) serveModels(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	if s.Models == nil {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"message":"not found","type":"invalid_request_error","code":null}}`)
		return
	}
	data := make([]map[string]any, len(s.Models))
	for i, m := range s.Models {
		data[i] = map[string]any{"id": m, "object": "model", "created": 0, "owned_by": "llmtest"}
	}
	b, _ := json.Marshal(map[string]any{"object": "list", "data": data})
	w.Write(b)
}

func checkShape(r *http.Request) string {
	switch {
	case r.Method != http.MethodPost:
		return "method " + r.Method + ", want POST"
	case azurePath(r.URL.Path):
		if r.Header.Get("api-key") == "" || r.URL.Query().Get("api-version") == "" {
			return "Azure request without an api-key header or an api-version"
		}
	case r.URL.Path != "/v1/chat/completions" && r.URL.Path != "/chat/completions":
		return "path " + r.URL.Path + ", want /v1/chat/completions"
	case !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer"):
		return "no Authorization: Bearer header"
	}
	return ""
}

// azurePath is Azure OpenAI's /openai/deployments/{name}/chat/completions.
func azurePath(p string) bool {
	rest, ok := strings.CutPrefix(p, "/openai/deployments/")
	name, _, _ := strings.Cut(rest, "/")
	return ok && name != "" && rest == name+"/chat/completions"
}

// BaseURL is the server's root, without /v1: what Azure's endpoint is.
func (s *Server) BaseURL() string { return s.srv.URL }

func defaultReply(req ChatRequest, answer func(ChatRequest) any) Reply {
	if answer != nil {
		return JSON(answer(req))
	}
	if schema := req.Schema(); schema != nil {
		return Reply{Content: string(Example(schema))}
	}
	if schema := promptedSchema(req.Messages); schema != nil {
		return Reply{Content: string(Example(schema))}
	}
	return Reply{Content: "ok"}
}

func writeReply(w http.ResponseWriter, reply Reply, req ChatRequest) {
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	if reply.Body != "" {
		w.WriteHeader(status)
		io.WriteString(w, reply.Body)
		return
	}
	model := reply.Model
	if model == "" {
		model = req.Model
	}
	prompt, completion := reply.PromptTokens, reply.CompletionTokens
	if prompt == 0 {
		chars := 0
		for _, m := range req.Messages {
			chars += len(m.Content)
		}
		prompt = (chars + 3) / 4
	}
	if completion == 0 {
		completion = (len(reply.Content) + 3) / 4
	}
	b, _ := json.Marshal(map[string]any{
		"id": fmt.Sprintf("chatcmpl-%d", req.N), "object": "chat.completion", "created": 0, "model": model,
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": reply.Content},
		}},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	})
	w.WriteHeader(status)
	w.Write(b)
}

// promptedSchema finds a JSON Schema pasted into the messages, as clients
// do with servers that support no response_format.
func promptedSchema(msgs []Message) json.RawMessage {
	for _, m := range msgs {
		for i := strings.IndexByte(m.Content, '{'); i >= 0; {
			var raw json.RawMessage
			if json.NewDecoder(strings.NewReader(m.Content[i:])).Decode(&raw) == nil {
				var probe struct {
					Type       string         `json:"type"`
					Properties map[string]any `json:"properties"`
				}
				if json.Unmarshal(raw, &probe) == nil && (probe.Type != "" || probe.Properties != nil) {
					return raw
				}
			}
			next := strings.IndexByte(m.Content[i+1:], '{')
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return nil
}

// Example builds the smallest document valid against a schema of the subset
// go-openai's jsonschema emits: "" for strings (the first value of an enum),
// 0, false, [] and objects with their required properties.
func Example(schema json.RawMessage) json.RawMessage {
	var root map[string]any
	if json.Unmarshal(schema, &root) != nil {
		return json.RawMessage("{}")
	}
	defs, _ := root["$defs"].(map[string]any)
	b, _ := json.Marshal(example(root, defs, 0))
	return b
}

func example(s map[string]any, defs map[string]any, depth int) any {
	if ref, ok := s["$ref"].(string); ok && depth < 32 {
		if d, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any); ok {
			return example(d, defs, depth+1)
		}
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	if anyOf, ok := s["anyOf"].([]any); ok && len(anyOf) > 0 {
		if first, ok := anyOf[0].(map[string]any); ok {
			return example(first, defs, depth+1)
		}
	}
	switch s["type"] {
	case "string":
		return ""
	case "integer", "number":
		return 0
	case "boolean":
		return false
	case "array":
		return []any{}
	case "null":
		return nil
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		required, _ := s["required"].([]any)
		for _, r := range required {
			name, _ := r.(string)
			if p, ok := props[name].(map[string]any); ok {
				out[name] = example(p, defs, depth+1)
			}
		}
		return out
	}
	return nil
}
