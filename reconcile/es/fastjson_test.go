package es

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/esremote/esremote/reconcile/sim"
)

// jsonSettings and jsonRemoteInfo are the encoding/json decodes the fast
// decoders stand in for (Client.Settings and Client.RemoteInfo without
// them).
func jsonSettings(b []byte) (Settings, error) {
	var s Settings
	var body struct {
		Persistent *map[string]Value `json:"persistent"`
		Transient  *map[string]Value `json:"transient"`
	}
	body.Persistent, body.Transient = &s.Persistent, &s.Transient
	err := json.Unmarshal(b, &body)
	return s, err
}

func jsonRemoteInfo(b []byte) (map[string]RemoteInfo, error) {
	out := map[string]RemoteInfo{}
	err := json.Unmarshal(b, &out)
	return out, err
}

// fastDecodeCorpus: answers as Elasticsearch and the sim write them, and
// what the fast decoders must leave to encoding/json (escapes, other
// cases, null, unknown fields, numbers of every form, broken JSON).
var fastDecodeCorpus = []string{
	settingsBody,
	`{}`, `{"persistent":{},"transient":{}}`, ` {"transient" : { } } `,
	`{"persistent":{"a":"x","b":true,"c":false,"d":12,"e":-1.5e3,"f":null,"g":[],"h":["x",1,true],"i":0}}`,
	`{"persistent":{"h":["x",null]}}`,
	`{"persistent":{"a":"x\u0041","b":"caf\u00e9"}}`, `{"persistent":{"a":"café ☕"}}`,
	"{\"persistent\":{\"a\":\"\xff\"}}", "{\"persistent\":{\"a\":\"x\ty\"}}",
	`{"persistent":{"a":"x"},"persistent":{"b":"y"}}`, `{"persistent":{"a":"x","a":"y"}}`,
	`{"Persistent":{"a":"x"}}`, `{"persistent":null}`, `{"persistent":[]}`, `{"defaults":{}}`,
	`{"persistent":{"a":{"b":"c"}}}`, `{"persistent":{"a":[["x"]]}}`, `{"persistent":{"a":01}}`,
	`{"persistent":{"a":1.}}`, `{"persistent":{"a":-}}`, `{"persistent":{"a":1e}}`, `{"persistent":{"a":tru}}`,
	`{"persistent":{"a":"x"}} x`, `{"persistent":{"a":"x"},}`, `{"persistent":{"a":"x",}}`, `{"persistent":{"a" "x"}}`,
	`{"persistent":{"a":["x",]}}`, `{"persistent":{"a":nulls}}`, `null`, `[]`, ``, `{`, `"x"`,
	`{"a":{"connected":true,"mode":"proxy","proxy_address":"h:9400","server_name":"h","num_proxy_sockets_connected":18,"max_proxy_socket_connections":18,"initial_connect_timeout":"30s","skip_unavailable":false}}`,
	`{"b":{"seeds":["h:9300","i:9300"],"connected":false,"num_nodes_connected":0,"max_connections_per_cluster":3,"initial_connect_timeout":"30s","skip_unavailable":true,"cluster_credentials":"::es_redacted::","mode":"sniff"}}`,
	`{"a":{"seeds":[]},"b":{"seeds":["x"]},"a":{"mode":"proxy"}}`, `{"a":{}}`, `{"a":{"mode":"x","mode":"y"}}`,
	`{"a":{"Connected":true}}`, `{"a":{"connected":null}}`, `{"a":{"connected":1}}`, `{"a":{"seeds":null}}`,
	`{"a":{"num_nodes_connected":1.0}}`, `{"a":{"num_nodes_connected":1e2}}`, `{"a":{"num_nodes_connected":-0}}`,
	`{"a":{"num_nodes_connected":99999999999999999999}}`, `{"a":{"num_nodes_connected":"1"}}`,
	`{"a":{"other":1}}`, `{"a":{"mode":"pro\"xy"}}`, `{"a":{"seeds":["x",]}}`, `{"a":{"seeds":[1]}}`,
	`{"a":null}`, `{"a":[]}`, `{"a":{"mode":"x"}}}`, `{"a\n":{}}`, `{"\u0061":{}}`,
}

