//go:build !(amd64 || arm64 || ppc64 || ppc64le || riscv64 || s390x || loong64 || mips64 || mips64le)

package store

// Badger is not linked on 32-bit CPUs: it corrupts and loses data there
// (shared field notes). Open returns errBadgerUnsupported for it.
const badgerCompiled = false

func openBadger(Options) (Store, error) { return nil, errBadgerUnsupported() }
