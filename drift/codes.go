package drift

// Finding codes: every code a report can carry, in one place. A code is a
// stable snake_case identifier that alerts, scripts and the exit-code rules
// match on; a finding's message is for people and may change, its code may
// not. Codes also prefix the errors of a cluster or change esremote refuses
// to write (cluster_identity_changed: …, conflict: …).
//
// Codes lists each one with the severity it is reported with and what it
// means; docs/findings.md is that table for people (TestFindingCodesDocumented).
// The engine refers to these constants only (TestEngineFindingCodesDeclared:
// no code literal and no Code constant of its own outside this file).
const (
	// API keys and their rotation.
	CodeKeyExpiresSoon    = "key_expires_soon"
	CodeKeyExpired        = "key_expired"
	CodeRotationWindow    = "rotation_window"
	CodeRotationStuck     = "rotation_stuck"
	CodeKeystoreNotLoaded = "keystore_not_loaded"
	CodeActionRequired    = "action_required"
	CodeReloadFailed      = "reload_failed"
	CodeCanaryAmbiguous   = "canary_ambiguous"
	CodeRoleNotCovered    = "role_not_covered_by_key"

	// The link's health and the local credential.
	CodeDisconnected           = "link_disconnected"
	CodeCanaryPrivilegeMissing = "canary_privilege_missing"
	CodeInsecureSkipVerify     = "insecure_skip_verify"
	CodeVersionTooOld          = "version_too_old"

	// Ownership: who wrote what.
	CodeConflict          = "conflict"
	CodeForeignKey        = "foreign_installation"
	CodeContestedByOther  = "contested_by_other_installation"
	CodeContested         = "contested"
	CodeUnreachableOwned  = "unreachable_owned"
	CodeIdentityChanged   = "cluster_identity_changed"
	CodeDuplicateCluster  = "duplicate_cluster"
	CodeConnectionRemoved = "connection_removed"

	// The certificate model: trust between deployments.
	CodeCertificateModel = "certificate_model_deprecated"
	CodeCAExpiresSoon    = "ca_expires_soon"
	CodeCAExpired        = "ca_expired"
	CodeTrustOneSided    = "trust_one_sided"
	CodeTrustNotOwned    = "trust_not_owned"
	CodeTrustPending     = "trust_plan_pending"
	CodeTrustUnplanned   = "trust_unplanned"
)

// CodeInfo describes one finding code.
type CodeInfo struct {
	Code string
	// Severities the engine reports it with, the usual one first.
	Severities []Severity
	// Meaning is one line: what it says about the connection.
	Meaning string
	// Reserved codes are recognised (the alerts act on them) but the
	// engine does not emit them today.
	Reserved bool
}

var (
	errorOnly   = []Severity{SeverityError}
	warningOnly = []Severity{SeverityWarning}
	infoOnly    = []Severity{SeverityInfo}
)

// Codes is every finding code, in the order docs/findings.md lists them.
var Codes = []CodeInfo{
	{CodeKeyExpiresSoon, warningOnly, "the cross-cluster API key expires within twice its rotate_before window (esremote rotates it rotate_before ahead)", false},
	{CodeKeyExpired, errorOnly, "the cross-cluster API key has expired (alerts act on it; the engine rotates an expiring key and does not emit it today)", true},
	{CodeRotationWindow, infoOnly, "a rotation keeps the old key valid until the new one has been proven in use over the overlap window", false},
	{CodeRotationStuck, errorOnly, "the new key of a rotation is still not proven in use past the bound after its keystore write; the old key stays valid", false},
	{CodeKeystoreNotLoaded, []Severity{SeverityWarning, SeverityInfo}, "a key esremote wrote to the keystore is not shown in use yet: info within the load grace, warning past it; esremote waits rather than write again", false},
	{CodeActionRequired, errorOnly, "a self-managed cluster's keystore lacks the link's credential; someone must run elasticsearch-keystore on every node (the fix gives the command)", false},
	{CodeReloadFailed, errorOnly, "reloading secure settings failed on some nodes of a self-managed cluster", false},
	{CodeCanaryAmbiguous, warningOnly, "the key's access covers esremote's canary names, so no request can prove which key the local cluster uses", false},
	{CodeRoleNotCovered, warningOnly, "a role grants an index pattern on the alias that the cross-cluster key's access does not cover: the grant is useless", false},
	{CodeDisconnected, errorOnly, "the link is down or refused; the message names the likely cause and the evidence", false},
	{CodeCanaryPrivilegeMissing, errorOnly, "the local credential lacks the privileges the canary request needs, so no link of that cluster can be proven", false},
	{CodeInsecureSkipVerify, warningOnly, "TLS verification is off for a cluster (insecure_skip_verify): its credentials can be read on the path", false},
	{CodeVersionTooOld, errorOnly, "a cluster's version lacks what the spec asks of it; the finding names the version needed and nothing of the link is written", false},
	{CodeConflict, errorOnly, "a live object esremote did not write would be changed by the spec; it is never written (adopt it with esremote import)", false},
	{CodeForeignKey, infoOnly, "a key made by another esremote installation is on the remote; it is left alone", false},
	{CodeContestedByOther, errorOnly, "another esremote installation's key for this same link is live: two writers with their own ledgers manage it", false},
	{CodeContested, errorOnly, "a setting keeps flipping back between esremote's value and another writer's (the daemon counts the flips)", false},
	{CodeUnreachableOwned, errorOnly, "esremote owns objects on a cluster that left the specs (or a key on a remote no longer declared) and cannot reach it to delete them: declare it again, or delete them by hand", false},
	{CodeIdentityChanged, errorOnly, "a cluster answers with another cluster_uuid than the one esremote wrote to; nothing of it is written", false},
	{CodeDuplicateCluster, errorOnly, "two declared clusters answer with the same cluster_uuid; nothing of them is written", false},
	{CodeConnectionRemoved, infoOnly, "the connection left the specs; esremote deletes the alias it created", false},
	{CodeCertificateModel, warningOnly, "the certificate security model is deprecated since Elasticsearch 9.0", false},
	{CodeCAExpiresSoon, warningOnly, "a CA a certificate link relies on expires within 30 days (or has expired: the message says which)", false},
	{CodeCAExpired, errorOnly, "a CA a certificate link relies on has expired (alerts act on it; the engine reports an expired CA as ca_expires_soon today)", true},
	{CodeTrustOneSided, warningOnly, "one deployment trusts the other but not back: the certificate link cannot connect", false},
	{CodeTrustNotOwned, errorOnly, "a trust entry esremote did not create does not grant what the link needs; esremote leaves it alone", false},
	{CodeTrustPending, infoOnly, "a deployment is applying a plan; its trust is written on the next pass", false},
	{CodeTrustUnplanned, errorOnly, "the trust a link needs could not be planned (a trusted environment's error)", false},
}
