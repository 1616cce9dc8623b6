package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
)

// Merge is a three-way merge of JSON objects, which a store uses when it
// finds that someone else saved since it last read: base is what this
// writer last read or saved, ours what it saves now, theirs what the store
// holds. Within objects, key by key and recursively: a key ours changed
// (added, altered or removed since base) takes our value; any other key
// takes theirs. So records another writer added survive our save, and
// records we removed stay removed, while a record both changed is ours
// (the writer that saves last is the one that acted last).
//
// Every argument must be a JSON object; base may be empty (nothing read:
// then every key of ours is ours, and theirs fills in the rest).
func Merge(base, ours, theirs []byte) ([]byte, error) {
	var b, o, t map[string]any
	if len(bytes.TrimSpace(base)) > 0 {
		if err := json.Unmarshal(base, &b); err != nil {
			return nil, fmt.Errorf("merge: base: %w", err)
		}
	}
	if err := json.Unmarshal(ours, &o); err != nil {
		return nil, fmt.Errorf("merge: ours: %w", err)
	}
	if err := json.Unmarshal(theirs, &t); err != nil {
		return nil, fmt.Errorf("merge: theirs: %w", err)
	}
	out, err := json.MarshalIndent(merge(b, o, t), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func merge(base, ours, theirs map[string]any) map[string]any {
	out := maps.Clone(theirs)
	if out == nil {
		out = map[string]any{}
	}
	keys := map[string]bool{}
	for k := range base {
		keys[k] = true
	}
	for k := range ours {
		keys[k] = true
	}
	for k := range keys {
		bv, inBase := base[k]
		ov, inOurs := ours[k]
		tv, inTheirs := theirs[k]
		switch {
		case inBase && !inOurs:
			// We removed it: removed, whatever they did.
			delete(out, k)
		case !inOurs:
		case inBase && reflect.DeepEqual(bv, ov):
			// We left it alone: theirs (already in out, or removed by them).
		default:
			bm, _ := bv.(map[string]any)
			om, okO := ov.(map[string]any)
			tm, okT := tv.(map[string]any)
			if okO && okT && inTheirs {
				out[k] = merge(bm, om, tm)
			} else {
				out[k] = ov
			}
		}
	}
	return out
}
