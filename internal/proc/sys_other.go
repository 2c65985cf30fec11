//go:build !linux

package proc

import "syscall"

// dieWithParent is the SysProcAttr of Config.DieWithParent. Only Linux has
// a parent-death signal; elsewhere the caller's own Stop or Kill is all.
func dieWithParent() *syscall.SysProcAttr { return nil }
