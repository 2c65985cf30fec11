//go:build unix

package main

import "syscall"

// nofile is the soft limit on open descriptors, as Go raised it at start
// (to the hard limit); 0 when unknown.
func nofile() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return l.Cur
}
