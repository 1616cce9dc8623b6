package world

import "github.com/esremote/esremote/drift"

// LinkEvidence is one link's health and what it rests on: the answer of a
// request that carries the link's credential (GET /_resolve/cluster, DESIGN
// §5 "Verify by evidence"), as the observe stage read it and the decide
// stage weighs it.
type LinkEvidence struct {
	Health   drift.Health
	Evidence drift.Evidence
	// Proven is the managed key the request was authorized under ("" when
	// the request did not prove a key).
	Proven string
	// Refusal is the remote's error when it refused the request, and
	// RefusedKey the API key id it names ("" when it names none).
	Refusal    string
	RefusedKey string
	// Stamp says what the evidence was taken for (the alias, the target,
	// the keystore write and the socket state): evidence taken in another
	// state is not reused.
	Stamp string
}
