package world

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestValueJSON(t *testing.T) {
	// What Settings.fromXContent stores for each JSON form (es-api.md §3.2).
	for in, want := range map[string]Value{
		`"proxy"`:                 String("proxy"),
		`18`:                      String("18"),
		`true`:                    String("true"),
		`1.5`:                     String("1.5"),
		`null`:                    Null,
		`["a:1","b:2"]`:           List("a:1", "b:2"),
		`[]`:                      List(),
		`["x", 9300, false]`:      List("x", "9300", "false"),
		`"h1:9300,h2:9300"`:       String("h1:9300,h2:9300"),
		` "spaced" `:              String("spaced"),
		`"a\"b"`:                  String(`a"b`),
		`"tab\tx\u00e9"`:          String("tab\txé"),
		`"é"`:                     String("é"),
		`""`:                      String(""),
		`["\u0041", "b"]`:         List("A", "b"),
		"\"\xff\"":                String("\ufffd"),
		`12345678901234567890123`: String("12345678901234567890123"),
	} {
		var v Value
		if err := json.Unmarshal([]byte(in), &v); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
			continue
		}
		if !v.Equal(want) {
			t.Errorf("Unmarshal(%s) = %v, want %v", in, v, want)
		}
	}
	for _, bad := range []string{`{"a":1}`, `[{"a":1}]`, `[[1]]`, "\"a\x01b\""} {
		var v Value
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) accepted: %v", bad, v)
		}
	}

	b, err := json.Marshal(map[string]Value{"a": String("x"), "b": List("1", "2"), "c": Null, "d": List()})
	if err != nil || string(b) != `{"a":"x","b":["1","2"],"c":null,"d":[]}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	if _, err := json.Marshal(Value{}); err == nil {
		t.Errorf("zero Value marshalled")
	}
}

func TestValueHelpers(t *testing.T) {
	if !Bool(false).Equal(String("false")) {
		t.Errorf("Bool")
	}
	if !Int(18).Equal(String("18")) || Int(18).Equal(List("18")) || Null.Equal(String("")) || (Value{}).IsValid() {
		t.Errorf("Equal/IsValid wrong")
	}
	if got := String(" h1:9300, h2:9300").Items(); !reflect.DeepEqual(got, []string{"h1:9300", "h2:9300"}) {
		t.Errorf("Items of a comma string = %q", got)
	}
	if got := List("h1:9300", "h2:9300").Items(); !reflect.DeepEqual(got, []string{"h1:9300", "h2:9300"}) {
		t.Errorf("Items of a list = %q", got)
	}
	if String("").Items() != nil || Null.Items() != nil {
		t.Errorf("empty Items not nil")
	}
	if s := List("a", "b").String(); s != `["a","b"]` {
		t.Errorf("String = %s", s)
	}
	if List("a", "b").Str() != "a,b" || Null.String() != "null" || !Null.IsNull() || !List().IsList() {
		t.Errorf("Str/String/IsNull/IsList wrong")
	}
	items := []string{"a"}
	v := List(items...)
	items[0] = "changed"
	if v.Items()[0] != "a" {
		t.Errorf("List did not copy its items")
	}

	for in, want := range map[any]Value{nil: Null, "s": String("s"), true: String("true"), 3: String("3"), int64(4): String("4")} {
		if got, err := ValueOf(in); err != nil || !got.Equal(want) {
			t.Errorf("ValueOf(%v) = %v, %v", in, got, err)
		}
	}
	if got, err := ValueOf([]string{"a"}); err != nil || !got.Equal(List("a")) {
		t.Errorf("ValueOf([]string) = %v, %v", got, err)
	}
	if _, err := ValueOf(1.5); err == nil {
		t.Errorf("ValueOf(float) accepted")
	}
}

func TestRemoteKeys(t *testing.T) {
	for key, want := range map[string][2]string{
		"cluster.remote.prod_eu.mode":               {"prod_eu", "mode"},
		"cluster.remote.dc-2.transport.compress":    {"dc-2", "transport.compress"},
		"cluster.remote.a.seeds.0":                  {"a", "seeds.0"},
		"cluster.remote.connections_per_cluster":    {},
		"cluster.remote.initial_connect_timeout":    {},
		"cluster.remote.node.attr":                  {},
		"cluster.remote..mode":                      {},
		"cluster.routing.allocation.enable":         {},
		"cluster.remote.my alias.mode":              {},
		"xcluster.remote.a.mode":                    {},
		"cluster.remote.UPPER_case-9.proxy_address": {"UPPER_case-9", "proxy_address"},
	} {
		alias, suffix, ok := SplitRemoteKey(key)
		if ok != (want[0] != "") || alias != want[0] || suffix != want[1] {
			t.Errorf("SplitRemoteKey(%q) = %q, %q, %v; want %q", key, alias, suffix, ok, want)
		}
	}
	if RemoteKey("a", "skip_unavailable") != "cluster.remote.a.skip_unavailable" {
		t.Errorf("RemoteKey")
	}
	for alias, ok := range map[string]bool{"a": true, "prod_eu-1": true, "": false, "my.alias": false, "a:b": false, "a*": false, "é": false} {
		if ValidAlias(alias) != ok {
			t.Errorf("ValidAlias(%q) = %v", alias, !ok)
		}
	}
}
