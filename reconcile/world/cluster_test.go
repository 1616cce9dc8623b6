package world

import "testing"

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]Version{
		"8.14.0":          {8, 14, 0, "8.14.0"},
		"8.15.0-SNAPSHOT": {8, 15, 0, "8.15.0-SNAPSHOT"},
		"9.1.10":          {9, 1, 10, "9.1.10"},
	} {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "8", "8.14", "8.x.0", "8.-1.0"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) succeeded", bad)
		}
	}
	v := Version{Major: 8, Minor: 14, Patch: 2}
	if !v.AtLeast(8, 14, 0) || !v.AtLeast(7, 99, 99) || v.AtLeast(8, 15, 0) || v.AtLeast(9, 0, 0) {
		t.Errorf("AtLeast wrong for %s", v)
	}
}
