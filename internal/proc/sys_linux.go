package proc

import "syscall"

// DieWithParentAttr is the SysProcAttr of Config.DieWithParent, for
// commands started without Start: the program is killed when this process
// dies, and has a process group of its own.
func DieWithParentAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
