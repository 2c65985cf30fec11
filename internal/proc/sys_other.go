//go:build !linux

package proc

import "syscall"

// DieWithParentAttr is the SysProcAttr of Config.DieWithParent. Only Linux has
// a parent-death signal; elsewhere the caller's own Stop or Kill is all.
func DieWithParentAttr() *syscall.SysProcAttr { return nil }
