//go:build !linux || !(amd64 || arm64) || purego

package hashx

import "errors"

// jitBuilt: this build only interprets (another platform, or the purego
// build tag).
const jitBuilt = false

func compileTo(*HashX, []byte) int { return 0 }

func callBatch(uintptr, *[8]uint64, uint64) { panic("hashx: no compiled code in this build") }

// sysMemory refuses every request: there is no code to put in it.
type sysMemory struct{}

func (sysMemory) alloc(int) ([]byte, error) { return nil, errors.ErrUnsupported }
func (sysMemory) writable([]byte) error     { return errors.ErrUnsupported }
func (sysMemory) executable([]byte) error   { return errors.ErrUnsupported }
func (sysMemory) free([]byte) error         { return nil }
