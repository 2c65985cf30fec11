package proc

import "syscall"

// dieWithParent is the SysProcAttr of Config.DieWithParent.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
