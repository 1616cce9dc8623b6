package decide

import "github.com/esremote/esremote/drift"

// Finding codes the engine emits (alerts and scripts match on them).
const (
	CodeKeyExpiresSoon     = "key_expires_soon"
	CodeActionRequired     = "action_required"
	CodeRoleNotCovered     = "role_not_covered_by_key"
	CodeCertificateModel   = "certificate_model_deprecated"
	CodeInsecureSkipVerify = "insecure_skip_verify"
	CodeReloadFailed       = "reload_failed"
	CodeDisconnected       = "link_disconnected"
	CodeRotationStuck      = drift.CodeRotationStuck
	CodeCanaryAmbiguous    = "canary_ambiguous"
	// CodeKeystoreNotLoaded (warning): esremote wrote a key to the
	// keystore past the grace ago and no request has shown it in use,
	// with evidence naming no key; esremote waits rather than write
	// again (a write restarts the platform's load). Within the grace it
	// is an info finding of a disconnected link (diagnose): the value is
	// loading, nothing is missing and apply has nothing to write.
	CodeKeystoreNotLoaded = "keystore_not_loaded"
	// CodeRotationWindow (info): a rotation's old key stays valid until
	// the new one has been proven over the window (RotationOverlap).
	CodeRotationWindow = "rotation_window"
)

// CodeIdentityChanged and CodeDuplicateCluster prefix the errors of a
// cluster esremote refuses to write because it cannot prove which cluster
// it is talking to.
const (
	CodeIdentityChanged  = "cluster_identity_changed"
	CodeDuplicateCluster = "duplicate_cluster"
	CodeConflict         = "conflict"
	CodeUnreachableOwned = "unreachable_owned"
	CodeForeignKey       = "foreign_installation"
	// CodeContestedByOther: another installation's key for the same link
	// (same local cluster and alias) is live on the remote.
	CodeContestedByOther = "contested_by_other_installation"
)