// simAnswers are the sim's answers to the two reads, from worlds with
// proxy and sniff aliases, certificates and keys: what the steady pass
// reads.
func simAnswers(t testing.TB) []string {
	t.Helper()
	srv, err := sim.Start(context.Background(), sim.DefaultWorld())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var out []string
	for name, c := range srv.Addresses().Clusters {
		cl, err := New(Config{URL: c.URL, Username: c.Username, Password: c.Password})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i := range 2 {
			if err := cl.PutSettings(ctx, map[string]Value{
				RemoteKey(fmt.Sprintf("p%d", i), "mode"):             String("proxy"),
				RemoteKey(fmt.Sprintf("p%d", i), "proxy_address"):    String(name + ".sim:9400"),
				RemoteKey(fmt.Sprintf("s%d", i), "seeds"):            List(name+".sim:9300", "x.sim:9300"),
				RemoteKey(fmt.Sprintf("s%d", i), "skip_unavailable"): Bool(false),
			}); err != nil {
				t.Fatal(err)
			}
		}
		for _, call := range []func(context.Context) (*esapi.Response, error){
			func(ctx context.Context) (*esapi.Response, error) {
				return cl.es.Cluster.GetSettings(cl.es.Cluster.GetSettings.WithContext(ctx), cl.es.Cluster.GetSettings.WithFlatSettings(true))
			},
			func(ctx context.Context) (*esapi.Response, error) {
				return cl.es.Cluster.RemoteInfo(cl.es.Cluster.RemoteInfo.WithContext(ctx))
			},
		} {
			r, err := cl.send(ctx, "read", call)
			if err != nil || r.status != 200 {
				t.Fatalf("%s: %d %v", name, r.status, err)
			}
			out = append(out, string(r.body))
		}
		cl.Close()
	}
	return out
}

// The fast decoders' answer, when they give one, is encoding/json's: same
// value, and encoding/json has no error. When they give none the caller
// asks encoding/json.
// The key tables (t) a client keeps from answer to answer change nothing
// of what is read: each body is decoded without a table and with the
// tables the bodies before it left.
func checkFastDecoders(t *testing.T, body []byte, tables *[2]keyTable) (settingsFast, remoteFast bool) {
	for _, tab := range []*keyTable{nil, &tables[0]} {
		if s, ok := decodeSettings(body, tab); ok {
			want, err := jsonSettings(body)
			if err != nil || !reflect.DeepEqual(s, want) {
				t.Errorf("decodeSettings(%q) = %#v; encoding/json: %#v, %v", body, s, want, err)
			}
			settingsFast = true
		}
	}
	for _, tab := range []*keyTable{nil, &tables[1]} {
		if m, ok := decodeRemoteInfo(body, tab); ok {
			want, err := jsonRemoteInfo(body)
			if err != nil || !reflect.DeepEqual(m, want) {
				t.Errorf("decodeRemoteInfo(%q) = %#v; encoding/json: %#v, %v", body, m, want, err)
			}
			remoteFast = true
		}
	}
	return settingsFast, remoteFast
}

