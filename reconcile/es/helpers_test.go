package es

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sync"
	"testing"
)

// exchange is one request the fake server expects and its answer.
type exchange struct {
	method, path string
	query        string // expected raw query, compared as url.Values
	body         string // expected JSON request body; "" means none
	status       int    // 0 means 200
	resp         string // response body, sent as application/json
	contentType  string // overrides the response content type
	header       map[string]string
	noProduct    bool // leave out X-Elastic-Product
}

// fake is an Elasticsearch stand-in answering a fixed script of exchanges
// in order and checking every request against it.
type fake struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	next  int
	steps []exchange
	auth  []string // Authorization header of every request
}

func newFake(t *testing.T, steps ...exchange) *fake {
	t.Helper()
	f := &fake{t: t, steps: steps}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.next != len(f.steps) {
			t.Errorf("fake: %d requests made, %d expected", f.next, len(f.steps))
		}
	})
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.next >= len(f.steps) {
		f.mu.Unlock()
		f.t.Errorf("fake: unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	ex := f.steps[f.next]
	f.next++
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()

	if r.Method != ex.method || r.URL.Path != ex.path {
		f.t.Errorf("fake: got %s %s, want %s %s", r.Method, r.URL.Path, ex.method, ex.path)
	}
	wantQ, _ := url.ParseQuery(ex.query)
	if gotQ := r.URL.Query(); !(len(gotQ) == 0 && len(wantQ) == 0) && !reflect.DeepEqual(gotQ, wantQ) {
		f.t.Errorf("fake: %s %s: query %v, want %v", r.Method, r.URL.Path, gotQ, wantQ)
	}
	body, _ := io.ReadAll(r.Body)
	switch {
	case ex.body == "" && len(body) > 0:
		f.t.Errorf("fake: %s %s: unexpected body %s", r.Method, r.URL.Path, body)
	case ex.body != "":
		if !jsonEqual(f.t, body, []byte(ex.body)) {
			f.t.Errorf("fake: %s %s: body\n%s\nwant\n%s", r.Method, r.URL.Path, body, ex.body)
		}
	}

	if !ex.noProduct {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
	}
	ct := ex.contentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	for k, v := range ex.header {
		w.Header().Set(k, v)
	}
	status := ex.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, ex.resp)
}

// client returns a client for the fake with test credentials.
func (f *fake) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{Name: "local-a", URL: f.srv.URL, Username: "esremote", Password: "s3cret-pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Errorf("not JSON: %s", a)
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("test expectation is not JSON: %s", b)
	}
	return reflect.DeepEqual(x, y)
}

// asError returns err as *Error or fails the test.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v (%T) is not *es.Error", err, err)
	}
	return e
}
