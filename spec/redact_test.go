package spec

import (
	"encoding/base64"
	"testing"
)

func TestScrub(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("kid123:the-secret-half-of-it"))
	Remember(key)
	RememberBasic("elastic", "pa55word-for-scrub")
	NewSecret("made-by-newsecret")
	Remember("short") // below minRemembered: never scrubbed
	basic := base64.StdEncoding.EncodeToString([]byte("elastic:pa55word-for-scrub"))
	for in, want := range map[string]string{
		"Authorization: ApiKey " + key:            "Authorization: ApiKey <redacted>",
		"key the-secret-half-of-it echoed":        "key <redacted> echoed",
		"Authorization: Basic " + basic:           "Authorization: Basic <redacted>",
		"password pa55word-for-scrub":             "password <redacted>",
		"made-by-newsecret and a short word":      "<redacted> and a short word",
		"nothing secret here, ordinary words too": "nothing secret here, ordinary words too",
	} {
		if got := Scrub(in); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}

	type inner struct{ Msg string }
	v := &struct {
		Error   string
		List    []inner
		ByName  map[string]string
		ByName2 map[string]inner
		Ptr     *inner
		private string
	}{Error: "x " + key, List: []inner{{"pa55word-for-scrub"}}, ByName: map[string]string{"a": basic},
		ByName2: map[string]inner{"b": {key}}, Ptr: &inner{"made-by-newsecret"}, private: key}
	ScrubAll(v)
	if v.Error != "x <redacted>" || v.List[0].Msg != "<redacted>" || v.ByName["a"] != "<redacted>" ||
		v.ByName2["b"].Msg != "<redacted>" || v.Ptr.Msg != "<redacted>" || v.private != key {
		t.Errorf("ScrubAll left %+v", v)
	}
}

func TestLooksLikeSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"ech-analytics-es":  false,
		"ES_API_KEY":        false,
		"ece-prod-logs-ccs": false,
		"MyCredential2024":  false,
		"VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==": true,
		"S3CRET/+==":                       true,
		"S3CRET==":                         true,
		"ht7M6LqZODEamn5a0SK_hF0obot":      true,
		"0123456789abcdef0123456789abcdef": true,
		"deployment_prod_eu_west_1_api":    false,
	} {
		if got := LooksLikeSecret(name); got != want {
			t.Errorf("LooksLikeSecret(%q) = %v, want %v", name, got, want)
		}
	}
}
