package decide

import "github.com/esremote/esremote/drift"

// Finding codes a decision emits. They are declared, with their severity
// and meaning, in drift (drift/codes.go, the one vocabulary); these names
// keep the decide functions' many references short.
const (
	CodeKeyExpiresSoon         = drift.CodeKeyExpiresSoon
	CodeActionRequired         = drift.CodeActionRequired
	CodeRoleNotCovered         = drift.CodeRoleNotCovered
	CodeCertificateModel       = drift.CodeCertificateModel
	CodeInsecureSkipVerify     = drift.CodeInsecureSkipVerify
	CodeReloadFailed           = drift.CodeReloadFailed
	CodeDisconnected           = drift.CodeDisconnected
	CodeRotationStuck          = drift.CodeRotationStuck
	CodeCanaryAmbiguous        = drift.CodeCanaryAmbiguous
	CodeKeystoreNotLoaded      = drift.CodeKeystoreNotLoaded
	CodeRotationWindow         = drift.CodeRotationWindow
	CodeIdentityChanged        = drift.CodeIdentityChanged
	CodeDuplicateCluster       = drift.CodeDuplicateCluster
	CodeConflict               = drift.CodeConflict
	CodeUnreachableOwned       = drift.CodeUnreachableOwned
	CodeForeignKey             = drift.CodeForeignKey
	CodeContestedByOther       = drift.CodeContestedByOther
	CodeVersionTooOld          = drift.CodeVersionTooOld
	CodeCanaryPrivilegeMissing = drift.CodeCanaryPrivilegeMissing
	CodeCAExpiresSoon          = drift.CodeCAExpiresSoon
	CodeTrustOneSided          = drift.CodeTrustOneSided
	CodeTrustNotOwned          = drift.CodeTrustNotOwned
	CodeTrustPending           = drift.CodeTrustPending
	CodeTrustUnplanned         = drift.CodeTrustUnplanned
)
