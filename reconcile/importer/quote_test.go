package importer

import "testing"

func TestImportQuote(t *testing.T) {
	for in, want := range map[string]string{
		"onprem-search.sim:9400": "onprem-search.sim:9400",
		"true":                   `"true"`,
		"18":                     `"18"`,
		"a: b":                   `"a: b"`,
		"-x":                     `"-x"`,
		"":                       `""`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
