package reconcile

import "github.com/esremote/esremote/reconcile/decide"

// The finding codes and error prefixes a decision emits are the decide
// stage's (package decide); these names keep the engine's API.
const (
	CodeKeyExpiresSoon     = decide.CodeKeyExpiresSoon
	CodeActionRequired     = decide.CodeActionRequired
	CodeRoleNotCovered     = decide.CodeRoleNotCovered
	CodeCertificateModel   = decide.CodeCertificateModel
	CodeInsecureSkipVerify = decide.CodeInsecureSkipVerify
	CodeReloadFailed       = decide.CodeReloadFailed
	CodeDisconnected       = decide.CodeDisconnected
	CodeRotationStuck      = decide.CodeRotationStuck
	CodeCanaryAmbiguous    = decide.CodeCanaryAmbiguous
	CodeKeystoreNotLoaded  = decide.CodeKeystoreNotLoaded
	CodeRotationWindow     = decide.CodeRotationWindow
	CodeIdentityChanged    = decide.CodeIdentityChanged
	CodeDuplicateCluster   = decide.CodeDuplicateCluster
	CodeConflict           = decide.CodeConflict
	CodeUnreachableOwned   = decide.CodeUnreachableOwned
	CodeForeignKey         = decide.CodeForeignKey
	CodeContestedByOther   = decide.CodeContestedByOther
	CodeVersionTooOld      = decide.CodeVersionTooOld
	CodeCAExpiresSoon      = decide.CodeCAExpiresSoon
	CodeTrustOneSided      = decide.CodeTrustOneSided
	CodeTrustNotOwned      = decide.CodeTrustNotOwned
	CodeTrustPending       = decide.CodeTrustPending
	CodeTrustUnplanned     = decide.CodeTrustUnplanned
)
