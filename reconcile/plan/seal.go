package plan

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// A saved plan is sealed: plan --out signs the plan's JSON with HMAC-SHA256
// under a key kept in the state directory (statedir.PlanKey, mode 0600),
// and apply --plan opens it with the same state directory's key. A plan
// changed after plan wrote it, or made by another installation (another
// state directory, another key), is refused before anything is observed,
// and the refusal says which. Terraform's planfile carries the state's
// lineage for the same reason; a key is used because a plan file travels
// through CI artifacts anyone with write access to them could edit.

// sealScheme prefixes a seal: "hmac-sha256:<key id>:<mac>".
const sealScheme = "hmac-sha256"

// SealError is why a saved plan's seal does not hold.
type SealError struct {
	// Foreign: the plan was sealed with another state directory's key.
	Foreign bool
	Reason  string
}

func (e *SealError) Error() string { return e.Reason }

// keyID names a plan key without revealing it: the first 8 bytes of the
// SHA-256 of a label and the key.
func keyID(key []byte) string {
	h := sha256.Sum256(append([]byte("esremote plan key id\x00"), key...))
	return hex.EncodeToString(h[:8])
}

// sealBody is the JSON the seal covers: the plan with an empty Seal, as
// MarshalIndent writes it.
func (d *Plan) sealBody() ([]byte, error) {
	c := *d
	c.Seal = ""
	return json.MarshalIndent(&c, "", "  ")
}

func mac(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Sealed returns the plan file's bytes: the plan, sealed with key.
func (d *Plan) Sealed(key []byte) ([]byte, error) {
	body, err := d.sealBody()
	if err != nil {
		return nil, err
	}
	c := *d
	c.Seal = sealScheme + ":" + keyID(key) + ":" + mac(key, body)
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// CheckSeal verifies that d was sealed with key and not changed since: a
// *SealError says why not.
func (d *Plan) CheckSeal(key []byte) error {
	scheme, rest, _ := strings.Cut(d.Seal, ":")
	id, sum, _ := strings.Cut(rest, ":")
	switch {
	case d.Seal == "":
		return &SealError{Reason: "the plan carries no seal: only a plan saved by esremote plan --out with this state directory is applied"}
	case scheme != sealScheme || id == "" || sum == "":
		return &SealError{Reason: fmt.Sprintf("the plan's seal is not one esremote makes (%s:<key id>:<mac>): it was changed after esremote plan wrote it", sealScheme)}
	case key == nil || id != keyID(key):
		here := "this state directory has none"
		if key != nil {
			here = "this state directory's is " + keyID(key)
		}
		return &SealError{Foreign: true, Reason: fmt.Sprintf("the plan was saved with another state directory (its plan key is %s; %s): apply it with the state directory it was planned with, or plan again here", id, here)}
	}
	body, err := d.sealBody()
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(sum), []byte(mac(key, body))) {
		return &SealError{Reason: "the plan was changed after esremote plan wrote it (its seal does not match its content): review a fresh plan instead of editing one"}
	}
	return nil
}