func TestFastDecodersMatchEncodingJSON(t *testing.T) {
	var fastS, fastR int
	var tables [2]keyTable
	for _, body := range append(fastDecodeCorpus, fastDecodeCorpus...) {
		s, r := checkFastDecoders(t, []byte(body), &tables)
		fastS, fastR = fastS+b2i(s), fastR+b2i(r)
	}
	// Each decoder reads the answers of the usual shape and leaves the
	// rest to encoding/json. In the corpus: 7 for settings (a repeated key
	// among them: the last one wins, as in encoding/json), 9 for remote
	// info (`{}` among them, and the settings answers whose objects are
	// empty, which are aliases with nothing set to encoding/json too).
	if fastS != 2*7 || fastR != 2*9 { // the corpus twice
		t.Errorf("fast decodes: settings %d, remote info %d; want 2 × 7 and 2 × 9", fastS, fastR)
	}
	// The sim's answers are all read by the fast decoders.
	answers := simAnswers(t)
	for _, body := range answers {
		s, r := checkFastDecoders(t, []byte(body), &tables)
		if !s && !r {
			t.Errorf("neither fast decoder read the sim's answer %s", body)
		}
	}
	if len(answers) == 0 {
		t.Fatal("no answer from the sim")
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzFastDecoders: go test runs the corpus; go test -fuzz FuzzFastDecoders
// looks further.
func FuzzFastDecoders(f *testing.F) {
	for _, body := range fastDecodeCorpus {
		f.Add([]byte(body))
	}
	var tables [2]keyTable // what earlier inputs left
	f.Fuzz(func(t *testing.T, body []byte) { checkFastDecoders(t, body, &tables) })
}

// The steady pass reads 25 aliases of every cluster: the fast decoders
// allocate less than half of what encoding/json does for them (the keys,
// the maps, and each repeated value once).
func TestFastDecodersAllocateLess(t *testing.T) {
	var settings, remote strings.Builder
	settings.WriteString(`{"persistent":{`)
	remote.WriteString(`{`)
	for i := range 25 {
		if i > 0 {
			settings.WriteString(",")
			remote.WriteString(",")
		}
		a := fmt.Sprintf("hub-%02d", i)
		fmt.Fprintf(&settings, `"cluster.remote.%[1]s.mode":"proxy","cluster.remote.%[1]s.proxy_address":"hub.sim:9400","cluster.remote.%[1]s.server_name":"hub.sim","cluster.remote.%[1]s.skip_unavailable":"true"`, a)
		fmt.Fprintf(&remote, `"%s":{"connected":false,"mode":"proxy","proxy_address":"hub.sim:9400","server_name":"hub.sim","num_proxy_sockets_connected":0,"max_proxy_socket_connections":18,"initial_connect_timeout":"30s","skip_unavailable":true}`, a)
	}
	settings.WriteString(`},"transient":{}}`)
	remote.WriteString(`}`)
	sb, rb := []byte(settings.String()), []byte(remote.String())
	for _, tc := range []struct {
		name       string
		fast, slow func()
	}{
		{"settings", func() { _, _ = decodeSettings(sb, nil) }, func() { _, _ = jsonSettings(sb) }},
		{"remote info", func() { _, _ = decodeRemoteInfo(rb, nil) }, func() { _, _ = jsonRemoteInfo(rb) }},
	} {
		fast, slow := testing.AllocsPerRun(20, tc.fast), testing.AllocsPerRun(20, tc.slow)
		if fast*2 > slow {
			t.Errorf("%s: %.0f allocations, encoding/json %.0f; want under half", tc.name, fast, slow)
		}
		t.Logf("%s: %.0f allocations, encoding/json %.0f", tc.name, fast, slow)
	}
	if _, ok := decodeSettings(sb, nil); !ok {
		t.Error("decodeSettings gave up on the steady answer")
	}
	if _, ok := decodeRemoteInfo(rb, nil); !ok {
		t.Error("decodeRemoteInfo gave up on the steady answer")
	}

	// A client keeps the keys of its last answer: the next answer with
	// the same keys (the next pass, in sync) makes none of its 100
	// setting keys or 25 aliases again.
	var settingKeys, aliasKeys keyTable
	for _, tc := range []struct {
		name       string
		keys       int
		cold, warm func()
	}{
		{"settings", 100, func() { _, _ = decodeSettings(sb, nil) }, func() { _, _ = decodeSettings(sb, &settingKeys) }},
		{"remote info", 25, func() { _, _ = decodeRemoteInfo(rb, nil) }, func() { _, _ = decodeRemoteInfo(rb, &aliasKeys) }},
	} {
		tc.warm() // the first answer fills the table
		cold, warm := testing.AllocsPerRun(20, tc.cold), testing.AllocsPerRun(20, tc.warm)
		if warm > cold-float64(tc.keys) {
			t.Errorf("%s with the keys of the last answer: %.0f allocations, without %.0f; want %d fewer", tc.name, warm, cold, tc.keys)
		}
		t.Logf("%s with the keys of the last answer: %.0f allocations, without %.0f", tc.name, warm, cold)
	}
}
