package llmtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/llm/llmtest"
)

// recordingT keeps the server's complaints instead of failing the test.
type recordingT struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func post(t *testing.T, url, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRequestShapeChecks(t *testing.T) {
	good := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, path, auth, body string
		wantStatus             int
	}{
		{"ok under /v1", "/v1/chat/completions", "Bearer k", good, 200},
		{"ok without /v1", "/chat/completions", "Bearer k", good, 200},
		{"wrong path", "/v1/completions", "Bearer k", good, 400},
		{"no auth", "/v1/chat/completions", "", good, 400},
		{"no model", "/v1/chat/completions", "Bearer k", `{"messages":[]}`, 400},
		{"not JSON", "/v1/chat/completions", "Bearer k", `{`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &recordingT{TB: t}
			s := llmtest.New(rt)
			status, body := post(t, strings.TrimSuffix(s.URL(), "/v1")+tt.path, tt.auth, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", status, tt.wantStatus, body)
			}
			if (len(rt.errs) > 0) != (tt.wantStatus != 200) {
				t.Errorf("complaints = %q", rt.errs)
			}
			if s.Count() != 1 {
				t.Errorf("Count = %d, want 1", s.Count())
			}
		})
	}
}

func TestDefaultAnswersConformToTheSchema(t *testing.T) {
	type inner struct {
		Score int `json:"score"`
	}
	type answer struct {
		Choice int      `json:"choice"`
		Mood   string   `json:"mood" enum:"calm,angry"`
		Tags   []string `json:"tags"`
		Inner  inner    `json:"inner"`
		Maybe  string   `json:"maybe,omitempty"`
	}
	schema, err := llm.SchemaFor[answer]("answer")
	if err != nil {
		t.Fatal(err)
	}
	doc := llmtest.Example(schema.JSON)
	if err := llm.Validate(schema, doc); err != nil {
		t.Fatalf("Example = %s: %v", doc, err)
	}
	if want := `{"choice":0,"inner":{"score":0},"mood":"calm","tags":[]}`; string(doc) != want {
		t.Errorf("Example = %s, want %s", doc, want)
	}

	s := llmtest.New(t)
	prompted := fmt.Sprintf(`{"model":"m","messages":[{"role":"system","content":"Answer {in JSON} per %s"}]}`,
		strings.ReplaceAll(string(schema.JSON), `"`, `\"`))
	_, body := post(t, s.URL()+"/chat/completions", "Bearer k", prompted)
	var out struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Choices) != 1 {
		t.Fatalf("body %s: %v", body, err)
	}
	if err := llm.Validate(schema, []byte(out.Choices[0].Message.Content)); err != nil {
		t.Errorf("answer to a prompted schema = %s: %v", out.Choices[0].Message.Content, err)
	}
	if out.Usage.PromptTokens == 0 {
		t.Error("usage not reported")
	}
}

func TestScriptedReplies(t *testing.T) {
	s := llmtest.New(t)
	s.Handle(func(r llmtest.ChatRequest) llmtest.Reply {
		switch r.N {
		case 1:
			r := llmtest.Error(429, "rate_limit_exceeded", "slow")
			r.Header = map[string]string{"Retry-After": "2"}
			return r
		case 2:
			return llmtest.Truncated()
		}
		return llmtest.JSON(map[string]int{"n": int(r.N)})
	})
	tests := []struct {
		wantStatus int
		wantIn     string
	}{
		{429, `"code":"rate_limit_exceeded"`},
		{200, `"role":"assi`},
		{200, `{\"n\":3}`},
	}
	for i, tt := range tests {
		status, body := post(t, s.URL()+"/chat/completions", "Bearer k", `{"model":"m","messages":[]}`)
		if status != tt.wantStatus || !strings.Contains(body, tt.wantIn) {
			t.Errorf("reply %d: %d %s; want %d containing %s", i+1, status, body, tt.wantStatus, tt.wantIn)
		}
	}
	if len(s.Requests()) != 3 || s.Requests()[2].Model != "m" {
		t.Errorf("requests = %+v", s.Requests())
	}
}
